"""Multipart upload (AIStore's native API) through the official SDK: parts in any order and
in parallel become one object, checksummed as any PUT; what AIStore refuses is refused in its
words; an aborted or completed upload is gone."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from aistore.sdk.errors import AISError


def upload(obj, parts: dict[int, bytes]):
    mpu = obj.multipart_upload().create()
    for number, data in parts.items():
        mpu.add_part(number).put_content(data)
    return mpu


def test_parts_in_any_order_become_the_object(bucket) -> None:
    obj = bucket.object("dir/big.bin")
    obj.get_writer().put_content(b"the old content")
    parts = {3: b"C" * 100, 1: os.urandom(3 << 20), 2: b"B" * 7}
    response = upload(obj, parts).complete()
    assert response.status_code == 200
    reader = obj.get_reader()
    assert reader.read_all() == parts[1] + parts[2] + parts[3]
    props = obj.head()
    assert props.size == len(parts[1]) + 107 and props.checksum_value
    names = [e.name for e in bucket.list_all_objects()]
    assert names == ["dir/big.bin"]  # no part is ever listed


def test_parallel_parts(bucket) -> None:
    obj = bucket.object("parallel")
    mpu = obj.multipart_upload().create()
    chunks = {n: bytes([n]) * (64 * 1024 + n) for n in range(1, 9)}
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: mpu.add_part(n).put_content(chunks[n]), chunks))
    mpu.complete()
    assert obj.get_reader().read_all() == b"".join(chunks[n] for n in sorted(chunks))


@pytest.mark.parametrize(("parts", "listed", "message"), [
    ({}, [], "no chunks"),
    ({1: b"x", 2: b"y"}, [1], "partial completion is not allowed: requested 1 parts, have 2"),
    ({1: b"x", 3: b"y"}, [1, 3], "parts must be exactly 1..2: got 3 at position 1"),
])
def test_completion_must_name_every_part(bucket, parts, listed, message) -> None:
    obj = bucket.object("incomplete")
    mpu = upload(obj, parts)
    mpu.parts = listed
    with pytest.raises(AISError) as info:
        mpu.complete()
    assert message in info.value.message
    with pytest.raises(AISError):
        obj.head()  # nothing was written


def test_an_empty_part_is_refused(bucket) -> None:
    mpu = bucket.object("empty-part").multipart_upload().create()
    with pytest.raises(AISError) as info:
        mpu.add_part(1).put_content(b"")
    assert "invalid size (0)" in info.value.message


def test_completed_and_aborted_uploads_are_gone(bucket) -> None:
    done = upload(bucket.object("done"), {1: b"one"})
    assert done.complete().status_code == 200
    with pytest.raises(AISError) as info:
        done.complete()
    assert "does not exist" in info.value.message
    aborted = upload(bucket.object("aborted"), {1: b"one"})
    assert aborted.abort().status_code == 200
    with pytest.raises(AISError) as info:
        aborted.complete()
    assert "does not exist" in info.value.message
    with pytest.raises(AISError):
        bucket.object("aborted").head()


def test_an_upload_belongs_to_its_object(bucket) -> None:
    mpu = upload(bucket.object("mine"), {1: b"one"})
    other = bucket.object("not-mine").multipart_upload()
    other.upload_id, other.parts = mpu.upload_id, [1]
    with pytest.raises(AISError) as info:
        other.complete()
    assert "does not exist" in info.value.message
    assert mpu.complete().status_code == 200


def test_head_v2_says_how_an_object_was_chunked(bucket) -> None:
    obj = bucket.object("chunked")
    upload(obj, {1: b"x" * 3000, 2: b"y" * 5000, 3: b"z" * 10}).complete()
    chunks = obj.head(props="chunked").chunks
    assert (chunks.chunk_count, chunks.max_chunk_size) == (3, 5000)
    obj.get_writer().put_content(b"whole")  # a plain PUT is one piece again
    assert obj.head(props="chunked").chunks is None
