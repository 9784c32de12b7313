"""The "Compute MD5" tutorial, all three flows, against a real embedded cluster."""

from __future__ import annotations

import hashlib

import psutil
import pytest
from aistore import Client

from backend.local.etl import ImageRegistry
from tests.conftest import MANIFESTS, TUTORIAL, code_msg, spec_msg

SHARD_MD5 = "393c6706efb128fbc442d3f7d084a426"


@pytest.fixture
def transform_bucket(client: Client):
    """The tutorial's ``ais create transform`` and ``echo "some text :)" | ais put - ...``."""
    bck = client.bucket("transform")
    bck.create(exist_ok=True)
    bck.object("shard.in").get_writer().put_content(b"some text :)\n")
    yield bck
    bck.delete(missing_ok=True)
    client.bucket("transform-md5").delete(missing_ok=True)


def inline(http, name: str, obj: str = "shard.in", bucket: str = "transform"):
    return http.get(f"/v1/objects/{bucket}/{obj}", params={"etl_name": name})


def transformer_pids(http, name: str) -> list[int]:
    return [h["pid"] for h in http.get(f"/v1/etl/{name}/health").json() if h.get("pid")]


def test_flow1_transform_function_hpull(http, client, transform_bucket, etl_cleanup) -> None:
    etl_cleanup.append("transformer-md5")
    code = (MANIFESTS / "md5" / "code.py").read_bytes()
    resp = http.put("/v1/etl", json=code_msg("transformer-md5", code, comm="hpull://"))
    assert resp.status_code == 200, resp.text
    assert resp.text.startswith("etl-")

    pods = http.get("/v1/etl/transformer-md5/health").json()
    assert len(pods) == 2  # one transformer per target
    assert {p["pod_name"] for p in pods} == {
        f"transformer-md5-{t.lower()}" for t in client.cluster().get_info().tmap
    }
    assert inline(http, "transformer-md5").text == SHARD_MD5
    offline_then_stop(http, client, transform_bucket, "transformer-md5")


def offline_then_stop(http, client, transform_bucket, name: str) -> None:
    """The tutorial's last steps: the whole bucket into transform-md5, every object its md5;
    then stop, which removes the transformer processes."""
    for i in range(20):
        transform_bucket.object(f"obj-{i}").get_writer().put_content(f"payload {i}".encode())
    resp = http.post("/v1/buckets/transform", params={"bck_to": "ais/@#/transform-md5/"},
                     json={"action": "etl-bck", "value": {"id": name}})
    assert resp.status_code == 200, resp.text
    assert client.job(resp.text).wait(timeout=60, verbose=False).success
    src = {e.name for e in transform_bucket.list_all_objects()}
    dst = client.bucket("transform-md5")
    assert {e.name for e in dst.list_all_objects()} == src
    for obj in src:
        expected = hashlib.md5(transform_bucket.object(obj).get_reader().read_all()).hexdigest()
        assert dst.object(obj).get_reader().read_all().decode() == expected

    pids = transformer_pids(http, name)
    assert len(pids) == 2 and all(psutil.pid_exists(p) for p in pids)
    assert http.post(f"/v1/etl/{name}/stop").status_code == 200
    assert not any(psutil.pid_exists(p) for p in pids)
    # AIStore's shape (tests/test_real_etl.py): listed as Aborted, its counters kept
    listed = next(e for e in http.get("/v1/etl").json() if e["id"] == name)
    assert listed["stage"] == "Aborted" and listed["obj_count"] >= 1
    assert inline(http, name).status_code == 404


def test_flow2_io_script(http, client, transform_bucket, etl_cleanup) -> None:
    etl_cleanup.extend(["compute-md5", "compute-md5-fixed"])
    buggy = (TUTORIAL / "io_code.py").read_bytes()
    resp = http.put("/v1/etl", json=code_msg("compute-md5", buggy, comm="io://"))
    assert resp.status_code == 200, resp.text
    resp = inline(http, "compute-md5")
    assert resp.status_code == 500
    error = resp.json()["message"]
    assert error.startswith("ETL error: io:// script exited with code 1")
    assert "Traceback (most recent call last):\n" in error  # the traceback as printed
    assert ", in <module>\n    md5.update(chunk)\n" in error and "TypeError" in error

    errors = http.get("/v1/etl/compute-md5").json()["obj_errors"]
    assert errors[0]["obj_name"] == "ais://transform/shard.in"

    fixed = (MANIFESTS / "md5" / "io_code.py").read_bytes()
    resp = http.put("/v1/etl", json=code_msg("compute-md5-fixed", fixed, comm="io://"))
    assert resp.status_code == 200, resp.text
    assert inline(http, "compute-md5-fixed").text == SHARD_MD5
    offline_then_stop(http, client, transform_bucket, "compute-md5-fixed")


