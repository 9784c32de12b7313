"""Bad requests get a specific 4xx in AIStore's error shape, write nothing, and the cluster
keeps serving."""

from __future__ import annotations

import json
import socket
from http import client as http_client
from urllib.parse import quote, urlsplit

import httpx
import pytest

from backend.local import LocalCluster
from tests.conftest import auth_headers


@pytest.fixture
def http(cluster: LocalCluster):
    with httpx.Client(base_url=cluster.endpoint, follow_redirects=True, timeout=10,
                      headers=auth_headers()) as c:
        yield c


@pytest.fixture(autouse=True)
def cluster_still_serves(cluster: LocalCluster, bucket):
    """After every test here: the cluster answers, and an ordinary PUT and GET still work."""
    yield
    with httpx.Client(base_url=cluster.endpoint, follow_redirects=True, timeout=10,
                      headers=auth_headers()) as c:
        assert c.get("/v1/health").status_code == 200
        assert c.put(f"/v1/objects/{bucket.name}/after", content=b"ok").status_code == 200
        assert c.get(f"/v1/objects/{bucket.name}/after").content == b"ok"


def raw_request(http: httpx.Client, method: str, path: str, body: bytes = b"",
                headers: dict | None = None) -> httpx.Response:
    """A request whose path goes out exactly as written: httpx would normalize ``a/../b``."""
    conn = http_client.HTTPConnection(http.base_url.host, http.base_url.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers={**auth_headers(), **(headers or {})})
        reply = conn.getresponse()
        request = httpx.Request(method, http.base_url.join(path))
        return httpx.Response(reply.status, headers=reply.getheaders(), content=reply.read(),
                              request=request)
    finally:
        conn.close()


def error_of(resp: httpx.Response) -> dict:
    body = json.loads(resp.headers["Hdr-Error"] if resp.request.method == "HEAD" else resp.text)
    assert body["status"] == resp.status_code
    return body


def listed(bucket) -> list[str]:
    return [e.name for e in bucket.list_all_objects()]


@pytest.mark.parametrize("name", ["a b", "a/b", "#x", "$x", "~x", "a..b", ".hidden", "x" * 65])
def test_invalid_bucket_names(http: httpx.Client, client, name: str) -> None:
    path = f"/v1/buckets/{quote(name, safe='')}"
    resp = raw_request(http, "POST", path, b'{"action": "create-bck"}')
    assert resp.status_code == 400, resp.text
    assert "bucket name" in error_of(resp)["message"]
    assert name not in [b.name for b in client.cluster().list_buckets()]


@pytest.mark.parametrize(
    ("raw_name", "reason"),
    [("a/../b", "'..'"), ("%2Fabs", "absolute"), ("a%00b", "NUL"), ("dir/", "trailing"),
     ("a/./b", "'.'"), ("a//b", "empty")],
)
def test_invalid_object_names(http: httpx.Client, bucket, raw_name: str, reason: str) -> None:
    resp = raw_request(http, "PUT", f"/v1/objects/{bucket.name}/{raw_name}", b"data")
    assert resp.status_code == 400, resp.text
    assert reason in error_of(resp)["message"]
    assert listed(bucket) == []


def test_unknown_action_and_path(http: httpx.Client, bucket) -> None:
    resp = http.post(f"/v1/buckets/{bucket.name}", json={"action": "frobnicate"})
    assert resp.status_code == 400
    assert "frobnicate" in error_of(resp)["message"]
    resp = http.get("/v1/nonsense")
    assert resp.status_code == 400
    assert "invalid URL path" in error_of(resp)["message"]


