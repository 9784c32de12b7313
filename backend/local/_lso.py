"""List-objects wire formats (``apc.LsoMsg`` in, ``cmn.LsoRes`` out, JSON and msgpack)."""

from __future__ import annotations

import time
from typing import Any

import msgspec

MAX_PAGE_SIZE = 10_000
LS_CACHED = 1 << 0
LS_ARCH_DIR = 1 << 3
LS_NAME_ONLY = 1 << 4
LS_NAME_SIZE = 1 << 5
LS_NO_RECURSION = 1 << 11
ENTRY_CACHED = 1 << 6
ENTRY_IN_ARCH = 1 << 7  # a file inside an archive (flag arch-dir)
ENTRY_IS_DIR = 1 << 8  # a virtual directory, in a non-recursive listing
ENTRY_IS_ARCHIVE = 1 << 9


class LsoMsg(msgspec.Struct, kw_only=True):
    uuid: str = ""
    continuation_token: str = ""
    prefix: str = ""
    props: str = ""
    pagesize: int = 0
    flags: str | int = "0"
    start_after: str = ""
    time_format: str = ""

    @property
    def flag_bits(self) -> int:
        return int(self.flags or 0)

    @property
    def page_size(self) -> int:
        return MAX_PAGE_SIZE if self.pagesize <= 0 else min(self.pagesize, MAX_PAGE_SIZE)

    def wanted(self) -> frozenset[str]:
        """The properties to return, normalized as AIStore's ``NormalizeNameSizeDflt``."""
        bits = self.flag_bits
        if bits & LS_NAME_ONLY or self.props == "name":
            return frozenset({"name"})
        if bits & LS_NAME_SIZE or self.props == "name,size":
            return frozenset({"name", "size"})
        if not self.props:
            if bits & LS_CACHED:
                return frozenset({"name", "size", "checksum", "atime"})
            return frozenset({"name", "size", "cached"})
        props = frozenset(p.strip() for p in self.props.split(",") if p.strip())
        return props | {"name"}


class Entry(msgspec.Struct, omit_defaults=True):
    """One listed object, with AIStore's short msgpack keys."""

    n: str
    cs: str = ""
    a: str = ""
    v: str = ""
    t: str = ""
    m: dict[str, str] = {}
    s: int = 0
    c: int = 0
    f: int = 0


class Page(msgspec.Struct):
    """What a target returns to the proxy for one page."""

    entries: list[Entry]


_JSON_KEYS = {"n": "name", "cs": "checksum", "a": "atime", "v": "version", "t": "location",
              "m": "custom-md", "c": "copies", "f": "flags"}

# Go reference-time tokens, longest first, and their strftime equivalents.
_GO_LAYOUT = [("2006", "%Y"), ("January", "%B"), ("Monday", "%A"), ("Jan", "%b"), ("Mon", "%a"),
              ("MST", "%Z"), ("-0700", "%z"), ("Z07:00", "%z"), ("15", "%H"), ("06", "%y"),
              ("01", "%m"), ("02", "%d"), ("04", "%M"), ("05", "%S")]
RFC822 = "02 Jan 06 15:04 MST"


def format_atime(atime_ns: int, layout: str) -> str:
    fmt = layout or RFC822
    for token, directive in _GO_LAYOUT:
        fmt = fmt.replace(token, directive)
    return time.strftime(fmt, time.gmtime(atime_ns / 1e9)).replace("+0000", "Z")


def response_body(uuid: str, token: str, entries: list[Entry], as_msgpack: bool) -> bytes:
    """``cmn.LsoRes``; no entries is ``null``, as Go encodes a nil slice."""
    if as_msgpack:
        return msgspec.msgpack.encode(
            {"UUID": uuid, "ContinuationToken": token, "Entries": entries or None, "Flags": 0}
        )
    return msgspec.json.encode({
        "uuid": uuid, "continuation_token": token, "flags": 0,
        "entries": [_json_entry(e) for e in entries] or None,
    })


def _json_entry(entry: Entry) -> dict[str, Any]:
    out: dict[str, Any] = {"name": entry.n}
    if entry.s or not entry.f & ENTRY_IS_DIR:  # a directory has no size (Go's omitempty)
        out["size"] = str(entry.s)
    for field, key in _JSON_KEYS.items():
        value = getattr(entry, field)
        if value and field != "n":
            out[key] = value
    return out
