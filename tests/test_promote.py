"""Promote through the official SDK: files under the cluster's promote root become objects
(a directory's top level, or all of it with recursion; existing objects kept unless
overwritten; sources deleted when asked); anything outside the root, relative, with '..' or
through a symbolic link is refused, as AIStore refuses it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from aistore import Client
from aistore.sdk.errors import AISError

from backend.local import LocalCluster


@pytest.fixture(scope="module")
def promoting() -> Iterator[tuple[Client, Path]]:
    path = Path(tempfile.mkdtemp(prefix="aisetl-promote-"))
    root = path / "promote-root"
    root.mkdir()
    try:
        with LocalCluster(path / "cluster", targets=2, port=0, promote_root=root) as c:
            yield Client(c.endpoint), root
    finally:
        shutil.rmtree(path, ignore_errors=True)


def names(bucket) -> list[str]:
    return sorted(e.name for e in bucket.list_all_objects())


def test_files_under_the_root_become_objects(promoting) -> None:
    client, root = promoting
    bucket = client.bucket("promoted")
    bucket.create(exist_ok=True)
    src = root / "dataset"
    (src / "inner").mkdir(parents=True)
    for i in range(6):
        (src / f"top-{i}.txt").write_text(f"top {i}")
    (src / "inner" / "deep.txt").write_text("deep")
    obj = bucket.object("ds/")
    assert client.job(job_id=obj.promote(str(src))).wait(timeout=60).success
    assert names(bucket) == [f"ds/top-{i}.txt" for i in range(6)]
    (src / "top-0.txt").write_text("changed")
    assert client.job(job_id=obj.promote(str(src), recursive=True)).wait(timeout=60).success
    assert bucket.object("ds/top-0.txt").get_reader().read_all() == b"top 0"  # kept
    assert "ds/inner/deep.txt" in names(bucket)
    xid = obj.promote(str(src), recursive=True, overwrite_dest=True, delete_source=True)
    assert client.job(job_id=xid).wait(timeout=60).success
    assert bucket.object("ds/top-0.txt").get_reader().read_all() == b"changed"
    assert not any(p.is_file() for p in src.rglob("*"))  # every source deleted
    one = root / "single.bin"
    one.write_bytes(b"one file")
    client.job(job_id=bucket.object("renamed.bin").promote(str(one))).wait(timeout=60)
    assert bucket.object("renamed.bin").get_reader().read_all() == b"one file"


@pytest.mark.parametrize(("source", "message"), [
    ("relative/path", "must be an absolute path"),
    ("{root}/../etc", "must not contain '.' or '..'"),
    ("/etc", "not under the promote root"),
    ("{root}/link", "symbolic links are not followed"),
    ("{root}/missing", "does not exist"),
])
def test_sources_refused(promoting, source: str, message: str) -> None:
    client, root = promoting
    (root / "link").unlink(missing_ok=True)
    (root / "link").symlink_to("/etc")
    bucket = client.bucket("refusals")
    bucket.create(exist_ok=True)
    try:
        xid = bucket.object("x/").promote(source.format(root=root))
    except AISError as err:  # refused at once, by the proxy
        assert message in err.message
        return
    result = client.job(job_id=xid).wait(timeout=60, verbose=False)
    assert not result.success and message in (result.error or ""), result
    assert names(bucket) == []
