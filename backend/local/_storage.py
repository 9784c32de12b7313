"""One target's object store: one file per object, metadata in an extended attribute.

Layout under the target's data directory::

    objects/<bucket>/<object name>   the objects; names with '/' become subdirectories
    objects/<bucket>/.x<sha256>      an object whose name no file system path can hold
                                     (AIStore's "file name too long": ``fs.IsFntl``),
    objects/<bucket>/.x<sha256>.name   and its name (too long for an extended attribute)
    tmp/                             writes in progress; cleared at start-up
    trash/                           destroyed buckets, removed in the background

A write streams into ``tmp/``, gets its metadata attribute, and is renamed into place, so a
crashed process leaves either the old object, the new one, or (for a new name) nothing. As
AIStore does by default, a PUT is not fsynced (its feature flag ``Fsync-PUT`` turns that on,
``fsync_put`` here): an acknowledged write survives the process, not a crash of the machine.
Every method is synchronous and thread-safe; the server calls them from worker threads.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import shutil
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import takewhile
from pathlib import Path
from typing import BinaryIO

import msgspec
import xxhash
from sortedcontainers import SortedDict

from ._errors import AISHTTPError, bad_request, bucket_not_found, object_conflict, object_not_found

XATTR = "user.ais.lom"
_COPY_CHUNK = 1024 * 1024
DEFAULT_CKSUM = "xxhash2"
_HASHERS: dict[str, Callable[[], object]] = {
    "xxhash2": xxhash.xxh64,
    "md5": hashlib.md5,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}
_LOCK_STRIPES = 64
MAX_COMPONENT, MAX_NAME = 255, 3072  # AIStore's maxLenBasename and maxLenPath (fs/fntl.go)
FNTL_PREFIX, NAME_SUFFIX = ".x", ".name"


class ObjectMeta(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What survives a restart beside the bytes (the size is the file's)."""

    cksum_type: str
    cksum_value: str
    version: int
    atime_ns: int
    size: int = 0
    custom: dict[str, str] = msgspec.field(default_factory=dict)  # user-defined properties
    chunk_count: int = 0  # written by a multipart upload: its parts,
    chunk_max: int = 0  # and the largest one's size
    written_ns: int = 0  # the file's mtime when the cluster wrote it (0: not recorded)


def too_long(obj: str) -> bool:
    """Whether a file cannot be named as the object is: a part of its name longer than a
    file name may be, or the whole longer than AIStore lets a path be before it shortens."""
    if len(obj) <= MAX_COMPONENT // 4:  # (4 bytes a character at most: the fast answer)
        return False
    raw = obj.encode()
    return len(raw) > MAX_NAME or any(len(part) > MAX_COMPONENT for part in raw.split(b"/"))


def short_name(obj: str) -> str:
    """The file name of an object whose own name is too long (AIStore's ``ShortenFntl``)."""
    return FNTL_PREFIX + hashlib.sha256(obj.encode()).hexdigest()


_meta_encoder = msgspec.json.Encoder()
_meta_decoder = msgspec.json.Decoder(ObjectMeta)


def _read_meta(target: str | int, size: int) -> ObjectMeta:
    meta = _meta_decoder.decode(os.getxattr(target, XATTR))
    meta.size = size
    return meta


def _verify(fd: int, meta: ObjectMeta, bucket: str, obj: str, size: int) -> None:
    """The file of an object changed since the cluster wrote it (another mtime or size):
    its bytes must still have their checksum, or reading it fails, saying so."""
    hasher = _HASHERS[meta.cksum_type]()
    offset = 0
    while offset < size and (chunk := os.pread(fd, _COPY_CHUNK, offset)):
        hasher.update(chunk)  # type: ignore[attr-defined]
        offset += len(chunk)
    got = hasher.hexdigest()  # type: ignore[attr-defined]
    if got != meta.cksum_value:
        raise AISHTTPError(
            500, f"ais://{bucket}/{obj}: BAD DATA CHECKSUM: {meta.cksum_type}({meta.cksum_value})"
                 f" != {meta.cksum_type}({got}): its file was changed outside the cluster",
            "ErrBadCksum")


@dataclass
class _BucketIndex:
    """Sorted names with sizes, loaded on first use, then kept current by writes and deletes."""

    sizes: SortedDict
    total: int


