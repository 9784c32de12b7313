"""Reading inside archives (shards) through the official SDK, as AIStore does: one file by
``archpath``, or a TAR of the files a regex selects in each matching mode, from TAR, TGZ and
ZIP shards; what cannot be read is said."""

from __future__ import annotations

import io
import tarfile

import pytest
from aistore.sdk.archive_config import ArchiveConfig, ArchiveMode
from aistore.sdk.errors import AISError

from tests.test_get_batch import tar_of, zip_of

FILES = {"file1.txt": b"one", "file2.txt": b"two", "file1.cls": b"1", "file2.cls": b"2",
         "dir/file3.txt": b"three"}


@pytest.fixture(params=["tar", "tgz", "zip"])
def shard(request, bucket):
    data = {"tar": lambda: tar_of(FILES), "tgz": lambda: tar_of(FILES, "w:gz"),
            "zip": lambda: zip_of(FILES)}[request.param]()
    obj = bucket.object(f"shard.{request.param}")
    obj.get_writer().put_content(data)
    return obj


def names_in(tar_bytes: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as t:
        return t.getnames()


def test_one_file_by_its_path(shard) -> None:
    read = shard.get_reader(archive_config=ArchiveConfig(archpath="dir/file3.txt")).read_all()
    assert read == b"three"
    with pytest.raises(AISError) as info:
        shard.get_reader(archive_config=ArchiveConfig(archpath="nope.txt")).read_all()
    assert info.value.status_code == 404 and "nope.txt" in info.value.message


@pytest.mark.parametrize(("regex", "mode", "names"), [
    ("file2", ArchiveMode.PREFIX, ["file2.txt", "file2.cls"]),
    (".cls", ArchiveMode.SUFFIX, ["file1.cls", "file2.cls"]),
    ("3", ArchiveMode.SUBSTR, ["dir/file3.txt"]),
    (r"^file\d\.txt$", ArchiveMode.REGEXP, ["file1.txt", "file2.txt"]),
    ("file1", ArchiveMode.WDSKEY, ["file1.txt", "file1.cls"]),
])
def test_files_selected_by_name(shard, regex, mode, names) -> None:
    config = ArchiveConfig(regex=regex, mode=mode)
    got = shard.get_reader(archive_config=config).read_all()
    assert names_in(got) == names
    with tarfile.open(fileobj=io.BytesIO(got)) as t:
        assert [t.extractfile(n).read() for n in names] == [FILES[n] for n in names]


def test_what_cannot_be_read_is_said(http, bucket) -> None:
    bucket.object("not-a-shard.tar").get_writer().put_content(b"plain text, no archive")
    url = f"/v1/objects/{bucket.name}/not-a-shard.tar"
    resp = http.get(url, params={"archpath": "a"})
    assert resp.status_code == 400 and "not an archive" in resp.json()["message"]
    bucket.object("s.tar").get_writer().put_content(tar_of(FILES))
    url = f"/v1/objects/{bucket.name}/s.tar"
    assert http.get(url, params={"archregx": "x", "archmode": "glob"}).status_code == 400
    lz4 = http.get(url, params={"archpath": "file1.txt", "archmime": ".tar.lz4"})
    assert lz4.status_code == 501
    zipped = http.get(url, params={"archpath": "file1.txt", "archmime": ".zip"})
    assert zipped.status_code == 400 and "not a .zip archive" in zipped.json()["message"]


def test_listing_with_the_files_inside_archives(bucket, shard) -> None:
    from aistore.sdk.list_object_flag import ListObjectFlag

    bucket.object("plain.txt").get_writer().put_content(b"not an archive")
    listed = {e.name: e for e in bucket.list_all_objects(props="name,size",
                                                          flags=[ListObjectFlag.ARCH_DIR])}
    inside = {f"{shard.name}/{n}": len(d) for n, d in FILES.items()}
    assert set(listed) == {shard.name, "plain.txt", *inside}
    assert {n: listed[n].size for n in inside} == inside
    plain = {e.name for e in bucket.list_all_objects(props="name")}
    assert plain == {shard.name, "plain.txt"}  # without the flag, objects only
    into = bucket.list_all_objects(prefix=f"{shard.name}/dir/", props="name",
                                   flags=[ListObjectFlag.ARCH_DIR])
    assert [e.name for e in into] == [f"{shard.name}/dir/file3.txt"]


def test_archives_made_from_objects(client, bucket) -> None:
    for i in range(6):
        bucket.object(f"in/o{i}.txt").get_writer().put_content(f"object {i}".encode())
    group = bucket.objects(obj_names=["in/o0.txt", "in/o1.txt"])
    for xid in group.archive("out/first.tar"):
        assert client.job(job_id=xid).wait(timeout=60).success
    first = bucket.object("out/first.tar").get_reader().read_all()
    assert names_in(first) == ["in/o0.txt", "in/o1.txt"]
    # a template, a ZIP, names with the bucket; then more appended to it
    for xid in bucket.objects(obj_template="in/o{2..3}.txt").archive(
            "out/second.zip", include_source_name=True):
        client.job(job_id=xid).wait(timeout=60)
    for xid in bucket.objects(obj_names=["in/o4.txt"]).archive(
            "out/second.zip", include_source_name=True, allow_append=True):
        client.job(job_id=xid).wait(timeout=60)
    zipped = bucket.object("out/second.zip")
    config = ArchiveConfig(archpath=f"{bucket.name}/in/o4.txt")
    assert zipped.get_reader(archive_config=config).read_all() == b"object 4"
    assert [e.name for e in bucket.list_all_objects(prefix="out/second.zip/", props="name",
                                                    flags=[_arch_dir()])] == [
        f"out/second.zip/{bucket.name}/in/o{i}.txt" for i in (2, 3, 4)]


def test_an_archive_of_something_missing(client, bucket) -> None:
    bucket.object("here.txt").get_writer().put_content(b"here")
    (xid,) = bucket.objects(obj_names=["here.txt", "gone.txt"]).archive("a.tar")
    assert not client.job(job_id=xid).wait(timeout=60, verbose=False).success
    with pytest.raises(AISError):
        bucket.object("a.tar").head()  # nothing half-made
    (xid,) = bucket.objects(obj_names=["here.txt", "gone.txt"]).archive(
        "b.tar", continue_on_err=True)
    client.job(job_id=xid).wait(timeout=60, verbose=False)
    assert names_in(bucket.object("b.tar").get_reader().read_all()) == ["here.txt"]


def _arch_dir():
    from aistore.sdk.list_object_flag import ListObjectFlag

    return ListObjectFlag.ARCH_DIR
