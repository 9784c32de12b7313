"""Only its owner uses an embedded cluster: a bearer token (AIStore AuthN's shape) on every
request but health checks, made at first start in a file only the owner reads; the nodes'
own requests signed; ``aisetl-tui cluster env`` prints what the SDK and the CLI need;
``--no-auth`` opens it."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aistore import Client
from aistore.sdk.errors import AISError

from aisetl_tui.app import AisEtlApp
from aisetl_tui.contexts import token_for
from backend.local import ClusterError, LocalCluster, RunInfo, read_token
from backend.local._auth import TokenError, ensure_token
from tests.conftest import auth_headers
from tests.test_app import connected


def error_of(resp: httpx.Response) -> dict:
    body = json.loads(resp.headers["Hdr-Error"] if resp.request.method == "HEAD" else resp.text)
    assert body["status"] == resp.status_code and {"message", "method", "url_path"} <= set(body)
    return body


def test_every_request_but_a_health_check_needs_the_owners_token(cluster, bucket,
                                                                 monkeypatch) -> None:
    bucket.object("o").get_writer().put_content(b"mine")
    with httpx.Client(base_url=cluster.endpoint, timeout=10, follow_redirects=True) as anyone:
        assert anyone.get("/v1/health").status_code == 200
        listing = anyone.get("/v1/buckets")
        assert listing.status_code == 401
        assert error_of(listing)["message"].startswith("token required")
        head = anyone.head(f"/v1/objects/{bucket.name}/o")
        assert head.status_code == 401 and "token required" in error_of(head)["message"]
        wrong = anyone.get("/v1/buckets", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401 and "invalid token" in error_of(wrong)["message"]
        put = anyone.put(f"/v1/objects/{bucket.name}/o", content=b"theirs")
        assert put.status_code == 401
    assert bucket.object("o").get_reader().read_all() == b"mine"
    monkeypatch.delenv("AIS_AUTHN_TOKEN")  # (the SDK's default)
    with pytest.raises(AISError, match="token required"):
        Client(cluster.endpoint).bucket(bucket.name).list_all_objects()


def test_a_targets_node_routes_take_only_signed_requests(cluster, bucket) -> None:
    """Saying to be the proxy (AIStore's sender headers) is not enough: a node's requests
    are signed with the key of the run, which only the nodes hold."""
    proxy, target = cluster.smap.proxy, cluster.smap.targets[0]
    posing = {"Ais-Caller-Id": proxy.daemon_id, "Ais-Caller-Name": proxy.pretty,
              **auth_headers()}
    job = httpx.post(f"{target.url}/v1/xactions", headers=posing,
                     json={"xid": "x", "kind": "lru", "src": "", "dst": ""})
    assert job.status_code == 403 and "cluster's nodes only" in error_of(job)["message"]
    forged = {**posing, "Ais-Caller-Nonce": "1", "Ais-Caller-Sig": "AAAA"}
    gone = httpx.request("DELETE", f"{target.url}/v1/buckets/{bucket.name}", headers=forged,
                         json={"action": "destroy-bck"})
    assert gone.status_code == 403
    assert bucket.name in [b.name for b in Client(cluster.endpoint).cluster().list_buckets()]


def test_the_token_is_made_once_in_a_file_only_its_owner_reads(tmp_path: Path) -> None:
    path = tmp_path / "config" / "aisetl-tui" / "cluster.token"
    token = ensure_token(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert json.loads(path.read_text()) == {"token": token}  # what `ais auth login` writes
    assert ensure_token(path) == token == read_token(path)
    header, claims, signature = token.split(".")  # an AuthN-shaped JWT
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256",
                                                                   "typ": "JWT"}
    assert json.loads(base64.urlsafe_b64decode(claims + "=="))["admin"] is True
    assert len(base64.urlsafe_b64decode(signature + "==")) == 32
    path.chmod(0o644)
    with pytest.raises(TokenError, match=r"can be read by other users.*chmod 600"):
        ensure_token(path)
    with pytest.raises(ClusterError, match="chmod 600"):
        LocalCluster(tmp_path / "data", targets=1, port=0, token_path=path).start()
    assert not (tmp_path / "data" / "run.json").exists()


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aisetl_tui.cli", *args], capture_output=True,
                          text=True, timeout=60)


def test_cluster_env_prints_what_the_sdk_and_the_cli_need(cluster, bucket) -> None:
    data = str(cluster.data_dir)
    printed = cli("cluster", "env", "--data", data)
    assert printed.returncode == 0, printed.stderr
    exports = dict(line.removeprefix("export ").split("=", 1)
                   for line in printed.stdout.splitlines())
    assert exports == {"AIS_ENDPOINT": cluster.endpoint, "AIS_AUTHN_TOKEN": cluster.token}
    sdk = Client(exports["AIS_ENDPOINT"], token=exports["AIS_AUTHN_TOKEN"])
    assert bucket.name in [b.name for b in sdk.cluster().list_buckets()]
    other_port = cli("cluster", "env", "--data", data, "--port", "1")
    assert other_port.returncode == 3 and "not on port 1" in other_port.stderr
    with tempfile.TemporaryDirectory() as idle:
        none = cli("cluster", "env", "--data", idle)
        assert none.returncode == 3 and "no cluster runs on" in none.stderr
        assert "aisetl-tui cluster start --data" in none.stderr and not none.stdout


@pytest.fixture(scope="module")
def open_cluster() -> Iterator[LocalCluster]:
    path = Path(tempfile.mkdtemp(prefix="aisetl-open-"))
    try:
        with LocalCluster(path, targets=1, port=0, auth=False) as cluster:
            yield cluster
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_an_open_cluster_serves_anyone_and_still_keeps_its_nodes_routes(open_cluster) -> None:
    cluster = open_cluster
    assert cluster.token is None and RunInfo.read(cluster.data_dir).auth is False
    with httpx.Client(base_url=cluster.endpoint, timeout=10, follow_redirects=True) as anyone:
        assert anyone.post("/v1/buckets/open", json={"action": "create-bck"}).status_code == 200
        assert anyone.put("/v1/objects/open/o", content=b"x").status_code == 200
        assert anyone.get("/v1/objects/open/o").content == b"x"
    target = cluster.smap.targets[0]
    job = httpx.post(f"{target.url}/v1/xactions",
                     json={"xid": "x", "kind": "lru", "src": "", "dst": ""})
    assert job.status_code == 403
    printed = cli("cluster", "env", "--data", str(cluster.data_dir))
    assert printed.stdout.splitlines() == [f"export AIS_ENDPOINT={cluster.endpoint}",
                                           "unset AIS_AUTHN_TOKEN"]
    status = cli("cluster", "status", "--data", str(cluster.data_dir))
    assert "no token needed (--no-auth)" in status.stdout


def test_the_app_finds_the_embedded_clusters_token_by_itself(monkeypatch) -> None:
    """Without AIStore's usual sources: the embedded cluster's token, for the cluster it
    started and for one on this machine; never sent to another machine."""
    monkeypatch.delenv("AIS_AUTHN_TOKEN")
    monkeypatch.setenv("HOME", tempfile.gettempdir())  # (no ~/.config/ais/cli/auth.token)
    mine = read_token()
    assert mine and token_for("", embedded=True) == mine
    assert token_for("http://127.0.0.1:8080", embedded=False) == mine
    assert token_for("localhost:51080", embedded=False) == mine
    assert token_for("https://ais.example.com:51080", embedded=False) is None
    monkeypatch.setenv("AIS_AUTHN_TOKEN", "for-my-real-cluster")
    assert token_for("https://ais.example.com:51080", embedded=False) == "for-my-real-cluster"
    assert token_for("", embedded=True) == mine


async def test_the_app_connects_to_a_local_cluster_without_being_given_a_token(
        cluster, bucket, monkeypatch) -> None:
    monkeypatch.delenv("AIS_AUTHN_TOKEN")
    monkeypatch.setenv("HOME", tempfile.gettempdir())
    app = AisEtlApp(endpoint=cluster.endpoint, start="buckets")
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        assert bucket.name in [b.name for b in await app.session.client.list_buckets()]
