"""ETL pipelines (``etl_pipeline``, ``TCBMsg.pipeline``): each stage's transformer hands its
result to the next one's on the same target, and the last one answers or puts it in place."""

from __future__ import annotations

import hashlib
import sys
import time

import cloudpickle
import pytest
from aistore import Client
from aistore.sdk.etl import ETLConfig
from aistore.sdk.etl.webserver.fastapi_server import FastAPIServer

from tests.conftest import MANIFESTS, code_msg

cloudpickle.register_pickle_by_value(sys.modules[__name__])

REVERSE = b"def transform(data):\n    return data[::-1]\n"
FAILS = b"def transform(data):\n    raise ValueError('stage two refuses')\n"
SLOW = b"import time\n\ndef transform(data):\n    time.sleep(0.2)\n    return data\n"
TEXT = b"some text :)\n"


def digest(data: bytes) -> bytes:
    return hashlib.md5(data).hexdigest().encode()


class ReverseWs(FastAPIServer):
    def transform(self, data, path, etl_args):
        return data[::-1]


@pytest.fixture(scope="module")
def stages(http, client: Client):
    """``pipe-md5`` (the tutorial's code, hpush) as the next stage of the first ones:
    ``pipe-reverse`` (code, hpush), ``pipe-reverse-nodp`` (the same without direct put) and
    ``pipe-reverse-ws`` (an SDK class over ws); ``pipe-fails`` as a later stage that raises.
    Started once for the module; stopped and deleted after it."""
    md5 = (MANIFESTS / "md5" / "code.py").read_bytes()
    names = ["pipe-md5", "pipe-reverse", "pipe-reverse-nodp", "pipe-fails", "pipe-reverse-ws"]
    try:
        for name, code, direct_put in (("pipe-md5", md5, True), ("pipe-reverse", REVERSE, True),
                                       ("pipe-reverse-nodp", REVERSE, False),
                                       ("pipe-fails", FAILS, True)):
            resp = http.put("/v1/etl", json=code_msg(name, code, comm="hpush://",
                                                     support_direct_put=direct_put))
            assert resp.status_code == 200, resp.text
        client.etl("pipe-reverse-ws").init_class(comm_type="ws", direct_put=True)(ReverseWs)
        yield
    finally:
        for name in names:
            http.delete(f"/v1/etl/{name}")  # stops it first


@pytest.mark.parametrize("first", ["pipe-reverse", "pipe-reverse-ws"])
def test_inline_pipeline(client: Client, bucket, stages, first: str) -> None:
    obj = bucket.object("text")
    obj.get_writer().put_content(TEXT)
    pipeline = client.etl(first) >> client.etl("pipe-md5")  # the SDK's own pipeline syntax
    assert obj.get_reader(etl=ETLConfig(name=pipeline)).read_all() == digest(TEXT[::-1])
    assert obj.get_reader(etl=ETLConfig(name=first)).read_all() == TEXT[::-1]  # one stage


def put_payloads(bucket, count: int = 60) -> dict[str, bytes]:
    payloads = {f"obj-{i:03}": f"payload number {i}".encode() for i in range(count)}
    for name, data in payloads.items():
        bucket.object(name).get_writer().put_content(data)
    return payloads


@pytest.mark.parametrize("first", ["pipe-reverse", "pipe-reverse-nodp", "pipe-reverse-ws"])
def test_offline_pipeline_puts_every_result_on_its_owner(client: Client, bucket, stages,
                                                         first: str) -> None:
    """With direct put the last stage puts each result on its owner; without it, the results
    come back through the stages to this target, which sends them there."""
    payloads = put_payloads(bucket)
    dst = client.bucket(bucket.name + "-piped")
    try:
        job = client.job(bucket.transform(etl_name=first, to_bck=dst,
                                          etl_pipeline=["pipe-md5"]))
        assert job.wait(timeout=120, verbose=False).success
        snaps = job.get_details().list_snapshots()
        assert sum(s.stats.out_objects for s in snaps) > 0  # some went to the other target
        for name, data in payloads.items():
            assert dst.object(name).get_reader().read_all() == digest(data[::-1])
    finally:
        dst.delete(missing_ok=True)


def test_dry_run_through_a_pipeline_writes_nothing(http, client: Client, bucket,
                                                   stages) -> None:
    put_payloads(bucket, 10)
    job = client.job(bucket.transform(etl_name="pipe-reverse", to_bck=bucket, dry_run=True,
                                      etl_pipeline=["pipe-md5"]))
    assert job.wait(timeout=60, verbose=False).success
    snaps = job.get_details().list_snapshots()
    assert sum(s.stats.objects for s in snaps) == 10  # every object transformed, counted here
    assert sum(s.stats.bytes for s in snaps) == 10 * 32  # the md5s' size: both stages ran
    assert len(bucket.list_all_objects()) == 10


@pytest.mark.parametrize("first", ["pipe-reverse", "pipe-reverse-ws"])
def test_a_failing_later_stage_is_an_error_not_a_result(http, client: Client, bucket, stages,
                                                        first: str) -> None:
    bucket.object("text").get_writer().put_content(TEXT)
    resp = http.get(f"/v1/objects/{bucket.name}/text",
                    params={"etl_name": first, "etl_pipeline": "pipe-fails"})
    assert resp.status_code == 500 and resp.json()["message"].startswith("ETL error:")
    put_payloads(bucket, 10)
    dst = client.bucket(bucket.name + "-failed")
    try:
        job = client.job(bucket.transform(etl_name=first, to_bck=dst, cont_on_err=True,
                                          etl_pipeline=["pipe-fails"]))
        job.wait(timeout=60, verbose=False)
        errors = http.get(f"/v1/etl/{first}", params={"uuid": job.job_id}).json()["obj_errors"]
        assert len(errors) == 11 and all(e["msg"].startswith("ETL error:") for e in errors)
        assert dst.list_all_objects() == []  # nothing half-done taken for a result
    finally:
        dst.delete(missing_ok=True)


def test_stopping_a_later_stage_aborts_the_jobs_that_use_it(http, client: Client, bucket,
                                                           stages, etl_cleanup) -> None:
    etl_cleanup.append("pipe-slow")
    assert http.put("/v1/etl", json=code_msg("pipe-slow", SLOW, comm="hpush://",
                                             support_direct_put=True)).status_code == 200
    put_payloads(bucket, 200)  # 0.2 s each in pipe-slow, 8 at a time per target: 2.5 s at least
    dst = client.bucket(bucket.name + "-slow")
    try:
        job = client.job(bucket.transform(etl_name="pipe-reverse", to_bck=dst,
                                          etl_pipeline=["pipe-slow"]))
        time.sleep(0.5)
        assert job.status().end_time == 0  # still running: the stop lands mid-job
        assert http.post("/v1/etl/pipe-slow/stop").status_code == 200
        job.wait(timeout=30, verbose=False)
        status = job.status()
        assert status.aborted or "pipe-slow" in status.err
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
    assert resp.json()["message"].endswith(',etl="no-such-etl"] entry not found in the target')

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
