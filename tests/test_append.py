"""Appends (``append_type``/``append_handle``) through the official SDK, as AIStore does them:
pieces go to a work file that starts as a copy of the object, the object changes only when the
work is flushed, and a handle belongs to its object."""

from __future__ import annotations

import pytest
import xxhash
from aistore.sdk.errors import AISError


def test_appends_become_the_object_only_when_flushed(bucket) -> None:
    writer = bucket.object("log.txt").get_writer()
    handle = writer.append_content(b"line 1\n")
    assert handle
    handle = writer.append_content(b"line 2\n", handle=handle)
    with pytest.raises(AISError):
        bucket.object("log.txt").head()  # not yet an object
    writer.append_content(b"", handle=handle, flush=True)
    assert bucket.object("log.txt").get_reader().read_all() == b"line 1\nline 2\n"
    # a second round continues the object
    handle = writer.append_content(b"line 3\n")
    assert bucket.object("log.txt").get_reader().read_all() == b"line 1\nline 2\n"
    writer.append_content(b"", handle=handle, flush=True)
    data = bucket.object("log.txt").get_reader().read_all()
    assert data == b"line 1\nline 2\nline 3\n"
    assert bucket.object("log.txt").head().checksum_value == xxhash.xxh64(data).hexdigest()


def test_a_file_opened_for_append(bucket) -> None:
    obj = bucket.object("notes.txt")
    obj.get_writer().put_content(b"first ")
    with obj.get_writer().as_file(mode="a") as f:
        f.write(b"second ")
        f.write(b"third")
    assert obj.get_reader().read_all() == b"first second third"


def test_a_handle_belongs_to_its_object_and_ends_with_its_flush(http, bucket) -> None:
    writer = bucket.object("a.txt").get_writer()
    handle = writer.append_content(b"a")
    resp = http.put(f"/v1/objects/{bucket.name}/b.txt",
                    params={"append_type": "append", "append_handle": handle}, content=b"b")
    assert resp.status_code == 400 and "invalid append handle" in resp.json()["message"]
    writer.append_content(b"", handle=handle, flush=True)
    again = http.put(f"/v1/objects/{bucket.name}/a.txt",
                     params={"append_type": "flush", "append_handle": handle})
    assert again.status_code == 400 and "invalid append handle" in again.json()["message"]
    bad = http.put(f"/v1/objects/{bucket.name}/a.txt",
                   params={"append_type": "truncate", "append_handle": ""}, content=b"x")
    assert bad.status_code == 400 and "expecting either 'append' or 'flush'" in bad.text


def test_a_flush_checks_the_checksum_it_is_given(http, bucket) -> None:
    handle = bucket.object("c.txt").get_writer().append_content(b"content")
    resp = http.put(f"/v1/objects/{bucket.name}/c.txt",
                    params={"append_type": "flush", "append_handle": handle},
                    headers={"Ais-Checksum-Type": "xxhash2",
                             "Ais-Checksum-Value": "0000000000000000"})
    assert resp.status_code == 400 and "BAD DATA CHECKSUM" in resp.json()["message"]
    assert http.head(f"/v1/objects/{bucket.name}/c.txt").status_code == 404
