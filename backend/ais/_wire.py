"""AIStore's JSON and msgpack shapes, turned into :mod:`._models` objects.

Parsing is lenient: missing fields take defaults and numbers sent as strings are accepted,
so a newer or older server does not break the client.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any

import msgspec

from ._models import (
    IDLE_KINDS,
    ClusterMap,
    EtlDetails,
    EtlInfo,
    EtlLogs,
    EtlPod,
    JobSnap,
    JobStatus,
    Node,
    ObjectEntry,
    ObjectPage,
    ObjError,
)

ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)
_FRACTION = re.compile(r"(\.\d{6})\d+")


# --- list-objects (``cmn.LsoRes``) ---------------------------------------------------------

class _MsgpackEntry(msgspec.Struct):
    n: str
    s: int = 0
    cs: str = ""
    a: str = ""
    v: str = ""
    t: str = ""


class _MsgpackPage(msgspec.Struct):
    UUID: str = ""
    ContinuationToken: str = ""
    Entries: list[_MsgpackEntry] | None = None


class _JsonEntry(msgspec.Struct):
    name: str
    size: int | str = 0
    checksum: str = ""
    atime: str = ""
    version: str = ""
    location: str = ""


class _JsonPage(msgspec.Struct):
    uuid: str = ""
    continuation_token: str = ""
    entries: list[_JsonEntry] | None = None


_msgpack_page = msgspec.msgpack.Decoder(_MsgpackPage)
_json_page = msgspec.json.Decoder(_JsonPage)


def object_page(body: bytes, content_type: str) -> ObjectPage:
    """A list-objects page: msgpack (short keys) or, if the server ignored Accept, JSON."""
    try:
        if "msgpack" in content_type:
            mp = _msgpack_page.decode(body)
            entries = [ObjectEntry(e.n, e.s, e.cs, e.a, e.v, e.t) for e in mp.Entries or ()]
            return ObjectPage(entries, mp.ContinuationToken, mp.UUID)
        js = _json_page.decode(body)
    except msgspec.DecodeError as err:
        raise ValueError(f"malformed list-objects response: {err}") from None
    entries = [ObjectEntry(e.name, to_int(e.size), e.checksum, e.atime, e.version,
                           e.location)
               for e in js.entries or ()]
    return ObjectPage(entries, js.continuation_token, js.uuid)


# --- cluster map ---------------------------------------------------------------------------

def _node(raw: dict[str, Any], kind: str) -> Node:
    url = ((raw.get("public_net") or {}).get("direct_url")) or ""
    return Node(str(raw.get("daemon_id", "")), str(raw.get("daemon_type") or kind), url)


def cluster_map(raw: dict[str, Any]) -> ClusterMap:
    proxies = sorted((_node(n, "proxy") for n in (raw.get("pmap") or {}).values()),
                     key=lambda n: n.id)
    targets = sorted((_node(n, "target") for n in (raw.get("tmap") or {}).values()),
                     key=lambda n: n.id)
    primary = _node(raw.get("proxy_si") or {}, "proxy")
    return ClusterMap(str(raw.get("uuid", "")), str(raw.get("version", "")), primary.url,
                      proxies, targets)


# --- ETL -----------------------------------------------------------------------------------

def etl_info(raw: dict[str, Any]) -> EtlInfo:
    return EtlInfo(str(raw.get("id", "")), str(raw.get("stage", "")),
                   str(raw.get("xaction_id", "")), to_int(raw.get("obj_count")),
                   to_int(raw.get("in_bytes")), to_int(raw.get("out_bytes")))


def etl_details(name: str, raw: dict[str, Any], stage: str = "") -> EtlDetails:
    errors = [ObjError(str(e.get("obj_name", "")), str(e.get("msg", e.get("message", ""))),
                       to_int(e.get("ecode"))) for e in raw.get("obj_errors") or ()]
    return EtlDetails(name, dict(raw.get("init_msg") or {}), str(raw.get("stage") or stage),
                      str(raw.get("reason") or ""), errors)


def etl_logs(raw: list[dict[str, Any]]) -> list[EtlLogs]:
    return [EtlLogs(str(e.get("target_id", "")),
                    base64.b64decode(e.get("logs") or "").decode("utf-8", errors="replace"))
            for e in raw]


def etl_pods(name: str, health: list[dict[str, Any]],
             metrics: list[dict[str, Any]] | None) -> list[EtlPod]:
    """Health merged with metrics by target ID; cpu/mem None without metrics."""
    by_target = {str(m.get("target_id", "")): m for m in metrics or ()}
    pods = []
    for h in health:
        tid = str(h.get("target_id", ""))
        m = by_target.get(tid)
        cpu = m.get("cpu") if m else None
        mem = m.get("mem") if m else None
        pods.append(EtlPod(
            etl=name, target_id=tid,
            pod_name=str(h.get("pod_name") or f"{name}-{tid.lower()}"),
            health=str(h.get("health_status", "")),
            pid=opt_int(h.get("pid")),
            started=float(h["started"]) if h.get("started") else None,
            restarts=opt_int(h.get("restarts")),
            cpu=float(cpu) if cpu is not None else None,
            mem=opt_int(mem),
            detail=str(h.get("stage") or ""),
            events=tuple(str(e) for e in h.get("events") or ()),
        ))
    return sorted(pods, key=lambda p: p.target_id)


# --- jobs ----------------------------------------------------------------------------------

def parse_time(text: str) -> datetime:
    """Go's RFC 3339 (nanoseconds allowed) as an aware datetime; the zero time as year 1."""
    if not text or text.startswith("0001-01-01"):
        return ZERO_TIME
    text = _FRACTION.sub(r"\1", text.replace("Z", "+00:00"))
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return ZERO_TIME
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _bucket_name(raw: Any) -> str:
    return str(raw.get("name") or "") if isinstance(raw, dict) else ""


