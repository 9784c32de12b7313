"""Jobs as the proxy answers for them: per-target snapshots merged, status, abort."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ._errors import AISHTTPError, bad_request, job_not_found
from ._fanout import Fanout
from ._http import ActMsg
from ._unsupported import action_refused
from ._xact import ZERO_TIME, XactQuery, lower_keys, parse_query


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
        err = f"{failed} object(s) failed to transform; see the job's errors"
    return {
        "kind": snaps[0]["kind"], "uuid": xid, "err": err,
        "end_time": max(ended) if all(ended) else 0,
        "aborted": aborted,
        "is_idle": all(s["is_idle"] for s in snaps),
    }


class ProxyJobs:
    def __init__(self, fanout: Fanout) -> None:
        self.fanout = fanout

    async def snaps(self, query: XactQuery) -> dict[str, list[dict]]:
        """Every target's matching snapshots (an empty list where a target has none)."""
        replies = await self.fanout.broadcast_json("GET", "/v1/xactions", query.to_json())
        return {target.daemon_id: reply or []
                for target, reply in zip(self.fanout.smap.targets, replies, strict=True)}

    async def answer(self, what: str, body: bytes) -> Any:
        query = parse_query(body)
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
            if query.id not in by_id:
                raise job_not_found(query.id)
            return status_of(query.id, by_id[query.id])
        if what == "status_all":  # AIStore answers null, not [], when nothing matches
            return [status_of(xid, snaps) for xid, snaps in by_id.items()] or None
        # running_all: unique "kind[xid]" of running jobs
        return sorted({f"{snaps[0]['kind']}[{xid}]" for xid, snaps in by_id.items()
                       if any(_ns(s["end-time"]) == 0 for s in snaps)})

    async def control(self, msg: ActMsg | None) -> None:
        """``PUT /v1/cluster`` with ``{"action": "stop", "value": {"ID": ...}}``."""
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
