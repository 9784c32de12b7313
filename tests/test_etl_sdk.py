"""The SDK's own ETL API (``init_class``, jobs) against the embedded cluster, unchanged."""

from __future__ import annotations

import hashlib
import json
import os
import sys

import cloudpickle
import psutil
import pytest
import xxhash
from aistore import Client
from aistore.sdk.errors import AISError, ErrETLAlreadyExists, ErrETLNotFound
from aistore.sdk.etl import ETLConfig
from aistore.sdk.etl.webserver.fastapi_server import FastAPIServer
from aistore.sdk.etl.webserver.http_multi_threaded_server import HTTPMultiThreadedServer

from tests.conftest import make_wheel

# Classes defined in an importable module are pickled by reference; send them by value, as a
# user's notebook or script does, so the transformer does not need this test module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture
def etl(client: Client, request):
    """An ETL handle whose name is unique to the test; stopped and deleted afterwards."""
    name = "sdk-" + request.node.name.replace("_", "-")[5:25].strip("-")
    handle = client.etl(name)
    yield handle
    with pytest.raises(AISError):  # the context manager contract: gone after stop + delete
        with handle:
            pass
        handle.view()


class MD5(HTTPMultiThreadedServer):
    def __init__(self):
        super().__init__()
        self.logger.info("MD5 transformer initialized")

    def transform(self, data, path, etl_args):
        return hashlib.md5(etl_args.encode() + data).hexdigest().encode()  # args: a salt


@pytest.mark.parametrize("comm", ["hpush", "hpull"])
def test_init_class_md5_inline_and_offline(client, bucket, etl, comm: str) -> None:
    etl.init_class(comm_type=comm)(MD5)
    assert [e.id for e in client.cluster().list_etls()].count(etl.name) == 1
    for i in range(1000):
        bucket.object(f"obj-{i:04}").get_writer().put_content(f"object number {i}".encode())
    obj = bucket.object("obj-0007")
    assert obj.get_reader(etl=ETLConfig(name=etl.name)).read_all() == \
        hashlib.md5(b"object number 7").hexdigest().encode()
    assert obj.get_reader(etl=ETLConfig(name=etl.name, args="salt")).read_all() == \
        hashlib.md5(b"saltobject number 7").hexdigest().encode()

    dst = client.bucket(bucket.name + "-md5")
    try:
        job_id = bucket.transform(etl_name=etl.name, to_bck=dst)
        assert client.job(job_id).wait(timeout=120, verbose=False).success
        snaps = client.job(job_id).get_details().list_snapshots()
        assert len(snaps) == 2  # both targets took part
        moved = sum(s.stats.out_objects for s in snaps)  # direct put to the other target
        assert moved == sum(s.stats.in_objects for s in snaps)
        assert moved + sum(s.stats.objects for s in snaps) == 1000
        assert moved > 0
        names = sorted(e.name for e in dst.list_all_objects())
        assert names == [f"obj-{i:04}" for i in range(1000)]
        for i in range(1000):
            got = dst.object(f"obj-{i:04}").get_reader().read_all()
            assert got == hashlib.md5(f"object number {i}".encode()).hexdigest().encode()
    finally:
        dst.delete(missing_ok=True)

    logs = etl.logs()
    assert len(logs) == 2
    assert all("MD5 transformer initialized" in entry.logs for entry in logs)


class XXHash(HTTPMultiThreadedServer):
    def transform(self, data, path, etl_args):
        import os

        import xxhash as xx

        seed = int(etl_args or os.environ.get("SEED_DEFAULT", "0"))
        return xx.xxh64(data, seed=seed).hexdigest().encode()


def test_init_class_hpull_with_etl_args_and_packages(client, bucket, etl) -> None:
    etl.init_class(comm_type="hpull", dependencies=["xxhash"], SEED_DEFAULT="500")(XXHash)
    obj = bucket.object("data")
    obj.get_writer().put_content(b"hash me")
    assert obj.get_reader(etl=ETLConfig(name=etl.name)).read_all() == \
        xxhash.xxh64(b"hash me", seed=500).hexdigest().encode()
    assert obj.get_reader(etl=ETLConfig(name=etl.name, args="7")).read_all() == \
        xxhash.xxh64(b"hash me", seed=7).hexdigest().encode()
    assert "dependencies already on this machine: xxhash" in etl.logs()[0].logs


class Shout(HTTPMultiThreadedServer):
    def transform(self, data, path, etl_args):
        import tinydep  # installed for this ETL from PACKAGES

        return tinydep.shout(data)


def test_init_class_installs_missing_packages(bucket, etl, tmp_dir) -> None:
    etl.init_class(dependencies=[f"tinydep @ {make_wheel(tmp_dir).as_uri()}"])(Shout)
    obj = bucket.object("quiet")
    obj.get_writer().put_content(b"hello")
    assert obj.get_reader(etl=ETLConfig(name=etl.name)).read_all() == b"HELLO!"
    assert "installed dependencies: tinydep @ file://" in etl.logs()[0].logs