def test_malformed_json_and_msgpack(http: httpx.Client, bucket) -> None:
    resp = http.request("GET", f"/v1/buckets/{bucket.name}", content=b'{"action": "list", ',
                        headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert "malformed JSON" in error_of(resp)["message"]
    resp = http.request("GET", f"/v1/buckets/{bucket.name}", content=b"\xc1\xc1\xc1",
                        headers={"Content-Type": "application/msgpack"})
    assert resp.status_code == 400
    assert "malformed msgpack" in error_of(resp)["message"]
    resp = http.request("GET", f"/v1/buckets/{bucket.name}",
                        json={"action": "list", "value": {"pagesize": "many"}})
    assert resp.status_code == 400
    assert "list-objects message" in error_of(resp)["message"]


def test_missing_bucket_and_object(http: httpx.Client, bucket) -> None:
    resp = http.put("/v1/objects/no-such-bucket/obj", content=b"x")
    assert resp.status_code == 404
    assert 'bucket "ais://no-such-bucket" does not exist' in error_of(resp)["message"]
    resp = http.get(f"/v1/objects/{bucket.name}/missing")
    assert resp.status_code == 404
    assert f"ais://{bucket.name}/missing" in error_of(resp)["message"]
    resp = http.head(f"/v1/objects/{bucket.name}/missing")
    assert resp.status_code == 404
    assert error_of(resp)["tcode"] == "ErrNotFound"
    resp = http.request("DELETE", "/v1/buckets/no-such-bucket", json={"action": "destroy-bck"})
    assert resp.status_code == 404


def test_unsatisfiable_range(http: httpx.Client, bucket) -> None:
    http.put(f"/v1/objects/{bucket.name}/small", content=b"0123456789")
    resp = http.get(f"/v1/objects/{bucket.name}/small", headers={"Range": "bytes=50-60"})
    assert resp.status_code == 416
    assert resp.headers["Content-Range"] == "bytes */10"


def test_object_path_conflicts(http: httpx.Client, bucket, cluster: LocalCluster) -> None:
    """An object and a "directory" of the same name cannot live on one target."""
    owner = cluster.smap.owner(bucket.name, "a").daemon_id
    nested = next(f"a/{i}" for i in range(1000)
                  if cluster.smap.owner(bucket.name, f"a/{i}").daemon_id == owner)
    assert http.put(f"/v1/objects/{bucket.name}/a", content=b"file").status_code == 200
    resp = http.put(f"/v1/objects/{bucket.name}/{nested}", content=b"nested")
    assert resp.status_code == 409
    assert "parent path is an object" in error_of(resp)["message"]
    assert listed(bucket) == ["a"]


def test_put_shorter_than_content_length_writes_nothing(cluster: LocalCluster, bucket,
                                                        http: httpx.Client) -> None:
    redirect = http.put(f"/v1/objects/{bucket.name}/short", content=b"",
                        follow_redirects=False)
    target = urlsplit(redirect.headers["Location"])
    for declared, sent in [(1000, 10), (1024 * 1024, 300 * 1024)]:  # small and streamed bodies
        with socket.create_connection((target.hostname, target.port), timeout=10) as sock:
            head = (f"PUT {target.path}?{target.query} HTTP/1.1\r\nHost: x\r\n"
                    f"Content-Length: {declared}\r\n\r\n")
            sock.sendall(head.encode() + b"y" * sent)
            sock.shutdown(socket.SHUT_WR)
            reply = sock.recv(65536)
        assert not reply or reply.startswith(b"HTTP/1.1 4"), reply
        assert http.head(f"/v1/objects/{bucket.name}/short").status_code == 404
    root = cluster.data_dir
    assert not any(p.is_file() for p in root.glob("target-*/tmp/*"))


def test_only_this_machine_and_no_web_page_drives_the_cluster(http, cluster) -> None:
    """A web page cannot create buckets or abort ETLs: not by a cross-site form (its Origin
    is refused), nor by rebinding its name to 127.0.0.1 (the Host must be a local one)."""
    form = http.post("/v1/buckets/from-a-web-page", content='{"action":"create-bck"}',
                     headers={"Content-Type": "text/plain", "Origin": "http://evil.example"})
    assert form.status_code == 403 and "web origin" in form.json()["message"]
    rebound = http.post("/v1/buckets/from-a-web-page", json={"action": "create-bck"},
                        headers={"Host": "evil.example:8080"})
    assert rebound.status_code == 403 and "is not this machine's" in rebound.json()["message"]
    target = cluster.smap.targets[0]
    direct = httpx.get(f"{target.url}/v1/health", headers={"Host": "evil.example"})
    assert direct.status_code == 403
    assert "from-a-web-page" not in http.get("/v1/buckets").text
    local = http.get("/v1/buckets", headers={"Origin": "http://localhost:8080"})
    assert local.status_code == 200