def job_snaps(raw: dict[str, list[dict[str, Any]]]) -> list[JobSnap]:
    """``xact.MultiSnap`` (``{target_id: [snap, ...]}``) flattened, sorted by target ID."""
    out = []
    for tid in sorted(raw):
        for s in raw[tid] or ():
            stats = s.get("stats") or {}
            ended = parse_time(str(s.get("end-time") or ""))
            ext = s.get("ext")
            out.append(JobSnap(
                xid=str(s.get("id", "")), kind=str(s.get("kind", "")), target_id=tid,
                src=_bucket_name(s.get("src-bck")) or _bucket_name(s.get("bck")),
                dst=_bucket_name(s.get("dst-bck")),
                started=parse_time(str(s.get("start-time") or "")),
                ended=None if ended == ZERO_TIME else ended,
                loc_objs=to_int(stats.get("loc-objs")), loc_bytes=to_int(stats.get("loc-bytes")),
                in_objs=to_int(stats.get("in-objs")), in_bytes=to_int(stats.get("in-bytes")),
                out_objs=to_int(stats.get("out-objs")), out_bytes=to_int(stats.get("out-bytes")),
                aborted=bool(s.get("aborted")),
                err=str(s.get("err") or s.get("abort-err") or ""),
                idle=bool(s.get("is_idle")),
                obj_errors=to_int(ext.get("obj_errors")) if isinstance(ext, dict) else 0,
            ))
    return out


def job_status(raw: dict[str, Any]) -> JobStatus:
    """``nl.Status``; ``end_time`` is unix nanoseconds, 0 while running."""
    end_ns = to_int(raw.get("end_time"))
    ended = datetime.fromtimestamp(end_ns / 1e9, UTC) if end_ns else None
    return JobStatus(str(raw.get("uuid", "")), str(raw.get("kind", "")),
                     str(raw.get("err") or ""), ended, bool(raw.get("aborted")))


def status_from_snaps(xid: str, snaps: list[JobSnap]) -> JobStatus:
    """A job's status from its snapshots, for jobs the cluster does not track centrally."""
    aborted = any(s.aborted for s in snaps)
    ends = [s.ended for s in snaps]
    ended = max(e for e in ends if e is not None) if ends and None not in ends else None
    err = next((s.err for s in snaps if s.err), "")
    idle = bool(snaps) and all(s.idle for s in snaps) and snaps[0].kind in IDLE_KINDS
    return JobStatus(xid, snaps[0].kind if snaps else "", err, ended, aborted, idle)


# --- helpers -------------------------------------------------------------------------------

def to_int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def opt_int(value: Any) -> int | None:
    return None if value is None else to_int(value)
