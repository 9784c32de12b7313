"""Jobs ("xactions") as a target sees them, with AIStore's snapshot JSON (``core.Snap``)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ._errors import bad_request
from ._names import bck_json
from ._smap import new_uuid

log = logging.getLogger("aisetl.cluster")
ZERO_TIME = "0001-01-01T00:00:00Z"
GOR_BITS, GOR_MASK = 10, (1 << 10) - 1  # core.Snap.Pack: joggers in bits 0-9, workers 10-19
MAX_FINISHED = 256
MAX_OBJ_ERRORS = 128  # a job's per-object errors listed, per target: AIStore's ext/etl MaxObjErr
COUNTERS = ("loc-objs", "loc-bytes", "out-objs", "out-bytes", "in-objs", "in-bytes")
DISPLAY_NAMES = {"etl-bck": "etl-bucket", "etl-listrange": "etl-objects"}
# Kinds that idle between requests rather than finish with their work (AIStore's
# xact.IdlesBeforeFinishing; of its kinds, these are the ones done here), and for how long an
# idle job waits for more before it finishes (AIStore's xact.IdleDefault).
IDLE_KINDS = frozenset({"copy-listrange", "etl-listrange", "get-batch"})
IDLE_FOR = 60.0
KINDS_BY_DISPLAY = {v: k for k, v in DISPLAY_NAMES.items()}


def failed_text(kind: str, count: int) -> str:
    """A job's error when some of its objects failed."""
    what = "failed to transform" if kind.startswith("etl") else "failed"
    return f"{count} object(s) {what}; see the job's errors"


def new_xid(prefix: str = "") -> str:
    return prefix + new_uuid()


def _rfc3339(ts: float | None) -> str:
    if ts is None:
        return ZERO_TIME
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


@dataclass(frozen=True)
class XactQuery:
    """``xact.QueryMsg``: which jobs a request is about."""

    id: str = ""
    kind: str = ""
    bucket: str = ""
    running: bool | None = None  # AIStore's OnlyRunning: None all, True running, False ended

    def to_json(self) -> dict:
        out = {"id": self.id, "kind": self.kind, "bck": {"name": self.bucket}}
        return out if self.running is None else {**out, "show_active": self.running}


def lower_keys(raw: Any) -> dict[str, Any]:
    """A JSON object's keys in lower case: Go reads JSON keys case-insensitively."""
    return {k.lower(): v for k, v in raw.items()} if isinstance(raw, dict) else {}


def parse_query(body: bytes) -> XactQuery:
    """The job query in a request's body (none: every job)."""
    if not body.strip():
        return XactQuery()
    try:
        raw = lower_keys(json.loads(body))
    except (ValueError, RecursionError) as err:
        raise bad_request(f"malformed JSON job query: {err}") from None
    running = raw.get("show_active", raw.get("onlyrunning"))
    return XactQuery(str(raw.get("id") or ""), str(raw.get("kind") or ""),
                     str(lower_keys(raw.get("bck")).get("name") or ""),
                     None if running is None else bool(running))