def test_flow3_spec_as_printed_is_rejected(http) -> None:
    resp = http.put("/v1/etl", json=spec_msg("transformer-md5", (TUTORIAL / "spec.yaml")
                                              .read_text()))
    assert resp.status_code == 400
    assert "readinessProbe" in resp.json()["message"]
    assert http.get("/v1/etl").json() == [] or all(
        e["id"] != "transformer-md5" for e in http.get("/v1/etl").json())


def test_flow3_server_without_health_or_put(http, cluster, transform_bucket,
                                            etl_cleanup) -> None:
    """The tutorial's server answers only POST: readiness (GET /health) fails, clearly."""
    ImageRegistry(cluster.data_dir).add("docker.io/aistore/md5_server:v0", TUTORIAL)
    pod = (MANIFESTS / "md5" / "spec.yaml").read_text().replace(":v1", ":v0")
    etl_cleanup.append("tutorial-md5")
    resp = http.put("/v1/etl", json=spec_msg("tutorial-md5", pod))
    assert resp.status_code == 400
    message = resp.json()["message"]
    assert "GET /health returned 501" in message
    assert "must answer GET /health with 200" in message


def tutorial_server_with(cluster, tmp_dir, tag: str, methods: str) -> str:
    """The tutorial's server with GET /health added and ``methods`` (module-level code) before
    ``run``, as image ``tag``; its pod spec."""
    server = (TUTORIAL / "server.py").read_text().replace(
        "    def do_POST(self):",
        "    def do_GET(self):\n        self._set_headers()\n        self.wfile.write(b'ok')\n\n"
        "    def do_POST(self):").replace("\ndef run(", f"{methods}\ndef run(")
    (tmp_dir / "server.py").write_text(server)
    (tmp_dir / "server.py").chmod(0o755)
    (tmp_dir / "Dockerfile").write_text((TUTORIAL / "Dockerfile").read_text())
    ImageRegistry(cluster.data_dir).add(f"docker.io/aistore/md5_server:{tag}", tmp_dir)
    return (MANIFESTS / "md5" / "spec.yaml").read_text().replace(":v1", f":{tag}")


def test_flow3_server_without_put(http, cluster, transform_bucket, etl_cleanup, tmp_dir) -> None:
    """A server that is ready but answers only POST: hpush's PUT gets a what-to-fix error."""
    pod = tutorial_server_with(cluster, tmp_dir, "post", "")
    etl_cleanup.append("post-only-md5")
    resp = http.put("/v1/etl", json=spec_msg("post-only-md5", pod))
    assert resp.status_code == 200, resp.text
    resp = inline(http, "post-only-md5")
    assert resp.status_code == 500
    assert "answered 501 to PUT" in resp.json()["message"]
    assert "make the server handle PUT" in resp.json()["message"]
    assert "read the object from the file named by etl_fqn" in resp.json()["message"]


def test_flow3_server_reading_the_body_gets_none(http, cluster, transform_bucket,
                                                 etl_cleanup, tmp_dir) -> None:
    """As AIStore, hpush sends the object's file in etl_fqn and no body: a server that reads
    only the body hashes nothing."""
    pod = tutorial_server_with(cluster, tmp_dir, "put", "S.do_PUT = S.do_POST\n")
    etl_cleanup.append("body-md5")
    resp = http.put("/v1/etl", json=spec_msg("body-md5", pod))
    assert resp.status_code == 200, resp.text
    assert inline(http, "body-md5").text == hashlib.md5(b"").hexdigest()


def test_flow3_corrected_server_and_spec(http, cluster, client, transform_bucket,
                                         etl_cleanup) -> None:
    ImageRegistry(cluster.data_dir).add("docker.io/aistore/md5_server:v1", MANIFESTS / "md5")
    etl_cleanup.append("transformer-md5")
    resp = http.put("/v1/etl", json=spec_msg("transformer-md5",
                                             (MANIFESTS / "md5" / "spec.yaml").read_text()))
    assert resp.status_code == 200, resp.text
    assert inline(http, "transformer-md5").text == SHARD_MD5
    offline_then_stop(http, client, transform_bucket, "transformer-md5")
