"""The async client (backend.ais) against the real embedded cluster, plus the message builders
and a few wire details checked with a mock transport."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import yaml

from backend.ais import (
    AisClient,
    AisError,
    AlreadyExists,
    ApiError,
    BucketInfo,
    ConnectionFailed,
    Forbidden,
    JobStatus,
    NotFound,
    Unauthorized,
    class_init_msg,
    code_init_msg,
    etl_name_problem,
    load_token,
    spec_init_msg,
)
from tests.conftest import MANIFESTS

TEXT = b"some text :)\n"
DIGEST = b"393c6706efb128fbc442d3f7d084a426"
MD5_CODE = (MANIFESTS / "md5" / "code.py").read_text()
MD5_IO = (MANIFESTS / "md5" / "io_code.py").read_text()
SLOW_CODE = "import time\n\ndef transform(data):\n    time.sleep(0.2)\n    return data\n"
PICKY_CODE = textwrap.dedent("""
    def transform(data):
        if data.startswith(b"bad"):
            raise ValueError("cannot digest " + data.decode())
        return data.upper()
""")


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def put_many(ais: AisClient, bucket: str, names: list[str], data: bytes = b"x") -> None:
    sem = asyncio.Semaphore(16)

    async def put(name: str) -> None:
        async with sem:
            await ais.put_bytes(bucket, name, data)

    await asyncio.gather(*(put(n) for n in names))


async def init(ais: AisClient, msg: dict, cleanup: list[str]) -> str:
    cleanup.append(msg["name"])
    return await ais.init_etl(msg)


async def wait_finished(ais: AisClient, xid: str, timeout: float = 60.0) -> JobStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = await ais.job_status(xid)
        if status.ended is not None:
            return status
        assert time.monotonic() < deadline, f"job {xid} did not finish: {status}"
        await asyncio.sleep(0.1)


# --- cluster and connection -------------------------------------------------------------------

async def test_cluster_map_and_health(cluster) -> None:
    async with AisClient(cluster.endpoint, token=cluster.token) as ais:
        smap = await ais.cluster_map()
        assert await ais.health()
    assert smap.uuid and smap.version
    assert smap.primary_url == cluster.endpoint
    assert [p.url for p in smap.proxies] == [cluster.endpoint]
    assert len(smap.targets) == 2 and all(t.kind == "target" for t in smap.targets)
    assert {t.id for t in smap.targets} == {t.daemon_id for t in cluster.smap.targets}
    assert all(t.url.startswith("http://127.0.0.1:") for t in smap.targets)


async def test_unreachable_endpoint_fails_fast() -> None:
    port = closed_port()
    async with AisClient(f"127.0.0.1:{port}") as ais:
        assert ais.endpoint == f"http://127.0.0.1:{port}"
        start = time.monotonic()
        with pytest.raises(ConnectionFailed) as info:
            await ais.list_buckets()
        assert time.monotonic() - start < 2
        assert str(info.value) == f"cannot reach http://127.0.0.1:{port}: connection refused"
        assert not await ais.health()


async def test_silent_server_is_a_read_timeout() -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with AisClient(f"http://127.0.0.1:{port}", timeout=0.3) as ais:
            start = time.monotonic()
            with pytest.raises(ConnectionFailed, match=r"did not answer within 0\.3s"):
                await ais.cluster_map()
            assert time.monotonic() - start < 2
    finally:
        server.close()


async def test_authn_refusals_are_said_in_words() -> None:
    """A stand-in for a proxy with AuthN on (none runs here): it answers as AIStore's
    ``checkAccess`` does, 401 without a valid token and 403 for a missing permission."""
    from aiohttp import web

    async def guarded(request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "")
        if token != "Bearer good":
            return web.json_response({"message": "invalid token from header \"Authorization\""
                                      ": invalid token", "status": 401}, status=401)
        return web.json_response({"message": "insufficient permissions", "status": 403},
                                 status=403)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", guarded)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with AisClient(f"http://127.0.0.1:{port}") as ais:
            with pytest.raises(Unauthorized, match="no token was sent: log in with `ais auth "
                               "login`, or set AIS_AUTHN_TOKEN"):
                await ais.list_buckets()
        async with AisClient(f"http://127.0.0.1:{port}", token="expired") as ais:
            with pytest.raises(Unauthorized, match="the token sent was refused"):
                await ais.list_buckets()
        async with AisClient(f"http://127.0.0.1:{port}", token="good") as ais:
            with pytest.raises(Forbidden, match=r"permission denied \(PUT /v1/etl\): your "
                               r"AuthN user's roles do not allow it.*insufficient permissions"):
                await ais.init_etl({"name": "x"})
    finally:
        await runner.cleanup()


# --- buckets and objects ----------------------------------------------------------------------

async def test_bucket_lifecycle_and_error_mapping(cluster) -> None:
    name = unique("client-bck")
    async with AisClient(cluster.endpoint, token=cluster.token) as ais:
        await ais.create_bucket(name)
        try:
            assert BucketInfo(name, "ais") in await ais.list_buckets()
            with pytest.raises(AlreadyExists) as exists:
                await ais.create_bucket(name)
            assert exists.value.status == 409 and exists.value.tcode == "ErrBucketAlreadyExists"
            assert str(exists.value) == f'bucket "ais://{name}" already exists'
            with pytest.raises(NotFound) as missing:  # HEAD: the error is in Hdr-Error
                await ais.head_object(name, "nothing-here")
            assert "does not exist" in missing.value.message
        finally:
            await ais.destroy_bucket(name)
        assert BucketInfo(name, "ais") not in await ais.list_buckets()
        with pytest.raises(NotFound) as gone:
            await ais.destroy_bucket(name)
        assert gone.value.status == 404 and f"ais://{name}" in gone.value.message
        with pytest.raises(NotFound):
            await ais.list_objects(name)
        with pytest.raises(NotFound):
            await ais.bucket_summary(name)
        with pytest.raises(ApiError) as bad:
            await ais.create_bucket("no/slashes")
        assert bad.value.status == 400


async def test_list_objects_pages_with_prefix(cluster, bucket) -> None:
    names = [f"page/{i:04}" for i in range(250)]
    async with AisClient(cluster.endpoint, token=cluster.token) as ais:
        await put_many(ais, bucket.name, names + [f"other/{i}" for i in range(30)], b"12345")
        seen, tokens, uuids = [], [], set()
        token, uuid = "", ""
        while True:
            page = await ais.list_objects(bucket.name, prefix="page/", page_size=100,
                                          token=token, uuid=uuid)
            seen.append(page.entries)
            tokens.append(page.token)
            uuids.add(page.uuid)
            if not page.token:
                break
            token, uuid = page.token, page.uuid
        assert [len(p) for p in seen] == [100, 100, 50]
        assert tokens[:2] == ["page/0099", "page/0199"] and tokens[2] == ""
        assert len(uuids) == 1 and next(iter(uuids))
        assert [e.name for p in seen for e in p] == names
        assert all(e.size == 5 for p in seen for e in p)

        rich = await ais.list_objects(bucket.name, prefix="other/1",
                                      props="name,size,checksum,version,atime")
        assert [e.name for e in rich.entries] == ["other/1"] + [f"other/{i}" for i in range(10, 20)]
        assert rich.token == ""
        entry = rich.entries[0]
        assert entry.checksum and entry.version == "1" and entry.atime

        summary = await ais.bucket_summary(bucket.name)
        assert (summary.name, summary.count, summary.size) == (bucket.name, 280, 1400)
        summary = await ais.bucket_summary(bucket.name, prefix="other/")
        assert (summary.count, summary.size) == (30, 150)


async def test_put_file_get_head_delete(cluster, bucket, tmp_dir) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_dir / "big.bin"
    path.write_bytes(data)
    progress: list[int] = []
    async with AisClient(cluster.endpoint, token=cluster.token) as ais:
        await ais.put_file(bucket.name, "dir/big file.bin", path, progress.append)
        assert len(progress) > 1 and progress == sorted(progress)
        assert progress[-1] == len(data)
        assert await ais.get_object(bucket.name, "dir/big file.bin") == data
        assert await ais.get_object(bucket.name, "dir/big file.bin", max_bytes=1000) == data[:1000]
        props = await ais.head_object(bucket.name, "dir/big file.bin")
        assert props["size"] == str(len(data))
        assert props["Ais-Version"] == "1" and props["Ais-Checksum-Type"] == "xxhash2"
        assert props["Ais-Name"] == "dir/big file.bin" and props["Ais-Checksum-Value"]

        odd = "a b%c?d#e&f.txt"
        await ais.put_bytes(bucket.name, odd, b"odd")
        assert await ais.get_object(bucket.name, odd) == b"odd"
        assert await ais.get_object(bucket.name, odd, max_bytes=100) == b"odd"
        await ais.put_bytes(bucket.name, "empty", b"")
        assert await ais.get_object(bucket.name, "empty") == b""
        assert await ais.get_object(bucket.name, "empty", max_bytes=10) == b""
        await ais.put_bytes(bucket.name, odd, b"odd, again")
        assert (await ais.head_object(bucket.name, odd))["Ais-Version"] == "2"

        summary = await ais.bucket_summary(bucket.name)
        assert (summary.count, summary.size) == (3, len(data) + len(b"odd, again"))

        await ais.delete_object(bucket.name, odd)
        with pytest.raises(NotFound) as missing:
            await ais.get_object(bucket.name, odd)
        assert "does not exist" in str(missing.value)
        with pytest.raises(NotFound):
            await ais.delete_object(bucket.name, odd)
        with pytest.raises(AisError, match="cannot read"):
            await ais.put_file(bucket.name, "x", tmp_dir / "missing.bin")


# --- ETL --------------------------------------------------------------------------------------

@pytest.mark.parametrize("comm", ["hpush", "hpull"])
async def test_code_etl_transforms(cluster, bucket, etl_cleanup, comm) -> None:
    name = unique(f"md5-{comm}")
    async with AisClient(cluster.endpoint, token=cluster.token) as ais:
        xid = await init(ais, code_init_msg(name, MD5_CODE, comm=comm), etl_cleanup)
        assert xid.startswith("etl-")
        await ais.put_bytes(bucket.name, "text", TEXT)
        assert await ais.transform_object(bucket.name, "text", name) == DIGEST
        assert await ais.transform_object(bucket.name, "text", name, max_bytes=5) == DIGEST[:5]
        await ais.copy_transformed(bucket.name, "text", name, bucket.name, "copies/text.md5")
        assert await ais.get_object(bucket.name, "copies/text.md5") == DIGEST
        [info] = [e for e in await ais.list_etls() if e.name == name]
        assert info.stage == "Running" and info.xid == xid and info.obj_count >= 2


async def test_etl_lifecycle_details_pods_logs(cluster, bucket, etl_cleanup) -> None:
    name = unique("lifecycle")
    msg = code_init_msg(name, MD5_CODE)
    async with AisClient(cluster.endpoint, token=cluster.token) as ais:
        xid = await init(ais, msg, etl_cleanup)
        with pytest.raises(AlreadyExists, match=f"etl job {name} already exists"):
            await ais.init_etl(msg)

        details = await ais.etl_details(name)
        assert details.name == name and details.stage == "Running" and details.reason == ""
        assert details.init_msg["communication"] == "hpush://"
        assert details.init_msg["code"] == msg["code"] and details.obj_errors == []

        pods = await ais.etl_pods(name)
        target_ids = sorted(t.daemon_id for t in cluster.smap.targets)
        assert [p.target_id for p in pods] == target_ids
        for pod in pods:
            assert pod.etl == name and pod.pod_name == f"{name}-{pod.target_id.lower()}"
            assert pod.health == "Running" and pod.restarts == 0
            assert isinstance(pod.pid, int) and pod.started and pod.started <= time.time()
            assert pod.cpu is not None and pod.cpu >= 0 and pod.mem and pod.mem > 1_000_000

        logs = await ais.etl_logs(name)
        assert sorted(entry.target_id for entry in logs) == target_ids
        assert all(isinstance(entry.text, str) for entry in logs)
        [one] = await ais.etl_logs(name, target_ids[1])
        assert one.target_id == target_ids[1]

        await ais.stop_etl(name)
        [info] = [e for e in await ais.list_etls() if e.name == name]
        assert info.stage == "Aborted"
        assert (await ais.etl_details(name)).stage == "Aborted"
        await ais.put_bytes(bucket.name, "text", TEXT)
        with pytest.raises(ApiError):
            await ais.transform_object(bucket.name, "text", name)

        new_xid = await ais.start_etl(name)
        assert new_xid.startswith("etl-") and new_xid != xid
        assert await ais.transform_object(bucket.name, "text", name) == DIGEST

        await ais.delete_etl(name)
        assert name not in [e.name for e in await ais.list_etls()]
        with pytest.raises(NotFound, match=f"etl job {name} does not exist"):
            await ais.etl_details(name)
        with pytest.raises(NotFound):
            await ais.etl_pods(name)


@pytest.mark.parametrize(("comm", "io_script"), [("hpush", False), ("hpull", False),
                                                 ("ws", False), ("hpush", True),
                                                 ("hpull", True)])
async def test_class_etl_is_the_50_fallback(cluster, bucket, etl_cleanup, comm,
                                            io_script) -> None:
    name = unique(f"class-{comm}-{'io' if io_script else 'fn'}")
    msg = class_init_msg(name, MD5_IO if io_script else MD5_CODE, comm=comm,
                         io_script=io_script)
    async with AisClient(cluster.endpoint, token=cluster.token) as ais:
        await init(ais, msg, etl_cleanup)
        await ais.put_bytes(bucket.name, "text", TEXT)
        assert await ais.transform_object(bucket.name, "text", name) == DIGEST


async def test_transform_errors_are_readable(cluster, bucket, etl_cleanup) -> None:
    push, pull = unique("picky-push"), unique("picky-pull")
    async with AisClient(cluster.endpoint, token=cluster.token) as ais:
        await init(ais, code_init_msg(push, PICKY_CODE, comm="hpush"), etl_cleanup)
        await init(ais, code_init_msg(pull, PICKY_CODE, comm="hpull"), etl_cleanup)
        await ais.put_bytes(bucket.name, "bad", b"bad apple")
        for etl in (push, pull):  # hpull: the error comes from the transformer, in plain text
            with pytest.raises(ApiError) as info:
                await ais.transform_object(bucket.name, "bad", etl)
            assert info.value.status >= 500
            assert "ValueError: cannot digest bad apple" in info.value.message
            assert str(info.value).endswith("ValueError: cannot digest bad apple")
            assert "\n" not in str(info.value)
        [err] = (await ais.etl_details(push)).obj_errors
        assert err.obj_name == f"ais://{bucket.name}/bad" and "cannot digest" in err.message
        with pytest.raises(NotFound):
            await ais.transform_object(bucket.name, "bad", unique("no-such-etl"))


async def test_init_failure_is_an_api_error(cluster, etl_cleanup) -> None:
    name = unique("nocommand")
    spec = f"runtime:\n  image: example/none:1\n  command: ['/no/such/{name}']\n"
    async with AisClient(cluster.endpoint, token=cluster.token) as ais:
        with pytest.raises(ApiError) as info:
            await init(ais, spec_init_msg(name, spec), etl_cleanup)
        assert info.value.status == 400 and "/no/such/" in info.value.message
        assert (await ais.etl_details(name)).stage == "Aborted"


# --- offline transforms and jobs ---------------------------------------------------------------

async def test_bucket_transform_job(cluster, bucket, etl_cleanup) -> None:
    name = unique("md5-bck")
    dst = unique("client-dst")
    async with AisClient(cluster.endpoint, token=cluster.token) as ais:
        await init(ais, code_init_msg(name, MD5_CODE), etl_cleanup)
        src_names = [f"in/{i:02}.txt" for i in range(40)]
        await put_many(ais, bucket.name, src_names, TEXT)
        await put_many(ais, bucket.name, ["skip/a.txt", "skip/b.txt"], TEXT)
        try:
            xid = await ais.start_bucket_transform(bucket.name, dst, name, prefix="in/",
                                                   prepend="out/", ext={"txt": "md5"},
                                                   num_workers=2)
            status = await wait_finished(ais, xid)
            assert status.xid == xid and status.kind == "etl-bck"
            assert not status.aborted and status.err == ""
            assert isinstance(status.ended, datetime)

            snaps = await ais.job_snaps(xid)
            assert sorted(s.target_id for s in snaps) == sorted(t.daemon_id
                                                                for t in cluster.smap.targets)
            for snap in snaps:
                assert (snap.xid, snap.kind, snap.src, snap.dst) == (xid, "etl-bck",
                                                                     bucket.name, dst)
                assert snap.ended is not None and snap.started <= snap.ended
                assert not snap.aborted and snap.obj_errors == 0 and snap.idle
            assert sum(s.loc_objs + s.out_objs for s in snaps) == 40
            assert sum(s.in_objs for s in snaps) == sum(s.out_objs for s in snaps)

            page = await ais.list_objects(dst)
            assert [e.name for e in page.entries] == [f"out/in/{i:02}.md5" for i in range(40)]
            assert await ais.get_object(dst, "out/in/07.md5") == DIGEST
            assert (await ais.etl_details(name, job_id=xid)).obj_errors == []

            assert xid in [j.xid for j in await ais.list_jobs(kind="etl-bck")]
            assert xid not in [j.xid for j in await ais.list_jobs(running_only=True)]
            assert all(j.kind == "etl-bck" for j in await ais.list_jobs(kind="etl-bck"))

            dry = await ais.start_bucket_transform(bucket.name, dst, name, prefix="skip/",
                                                   dry_run=True)
            await wait_finished(ais, dry)
            assert sum(s.loc_objs for s in await ais.job_snaps(dry)) == 2
            assert (await ais.bucket_summary(dst)).count == 40
        finally:
            await ais.destroy_bucket(dst)


async def test_job_object_errors(cluster, bucket, etl_cleanup) -> None:
    name = unique("picky-bck")
    dst = unique("client-dst")
    async with AisClient(cluster.endpoint, token=cluster.token) as ais:
        await init(ais, code_init_msg(name, PICKY_CODE), etl_cleanup)
        await put_many(ais, bucket.name, [f"good{i}" for i in range(10)], b"fine")
        await put_many(ais, bucket.name, ["bad1", "bad2", "bad3"], b"bad data")
        try:
            xid = await ais.start_bucket_transform(bucket.name, dst, name,
                                                   continue_on_error=True)
            status = await wait_finished(ais, xid)
            assert not status.aborted and "3 object(s) failed" in status.err
            snaps = await ais.job_snaps(xid)
            assert sum(s.obj_errors for s in snaps) == 3
            errors = (await ais.etl_details(name, job_id=xid)).obj_errors
            assert sorted(e.obj_name for e in errors) == [f"ais://{bucket.name}/bad{i}"
                                                         for i in (1, 2, 3)]
            assert all("cannot digest bad data" in e.message for e in errors)
            assert (await ais.bucket_summary(dst)).count == 10
        finally:
            await ais.destroy_bucket(dst)


async def test_abort_slow_job(cluster, bucket, etl_cleanup) -> None:
    name = unique("slow-bck")
    dst = unique("client-dst")
    async with AisClient(cluster.endpoint, token=cluster.token) as ais:
        await init(ais, code_init_msg(name, SLOW_CODE), etl_cleanup)
        await put_many(ais, bucket.name, [f"o{i:02}" for i in range(60)])
        try:
            xid = await ais.start_bucket_transform(bucket.name, dst, name, num_workers=1)
            await asyncio.sleep(0.5)
            running = await ais.list_jobs(kind="etl-bck", running_only=True)
            assert xid in [j.xid for j in running]
            assert all(s.ended is None for s in await ais.job_snaps(xid))
            await ais.abort_job(xid)
            status = await wait_finished(ais, xid, timeout=10)
            assert status.aborted
            snaps = await ais.job_snaps(xid)
            assert all(s.aborted and s.ended for s in snaps)
            assert 0 < sum(s.loc_objs + s.out_objs for s in snaps) < 60
        finally:
            await ais.destroy_bucket(dst)
        with pytest.raises(NotFound):
            await ais.abort_job("no-such-job")
        with pytest.raises(NotFound):
            await ais.job_status("no-such-job")
        with pytest.raises(NotFound):
            await ais.job_snaps("no-such-job")


# --- message builders -------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "ok"), [
    ("md5-etl", True), ("abcdef", True), ("a" * 32, True), ("etl-2-x9", True),
    ("abcde", False), ("a" * 33, False), ("Md5-etl", False), ("-md5etl", False),
    ("md5etl-", False), ("md5_etl", False), ("md5 etl", False),
])
def test_etl_name_problem(name: str, ok: bool) -> None:
    reason = etl_name_problem(name)
    assert (reason is None) == ok
    if not ok:
        assert name in reason


def test_code_init_msg_shape() -> None:
    msg = code_init_msg("md5-code", MD5_CODE, comm="hpull://", dependencies=["xxhash", "numpy"],
                        chunk_size=1024)
    assert msg == {
        "name": "md5-code", "runtime": "python3.11v2", "communication": "hpull://",
        "funcs": {"transform": "transform"},
        "code": base64.b64encode(MD5_CODE.encode()).decode(),
        "dependencies": base64.b64encode(b"xxhash\nnumpy").decode(),
        "init_timeout": "5m", "obj_timeout": "45s", "chunk_size": 1024,
    }
    assert code_init_msg("md5-code", MD5_IO, comm="io")["communication"] == "io://"
    assert base64.b64decode(code_init_msg("md5-code", MD5_CODE)["dependencies"]) == b""
    with pytest.raises(ValueError, match="communication"):
        code_init_msg("md5-code", MD5_CODE, comm="carrier-pigeon")
    with pytest.raises(ValueError, match="6 to 32"):
        code_init_msg("md5", MD5_CODE)


def test_class_init_msg_shape() -> None:
    msg = class_init_msg("md5-class", MD5_CODE, comm="hpull://", dependencies=["xxhash", "tqdm"],
                         obj_timeout="1m")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert msg["runtime"]["image"] == f"aistorage/runtime_python:{version}"
    assert (msg["name"], msg["communication"]) == ("md5-class", "hpull://")
    assert (msg["init_timeout"], msg["obj_timeout"]) == ("5m", "1m")
    assert msg["support_direct_put"] is True
    env = {e["name"]: e["value"] for e in msg["runtime"]["env"]}
    assert set(env) == {"ETL_CLASS_PAYLOAD", "PACKAGES"} and env["PACKAGES"] == "xxhash,tqdm"
    assert "PACKAGES" not in {e["name"] for e in class_init_msg("md5-class", MD5_CODE)
                              ["runtime"]["env"]}
    with pytest.raises(ValueError, match=r"syntax error: .* \(line 2\)"):
        class_init_msg("md5-class", "x = 1\ndef transform(:\n")
    with pytest.raises(ValueError, match="no function 'convert'"):
        class_init_msg("md5-class", MD5_CODE, func="convert")
    with pytest.raises(ValueError, match="ZeroDivisionError"):
        class_init_msg("md5-class", "x = 1 / 0\n")
    with pytest.raises(ValueError, match="communication"):
        class_init_msg("md5-class", MD5_CODE, comm="io")


FRESH_INTERPRETER = textwrap.dedent("""
    import base64, os, sys

    class NoBackend:  # this package is installed (editable): hide it
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("backend", "tests", "aisetl_tui"):
                raise ModuleNotFoundError(name)

    sys.meta_path.insert(0, NoBackend())
    sys.path.insert(0, os.environ.get("EXTRA_PATH", "/nonexistent"))
    import cloudpickle

    os.environ["AIS_TARGET_URL"] = "http://127.0.0.1:1/v1/etl/_object/x/y"
    cls = cloudpickle.loads(base64.b64decode(sys.stdin.read()))
    server = cls()
    sys.stdout.write(server.transform(sys.argv[1].encode(), "bck/obj", "").decode())
    assert not [m for m in sys.modules if m.startswith(("backend", "aisetl"))]