@dataclass
class Xaction:
    id: str
    kind: str
    src: str | None = None
    dst: str | None = None
    etl: str = ""
    pipeline: tuple[str, ...] = ()  # the ETLs after ``etl``: stopping one aborts the job too
    started: float = field(default_factory=time.time)
    ended: float | None = None
    aborted: bool = False
    err: str = ""
    idle: bool = False
    stats: Counter[str] = field(default_factory=Counter)
    obj_errors: list[dict] = field(default_factory=list)  # the first ones, as AIStore's
    error_count: int = 0
    pending: int = 0  # requests being worked on: the end waits for them
    _idle_timer: asyncio.TimerHandle | None = field(default=None, repr=False)
    joggers: int = 0  # what AIStore packs into a snapshot's "glob.id": mountpath joggers,
    workers: int = 0  # and workers

    @property
    def running(self) -> bool:
        return self.ended is None

    def add(self, kind: str, objs: int, size: int) -> None:
        self.stats[f"{kind}-objs"] += objs
        self.stats[f"{kind}-bytes"] += size

    def object_error(self, obj_name: str, msg: str, ecode: int = 500) -> None:
        """Counted always; listed while fewer than :data:`MAX_OBJ_ERRORS` are (AIStore's
        ``cos.Errs`` keeps the first ones and drops the rest)."""
        self.error_count += 1
        if len(self.obj_errors) < MAX_OBJ_ERRORS:
            self.obj_errors.append({"obj_name": obj_name, "msg": msg, "ecode": ecode})

    def finish(self, err: str = "") -> None:
        if self.ended is None:
            self.err = self.err or err
            self.ended = time.time()
            if self.kind != "etl-inline":
                log.info("%s[%s] %s%s", self.kind, self.id,
                         "aborted" if self.aborted else "finished",
                         f": {self.err}" if self.err else "")

    def abort(self, reason: str) -> None:
        """Stop taking new work; the job ends when its work in hand is done."""
        if self.ended is None:
            self.aborted = True
            self.err = self.err or reason
            if not self.pending:
                self.finish()

    def work_begins(self) -> None:
        """A request's work starts (the job is busy from now on, idle or not before)."""
        self.pending += 1
        self.idle = False
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def work_ends(self, idle_for: float) -> None:
        """A request's work is done. With none left the job finishes, or, of a kind that
        idles, waits ``idle_for`` seconds for more first (from the event loop)."""
        self.pending -= 1
        if self.pending or self.ended is not None:
            return
        if self.kind in IDLE_KINDS and not self.aborted:
            self.idle = True
            self._idle_timer = asyncio.get_running_loop().call_later(idle_for, self.finish)
        else:
            self.finish()

    def snap(self) -> dict:
        return {
            "ext": {"obj_errors": self.error_count} if self.error_count else None,
            "start-time": _rfc3339(self.started),
            "end-time": _rfc3339(self.ended),
            "bck": bck_json(self.src),
            "src-bck": bck_json(self.src),
            "dst-bck": bck_json(self.dst),
            "id": self.id,
            "kind": self.kind,
            "ctlmsg": f"etl: {self.etl}" if self.etl else "",
            "abort-err": self.err if self.aborted else "",
            "err": self.err,
            "glob.id": str(self.joggers & GOR_MASK | (self.workers & GOR_MASK) << GOR_BITS),
            "stats": {k: str(self.stats[k]) for k in COUNTERS},
            "aborted": self.aborted,
            "is_idle": self.idle or self.ended is not None,
        }


class XactRegistry:
    """Running jobs, plus a bounded history of finished ones. ``idle_for``: how long a job of
    a kind that idles waits for more work."""

    def __init__(self, idle_for: float = IDLE_FOR) -> None:
        self._all: OrderedDict[str, Xaction] = OrderedDict()
        self.idle_for = idle_for

    def add(self, xact: Xaction) -> Xaction:
        self._all[xact.id] = xact
        finished = [x for x in self._all.values() if not x.running]
        for old in finished[: max(0, len(finished) - MAX_FINISHED)]:
            del self._all[old.id]
        return xact

    def get(self, xid: str) -> Xaction | None:
        return self._all.get(xid)

    def running_or_new(self, xact: Xaction) -> Xaction:
        """The running job with ``xact``'s ID, which a new request joins; else ``xact``,
        added (it replaces a job of that ID that has finished: the proxy gave the request
        to the job an instant before it ended here)."""
        current = self._all.get(xact.id)
        return current if current is not None and current.running else self.add(xact)

    def query(self, xid: str = "", kind: str = "", bucket: str = "",
              running: bool | None = None) -> Iterable[Xaction]:
        """Jobs by ID, kind, bucket, and whether they run (None: either; of a job asked for
        by ID, AIStore heeds only True)."""
        kind = KINDS_BY_DISPLAY.get(kind, kind)
        for x in self._all.values():
            if xid and x.id != xid:
                continue
            if kind and x.kind != kind:
                continue
            if bucket and bucket not in (x.src, x.dst):
                continue
            if running is not None and x.running != running and (running or not xid):
                continue
            yield x
