"""Every ETL validation rule answers 400 with a specific message and records nothing; faults
in transforms and transformers are reported, contained, and recoverable."""

from __future__ import annotations

import os
import re
import signal
import time

import psutil
import pytest
from aistore import Client

from tests.conftest import MANIFESTS, code_msg, spec_msg

MD5_CODE = (MANIFESTS / "md5" / "code.py").read_bytes()
GOOD_POD = """
apiVersion: v1
kind: Pod
metadata: {name: x}
spec:
  containers:
    - name: server
      image: docker.io/aistore/md5_server:v1
      ports: [{name: default, containerPort: 80}]
      readinessProbe: {httpGet: {path: /health, port: default}}
"""


def runtime_msg(name: str = "good-name", **extra) -> dict:
    return {"name": name, "communication": "hpush://",
            "runtime": {"image": "aistorage/runtime_python:3.11"}, **extra}


BAD_MESSAGES = [
    (runtime_msg("short"), "6 to 32 characters"),
    (runtime_msg("Upper-Case"), "lowercase"),
    (runtime_msg("-leading-dash"), "start and end"),
    (runtime_msg("x" * 33), "6 to 32 characters"),
    (runtime_msg("under_score"), "lowercase letters"),
    (runtime_msg(communication="grpc://"), 'unknown communication type "grpc://"'),
    (runtime_msg(communication="ws://"), "ws:// communication is not supported without direct"),
    (runtime_msg(init_timeout="soon"), 'invalid duration "soon"'),
    ({"name": "good-name", "runtime": {"command": ["x"]}}, "runtime.image is required"),
    ({"name": "good-name"}, "needs 'runtime'"),
    (code_msg("good-name", b""), "code is empty"),
    (code_msg("good-name", b"def transform(x:\n  pass"), "syntax error"),
    (code_msg("good-name", MD5_CODE, func="md5_it"), 'no top-level function "md5_it"'),
    (code_msg("good-name", MD5_CODE, runtime="python2"), 'unknown runtime "python2"'),
    (code_msg("good-name", MD5_CODE, comm="ws://"), 'unknown communication type "ws://"'),
    (code_msg("good-name", MD5_CODE, chunk_size=2 << 20), "chunk_size must be between"),
    ({**code_msg("good-name", MD5_CODE), "code": "%%%"}, '"code" is not valid base64'),
    ({**code_msg("good-name", MD5_CODE), "spec": "eA=="}, "both 'code' and 'spec'"),
    (spec_msg("good-name", "a: [unclosed"), "not valid YAML"),
    (spec_msg("good-name", GOOD_POD.replace("    - name: server", "    - name: a\n      image: i\n"
                                            "    - name: server")), "exactly one container"),
    (spec_msg("good-name", GOOD_POD.replace("name: default,", "name: http,")),
     'named "default"'),
    (spec_msg("good-name", GOOD_POD.replace("port: default}", "port: 80}")), "readinessProbe"),
    (spec_msg("good-name", GOOD_POD.replace("      readinessProbe", "      #")), "readinessProbe"),
    (spec_msg("good-name", GOOD_POD + "  affinity: {nodeAffinity: {x: 1}}\n"), "affinity"),
    (spec_msg("good-name", GOOD_POD, communication="ws://"), "ws:// communication"),
]


@pytest.mark.parametrize(("msg", "expected"), BAD_MESSAGES,
                         ids=[e for _, e in BAD_MESSAGES])
def test_invalid_init_messages(http, msg: dict, expected: str) -> None:
    resp = http.put("/v1/etl", json=msg)
    assert resp.status_code == 400, resp.text
    assert expected in resp.json()["message"]
    assert all(e["id"] != msg.get("name") for e in http.get("/v1/etl").json())


