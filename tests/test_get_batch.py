"""get-batch (``GET /v1/ml/moss``) through the official SDK: objects from several buckets and
targets, files inside TAR and ZIP shards, byte ranges, in the order asked, streamed or with
their metadata first; a missing entry named under __404__ or failing the request; and
through httpx, what AIStore refuses."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest
from aistore.sdk.errors import AISError


def tar_of(files: dict[str, bytes], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def objects(bucket) -> dict[str, bytes]:
    contents = {f"obj-{i:02}": bytes([65 + i]) * (100 + i) for i in range(12)}
    for name, data in contents.items():  # 12 objects: both targets own some
        bucket.object(name).get_writer().put_content(data)
    return contents


@pytest.mark.parametrize("streaming", [True, False])
@pytest.mark.parametrize("fmt", [".tar", ".tgz", ".zip"])
def test_objects_in_the_order_asked(client, bucket, objects, streaming, fmt) -> None:
    order = sorted(objects, reverse=True)
    batch = client.batch(objects=[bucket.object(n) for n in order], bucket=bucket,
                         streaming_get=streaming, output_format=fmt)
    results = list(batch.get())
    assert [out.obj_name for out, _ in results] == order
    assert [data for _, data in results] == [objects[n] for n in order]
    if not streaming:  # the metadata part says each entry's size
        assert [out.size for out, _ in results] == [len(objects[n]) for n in order]


def test_files_in_shards_ranges_and_other_buckets(client, bucket, objects) -> None:
    files = {"a.txt": b"alpha " * 10, "dir/b.json": b'{"b": 1}'}
    bucket.object("shard.tar").get_writer().put_content(tar_of(files))
    bucket.object("shard.tgz").get_writer().put_content(tar_of(files, "w:gz"))
    bucket.object("shard.zip").get_writer().put_content(zip_of(files))
    other = client.bucket(bucket.name + "-other")
    other.create()
    try:
        other.object("elsewhere").get_writer().put_content(b"from another bucket")
        batch = client.batch(bucket=bucket, streaming_get=False)
        batch.add("shard.tar", archpath="dir/b.json")
        batch.add("shard.tgz", archpath="a.txt", start=6, length=5)
        batch.add("shard.zip", archpath="a.txt")
        batch.add("obj-03", start=10, length=20)
        batch.add(other.object("elsewhere"), opaque=b"\x00id-7")
        results = list(batch.get())
        assert [data for _, data in results] == [
            files["dir/b.json"], b"alpha", files["a.txt"], objects["obj-03"][10:30],
            b"from another bucket"]
        assert results[3][0].size == 20 and results[4][0].bucket == other.name
        assert results[4][0].opaque == b"\x00id-7"
    finally:
        other.object("elsewhere").delete()
        other.delete()


def test_a_missing_entry(client, bucket, objects) -> None:
    batch = client.batch(bucket=bucket, streaming_get=False, cont_on_err=True)
    batch.add("no-such-object")
    batch.add("obj-00")
    (missing, empty), (found, data) = list(batch.get())
    assert "does not exist" in missing.err_msg and empty == b""
    assert not found.err_msg and data == objects["obj-00"]
    strict = client.batch(objects=["obj-00", "no-such-object"], bucket=bucket,
                          streaming_get=False, cont_on_err=False)
    with pytest.raises(AISError) as info:
        list(strict.get())
    assert info.value.status_code == 404


def test_what_is_refused(http, bucket, objects) -> None:
    def get_batch(body: dict, path: str = f"/v1/ml/moss/{bucket.name}"):
        return http.request("GET", path, json=body)

    no_bucket = get_batch({"in": [{"objname": "x"}]}, "/v1/ml/moss/no-such-bucket-here")
    assert no_bucket.status_code == 404 and "does not exist" in no_bucket.json()["message"]
    empty = get_batch({"in": []})
    assert empty.status_code == 400 and "no entries" in empty.json()["message"]
    lz4 = get_batch({"in": [{"objname": "obj-00"}], "mime": ".tar.lz4"})
    assert lz4.status_code == 501 and "not supported by the embedded cluster" in lz4.text
    bad_range = get_batch({"in": [{"objname": "obj-00", "start": 5}]})
    assert bad_range.status_code == 416
    for coer in (False, True):  # continue-on-error is for what is missing, not for bad ranges
        too_far = get_batch({"in": [{"objname": "obj-00", "start": 500, "length": 10}],
                             "coer": coer})
        assert too_far.status_code == 416 and "not satisfiable" in too_far.json()["message"]


def test_each_request_is_a_job_that_idles_then_can_be_aborted(client, bucket,
                                                              objects) -> None:
    def live_jobs() -> set[str]:
        snaps = client.job(job_kind="get-batch").get_details().list_snapshots()
        return {s.id for s in snaps if s.end_time.startswith("0001-")}  # Go's zero time

    before = live_jobs()
    list(client.batch(objects=["obj-00", "obj-01"], bucket=bucket).get())
    (xid,) = live_jobs() - before  # answered, and idle now
    job = client.job(job_id=xid, job_kind="get-batch")
    assert job.wait(timeout=30).success
    job.abort()
    result = job.wait(timeout=30)
    assert not result.success and result.error
    list(client.batch(objects=["obj-02"], bucket=bucket).get())
    assert len(live_jobs() - before - {xid}) == 1  # the next request, a job of its own


def test_names_that_need_quoting_from_every_target(client, bucket) -> None:
    """Read from whichever target owns them: '#', '?' and spaces travel quoted."""
    odd = {f"odd name #{i}?.txt": f"content {i}".encode() for i in range(8)}
    for name, data in odd.items():
        bucket.object(name).get_writer().put_content(data)
    results = list(client.batch(objects=list(odd), bucket=bucket, streaming_get=False).get())
    assert [data for _, data in results] == list(odd.values())
