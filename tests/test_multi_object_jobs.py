"""Jobs over many objects without an ETL, through the official SDK: copy a bucket (with a
prefix, a prepend, a dry run), copy a list or range of objects, delete a list or range; each
is a job the SDK waits for. Evicting or prefetching an ais:// bucket is refused as AIStore
refuses it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from aistore.sdk import Client
from aistore.sdk.errors import AISError

from backend.local import LocalCluster
from tests.conftest import wait_for


@pytest.fixture
def filled(bucket) -> dict[str, bytes]:
    contents = {f"{d}/o{i:02}.bin": f"{d}{i}".encode() * 50 for d in ("a", "b") for i in range(10)}
    for name, data in contents.items():
        bucket.object(name).get_writer().put_content(data)
    return contents


def names(bck) -> list[str]:
    return sorted(e.name for e in bck.list_all_objects())


def test_copy_a_bucket_with_prefix_and_prepend(client, bucket, filled) -> None:
    dst = client.bucket(bucket.name + "-copy")
    try:
        xid = bucket.copy(dst, prefix_filter="a/", prepend="copied/")
        assert client.job(xid).wait(timeout=60).success
        wanted = sorted(f"copied/{n}" for n in filled if n.startswith("a/"))
        assert names(dst) == wanted  # the destination was created on the fly
        assert all(dst.object(f"copied/{n}").get_reader().read_all() == filled[n]
                   for n in filled if n.startswith("a/"))
        snaps = client.job(xid).get_details().list_snapshots()
        assert {s.kind for s in snaps} == {"copy-bck"}
        # a dry run reads and counts, and writes nothing
        xid = bucket.copy(dst, prefix_filter="b/", dry_run=True)
        client.job(xid).wait(timeout=60)
        assert names(dst) == wanted
    finally:
        dst.delete(missing_ok=True)


def test_copy_and_delete_a_list_and_a_range(client, bucket, filled) -> None:
    dst = client.bucket(bucket.name + "-some")
    try:
        listed = ["a/o01.bin", "b/o05.bin"]
        xids = bucket.objects(obj_names=listed).copy(dst)
        for xid in xids:
            client.job(xid).wait_for_idle(timeout=60)
        assert names(dst) == listed
        xid = bucket.objects(obj_template="a/o{00..04}.bin").delete()
        client.job(xid).wait_for_idle(timeout=60)
        assert names(bucket) == sorted(set(filled) - {f"a/o{i:02}.bin" for i in range(5)})
    finally:
        dst.delete(missing_ok=True)


def test_a_non_recursive_copy_takes_the_top_level_only(client, http, bucket) -> None:
    """``non-recurs`` (AIStore's: do not descend into virtual directories) is honoured;
    ``synchronize`` (delete what the source lacks) is refused by name."""
    for name in ("top.txt", "dir/inner.txt", "dir/deeper/x.txt"):
        bucket.object(name).get_writer().put_content(b"x")
    dst = client.bucket(bucket.name + "-top")
    url, params = f"/v1/buckets/{bucket.name}", {"bck_to": f"ais/@#/{dst.name}/"}
    try:
        resp = http.post(url, params=params,
                         json={"action": "copy-bck", "value": {"non-recurs": True}})
        assert resp.status_code == 200, resp.text
        client.job(resp.text).wait(timeout=60)
        assert names(dst) == ["top.txt"]
        resp = http.post(url, params=params,
                         json={"action": "copy-bck", "value": {"prefix": "dir/",
                                                               "non-recurs": True}})
        client.job(resp.text).wait(timeout=60)
        assert names(dst) == ["dir/inner.txt", "top.txt"]
        sync = http.post(url, params=params,
                         json={"action": "copy-bck", "value": {"synchronize": True}})
        assert sync.status_code == 501 and "with synchronize" in sync.json()["message"]
    finally:
        dst.delete(missing_ok=True)


def test_what_cannot_be_done_is_said(client, http, bucket, filled) -> None:
    missing = http.request("DELETE", f"/v1/buckets/{bucket.name}",
                           json={"action": "delete-listrange",
                                 "value": {"objnames": ["nope"], "coer": True}})
    assert missing.status_code == 200  # a job; the object's failure is its error
    client.job(missing.text).wait_for_idle(timeout=60)
    status = http.request("GET", "/v1/cluster", params={"what": "status"},
                          json={"id": missing.text}).json()
    assert "1 object(s) failed" in status["err"]
    whole = http.request("DELETE", f"/v1/buckets/{bucket.name}",
                         json={"action": "delete-listrange", "value": {}})
    assert whole.status_code == 400 and "objnames or template" in whole.json()["message"]
    for method, action in (("DELETE", "evict-listrange"), ("POST", "prefetch-listrange")):
        resp = http.request(method, f"/v1/buckets/{bucket.name}",
                            json={"action": action, "value": {"objnames": ["a/o00.bin"]}})
        assert resp.status_code == 400 and "expecting remote bucket" in resp.json()["message"]
    into_itself = http.post(f"/v1/buckets/{bucket.name}",
                            params={"bck_to": f"ais/@#/{bucket.name}/"},
                            json={"action": "copy-bck", "value": {}})
    assert into_itself.status_code == 400 and "into itself" in into_itself.json()["message"]
    assert len(names(bucket)) == len(filled)  # none of it changed anything


def test_rename_a_bucket(client, http, bucket, filled) -> None:
    to = client.bucket(bucket.name + "-renamed")
    try:
        xid = bucket.rename(to.name)
        assert client.job(xid).wait(timeout=60).success
        assert names(to) == sorted(filled)
        # each object where the new name places it (HRW hashes the bucket's name too)
        assert all(to.object(n).get_reader().read_all() == filled[n] for n in filled)
        gone = http.head(f"/v1/buckets/{bucket.name.removesuffix('-renamed')}")
        assert gone.status_code == 404
        taken = client.bucket(bucket.name + "-taken")
        taken.create()
        try:
            again = http.post(f"/v1/buckets/{to.name}",
                              params={"bck_to": f"ais/@#/{taken.name}/"},
                              json={"action": "move-bck"})
            assert again.status_code == 409 and "already exists" in again.json()["message"]
        finally:
            taken.delete()
    finally:
        to.delete(missing_ok=True)


def test_jobs_started_by_kind(client, http, cluster) -> None:
    import os
    import time

    target_root = next(cluster.data_dir.glob("target-*"))
    stale = target_root / "tmp" / "left-by-a-crash"
    stale.write_bytes(b"x")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    fresh = target_root / "tmp" / "a-write-in-progress"
    fresh.write_bytes(b"x")
    try:
        for kind in ("lru", "cleanup"):
            xid = client.job(job_kind=kind).start()
            assert xid and client.job(job_id=xid).wait(timeout=60).success
            snaps = client.job(job_id=xid).get_details().list_snapshots()
            assert {s.kind for s in snaps} == {kind}
        assert not stale.exists() and fresh.exists()  # only what no write touches any more
        other = http.put("/v1/cluster", json={"action": "start", "value": {"kind": "rebalance"}})
        assert other.status_code == 501 and "'rebalance'" in other.json()["message"]
    finally:
        fresh.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def quick_idle() -> Iterator[LocalCluster]:
    """A cluster whose idle jobs end 8 s after their last work (AIStore: a minute)."""
    path = Path(tempfile.mkdtemp(prefix="aisetl-idle-"))
    try:
        with LocalCluster(path, targets=2, port=0, job_idle=8.0) as c:
            yield c
    finally:
        shutil.rmtree(path, ignore_errors=True)


def idle_list_copy(client: Client, prefix: str) -> tuple[str, list[str]]:
    """As AIStore's: a list or range copy idles once its work is done; a copy between the
    same buckets meanwhile joins it (same ID, counters add up). Its status lives in its
    snapshots: AIStore answers 404 for the status of a job it does not track centrally, and
    leaves it out of status_all. The job's ID, and the names of a source object not copied."""
    src, dst = client.bucket(f"{prefix}-src").create(), client.bucket(f"{prefix}-dst")
    for i in range(6):
        src.object(f"o{i}").get_writer().put_content(b"x" * 10)
    first = src.objects(obj_names=["o0", "o1", "o2"]).copy(dst)
    client.job(first[0]).wait(timeout=30)  # the SDK waits for idle by the job's kind
    assert all(s.is_idle and s.end_time.startswith("0001") for s in job_snaps(client, first[0]))
    assert f"copy-listrange[{first[0]}]" in client.cluster().list_running_jobs()
    with pytest.raises(AISError) as missing:
        client.job(first[0]).status()
    assert missing.value.status_code == 404
    assert first[0] not in {j.uuid for j in client.cluster().list_jobs_status() or []}

    second = src.objects(obj_names=["o3", "o4"]).copy(dst)
    assert second == first
    client.job(first[0]).wait(timeout=30)
    copied = sum(s.stats.objects for s in job_snaps(client, first[0]))  # sent ones too
    assert copied == 5 and len(list(dst.list_all_objects())) == 5
    return first[0], ["o5"]


def job_snaps(client: Client, xid: str) -> list:
    return client.job(job_id=xid).get_details().list_snapshots()


def test_a_list_copy_idles_takes_more_work_then_ends(quick_idle) -> None:
    """... and with no more work it ends; the next copy is a new job."""
    client = Client(quick_idle.endpoint)
    xid, rest = idle_list_copy(client, "idle")
    wait_for(lambda: all(not s.end_time.startswith("0001") for s in job_snaps(client, xid)),
             timeout=30, what="the idle job to end")
    assert f"copy-listrange[{xid}]" not in client.cluster().list_running_jobs()
    assert client.bucket("idle-src").objects(obj_names=rest).copy(
        client.bucket("idle-dst")) != [xid]


def test_a_huge_template_is_expanded_as_it_goes(cluster, http, bucket) -> None:
    """A template of two million names is never held whole: a job over it that stops at its
    first missing object ends at once, and no target grows by the list."""
    import psutil

    targets = [psutil.Process(pid) for pid in cluster_pids(cluster)]
    before = sum(p.memory_info().rss for p in targets)
    resp = http.request("DELETE", f"/v1/buckets/{bucket.name}",
                        json={"action": "delete-listrange",
                              "value": {"template": "missing-{0..1999999}"}})
    assert resp.status_code == 200, resp.text
    status = wait_for(lambda: (s := http.request(
        "GET", "/v1/cluster", params={"what": "status"}, json={"id": resp.text}).json())
        ["end_time"] and s, timeout=10, what="the job to stop at its first missing object")
    assert status["aborted"] and "missing-" in status["err"]
    grown = sum(p.memory_info().rss for p in targets) - before
    assert grown < 50 * 2**20, f"the targets grew by {grown / 2**20:.0f} MiB"


def cluster_pids(cluster: LocalCluster) -> list[int]:
    from backend.local import RunInfo

    info = RunInfo.read(cluster.data_dir)
    assert info is not None
    return [pid for nid, pid in info.nodes.items() if nid != cluster.smap.proxy.daemon_id]
