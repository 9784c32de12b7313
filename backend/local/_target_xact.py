"""A target's job endpoints (AIStore's ``ais/tgtxact.go``), called by the proxy: query its
jobs, start its share of a job over many objects (copy, transform, delete), abort."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web

from ._arch_job import ArchiveMsg, run_archive
from ._http import decode_value, json_response, read_body
from ._promote import PromoteArgs, promote
from ._tcb import Deliver, OfflineJob, TCBMsg, start_share
from ._xact import Xaction, parse_query
from .etl._manager import TargetEtls

log = logging.getLogger("aisetl.cluster")
CopyTo = Callable[[str, str, str, str, bool], Awaitable[tuple[str, int]]]
Delete = Callable[[str, str], Awaitable[int]]


class JobStart(msgspec.Struct):
    """What the proxy sends each target to start its share of a job."""

    xid: str
    kind: str
    src: str
    dst: str = ""
    msg: Any = None


class JobAbort(msgspec.Struct):
    id: str = ""
    reason: str = ""


class TargetXactHandlers:
    """``copy_to`` copies one object to where its destination lives (a dry run only reads);
    ``delete`` removes one object. Transforms go to the ETLs."""

    def __init__(self, etls: TargetEtls, copy_to: CopyTo, delete: Delete,
                 promote_root: Path) -> None:
        self.etls, self.copy_to, self.delete = etls, copy_to, delete
        self.promote_root = promote_root
        self.services = etls.services
        self.xacts = self.services.xacts
        self._jobs: set[asyncio.Task] = set()

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/v1/xactions", self.query)
        r.add_post("/v1/xactions", self.start)
        r.add_put("/v1/xactions", self.abort)
        app.on_shutdown.append(self._shutdown)

    async def query(self, request: web.Request) -> web.Response:
        q = parse_query(await request.read())
        return json_response([x.snap() for x in self.xacts.query(q.id, q.kind, q.bucket,
                                                                 q.running)])

    async def start(self, request: web.Request) -> web.Response:
        body = await read_body(request, JobStart, "job start")
        xid, kind, src, dst = body.xid, body.kind, body.src, body.dst
        if kind.startswith("etl-"):
            self.etls.start_job(xid, kind, src, dst, body.msg)
            return web.Response()
        if kind == "promote":
            xact = self.xacts.add(Xaction(xid, kind, dst=src))
            args = decode_value(body.msg, PromoteArgs, "promote arguments")
            self._track(xid, asyncio.create_task(promote(self.services, xact, src, args,
                                                         self.promote_root)))
            return web.Response()
        if kind == "archive":
            xact = self.xacts.add(Xaction(xid, kind, src=src, dst=dst))
            archive = decode_value(body.msg, ArchiveMsg, "archive message")
            self._track(xid, asyncio.create_task(run_archive(xact, self.services, src, dst,
                                                             archive)))
            return web.Response()
        if kind in ("lru", "cleanup"):
            xact = self.xacts.add(Xaction(xid, kind))
            if kind == "cleanup":
                xact.add("loc", await self.services.io(self.services.store.cleanup), 0)
            xact.finish()
            return web.Response()
        msg = decode_value(body.msg, TCBMsg, f"{kind} message")
        deliver: Deliver
        if kind == "move-bck":  # the bucket was renamed: objects go where the name places them
            async def deliver(name: str, _dst_name: str) -> tuple[str, int]:
                if self.services.owns(src, name):
                    return "loc", 0
                moved = await self.copy_to(src, name, src, name, False)
                await self.delete(src, name)
                return moved
        elif kind == "delete-listrange":
            async def deliver(name: str, _dst_name: str) -> tuple[str, int]:
                return "loc", await self.delete(src, name)
        else:
            async def deliver(name: str, dst_name: str) -> tuple[str, int]:
                return await self.copy_to(src, name, dst, dst_name, msg.dry_run)
        xact = self.xacts.running_or_new(Xaction(xid, kind, src=src, dst=dst or None))
        self._track(xid, start_share(OfflineJob(xact, src, dst, msg), self.services, deliver))
        return web.Response()

    def _track(self, xid: str, task: asyncio.Task) -> None:
        self._jobs.add(task)
        task.add_done_callback(lambda t: self._ended(xid, t))

    def _ended(self, xid: str, task: asyncio.Task) -> None:
        """A job's task ended: a failure it did not handle ends the job, and is logged."""
        self._jobs.discard(task)
        if task.cancelled() or (err := task.exception()) is None:
            return
        log.error("job %s failed", xid, exc_info=err)
        if (xact := self.xacts.get(xid)) is not None:
            xact.finish(f"internal error: {err!r}")

    async def abort(self, request: web.Request) -> web.Response:
        body = await read_body(request, JobAbort, "job abort")
        if (xact := self.xacts.get(body.id)) is not None:
            xact.abort(body.reason or "aborted by user")
        return web.Response()

    async def _shutdown(self, _app: web.Application) -> None:
        for task in list(self._jobs):
            task.cancel()