class ObjectWriter:
    """Streams one object into a temporary file; ``commit`` makes it visible atomically."""

    def __init__(self, store: ObjectStore, bucket: str, obj: str, expect: tuple[str, str] | None,
                 custom: dict[str, str] | None = None):
        self._store, self._bucket, self._obj = store, bucket, obj
        self._custom = custom or {}
        self._tmp = store.tmp_name()
        self._file = open(self._tmp, "xb", buffering=0)  # noqa: SIM115 - closed by commit/abort
        self._size = 0
        self._hash = xxhash.xxh64()
        self._expect = expect
        self._check = None
        if expect and expect[0] != DEFAULT_CKSUM:
            self._check = _HASHERS[expect[0]]()

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._hash.update(chunk)
        if self._check is not None:
            self._check.update(chunk)
        self._size += len(chunk)

    def commit(self, expected_size: int | None = None,
               chunks: list[int] | None = None) -> ObjectMeta:
        """The object, visible at once; ``chunks``: the sizes of the parts it was uploaded
        in, if it was."""
        try:
            if expected_size is not None and expected_size != self._size:
                raise bad_request(
                    f"ais://{self._bucket}/{self._obj}: received {self._size} bytes, "
                    f"expected {expected_size} (Content-Length)"
                )
            value = self._hash.hexdigest()
            if self._expect:
                got = self._check.hexdigest() if self._check is not None else value
                if got != self._expect[1].lower():
                    raise AISHTTPError(
                        400,
                        f"ais://{self._bucket}/{self._obj}: BAD DATA CHECKSUM: "
                        f"{self._expect[0]}({self._expect[1]}) != {self._expect[0]}({got})",
                        "ErrBadCksum",
                    )
            if self._store.fsync_put:
                os.fsync(self._file.fileno())
            self._file.close()
            meta = ObjectMeta(
                cksum_type=DEFAULT_CKSUM, cksum_value=value, version=1,
                atime_ns=time.time_ns(), size=self._size, custom=self._custom,
                chunk_count=len(chunks or ()), chunk_max=max(chunks or (0,)),
            )
            self._store._commit(self._bucket, self._obj, self._tmp, meta)
            return meta
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        self._file.close()
        Path(self._tmp).unlink(missing_ok=True)


