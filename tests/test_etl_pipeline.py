"""ETL pipelines (``etl_pipeline``, ``TCBMsg.pipeline``): each stage's transformer hands its
result to the next one's on the same target, and the last one answers or puts it in place."""

from __future__ import annotations

import hashlib
import sys

import cloudpickle
import pytest
from aistore import Client
from aistore.sdk.etl import ETLConfig
from aistore.sdk.etl.webserver.fastapi_server import FastAPIServer

from tests.conftest import MANIFESTS, code_msg

cloudpickle.register_pickle_by_value(sys.modules[__name__])

REVERSE = b"def transform(data):\n    return data[::-1]\n"
TEXT = b"some text :)\n"


def digest(data: bytes) -> bytes:
    return hashlib.md5(data).hexdigest().encode()


class ReverseWs(FastAPIServer):
    def transform(self, data, path, etl_args):
        return data[::-1]


@pytest.fixture
def stages(http, client: Client, etl_cleanup):
    """``pipe-md5`` (the tutorial's code, hpush) as the next stage of the first ones:
    ``pipe-reverse`` (code, hpush) and ``pipe-reverse-ws`` (an SDK class over ws)."""
    md5 = (MANIFESTS / "md5" / "code.py").read_bytes()
    for name, code in (("pipe-md5", md5), ("pipe-reverse", REVERSE)):
        etl_cleanup.append(name)
        resp = http.put("/v1/etl", json=code_msg(name, code, comm="hpush://",
                                                 support_direct_put=True))
        assert resp.status_code == 200, resp.text
    etl_cleanup.append("pipe-reverse-ws")
    client.etl("pipe-reverse-ws").init_class(comm_type="ws", direct_put=True)(ReverseWs)


@pytest.mark.parametrize("first", ["pipe-reverse", "pipe-reverse-ws"])
def test_inline_pipeline(client: Client, bucket, stages, first: str) -> None:
    obj = bucket.object("text")
    obj.get_writer().put_content(TEXT)
    pipeline = client.etl(first) >> client.etl("pipe-md5")  # the SDK's own pipeline syntax
    assert obj.get_reader(etl=ETLConfig(name=pipeline)).read_all() == digest(TEXT[::-1])
    assert obj.get_reader(etl=ETLConfig(name=first)).read_all() == TEXT[::-1]  # one stage


def test_offline_pipeline_puts_every_result_on_its_owner(client: Client, bucket, stages) -> None:
    payloads = {f"obj-{i:03}": f"payload number {i}".encode() for i in range(60)}
    for name, data in payloads.items():
        bucket.object(name).get_writer().put_content(data)
    dst = client.bucket(bucket.name + "-piped")
    try:
        job = client.job(bucket.transform(etl_name="pipe-reverse", to_bck=dst,
                                          etl_pipeline=["pipe-md5"]))
        assert job.wait(timeout=120, verbose=False).success
        snaps = job.get_details().list_snapshots()
        assert sum(s.stats.out_objects for s in snaps) > 0  # some went to the other target
        for name, data in payloads.items():
            assert dst.object(name).get_reader().read_all() == digest(data[::-1])
    finally:
        dst.delete(missing_ok=True)


def test_single_object_copy_through_a_pipeline(http, bucket, stages) -> None:
    bucket.object("text").get_writer().put_content(TEXT)
    for i in range(6):  # destinations on both targets
        resp = http.put(f"/v1/objects/{bucket.name}/text",
                        params={"object_to": f"ais/@#/{bucket.name}/piped-{i}",
                                "etl_name": "pipe-reverse", "etl_pipeline": "pipe-md5"})
        assert resp.status_code == 200, resp.text
        assert bucket.object(f"piped-{i}").get_reader().read_all() == digest(TEXT[::-1])


def test_bad_pipelines(http, bucket, stages, etl_cleanup) -> None:
    bucket.object("text").get_writer().put_content(TEXT)
    resp = http.get(f"/v1/objects/{bucket.name}/text",
                    params={"etl_name": "pipe-reverse", "etl_pipeline": "no-such-etl"})
    assert resp.status_code == 404
    assert "etl job no-such-etl does not exist" in resp.json()["message"]

    etl_cleanup.append("pipe-pull")
    assert http.put("/v1/etl", json=code_msg("pipe-pull", REVERSE, comm="hpull://")
                    ).status_code == 200
    resp = http.get(f"/v1/objects/{bucket.name}/text",
                    params={"etl_name": "pipe-pull", "etl_pipeline": "pipe-md5"})
    assert resp.status_code == 400 and "does not support etl_pipeline" in resp.json()["message"]

    resp = http.post(f"/v1/buckets/{bucket.name}", params={"bck_to": "ais/@#/piped-x/"},
                     json={"action": "etl-bck", "value": {"id": "pipe-reverse",
                                                          "pipeline": ["no-such-etl"]}})
    assert resp.status_code == 404 and "no-such-etl" in resp.json()["message"]
    assert http.head("/v1/buckets/piped-x").status_code == 404  # refused before creating it
