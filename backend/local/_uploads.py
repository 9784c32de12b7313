"""Objects written in pieces, on the target that owns the object (AIStore's native API):

* multipart uploads (``ais/tgtmpt.go``): start one, put its parts in any order, complete them
  into the object, or abort;
* appends (``ais/tgtobj.go`` ``apndOI``): append to a work file (which starts as a copy of the
  object, if it exists) through a handle, then flush it into the object.

Either way the object changes only at the end, in one atomic write checksummed as any PUT.
The pieces wait as files under the store's ``uploads/`` directory; like AIStore without its
resume feature, a target that restarts forgets them (their files are removed at start)."""

from __future__ import annotations

import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import AISHTTPError, bad_request
from ._storage import ObjectMeta, ObjectStore

CHUNK = 1024 * 1024


@dataclass
class Work:
    """An append in progress: its work file."""

    bucket: str
    obj: str
    path: Path


@dataclass
class Upload:
    bucket: str
    obj: str
    dir: Path
    parts: dict[int, int] = field(default_factory=dict)  # part number -> size


class Uploads:
    def __init__(self, store: ObjectStore, node_id: str) -> None:
        self.store, self.node_id = store, node_id
        self.dir = store.root / "uploads"
        self._all: dict[str, Upload] = {}
        self._work: dict[str, Work] = {}  # appends in progress, by handle
        self._lock = threading.Lock()

    def recover(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)

    def start(self, bucket: str, obj: str) -> str:
        """A new upload of ``ais://bucket/obj``; its ID."""
        self.store.require_bucket(bucket)
        upload_id = uuid.uuid4().hex[:12]
        path = self.dir / upload_id
        path.mkdir()
        with self._lock:
            self._all[upload_id] = Upload(bucket, obj, path)
        return upload_id

    def _get(self, upload_id: str, bucket: str, obj: str) -> Upload:
        with self._lock:
            upload = self._all.get(upload_id)
        if upload is None or (upload.bucket, upload.obj) != (bucket, obj):
            raise AISHTTPError(404, f"ais://{bucket}/{obj}: upload {upload_id!r} does not exist",
                               "ErrNotFound")
        return upload

    def part_file(self, upload_id: str, bucket: str, obj: str, number: str,
                  size: int | None) -> tuple[Path, int]:
        """Where part ``number`` of the upload is written (a temporary name: :meth:`add_part`
        makes it the part), and the part number, checked."""
        upload = self._get(upload_id, bucket, obj)
        try:
            part = int(number)
        except ValueError:
            raise bad_request(f"ais://{bucket}/{obj}: invalid part number {number!r} for "
                              f"upload {upload_id!r}") from None
        if part < 1:
            raise bad_request(f"part number must be a positive integer, got: {part}")
        if not size or size < 0:
            raise bad_request(f"ais://{bucket}/{obj}: put-part invalid size "
                              f"({-1 if size is None else size})")
        return upload.dir / f"{part}.tmp.{uuid.uuid4().hex[:8]}", part

    def add_part(self, upload_id: str, bucket: str, obj: str, part: int, written: Path,
                 size: int) -> None:
        """The part written to ``written`` is part ``part`` (replacing one of that number)."""
        upload = self._get(upload_id, bucket, obj)
        written.replace(upload.dir / str(part))
        with self._lock:
            upload.parts[part] = size

    def complete(self, upload_id: str, bucket: str, obj: str, parts: Any) -> ObjectMeta:
        """The parts, in number order, become the object; the upload is gone."""
        upload = self._get(upload_id, bucket, obj)
        _check_parts(parts, len(upload.parts))
        numbers = sorted(upload.parts)
        meta = self.store.put_files(bucket, obj, [upload.dir / str(n) for n in numbers],
                                    chunks=[upload.parts[n] for n in numbers])
        self._drop(upload_id, upload)
        return meta

    def abort(self, upload_id: str, bucket: str, obj: str) -> None:
        self._drop(upload_id, self._get(upload_id, bucket, obj))

    # --- appends ----------------------------------------------------------------------------

    def append_file(self, bucket: str, obj: str, handle: str) -> tuple[Path, str]:
        """The work file to append to, and its handle: a new one (a copy of the object, if it
        exists) for an empty ``handle``."""
        if handle:
            return self._work_of(bucket, obj, handle).path, handle
        self.store.require_bucket(bucket)
        token = uuid.uuid4().hex
        handle, path = f"{self.node_id}|{token}", self.dir / f"append.{token}"
        try:
            f, _meta = self.store.open(bucket, obj)
        except AISHTTPError as err:
            if err.status != 404:
                raise
            path.touch()
        else:
            with f, open(path, "wb") as out:
                shutil.copyfileobj(f, out, CHUNK)
        with self._lock:
            self._work[handle] = Work(bucket, obj, path)
        return path, handle

    def flush(self, bucket: str, obj: str, handle: str,
              expect: tuple[str, str] | None) -> ObjectMeta:
        """The work file becomes the object (``expect``: the checksum it must have)."""
        if not handle:
            raise bad_request(f"ais://{bucket}/{obj}: failed to finalize append-file "
                              "operation: empty append handle")
        work = self._work_of(bucket, obj, handle)
        meta = self.store.put_files(bucket, obj, [work.path], expect)
        with self._lock:
            self._work.pop(handle, None)
        work.path.unlink(missing_ok=True)
        return meta

    def _work_of(self, bucket: str, obj: str, handle: str) -> Work:
        with self._lock:
            work = self._work.get(handle)
        if work is None or (work.bucket, work.obj) != (bucket, obj):
            raise bad_request(f"ais://{bucket}/{obj}: invalid append handle {handle!r} (not "
                              "given by an append to this object, or already flushed)")
        return work

    def _drop(self, upload_id: str, upload: Upload) -> None:
        with self._lock:
            self._all.pop(upload_id, None)
        shutil.rmtree(upload.dir, ignore_errors=True)


def _check_parts(parts: Any, count: int) -> None:
    """The completed-parts list (``apc.MptCompletedParts``) must name each part once, 1..count,
    as AIStore requires."""
    if not count:
        raise bad_request("no chunks")
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise bad_request("the completed parts must be a list of {part-number, etag}")
    if len(parts) != count:
        raise AISHTTPError(501, f"partial completion is not allowed: requested {len(parts)} "
                           f"parts, have {count}")
    try:
        numbers = sorted(int(p.get("part-number", 0)) for p in parts)
    except (TypeError, ValueError):
        raise bad_request("a completed part's part-number is not a number") from None
    for position, got in enumerate(numbers):
        if got != position + 1:
            raise bad_request(f"parts must be exactly 1..{count}: got {got} at position "
                              f"{position}")
