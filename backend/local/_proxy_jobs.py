"""Jobs as the proxy answers for them: per-target snapshots merged, status, abort; and the
start of jobs over many objects (copy, transform, delete), on every target."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Container, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from aiohttp import web

from ._arch_job import ArchiveMsg
from ._arch_job import check as check_archive
from ._errors import AISHTTPError, bad_request, bucket_not_found, job_not_found, not_supported
from ._fanout import Fanout
from ._http import ActMsg, decode_value
from ._names import validate_bucket_name
from ._promote import PromoteArgs, check_source
from ._tcb import TCBMsg
from ._unsupported import action_refused
from ._xact import (
    IDLE_KINDS,
    ZERO_TIME,
    XactQuery,
    failed_text,
    lower_keys,
    new_xid,
    parse_query,
)

log = logging.getLogger("aisetl.cluster")
STARTABLE = ("lru", "cleanup")  # kinds a client starts by name
# the kinds AIStore 5.0 starts by name (xact.Table's Startable; cleanup by its display name)
AIS_STARTABLE = frozenset(("rebalance", "lru", "cleanup", "cleanup-store", "resilver",
                           "rechunk", "blob-download", "prefetch-listrange", "ec-encode",
                           "make-n-copies", "load-lom-cache"))
# Kinds whose status the proxy keeps (AIStore's "IC" kinds, ICMode in xact.Table, of those
# done here): of others, AIStore answers a status request with 404, and a client reads the
# job's snapshots instead (the SDK's Job.wait does, by kind).
STATUS_KINDS = frozenset({"etl-inline", "lru", "cleanup", "promote", "delete-listrange",
                          "move-bck", "copy-bck", "etl-bck"})


def _ns(rfc3339: str) -> int:
    if rfc3339 == ZERO_TIME:
        return 0
    return int(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1e9)


def status_of(xid: str, snaps: Iterable[dict]) -> dict:
    """``nl.Status`` of one job from its per-target snapshots."""
    snaps = list(snaps)
    ended = [_ns(s["end-time"]) for s in snaps]
    aborted = any(s["aborted"] for s in snaps)
    failed = sum((s.get("ext") or {}).get("obj_errors", 0) for s in snaps)
    err = next((s["err"] for s in snaps if s["err"] and (s["aborted"] or not aborted)), "")
    if failed and not aborted:
        err = failed_text(snaps[0]["kind"], failed)
    return {
        "kind": snaps[0]["kind"], "uuid": xid, "err": err,
        "end_time": max(ended) if all(ended) else 0,
        "aborted": aborted,
        "is_idle": all(s["is_idle"] for s in snaps),
    }


class ProxyJobs:
    """``buckets`` tells which buckets exist; ``create_bucket`` makes a job's destination
    when it does not."""

    def __init__(self, fanout: Fanout, buckets: Container[str],
                 create_bucket: Callable[[str], Awaitable[Any]]) -> None:
        self.fanout = fanout
        self.buckets, self.create_bucket = buckets, create_bucket

    async def start(self, request: web.Request, src: str, action: str, value: Any,
                    check: Callable[[str, TCBMsg], None] | None = None) -> str:
        """Start a job over objects of ``src`` on every target: copy or transform the bucket
        (``*-bck``: the destination in ``bck_to``) or a list or range of its objects
        (``*-listrange``: the destination in ``tobck``), or delete a list or range
        (``delete-listrange``). ``check`` refuses a message before anything is done. The
        job's ID."""
        if not isinstance(value, dict):
            raise bad_request(f"{action}: the message value must be a JSON object")
        msg = decode_value(value, TCBMsg, f"{action} message")
        msg.check(action)
        if check is not None:
            check(action, msg)
        dst = ""
        if action == "delete-listrange":
            if not msg.is_listed:  # (not expanded here: the targets do)
                raise bad_request(f"{action}: the objects to delete are required (objnames "
                                  "or template)")
        else:
            tobck = value.get("tobck") or {}
            if not isinstance(tobck, dict):
                raise bad_request(f'{action}: tobck must be a bucket, e.g. {{"name": "dst", '
                                  '"provider": "ais"}')
            dst = validate_bucket_name(bucket_to(request.query) if action.endswith("-bck")
                                       else str(tobck.get("name", "")))
            if dst == src and not msg.dry_run:
                raise bad_request(f"{action}: cannot write ais://{src} into itself (only with "
                                  "dry_run)")
            if dst not in self.buckets:
                if msg.dry_run:
                    raise bucket_not_found(dst)
                await self.create_bucket(dst)
        xid = ""
        if action in IDLE_KINDS:
            xid = await self._running_between(action, src, dst, msg.etl_name)
        xid = xid or new_xid("" if action.endswith("-bck") else "tco-")
        await self.fanout.broadcast("POST", "/v1/xactions", {
            "xid": xid, "kind": action, "src": src, "dst": dst, "msg": value})
        log.info("started %s[%s] ais://%s%s", action, xid, src, f" => ais://{dst}" if dst else "")
        return xid

    async def _running_between(self, kind: str, src: str, dst: str, etl: str) -> str:
        """The ID of a job of ``kind`` from ``src`` to ``dst`` (by the same ETL) still running
        on every target, busy or idle, or "": AIStore gives a new request to that job (one
        such job per kind and pair of buckets), which then idles again."""
        ctlmsg = f"etl: {etl}" if etl else ""
        shared: set[str] | None = None
        query = XactQuery(kind=kind, bucket=src, running=True)
        for snaps in (await self.snaps(query)).values():
            ids = {s["id"] for s in snaps
                   if (s.get("src-bck") or {}).get("name") == src
                   and (s.get("dst-bck") or {}).get("name") == dst and s["ctlmsg"] == ctlmsg}
            shared = ids if shared is None else shared & ids
        return min(shared) if shared else ""

    async def snaps(self, query: XactQuery) -> dict[str, list[dict]]:
        """Every target's matching snapshots (an empty list where a target has none)."""
        replies = await self.fanout.broadcast_json("GET", "/v1/xactions", query.to_json())
        return {target.daemon_id: reply or []
                for target, reply in zip(self.fanout.smap.targets, replies, strict=True)}

    async def answer(self, what: str, body: bytes) -> Any:
        query = parse_query(body)
        if what == "status_all" and query.running is False:
            query = replace(query, running=None)  # AIStore's IC: not only running, so all
        multi = await self.snaps(query)
        by_id: dict[str, list[dict]] = {}
        for snaps in multi.values():
            for snap in snaps:
                by_id.setdefault(snap["id"], []).append(snap)
        if what == "qryxstats":
            # AIStore: an unknown ID is a 404; a kind or filter without a match, an empty list
            # per target
            if query.id and not by_id:
                raise AISHTTPError(404, f'"x-[{query.id}]" not found')
            return multi
        if what == "status":
            if not query.id:
                raise bad_request("what=status needs a job ID")
            if query.id not in by_id or by_id[query.id][0]["kind"] not in STATUS_KINDS:
                raise job_not_found(query.id)
            return status_of(query.id, by_id[query.id])
        if what == "status_all":  # AIStore answers null, not [], when nothing matches
            return [status_of(xid, snaps) for xid, snaps in by_id.items()
                    if snaps[0]["kind"] in STATUS_KINDS] or None
        # running_all: unique "kind[xid]" of running jobs
        return sorted({f"{snaps[0]['kind']}[{xid}]" for xid, snaps in by_id.items()
                       if any(_ns(s["end-time"]) == 0 for s in snaps)})

    async def control(self, msg: ActMsg | None) -> str:
        """``PUT /v1/cluster`` with ``{"action": "stop", "value": {"ID": ...}}``, or
        ``{"action": "start", "value": {"kind": ...}}`` (its job ID is the answer)."""
        if msg is not None and msg.action == "start":
            return await self._start_kind(lower_keys(msg.value))
        if msg is None or msg.action != "stop":
            raise action_refused("PUT", "/v1/cluster", msg.action if msg else "")
        value = lower_keys(msg.value)
        xid = value.get("id") or ""
        if not xid:
            raise bad_request("stop: the job ID is required")
        if not any((await self.snaps(XactQuery(id=xid))).values()):
            raise job_not_found(xid)
        await self.fanout.broadcast("PUT", "/v1/xactions",
                                    {"id": xid, "reason": "aborted by user"})
        return ""

    async def promote(self, bucket: str, value: Any) -> str:
        """``promote``: every target takes the files whose objects it owns (all see them:
        one machine); the job's ID."""
        args = decode_value(value, PromoteArgs, "promote arguments")
        check_source(args.src)
        if args.tid and self.fanout.smap.target(args.tid) is None:
            raise bad_request(f"promote: target {args.tid!r} is not in the cluster map")
        xid = new_xid()
        await self.fanout.broadcast("POST", "/v1/xactions", {
            "xid": xid, "kind": "promote", "src": bucket, "dst": "", "msg": value})
        log.info("started promote[%s] %s => ais://%s", xid, args.src, bucket)
        return xid

    async def archive(self, src: str, value: Any) -> str:
        """``archive``: the target that owns the archive's name makes it; the job's ID."""
        if not isinstance(value, dict):
            raise bad_request("archive: the message value must be a JSON object")
        msg = decode_value(value, ArchiveMsg, "archive message")
        dst = validate_bucket_name(str((value.get("tobck") or {}).get("name") or src))
        if dst not in self.buckets:
            raise bucket_not_found(dst)
        check_archive(dst, msg)
        xid = new_xid()
        owner = self.fanout.smap.owner(dst, msg.archname)
        await self.fanout.call(owner, "POST", "/v1/xactions", {
            "xid": xid, "kind": "archive", "src": src, "dst": dst, "msg": value})
        log.info("started archive[%s] ais://%s => ais://%s/%s", xid, src, dst, msg.archname)
        return xid

    async def _start_kind(self, value: dict[str, Any]) -> str:
        """A job started by kind: ``lru`` (nothing to evict here: there are no remote
        buckets) and ``cleanup`` (each target drops what crashes and aborts left behind)."""
        kind = value.get("kind")
        if not kind or not isinstance(kind, str):
            raise bad_request("start: the job kind is required (a string, e.g. \"lru\")")
        if kind not in STARTABLE:
            if kind in AIS_STARTABLE:
                raise not_supported(f"starting a {kind!r} job")
            raise bad_request(f"start: {kind!r} is not a kind of job that can be started "
                              f"(AIStore starts: {', '.join(sorted(AIS_STARTABLE))})")
        xid = new_xid()
        await self.fanout.broadcast("POST", "/v1/xactions",
                                    {"xid": xid, "kind": kind, "src": "", "dst": "", "msg": {}})
        log.info("started %s[%s]", kind, xid)
        return xid


def bucket_to(query: Mapping[str, str]) -> str:
    """The destination bucket a request names in ``bck_to`` (``ais/@#/<bucket>/``)."""
    uname = query.get("bck_to", "")
    parts = uname.split("/")
    if len(parts) < 3 or parts[0] not in ("", "ais") or parts[1] != "@#" or not parts[2]:
        raise bad_request(f"invalid destination bck_to={uname!r}: expected ais/@#/<bucket>/")
    return parts[2]