def test_malformed_json(http) -> None:
    resp = http.put("/v1/etl", content=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert "malformed JSON" in resp.json()["message"]


def test_image_that_cannot_run_here(http, etl_cleanup) -> None:
    etl_cleanup.append("nginx-etl")
    resp = http.put("/v1/etl", json=runtime_msg("nginx-etl")
                    | {"runtime": {"image": "docker.io/library/nginx:1.27"}})
    assert resp.status_code == 400
    message = resp.json()["message"]
    assert 'cannot run image "docker.io/library/nginx:1.27"' in message
    assert "Kubernetes" in message
    resp = http.put("/v1/etl", json=runtime_msg("nginx-etl2") | {
        "runtime": {"image": "example/app:1", "command": ["/no/such/binary", "--port", "8000"]}})
    assert resp.status_code == 400
    assert 'its command "/no/such/binary" does not exist' in resp.json()["message"]


def test_unknown_etl_in_transforms(http, bucket) -> None:
    bucket.object("o").get_writer().put_content(b"x")
    resp = http.get(f"/v1/objects/{bucket.name}/o", params={"etl_name": "no-such-etl"})
    assert resp.status_code == 404
    # AIStore 5.0's words, checked against it in tests/test_real_etl.py
    assert re.fullmatch(r't\[\w+\]: no-such-etl does not exist - try starting new ETL with '
                        r'"http://127\.0\.0\.1:\d+/v1/etl/init" endpoint', resp.json()["message"])
    resp = http.post(f"/v1/buckets/{bucket.name}", params={"bck_to": "ais/@#/dst-x/"},
                     json={"action": "etl-bck", "value": {"id": "no-such-etl"}})
    assert resp.status_code == 404 and "etl job no-such-etl" in resp.json()["message"]
    for path in ("/v1/etl/no-such-etl", "/v1/etl/no-such-etl/logs"):
        assert http.get(path).status_code == 404
    assert http.post("/v1/etl/no-such-etl/stop").status_code == 404
    assert http.delete("/v1/etl/no-such-etl").status_code == 404


FAILING = b"""
def transform(data):
    if data.startswith(b"bad"):
        raise ValueError("cannot transform " + data.decode())
    return data.upper()
"""


def start_job(http, src: str, dst: str, name: str, **value) -> str:
    resp = http.post(f"/v1/buckets/{src}", params={"bck_to": f"ais/@#/{dst}/"},
                     json={"action": "etl-bck", "value": {"id": name, **value}})
    assert resp.status_code == 200, resp.text
    return resp.text


def wait_job(http, xid: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = http.request("GET", "/v1/cluster", params={"what": "status"},
                              json={"id": xid}).json()
        if status["end_time"]:
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {xid} did not finish")


def test_transform_errors_inline_and_offline(http, client: Client, bucket, etl_cleanup) -> None:
    etl_cleanup.append("upper-or-fail")
    msg = code_msg("upper-or-fail", FAILING, comm="hpush://")
    assert http.put("/v1/etl", json=msg).status_code == 200
    for i in range(20):
        body = b"bad %d" % i if i % 5 == 0 else b"good %d" % i
        bucket.object(f"o{i:02}").get_writer().put_content(body)

    resp = http.get(f"/v1/objects/{bucket.name}/o00", params={"etl_name": "upper-or-fail"},
                    follow_redirects=True)
    assert resp.status_code == 500
    assert resp.json()["message"].startswith("ETL error:")
    assert "ValueError: cannot transform bad 0" in resp.json()["message"]

    # Without continue-on-error, the first failure ends the job with an error.
    xid = start_job(http, bucket.name, bucket.name + "-a", "upper-or-fail", **{"num-workers": 1})
    status = wait_job(http, xid)
    assert status["aborted"] and "cannot transform bad" in status["err"]

    # With it, every good object is written and every failure listed.
    xid = start_job(http, bucket.name, bucket.name + "-b", "upper-or-fail", coer=True)
    status = wait_job(http, xid)
    assert not status["aborted"] and "4 object(s) failed" in status["err"]
    errors = http.get("/v1/etl/upper-or-fail", params={"uuid": xid}).json()["obj_errors"]
    assert sorted(e["obj_name"] for e in errors) == [
        f"ais://{bucket.name}/o{i:02}" for i in (0, 5, 10, 15)]
    written = sorted(e.name for e in client.bucket(bucket.name + "-b").list_all_objects())
    assert written == [f"o{i:02}" for i in range(20) if i % 5]
    assert client.bucket(bucket.name + "-b").object("o01").get_reader().read_all() == b"GOOD 1"
    for suffix in ("-a", "-b"):
        client.bucket(bucket.name + suffix).delete(missing_ok=True)


NOT_BYTES = b"""
def transform(data):
    return {b"none": None, b"five": 5, b"list": [1, 2, 3], b"big": 300_000_000,
            b"text": "some text", b"array": bytearray(b"ok")}[data]
"""


def test_results_that_are_not_bytes_are_errors_naming_their_type(http, bucket,
                                                                  etl_cleanup) -> None:
    """Not stored as bytes of something else (5 was five NULs, 300_000_000 a 300 MB object
    of zeros): each is that object's error, naming the type."""
    etl_cleanup.append("not-bytes")
    assert http.put("/v1/etl", json=code_msg("not-bytes", NOT_BYTES, comm="hpush://")) \
        .status_code == 200
    for key, kind in (("none", "NoneType"), ("five", "int"), ("list", "list"),
                      ("big", "int")):
        bucket.object(key).get_writer().put_content(key.encode())
        resp = http.get(f"/v1/objects/{bucket.name}/{key}", params={"etl_name": "not-bytes"})
        assert resp.status_code == 500, (key, resp.status_code, resp.content[:100])
        assert f"transform() returned {kind}, not bytes" in resp.json()["message"], key
    for key, out in (("array", b"ok"), ("text", b"some text")):  # bytes-like; text as UTF-8
        bucket.object(key).get_writer().put_content(key.encode())
        resp = http.get(f"/v1/objects/{bucket.name}/{key}", params={"etl_name": "not-bytes"})
        assert resp.status_code == 200 and resp.content == out, key


def test_object_timeout(http, bucket, etl_cleanup) -> None:
    """A 400 that says timeout, as AIStore answers: a 504 would make the SDK retry five
    times and end in a RetryError that never says why."""
    etl_cleanup.append("slow-etl")
    slow = b"import time\n\ndef transform(data):\n    time.sleep(3)\n    return data\n"
    assert http.put("/v1/etl", json=code_msg("slow-etl", slow, comm="hpush://", obj_timeout="500ms")
                    ).status_code == 200
    bucket.object("o").get_writer().put_content(b"x")
    resp = http.get(f"/v1/objects/{bucket.name}/o", params={"etl_name": "slow-etl"})
    assert resp.status_code == 400
    assert "within 0.5s (obj_timeout)" in resp.json()["message"]


def test_transformer_killed_mid_job(http, client: Client, bucket, etl_cleanup) -> None:
    etl_cleanup.append("sleepy-md5")
    code = (b"import hashlib, time\n\ndef transform(data):\n    time.sleep(0.08)\n"
            b"    print('sleepy-md5 hashed', len(data), 'bytes', flush=True)\n"
            b"    return hashlib.md5(data).hexdigest().encode() * 1000\n")
    assert http.put("/v1/etl", json=code_msg("sleepy-md5", code, comm="hpush://")
                    ).status_code == 200
    for i in range(300):
        bucket.object(f"o{i:03}").get_writer().put_content(os.urandom(1000))
    dst = client.bucket(bucket.name + "-out")
    xid = start_job(http, bucket.name, dst.name, "sleepy-md5", coer=True, **{"num-workers": 4})
    time.sleep(1.0)  # 300 objects, 80 ms each, over 8 workers: about 3 s in all, so mid-job
    assert not http.request("GET", "/v1/cluster", params={"what": "status"},
                            json={"id": xid}).json()["end_time"]
    victim = http.get("/v1/etl/sleepy-md5/health").json()[0]
    os.kill(victim["pid"], signal.SIGKILL)

    status = wait_job(http, xid)
    assert status["aborted"]
    assert f"transformer sleepy-md5-{victim['target_id'].lower()} exited with code -9" \
        in status["err"]
    etl = next(e for e in http.get("/v1/etl").json() if e["id"] == "sleepy-md5")
    assert etl["stage"] == "Aborted"
    details = http.get("/v1/etl/sleepy-md5").json()
    assert "exited with code -9" in details["reason"]
    assert "sleepy-md5 hashed 1000 bytes" in details["reason"]  # and its last log lines
    deadline = time.monotonic() + 15  # the whole ETL stops, as AIStore aborts it cluster-wide
    while any(h["pid"] for h in http.get("/v1/etl/sleepy-md5/health").json()):
        assert time.monotonic() < deadline, "the other transformer is still running"
        time.sleep(0.1)

    # No partial objects: whatever was written is a whole, correct result.
    import hashlib

    for entry in dst.list_all_objects():
        data = bucket.object(entry.name).get_reader().read_all()
        assert dst.object(entry.name).get_reader().read_all() == \
            hashlib.md5(data).hexdigest().encode() * 1000

    # And the ETL can be started again.
    resp = http.post("/v1/etl/sleepy-md5/start")
    assert resp.status_code == 200 and resp.text.startswith("etl-")
    resp = http.get(f"/v1/objects/{bucket.name}/o001", params={"etl_name": "sleepy-md5"})
    assert resp.status_code == 200
    assert all(psutil.pid_exists(h["pid"]) for h in http.get("/v1/etl/sleepy-md5/health").json())
    dst.delete(missing_ok=True)


def test_start_and_delete_rules(http, etl_cleanup) -> None:
    etl_cleanup.append("rules-etl")
    assert http.put("/v1/etl", json=code_msg("rules-etl", MD5_CODE)).status_code == 200
    resp = http.put("/v1/etl", json=code_msg("rules-etl", MD5_CODE))
    assert resp.status_code == 409 and "already exists" in resp.json()["message"]
    resp = http.post("/v1/etl/rules-etl/start")
    assert resp.status_code == 400
    assert "can't start ETL[rules-etl] during Running stage" in resp.json()["message"]
    assert http.delete("/v1/etl/rules-etl").status_code == 200
    assert all(e["id"] != "rules-etl" for e in http.get("/v1/etl").json())
