"""What user ETL code gets of its owner (issue: confine user ETL code like a pod): the
environment a container would have, not the shell's that started the cluster, and its own
object-access secret never in what its failures say."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.local import LocalCluster
from tests.conftest import code_msg

SHOW_ENV = (b"import json, os\n\ndef transform(data):\n"
            b"    return json.dumps(dict(os.environ)).encode()\n")
ECHO_URL = (b"import os\n\ndef transform(data):\n"
            b"    raise ValueError('cannot reach ' + os.environ['AIS_TARGET_URL'])\n")


@pytest.fixture(scope="module")
def owned() -> Iterator[tuple[httpx.Client, Path]]:
    """A cluster started from a shell holding the owner's token and a key of theirs."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AIS_AUTHN_TOKEN", "owner-token-do-not-leak")
    mp.setenv("OWNER_CLOUD_KEY", "owner-key-do-not-leak")
    path = Path(tempfile.mkdtemp(prefix="aisetl-confine-"))
    try:
        with LocalCluster(path, targets=1, port=0) as cluster, \
                httpx.Client(base_url=cluster.endpoint, timeout=60,
                             follow_redirects=True) as http:
            mp.undo()
            http.post("/v1/buckets/b", json={"action": "create-bck"}).raise_for_status()
            http.put("/v1/objects/b/o", content=b"x").raise_for_status()
            yield http, path
    finally:
        mp.undo()
        shutil.rmtree(path, ignore_errors=True)


def test_a_transformer_gets_a_containers_environment(owned) -> None:
    http, _path = owned
    msg = code_msg("show-env", SHOW_ENV, comm="hpush://",
                   env=[{"name": "MY_SETTING", "value": "from the spec"}])
    assert http.put("/v1/etl", json=msg).status_code == 200
    env = json.loads(http.get("/v1/objects/b/o", params={"etl_name": "show-env"}).content)
    assert "AIS_AUTHN_TOKEN" not in env and "OWNER_CLOUD_KEY" not in env
    assert not any("do-not-leak" in v for v in env.values())
    assert env["MY_SETTING"] == "from the spec" and env["AIS_TARGET_URL"] and env["PATH"]


def test_a_failure_never_shows_the_object_access_secret(owned) -> None:
    http, path = owned
    assert http.put("/v1/etl", json=code_msg("echo-url", ECHO_URL, comm="hpush://")
                    ).status_code == 200
    secret = json.loads((path / "proxy" / "etl.json").read_text())["echo-url"]["secret"]
    resp = http.get("/v1/objects/b/o", params={"etl_name": "echo-url"})
    message = resp.json()["message"]
    assert resp.status_code >= 400 and "cannot reach" in message
    assert secret not in message and "<secret>" in message
    details = http.get("/v1/etl/echo-url").json()
    assert secret not in json.dumps(details.get("obj_errors", []))


def test_only_its_targets_report_an_etl_aborted(owned) -> None:
    http, path = owned
    assert http.put("/v1/etl", json=code_msg("keep-running", SHOW_ENV, comm="hpush://")
                    ).status_code == 200
    url = "/v1/etl/keep-running/_aborted"
    body = {"action": "etl-aborted", "value": {"reason": "a stranger says so"}}
    assert http.post(url, json=body).status_code == 403
    stage = {e["id"]: e["stage"] for e in http.get("/v1/etl").json()}["keep-running"]
    assert stage == "Running"
    secret = json.loads((path / "proxy" / "etl.json").read_text())["keep-running"]["secret"]
    body["value"]["secret"] = secret  # what a target of the cluster sends
    assert http.post(url, json=body).status_code == 200
    stage = {e["id"]: e["stage"] for e in http.get("/v1/etl").json()}["keep-running"]
    assert stage == "Aborted"