class Upper(FastAPIServer):
    def transform(self, data, path, etl_args):
        return data.upper() + etl_args.encode()


def test_fastapi_class_over_websocket(client, bucket, etl) -> None:
    etl.init_class(comm_type="ws", direct_put=True)(Upper)
    obj = bucket.object("words")
    obj.get_writer().put_content(b"quiet words")
    assert obj.get_reader(etl=ETLConfig(name=etl.name, args="!")).read_all() == b"QUIET WORDS!"
    for i in range(100):
        bucket.object(f"w{i}").get_writer().put_content(f"word {i}".encode())
    dst = client.bucket(bucket.name + "-up")
    try:
        client.job(bucket.transform(etl_name=etl.name, to_bck=dst)).wait(timeout=120)
        for i in range(100):
            assert dst.object(f"w{i}").get_reader().read_all() == f"WORD {i}".encode()
    finally:
        dst.delete(missing_ok=True)
    share = max(1, (os.cpu_count() or 1) // 2)  # two targets' transformers share the cores
    assert f"NUM_WORKERS={share} (FastAPI server processes)" in etl.logs()[0].logs


@pytest.mark.parametrize("comm", ["hpush", "hpull", "ws"])
def test_object_names_that_need_escaping(client, bucket, etl, comm) -> None:
    names = ["dir/a b#1?x=y&z.txt", "ünï/cödé+plus;semi@at.bin"]
    etl.init_class(comm_type=comm, direct_put=True)(Upper)
    for name in names:
        obj = bucket.object(name)
        obj.get_writer().put_content(name.encode())
        assert obj.get_reader(etl=ETLConfig(name=etl.name, args="%2F")).read_all() == \
            name.encode().upper() + b"%2F"
    dst = client.bucket(bucket.name + "-odd")
    try:
        client.job(bucket.transform(etl_name=etl.name, to_bck=dst)).wait(timeout=60)
        assert sorted(e.name for e in dst.list_all_objects()) == sorted(names)
        for name in names:
            assert dst.object(name).get_reader().read_all() == name.encode().upper()
    finally:
        dst.delete(missing_ok=True)


def test_fastapi_server_processes_follow_num_workers(etl, http) -> None:
    with pytest.raises(AISError, match="NUM_WORKERS must be a positive number of server "
                                       "processes, not 'all'"):
        etl.init_class(comm_type="ws", NUM_WORKERS="all")(Upper)
    etl.delete()
    etl.init_class(comm_type="ws", NUM_WORKERS="2")(Upper)
    pods = http.get(f"/v1/etl/{etl.name}/health").json()
    assert len(pods) == 2
    for pod in pods:
        servers = [p for p in psutil.Process(pod["pid"]).children(recursive=True)
                   if "spawn_main" in " ".join(p.cmdline())]
        assert len(servers) == 2
    assert "NUM_WORKERS=2 (FastAPI" not in etl.logs()[0].logs


def test_init_errors_map_to_sdk_exceptions(client, etl) -> None:
    etl.init_class()(MD5)
    with pytest.raises(ErrETLAlreadyExists):
        etl.init_class()(MD5)
    with pytest.raises(ErrETLNotFound):
        client.etl("no-such-etl").view()


def test_multi_object_transform_by_names_and_template(client, bucket, etl) -> None:
    etl.init_class()(MD5)
    for i in range(30):
        bucket.object(f"shard-{i:02}.tar").get_writer().put_content(str(i).encode())
    dst = client.bucket(bucket.name + "-lr")
    try:
        job = bucket.objects(obj_names=["shard-01.tar", "shard-02.tar"]).transform(
            to_bck=dst, etl_name=etl.name, prepend="named/")
        client.job(job).wait(timeout=60)
        job = bucket.objects(obj_template="shard-{10..19}.tar").transform(
            to_bck=dst, etl_name=etl.name, ext={"tar": "md5"})
        client.job(job).wait(timeout=60)
        names = sorted(e.name for e in dst.list_all_objects())
        assert names == ["named/shard-01.tar", "named/shard-02.tar"] + [
            f"shard-{i}.md5" for i in range(10, 20)]
        assert dst.object("shard-15.md5").get_reader().read_all() == \
            hashlib.md5(b"15").hexdigest().encode()
    finally:
        dst.delete(missing_ok=True)


def test_runtime_spec_details_and_view(client, etl, http) -> None:
    etl.init_class(comm_type="hpull", obj_timeout="30s")(MD5)
    details = etl.view()
    assert details.init_msg.name == etl.name
    assert details.init_msg.communication == "hpull://"
    assert details.init_msg.runtime.image.startswith("aistorage/runtime_python:")
    info = next(e for e in http.get("/v1/etl").json() if e["id"] == etl.name)
    assert info["stage"] == "Running" and info["xaction_id"].startswith("etl-")
    metrics = http.get(f"/v1/etl/{etl.name}/metrics").json()
    assert [m["target_id"] for m in metrics] == sorted(client.cluster().get_info().tmap)
    assert all(m["mem"] > 0 for m in metrics)
    assert json.dumps(metrics)
