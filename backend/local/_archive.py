"""Archives ("shards") as AIStore reads and writes them (``cmn/archive``): TAR, TGZ (TAR.GZ)
and ZIP, told apart by their first bytes (a ``mime`` hint must agree). Read: one file by its
path, the files whose names match (``regexp``, ``prefix``, ``suffix``, ``substr``, or
``wdskey``: WebDataset's sample key), or every file (for listings). Written: entry by entry."""

from __future__ import annotations

import io
import re
import tarfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, Protocol

from ._errors import AISHTTPError, bad_request, not_supported

ARCHIVE_EXTS = (".tar", ".tgz", ".tar.gz", ".zip")
MATCH_MODES = ("regexp", "prefix", "suffix", "substr", "wdskey")
_MIMES = {".tar": "tar", "tar": "tar", ".tgz": "tgz", "tgz": "tgz", ".tar.gz": "tgz",
          "tar.gz": "tgz", ".zip": "zip", "zip": "zip"}


def is_archive_name(name: str) -> bool:
    return name.endswith(ARCHIVE_EXTS)


def archive_extension(name: str) -> str:
    """The archive extension ``name`` ends with (``.tar.gz``...), or ""."""
    return next((ext for ext in ARCHIVE_EXTS if name.endswith(ext)), "")


def _kind(data: bytes) -> str:
    if data[:4] == b"PK\x03\x04":
        return "zip"
    return "tgz" if data[:2] == b"\x1f\x8b" else "tar"


def archive_kind(mime: str, what: str = "reading") -> str:
    """``tar``, ``tgz`` or ``zip`` for an archive format (``.tar.gz``, ``zip``...; empty:
    TAR); LZ4, which AIStore also knows, is refused by name."""
    if not mime:
        return "tar"
    if mime not in _MIMES:
        if "lz4" in mime:
            raise not_supported(f"{what} {mime} archives")
        raise bad_request(f"unsupported archive format {mime!r} (expecting one of "
                          f"{', '.join(ARCHIVE_EXTS)})")
    return _MIMES[mime]


def check_mime(mime: str) -> None:
    """A known ``archmime``."""
    archive_kind(mime)


def files(data: bytes, where: str, mime: str = "") -> Iterator[tuple[str, bytes]]:
    """Every regular file of the archive ``data`` (of ``where``), in archive order."""
    check_mime(mime)
    kind = _kind(data)
    if mime and _MIMES[mime] != kind:
        raise bad_request(f"{where}: not a {mime} archive")
    try:
        if kind == "zip":
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for info in z.infolist():
                    if not info.is_dir():
                        yield info.filename, z.read(info)
            return
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as t:
            for member in t:
                if member.isfile():
                    f = t.extractfile(member)
                    yield member.name, f.read() if f is not None else b""
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as err:
        raise bad_request(f"{where}: not an archive this cluster reads (TAR, TGZ, ZIP): "
                          f"{err}") from None


def members(f: BinaryIO, where: str) -> list[tuple[str, int]]:
    """(name, size) of every regular file of the archive open as ``f``, without reading their
    contents."""
    head = f.read(4)
    f.seek(0)
    try:
        if head == b"PK\x03\x04":
            with zipfile.ZipFile(f) as z:
                return [(i.filename, i.file_size) for i in z.infolist() if not i.is_dir()]
        with tarfile.open(fileobj=f, mode="r:*") as t:
            return [(m.name, m.size) for m in t if m.isfile()]
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as err:
        raise bad_request(f"{where}: not an archive this cluster reads (TAR, TGZ, ZIP): "
                          f"{err}") from None


def read_file(data: bytes, where: str, archpath: str, mime: str = "") -> bytes:
    """The file ``archpath`` of the archive, or a 404 naming it."""
    for name, content in files(data, where, mime):
        if name == archpath:
            return content
    raise AISHTTPError(404, f"{where}: archived file {archpath!r} does not exist",
                       "ErrNotFound")


def matcher(regex: str, mode: str) -> Callable[[str], bool]:
    """Which archived names ``regex`` selects in ``mode`` (default and match-all: prefix)."""
    mode = mode or "prefix"
    if mode not in MATCH_MODES:
        raise bad_request(f"invalid matching mode {mode!r}, expecting one of: "
                          f"{', '.join(MATCH_MODES)}")
    if regex in ("", "*"):
        return lambda _name: True
    if mode == "regexp":
        try:
            pattern = re.compile(regex)
        except re.error as err:
            raise bad_request(f"invalid archregx {regex!r}: {err}") from None
        return lambda name: pattern.search(name) is not None
    tests: dict[str, Callable[[str], bool]] = {
        "prefix": lambda name: name.startswith(regex),
        "suffix": lambda name: name.endswith(regex),
        "substr": lambda name: regex in name,
        "wdskey": lambda name: wds_key(name) == regex,
    }
    return tests[mode]


def wds_key(name: str) -> str:
    """WebDataset's sample key: the path without the extensions of its last element."""
    folder, slash, base = name.rpartition("/")
    return folder + slash + base.split(".", 1)[0]


class Sink(Protocol):
    def write(self, data: bytes, /) -> Any: ...


class _Forward(io.RawIOBase):
    """A write-only, unseekable stream into a :class:`Sink` (what ``zipfile`` writes to)."""

    def __init__(self, sink: Sink) -> None:
        self._sink, self._pos = sink, 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._sink.write(bytes(data))
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos


class ArchiveWriter:
    """Writes one archive into ``sink`` (anything with ``write``) entry by entry: TAR, TGZ
    or ZIP."""

    def __init__(self, kind: str, sink: Sink) -> None:
        self.kind, self.sink = kind, sink
        self._gzip = zlib.compressobj(wbits=31) if kind == "tgz" else None
        self._zip = zipfile.ZipFile(_Forward(sink), "w") if kind == "zip" else None

    def add(self, name: str, data: bytes) -> None:
        if self._zip is not None:
            self._zip.writestr(zipfile.ZipInfo(name, time.localtime()[:6]), data)
            return
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
        pad = -len(data) % tarfile.BLOCKSIZE
        self._write(info.tobuf(tarfile.PAX_FORMAT) + data + b"\0" * pad)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            return
        self._write(b"\0" * (2 * tarfile.BLOCKSIZE))
        if self._gzip is not None:
            self.sink.write(self._gzip.flush())

    def _write(self, data: bytes) -> None:
        self.sink.write(self._gzip.compress(data) if self._gzip is not None else data)