class ObjectStore:
    def __init__(self, root: Path, fsync_put: bool = False) -> None:
        self.root = root
        self.fsync_put = fsync_put
        self.objects_dir = root / "objects"
        self._objects_prefix = f"{self.objects_dir}/"
        self.tmp_dir = root / "tmp"
        self.trash_dir = root / "trash"
        for d in (self.objects_dir, self.tmp_dir, self.trash_dir):
            d.mkdir(parents=True, exist_ok=True)
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]
        self._index_lock = threading.Lock()
        self._indexes: dict[str, _BucketIndex] = {}
        self._tmp_seq = itertools.count()

    def tmp_name(self) -> str:
        return f"{self.tmp_dir}/{os.getpid()}.{next(self._tmp_seq)}"

    def recover(self) -> None:
        """Drop what a crash left behind: partial writes and half-destroyed buckets."""
        for d in (self.tmp_dir, self.trash_dir):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir()

    def cleanup(self, older_than: float = 3600.0) -> int:
        """What a running target can drop safely (the ``cleanup`` job): temporary files no
        write has touched for ``older_than`` seconds, and what destroyed buckets left in the
        trash. How many entries it removed."""
        removed, now = 0, time.time()
        for entry in os.scandir(self.tmp_dir):
            with contextlib.suppress(FileNotFoundError):
                if now - entry.stat().st_mtime > older_than:
                    os.unlink(entry.path)
                    removed += 1
        for entry in os.scandir(self.trash_dir):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
        return removed

    # --- buckets ---------------------------------------------------------------------------

    def bucket_names(self) -> list[str]:
        return sorted(p.name for p in self.objects_dir.iterdir() if p.is_dir())

    def has_bucket(self, bucket: str) -> bool:
        return (self.objects_dir / bucket).is_dir()

    def require_bucket(self, bucket: str) -> Path:
        path = self.objects_dir / bucket
        if not path.is_dir():
            raise bucket_not_found(bucket)
        return path

    def create_bucket(self, bucket: str, fresh: bool = True) -> None:
        """``fresh``: empty, whatever this target kept of a bucket of that name (it missed
        its destroy); else as it is (the proxy re-telling its buckets)."""
        if fresh:
            self.destroy_bucket(bucket)
        (self.objects_dir / bucket).mkdir(exist_ok=True)

    def destroy_bucket(self, bucket: str) -> None:
        with self._index_lock:
            self._indexes.pop(bucket, None)
            try:
                doomed = self.trash_dir / f"{bucket}.{uuid.uuid4().hex}"
                os.rename(self.objects_dir / bucket, doomed)
            except FileNotFoundError:
                return
        shutil.rmtree(doomed, ignore_errors=True)

    def rename_bucket(self, bucket: str, to: str) -> None:
        """Every object of ``bucket`` becomes an object of ``to`` (a new bucket), at once."""
        with self._index_lock:
            self._indexes.pop(bucket, None)
            self._indexes.pop(to, None)
            os.rename(self.require_bucket(bucket), self.objects_dir / to)

    # --- objects ---------------------------------------------------------------------------

    def _path(self, bucket: str, obj: str) -> Path:
        return Path(self.fqn(bucket, obj))

    def fqn(self, bucket: str, obj: str) -> str:
        """The object's file, as a string: what a transformer is told to read (no pathlib on
        the per-object path of a transform)."""
        return f"{self._objects_prefix}{bucket}/{short_name(obj) if too_long(obj) else obj}"

    def _lock(self, bucket: str, obj: str) -> threading.Lock:
        return self._locks[hash((bucket, obj)) % _LOCK_STRIPES]

    def writer(self, bucket: str, obj: str, expect: tuple[str, str] | None = None,
               custom: dict[str, str] | None = None) -> ObjectWriter:
        """A writer of the object; ``expect``: the checksum it must have, ``custom``: its
        custom properties."""
        self.require_bucket(bucket)
        if expect and expect[0] not in _HASHERS:
            if expect[0] == "none":
                expect = None
            else:
                raise bad_request(
                    f"unsupported checksum type {expect[0]!r} (supported: {', '.join(_HASHERS)})"
                )
        return ObjectWriter(self, bucket, obj, expect, custom)

    def put_files(self, bucket: str, obj: str, paths: list[Path],
                  expect: tuple[str, str] | None = None,
                  chunks: list[int] | None = None) -> ObjectMeta:
        """The files, one after the other, become the object (see :meth:`ObjectWriter.commit`
        for ``chunks``)."""
        w = self.writer(bucket, obj, expect)
        try:
            for path in paths:
                with open(path, "rb") as f:
                    while chunk := f.read(_COPY_CHUNK):
                        w.write(chunk)
        except BaseException:
            w.abort()
            raise
        return w.commit(chunks=chunks)

    def put_bytes(self, bucket: str, obj: str, data: bytes,
                  expect: tuple[str, str] | None = None,
                  custom: dict[str, str] | None = None) -> ObjectMeta:
        w = self.writer(bucket, obj, expect, custom)
        w.write(data)
        return w.commit()

    def _make_parents(self, bucket: str, obj: str) -> None:
        """The object's directories below its bucket's, one at a time: never the bucket's own
        (a PUT that ends after its bucket was destroyed must not bring the bucket back)."""
        folder = self.objects_dir / bucket
        if not folder.is_dir():
            raise bucket_not_found(bucket)
        for part in [] if too_long(obj) else obj.split("/")[:-1]:
            folder /= part
            try:
                folder.mkdir()
            except FileExistsError:
                continue  # a directory, or an object: the replace then says which
            except FileNotFoundError:  # the bucket went meanwhile
                raise bucket_not_found(bucket) from None
            except NotADirectoryError as err:
                raise object_conflict(bucket, obj, "a parent path is an object") from err

    def _commit(self, bucket: str, obj: str, tmp: str, meta: ObjectMeta) -> None:
        path = self._path(bucket, obj)
        with self._lock(bucket, obj):
            old_size = None
            try:
                st = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                st = None
            if st is not None:
                if stat.S_ISDIR(st.st_mode):
                    raise object_conflict(bucket, obj, "a virtual directory has this name")
                old_size = st.st_size
                with contextlib.suppress(OSError):  # a lost attribute restarts the version
                    meta.version = _read_meta(str(path), old_size).version + 1
            meta.written_ns = os.stat(tmp).st_mtime_ns
            if too_long(obj):  # its name beside it, first: never a file without its name
                self._write_name(bucket, f"{path}{NAME_SUFFIX}", obj)
            os.setxattr(tmp, XATTR, _meta_encoder.encode(meta))
            for _ in range(3):  # the parent may be missing, or pruned by a concurrent delete
                try:
                    os.replace(tmp, path)
                    break
                except FileNotFoundError:
                    self._make_parents(bucket, obj)
                except (NotADirectoryError, FileExistsError) as err:
                    raise object_conflict(bucket, obj, "a parent path is an object") from err
                except IsADirectoryError as err:
                    raise object_conflict(bucket, obj, "a virtual directory has this name") from err
            else:
                raise object_conflict(bucket, obj, "its directory keeps disappearing")
            self._index_update(bucket, obj, meta.size, old_size)

    @staticmethod
    def _write_name(bucket: str, where: str, obj: str) -> None:
        """The name of an object stored under its hash. Not atomic, and need not be: it is
        the same text each time, read only beside its object, which appears after it."""
        try:
            with open(where, "w") as f:
                f.write(obj)
        except FileNotFoundError:  # the bucket went meanwhile (never made again here)
            raise bucket_not_found(bucket) from None

    def open(self, bucket: str, obj: str) -> tuple[BinaryIO, ObjectMeta]:
        """Open an object for reading; the caller closes the file."""
        self.require_bucket(bucket)
        try:
            f = open(self._path(bucket, obj), "rb")  # noqa: SIM115 - handed to the caller
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise object_not_found(bucket, obj) from None
        try:
            st = os.fstat(f.fileno())
            meta = _meta_decoder.decode(os.getxattr(f.fileno(), XATTR))
            if meta.written_ns and (st.st_mtime_ns, st.st_size) != (meta.written_ns, meta.size):
                _verify(f.fileno(), meta, bucket, obj, st.st_size)
                meta.written_ns = st.st_mtime_ns  # the same bytes, only touched
            meta.size = st.st_size
            meta.atime_ns = time.time_ns()
            os.setxattr(f.fileno(), XATTR, _meta_encoder.encode(meta))
        except BaseException:
            f.close()
            raise
        return f, meta

    def read(self, bucket: str, obj: str) -> bytes:
        """The whole object (for what needs all of it at once: reading inside an archive)."""
        f, _meta = self.open(bucket, obj)
        with f:
            return f.read()

    def head(self, bucket: str, obj: str) -> ObjectMeta:
        self.require_bucket(bucket)
        path = self._path(bucket, obj)
        try:
            if path.is_dir():
                raise FileNotFoundError
            return _read_meta(str(path), path.stat().st_size)
        except (FileNotFoundError, NotADirectoryError):
            raise object_not_found(bucket, obj) from None

    def set_custom(self, bucket: str, obj: str, custom: dict[str, str],
                   replace: bool) -> ObjectMeta:
        """Add ``custom`` to the object's custom properties, or make them all (``replace``)."""
        self.require_bucket(bucket)
        path = self._path(bucket, obj)
        with self._lock(bucket, obj):
            try:
                meta = _read_meta(str(path), path.stat().st_size)
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                raise object_not_found(bucket, obj) from None
            meta.custom = dict(custom) if replace else {**meta.custom, **custom}
            os.setxattr(path, XATTR, _meta_encoder.encode(meta))
        return meta

    def mtime_ns(self, bucket: str, obj: str) -> int:
        """When the object was last written (its file's mtime), in nanoseconds."""
        try:
            return self._path(bucket, obj).stat().st_mtime_ns
        except (FileNotFoundError, NotADirectoryError):
            raise object_not_found(bucket, obj) from None

    def delete(self, bucket: str, obj: str) -> int:
        """Remove the object; the size it had."""
        root = self.require_bucket(bucket)
        path = self._path(bucket, obj)
        with self._lock(bucket, obj):
            try:
                if path.is_dir():
                    raise FileNotFoundError
                size = path.stat().st_size
                path.unlink()
            except (FileNotFoundError, NotADirectoryError):
                raise object_not_found(bucket, obj) from None
            if too_long(obj):
                Path(f"{path}{NAME_SUFFIX}").unlink(missing_ok=True)
            self._index_update(bucket, obj, None, size)
        parent = path.parent
        while parent != root:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent
        return size

    # --- listing and totals ----------------------------------------------------------------

    def _index(self, bucket: str) -> _BucketIndex:
        """The bucket's index; the caller holds ``_index_lock``."""
        index = self._indexes.get(bucket)
        if index is None:
            root = self.require_bucket(bucket)
            sizes = SortedDict()
            for name, size in _walk(root, ""):
                sizes[name] = size
            index = self._indexes[bucket] = _BucketIndex(sizes, sum(sizes.values()))
        return index

    def _index_update(self, bucket: str, obj: str, size: int | None, old: int | None) -> None:
        with self._index_lock:
            index = self._indexes.get(bucket)
            if index is None:
                return
            if old is not None and obj in index.sizes:
                index.total -= index.sizes.pop(obj)
            if size is not None:
                index.sizes[obj] = size
                index.total += size

    def indexed_sizes(self, bucket: str, names: list[str]) -> list[int]:
        """The sizes the index holds for ``names`` (0 for a name it does not hold)."""
        with self._index_lock:
            sizes = self._index(bucket).sizes
            return [sizes.get(name, 0) for name in names]

    def list_names(self, bucket: str, prefix: str, after: str, limit: int) -> list[tuple[str, int]]:
        """Up to ``limit`` (name, size) pairs with ``prefix``, names strictly after ``after``."""
        with self._index_lock:
            sizes = self._index(bucket).sizes
            start = max(prefix, after)
            exclusive = bool(after) and start == after
            out: list[tuple[str, int]] = []
            for name in sizes.irange(minimum=start, inclusive=(not exclusive, True)):
                if not name.startswith(prefix) or len(out) >= limit:
                    break
                out.append((name, sizes[name]))
            return out

    def list_level(self, bucket: str, prefix: str, after: str,
                   limit: int) -> list[tuple[str, int | None]]:
        """A non-recursive listing, as AIStore's (flag no-recursion): the objects in
        ``prefix``'s directory and, as ``name/`` entries without a size, its subdirectories,
        in name order, strictly after ``after``. A subtree is skipped, not read.

        As aisnode 5.0 answers: a prefix below the top level names a directory (``dir/s``
        lists ``dir/s/``, so nothing when there is no such directory); at the top level it
        also matches names and directories that start with it (``a``: ``a.txt``, ``ab/``)."""
        if "/" in prefix and not prefix.endswith("/"):
            prefix += "/"
        base = prefix[:prefix.rfind("/") + 1]
        out: list[tuple[str, int | None]] = []
        with self._index_lock:
            sizes = self._index(bucket).sizes
            start = max(prefix, after)
            inclusive = not (after and start == after)
            while len(out) < limit:
                name = next(iter(sizes.irange(minimum=start, inclusive=(inclusive, True))),
                            None)
                if name is None or not name.startswith(prefix):
                    break
                directory, add = _level_of(prefix, base, name)
                if directory is None:
                    out.append((name, sizes[name]))
                    start, inclusive = name, False
                    continue
                if add and directory + "/" > after:
                    out.append((directory + "/", None))
                start, inclusive = directory + "0", True  # past "<directory>/..."
        return out

    def meta_of(self, bucket: str, obj: str) -> ObjectMeta | None:
        try:
            return self.head(bucket, obj)
        except AISHTTPError:
            return None  # deleted since it was listed

    def warm_up(self) -> None:
        """Load every bucket's index now, so the first listing after a start is fast."""
        for bucket in self.bucket_names():
            with self._index_lock:
                if bucket not in self._indexes and self.has_bucket(bucket):
                    self._index(bucket)

    def totals(self, bucket: str, prefix: str = "") -> dict[str, int]:
        """Count, total, smallest and largest size of the bucket's objects (with ``prefix``)."""
        with self._index_lock:
            index = self._index(bucket)
            if prefix:
                names = index.sizes.irange(minimum=prefix)
                sizes = [index.sizes[n] for n in takewhile(lambda n: n.startswith(prefix), names)]
                total = sum(sizes)
            else:
                sizes, total = index.sizes.values(), index.total
            return {"count": len(sizes), "size": total,
                    "min": min(sizes, default=0), "max": max(sizes, default=0)}