""")


@pytest.mark.parametrize("io_script", [False, True])
def test_class_payload_unpickles_without_this_package(tmp_dir, io_script) -> None:
    """The payload carries the user's code and our glue by value: a transformer needs only the
    aistore SDK (and cloudpickle)."""
    code = MD5_IO if io_script else MD5_CODE
    msg = class_init_msg("md5-fresh", code, io_script=io_script)
    [payload] = [e["value"] for e in msg["runtime"]["env"] if e["name"] == "ETL_CLASS_PAYLOAD"]
    assert b"hashlib" in base64.b64decode(payload)
    script = tmp_dir / "fresh.py"
    script.write_text(FRESH_INTERPRETER)
    done = subprocess.run([sys.executable, "-I", str(script), TEXT.decode()], input=payload,
                          capture_output=True, text=True, cwd=tmp_dir, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == DIGEST.decode()


def test_class_payload_with_imports_only_the_transformer_has(tmp_dir) -> None:
    """Code that cannot run here (its import is not installed here) runs in the transformer."""
    (tmp_dir / "pod_only").mkdir()
    (tmp_dir / "pod_only" / "onlythere.py").write_text(
        "import hashlib\n\ndef digest(data):\n    return hashlib.md5(data).hexdigest()\n")
    code = "import onlythere\n\ndef transform(data):\n    return onlythere.digest(data)\n"
    msg = class_init_msg("pod-only", code, dependencies=["onlythere"])
    [payload] = [e["value"] for e in msg["runtime"]["env"] if e["name"] == "ETL_CLASS_PAYLOAD"]
    script = tmp_dir / "fresh.py"
    script.write_text(FRESH_INTERPRETER)
    done = subprocess.run([sys.executable, "-I", str(script), TEXT.decode()], input=payload,
                          capture_output=True, text=True, cwd=tmp_dir, timeout=60, check=False,
                          env={**os.environ, "EXTRA_PATH": str(tmp_dir / "pod_only")})
    assert done.returncode == 0, done.stderr
    assert done.stdout == DIGEST.decode()


def test_class_payload_script_errors_carry_stderr(tmp_dir) -> None:
    msg = class_init_msg("boom-script", "import sys\nsys.exit('no good: ' + sys.stdin.read())\n",
                         io_script=True)
    [payload] = [e["value"] for e in msg["runtime"]["env"] if e["name"] == "ETL_CLASS_PAYLOAD"]
    script = tmp_dir / "fresh.py"
    script.write_text(FRESH_INTERPRETER)
    done = subprocess.run([sys.executable, "-I", str(script), "data"], input=payload,
                          capture_output=True, text=True, cwd=tmp_dir, timeout=60, check=False)
    assert done.returncode != 0
    assert "RuntimeError: the script exited with code 1:\nno good: data" in done.stderr


def test_spec_init_msg() -> None:
    pod_yaml = (MANIFESTS / "md5" / "spec.yaml").read_text()
    msg = spec_init_msg("md5-spec", pod_yaml)
    assert msg == {"name": "md5-spec", "communication": "hpush://", "init_timeout": "5m",
                   "obj_timeout": "45s", "spec": base64.b64encode(pod_yaml.encode()).decode()}
    annotated = pod_yaml.replace("  name: transformer-md5", "  name: transformer-md5\n"
                                 "  annotations:\n    communication_type: hpull://\n"
                                 "    wait_timeout: 2m")
    msg = spec_init_msg("md5-spec", annotated)
    assert (msg["communication"], msg["init_timeout"]) == ("hpull://", "2m")
    assert spec_init_msg("md5-spec", annotated, comm="ws")["communication"] == "ws://"

    runtime_yaml = (MANIFESTS / "md5" / "etl_spec.yaml").read_text()
    msg = spec_init_msg("md5-runtime", runtime_yaml)
    assert msg == {**yaml.safe_load(runtime_yaml), "name": "md5-runtime"}
    assert spec_init_msg("", runtime_yaml)["name"] == "transformer-md5"
    msg = spec_init_msg("md5-runtime", runtime_yaml, comm="hpull", obj_timeout="2m")
    assert (msg["communication"], msg["obj_timeout"], msg["init_timeout"]) == ("hpull://",
                                                                               "2m", "5m")
    assert msg["runtime"]["image"] == "docker.io/aistore/md5_server:v1"

    with pytest.raises(ValueError, match=r"not parse: line 4, column \d+: expected ',' or ']'"):
        spec_init_msg("md5-spec", "kind: Pod\nspec:\n  containers: [a\n  b: c\n")
    with pytest.raises(ValueError, match="kind: Deployment is not supported"):
        spec_init_msg("md5-spec", "kind: Deployment\nspec: {}\n")
    with pytest.raises(ValueError, match="Kubernetes Pod"):
        spec_init_msg("md5-spec", "- just\n- a list\n")
    with pytest.raises(ValueError, match=r"runtime\.image"):
        spec_init_msg("md5-spec", "runtime:\n  command: [x]\n")
    with pytest.raises(ValueError, match="6 to 32"):
        spec_init_msg("md5", pod_yaml)


def test_load_token(tmp_path: Path) -> None:
    home = tmp_path / "home"
    default = home / ".config" / "ais" / "cli" / "auth.token"
    assert load_token({}, home=home) is None
    default.parent.mkdir(parents=True)
    default.write_text(json.dumps({"token": "from-default"}))
    assert load_token({}, home=home) == "from-default"

    as_json = tmp_path / "token.json"
    as_json.write_text(json.dumps({"token": "from-file"}))
    assert load_token({"AIS_AUTHN_TOKEN_FILE": str(as_json)}, home=home) == "from-file"
    raw = tmp_path / "token.txt"
    raw.write_text("  raw-jwt\n")
    assert load_token({"AIS_AUTHN_TOKEN_FILE": str(raw)}, home=home) == "raw-jwt"
    missing = {"AIS_AUTHN_TOKEN_FILE": str(tmp_path / "nope")}
    assert load_token(missing, home=home) == "from-default"

    env = {"AIS_AUTHN_TOKEN": "from-env", "AIS_AUTHN_TOKEN_FILE": str(as_json)}
    assert load_token(env, home=home) == "from-env"
    default.write_text("{not json")
    assert load_token({}, home=home) is None


# --- wire details, with a mock transport ---------------------------------------------------------

def mock_client(handler) -> AisClient:
    return AisClient("http://proxy:8080", token="jwt", transport=httpx.MockTransport(handler))


async def test_put_follows_the_redirect_with_the_body_only_to_the_target(tmp_dir) -> None:
    seen: list[tuple[str, str, int, str, str]] = []
    path = tmp_dir / "f.bin"
    path.write_bytes(b"z" * 700_000)

    def handler(request: httpx.Request) -> httpx.Response:
        body = request.read()
        seen.append((request.url.host, request.url.path, len(body),
                     request.headers.get("Content-Length", ""),
                     request.headers.get("Authorization", "")))
        if request.url.host == "proxy":
            return httpx.Response(307, headers={
                "Location": f"http://target:9000{request.url.raw_path.decode()}&pid=p"})
        return httpx.Response(200)

    async with mock_client(handler) as ais:
        await ais.put_file("b", "dir/f.bin", path)
        await ais.put_bytes("b", "small", b"abc")
    assert seen == [
        ("proxy", "/v1/objects/b/dir/f.bin", 0, "0", "Bearer jwt"),
        ("target", "/v1/objects/b/dir/f.bin", 700_000, "700000", "Bearer jwt"),
        ("proxy", "/v1/objects/b/small", 0, "0", "Bearer jwt"),
        ("target", "/v1/objects/b/small", 3, "3", "Bearer jwt"),
    ]


async def test_metrics_failure_leaves_cpu_and_mem_unknown() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/health"):
            return httpx.Response(200, json=[{"target_id": "tB", "health_status": "Running"},
                                             {"target_id": "tA", "health_status": "Pending"}])
        return httpx.Response(500, json={"message": "metrics-server is not installed",
                                         "status": 500})

    async with mock_client(handler) as ais:
        pods = await ais.etl_pods("md5-etl")
    assert [(p.target_id, p.pod_name, p.health) for p in pods] == [
        ("tA", "md5-etl-ta", "Pending"), ("tB", "md5-etl-tb", "Running")]
    assert all(p.cpu is None and p.mem is None and p.pid is None for p in pods)


async def test_error_bodies_and_status_fallback() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(404, headers={"Hdr-Error": json.dumps(
                {"message": 'object "ais://b/o" does not exist', "tcode": "ErrObjNotFound"})})
        if request.url.params.get("what") == "status":
            return httpx.Response(404, json={"message": "job x not found"})
        if request.url.params.get("what") == "qryxstats":
            snap = {"id": "x", "kind": "etl-listrange",
                    "start-time": "2026-01-02T03:04:05.123456789Z",
                    "end-time": "2026-01-02T03:04:06Z", "aborted": False, "err": "",
                    "stats": {"loc-objs": "3"}}
            return httpx.Response(200, json={"t1": [snap], "t2": [{**snap, "ext": {
                "obj_errors": 2}, "end-time": "0001-01-01T00:00:00Z"}]})
        return httpx.Response(502, text="<html>" + "x" * 1000 + "</html>")

    async with mock_client(handler) as ais:
        with pytest.raises(NotFound) as info:
            await ais.head_object("b", "o")
        assert (info.value.tcode, str(info.value)) == ("ErrObjNotFound",
                                                      'object "ais://b/o" does not exist')
        status = await ais.job_status("x")
        assert (status.kind, status.ended, status.aborted) == ("etl-listrange", None, False)
        snaps = await ais.job_snaps("x")
        assert [s.obj_errors for s in snaps] == [0, 2] and snaps[0].loc_objs == 3
        assert snaps[0].started.microsecond == 123456 and snaps[0].ended is not None
        with pytest.raises(ApiError) as bad:
            await ais.list_buckets()
        assert bad.value.status == 502 and len(bad.value.message) < 520


def test_pods_of_real_aistore_show_no_made_up_numbers() -> None:
    """Real AIStore's ETL health answers only ``{target_id, health_status}`` per target (no pod
    name, pid, start time or restarts): the Pods screen shows a dash, never a 0."""
    import time as _time

    from aisetl_tui.screens.pods import MergedPod, pod_row, table_columns
    from backend.ais import _wire

    [pod] = _wire.etl_pods("md5-etl", [{"target_id": "TqVt8081", "health_status": "Running"}],
                           None)
    assert (pod.pod_name, pod.pid, pod.started, pod.restarts) == (
        "md5-etl-tqvt8081", None, None, None)
    cells = pod_row(MergedPod("md5-etl", "TqVt8081", pod, None), "—", False, "", _time.time())
    row = dict(zip(table_columns(False, ""), cells, strict=True))
    assert (row["RESTARTS"], row["AGE"], str(row["STATE"])) == ("—", "—", "Running")
