"""backend.ais and the app against REAL AIStore (aisnode built from AIStore 5.0 without the
`etl` tag, 1 proxy and 2 targets; tests/peers)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aistore.sdk import Client
from textual.widgets import Input

from aisetl_tui.app import AisEtlApp
from aisetl_tui.screens.buckets import BucketsScreen
from aisetl_tui.screens.dialogs import ConfirmScreen
from aisetl_tui.screens.object_view import ObjectViewScreen
from aisetl_tui.screens.objects import ObjectsScreen
from aisetl_tui.widgets.byte_view import ByteView
from backend.ais import AisClient, AlreadyExists, EtlNotBuilt, NotFound
from tests.peers.aisnode import AisCluster
from tests.test_app import connected, table_rows, until
from tests.test_multi_object_jobs import idle_list_copy

pytestmark = pytest.mark.real


@pytest.fixture
async def ais(real_ais: AisCluster) -> AsyncIterator[AisClient]:
    async with AisClient(real_ais.endpoint, timeout=30) as client:
        yield client


@pytest.fixture
async def bucket(ais: AisClient) -> AsyncIterator[str]:
    name = f"real-{secrets.token_hex(4)}"
    await ais.create_bucket(name)
    yield name
    await ais.destroy_bucket(name)


async def test_cluster_map(ais: AisClient, real_ais: AisCluster) -> None:
    smap = await ais.cluster_map()
    assert len(smap.proxies) == 1
    assert sorted(t.id for t in smap.targets) == real_ais.target_ids()
    assert await ais.health()


async def test_buckets_and_their_errors(ais: AisClient, bucket: str) -> None:
    assert bucket in [b.name for b in await ais.list_buckets()]
    with pytest.raises(AlreadyExists, match=f'bucket "ais://{bucket}" already exists'):
        await ais.create_bucket(bucket)
    missing = f"nope-{secrets.token_hex(3)}"
    with pytest.raises(NotFound, match=f"ais://{missing}"):
        await ais.list_objects(missing)
    with pytest.raises(NotFound, match=f"ais://{missing}"):
        await ais.destroy_bucket(missing)


async def test_objects(ais: AisClient, bucket: str, tmp_path: Path) -> None:
    path = tmp_path / "shard.in"
    path.write_bytes(b"some text :)\n")
    await ais.put_file(bucket, "shard.in", path)
    await ais.put_bytes(bucket, "dir/big.bin", bytes(range(256)) * 4096)
    assert await ais.get_object(bucket, "shard.in") == b"some text :)\n"
    assert await ais.get_object(bucket, "dir/big.bin", max_bytes=4) == b"\x00\x01\x02\x03"
    props = await ais.head_object(bucket, "shard.in")
    assert props["size"] == "13" and props["Ais-Version"] == "1"
    assert props["Ais-Checksum-Type"] == "xxhash2" and props["Ais-Checksum-Value"]
    summary = await ais.bucket_summary(bucket)
    assert (summary.count, summary.size) == (2, 13 + 256 * 4096)
    await ais.delete_object(bucket, "shard.in")
    with pytest.raises(NotFound):
        await ais.get_object(bucket, "shard.in")
    with pytest.raises(NotFound):
        await ais.head_object(bucket, "shard.in")


async def test_ten_thousand_objects_paged(ais: AisClient, bucket: str,
                                          real_ais: AisCluster) -> None:
    names = [f"obj-{i:05d}" for i in range(10_000)]
    async with httpx.AsyncClient(base_url=real_ais.endpoint, timeout=60,
                                 follow_redirects=True) as http:
        sem = asyncio.Semaphore(16)

        async def put(name: str) -> None:
            async with sem:
                r = await http.put(f"/v1/objects/{bucket}/{name}", content=name.encode())
                r.raise_for_status()

        await asyncio.gather(*(put(n) for n in names))
    listed, token, uuid, pages = [], "", "", 0
    while True:
        page = await ais.list_objects(bucket, page_size=1000, token=token, uuid=uuid)
        listed += [e.name for e in page.entries]
        pages += 1
        token, uuid = page.token, page.uuid
        if not token:
            break
    # a full last page still carries a token (AIStore's finLsoA), so an empty 11th page ends it
    assert listed == names and pages == 11
    assert all(e.size == 9 for e in page.entries)


async def test_jobs(ais: AisClient, bucket: str, real_ais: AisCluster) -> None:
    await ais.put_bytes(bucket, "a", b"a" * 100)
    dst = f"{bucket}-copy"
    async with httpx.AsyncClient(base_url=real_ais.endpoint, timeout=30) as http:
        r = await http.request("POST", f"/v1/buckets/{bucket}", params={"bck_to": f"ais/@#/{dst}/"},
                               json={"action": "copy-bck", "value": {}})
        assert r.status_code == 200, r.text
        xid = r.text.strip()
    try:
        for _ in range(300):  # AIStore ends a copy some 10 s after its last object
            status = await ais.job_status(xid)
            if status.ended:
                break
            await asyncio.sleep(0.2)
        assert status.ended and not status.aborted and status.kind == "copy-bck"
        snaps = await ais.job_snaps(xid)
        assert sorted(s.target_id for s in snaps) == real_ais.target_ids()
        assert sum(s.loc_objs + s.out_objs for s in snaps) >= 1
        assert xid in [j.xid for j in await ais.list_jobs("copy-bck")]
        with pytest.raises(NotFound):
            await ais.job_status("nosuchjob1")
    finally:
        await ais.destroy_bucket(dst)


NO_ETL = "this AIStore cluster was built without ETL (its aisnode lacks the `etl` build tag)"


async def test_etl_on_a_build_without_etl_is_said_in_words(ais: AisClient,
                                                           real_ais: AisCluster) -> None:
    for call in (ais.list_etls(), ais.etl_details("md5-etl"),
                 ais.init_etl({"name": "md5-etl", "runtime": {"image": "x"}})):
        with pytest.raises(EtlNotBuilt) as err:
            await call
        assert err.value.status == 501 and str(err.value).startswith(NO_ETL)
    app = AisEtlApp(start="buckets", endpoint=real_ais.endpoint)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await pilot.press("2")
        await until(pilot, lambda: NO_ETL in str(app.screen.query_one("#problem").render()),
                    "the ETLs screen to say it")


async def test_app_on_real_aistore(real_ais: AisCluster, ais: AisClient, bucket: str,
                                   tmp_path: Path) -> None:
    await ais.put_bytes(bucket, "hello.txt", b"hello from aisnode\n")
    shard = tmp_path / "shard.in"
    shard.write_bytes(b"some text :)\n")
    app = AisEtlApp(start="buckets", endpoint=real_ais.endpoint)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        status = str(app.screen.query_one("StatusBar").render())
        assert "1 proxy" in status and "2 targets" in status
        await until(pilot, lambda: any(r[0] == bucket for r in table_rows(app, "#buckets")),
                    "the bucket")
        table = app.screen.query_one("#buckets")
        table.move_cursor(row=next(i for i, r in enumerate(table_rows(app, "#buckets"))
                                   if r[0] == bucket))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ObjectsScreen)
                    and table_rows(app, "#objects") == [["hello.txt", "19 B"]], "the objects")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ObjectViewScreen)
                    and "hello from aisnode" in app.screen.query_one("#content", ByteView).text,
                    "the object's text")

        # u: upload a file; ctrl+d: delete an object, confirmed
        await pilot.press("escape", "u")
        await pilot.pause()
        app.screen.query_one("#path", Input).value = str(shard)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ObjectsScreen)
                    and ["shard.in", "13 B"] in table_rows(app, "#objects"), "the upload")
        assert await ais.get_object(bucket, "shard.in") == b"some text :)\n"
        table = app.screen.query_one("#objects")
        table.move_cursor(row=next(i for i, r in enumerate(table_rows(app, "#objects"))
                                   if r[0] == "hello.txt"))
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.click("#ok")
        await until(pilot, lambda: isinstance(app.screen, ObjectsScreen)
                    and table_rows(app, "#objects") == [["shard.in", "13 B"]], "the deletion")
        with pytest.raises(NotFound):
            await ais.head_object(bucket, "hello.txt")


async def test_cluster_loss_and_recovery(real_ais: AisCluster) -> None:
    """The app's own test kills the embedded cluster; here real AIStore's proxy dies."""
    app = AisEtlApp(start="buckets", endpoint=real_ais.endpoint)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await connected(pilot, app)
            real_ais.kill_proxy()
            await until(pilot, lambda: app.status.state == "unreachable", "the banner",
                        timeout=15)
            assert "cannot reach" in app.status.detail
            assert isinstance(app.screen, BucketsScreen)  # still working, no traceback
            await asyncio.to_thread(real_ais.restart_proxy)
            await until(pilot, lambda: app.status.state == "connected", "recovery",
                        timeout=30)
    finally:
        if real_ais.procs[0].poll() is not None:  # leave the session's cluster whole
            real_ais.restart_proxy()


@pytest.mark.parametrize("which", ["aisnode", "embedded"])
async def test_a_list_copy_idles_and_is_listed_as_on_aistore(which: str, real_ais: AisCluster,
                                                             cluster) -> None:
    """The same scenario on real AIStore and on the embedded cluster (test_multi_object_jobs:
    the job idles, a second copy joins it, its status is in its snapshots only); the app's
    client lists it, idle, among the jobs."""
    endpoint = real_ais.endpoint if which == "aisnode" else cluster.endpoint
    client, prefix = Client(endpoint), f"idle-{secrets.token_hex(3)}"
    try:
        xid, _ = await asyncio.to_thread(idle_list_copy, client, prefix)
        async with AisClient(endpoint, token=cluster.token, timeout=30) as ais:
            for kind in ("copy-listrange", ""):
                job = next(j for j in await ais.list_jobs(kind=kind) if j.xid == xid)
                assert job.idle and job.running and not job.busy and job.kind == "copy-listrange"
            assert (await ais.job_status(xid)).idle  # from its snapshots, after the 404
    finally:
        for name in (f"{prefix}-src", f"{prefix}-dst"):
            client.bucket(name).delete(missing_ok=True)