def _walk(root: Path, rel: str) -> Iterator[tuple[str, int]]:
    with os.scandir(root / rel if rel else root) as it:
        for entry in it:
            name = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(root, name)
                continue
            if not rel and name.startswith(FNTL_PREFIX):  # named by its hash: its own name
                if name.endswith(NAME_SUFFIX):
                    continue
                with contextlib.suppress(OSError, UnicodeDecodeError):
                    name = Path(f"{entry.path}{NAME_SUFFIX}").read_text()
            yield name, entry.stat(follow_symlinks=False).st_size


def _no_recursion_dir(prefix: str, rel_path: str) -> tuple[bool, bool]:
    """(list it as a directory entry, walk into it) for a directory met in a non-recursive
    listing: AIStore's ``cmn.CheckDirNoRecurs``."""
    if prefix in ("", "/"):
        return True, False
    trimmed = prefix.removesuffix("/")
    if not rel_path.startswith(trimmed):
        return False, False
    suffix = rel_path[len(trimmed):].removeprefix("/")
    if not suffix:
        return False, True
    return "/" not in suffix, False


def _level_of(prefix: str, base: str, name: str) -> tuple[str | None, bool]:
    """For object ``name`` in a non-recursive listing walked from directory ``base``: (None,
    _) when it is listed itself, else the directory where the walk stops, and whether that
    directory is listed."""
    parts = name[len(base):].split("/")[:-1]
    current = base.removesuffix("/")
    for part in parts:
        current = f"{current}/{part}" if current else part
        add, descend = _no_recursion_dir(prefix, current)
        if not descend:
            return current, add
    return None, False
