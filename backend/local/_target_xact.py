"""A target's job endpoints (AIStore's ``ais/tgtxact.go``), called by the proxy: query its
jobs, start its share of an offline transform, abort."""

from __future__ import annotations

from aiohttp import web

from ._http import json_response
from ._xact import XactRegistry, parse_query
from .etl._manager import TargetEtls


class TargetXactHandlers:
    def __init__(self, xacts: XactRegistry, etls: TargetEtls) -> None:
        self.xacts, self.etls = xacts, etls

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/v1/xactions", self.query)
        r.add_post("/v1/xactions", self.start)
        r.add_put("/v1/xactions", self.abort)

    async def query(self, request: web.Request) -> web.Response:
        q = parse_query(await request.read())
        return json_response([x.snap() for x in self.xacts.query(q.id, q.kind, q.bucket,
                                                                 q.only_running)])

    async def start(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.etls.start_job(body["xid"], body["kind"], body["src"], body["dst"], body["msg"])
        return web.Response()

    async def abort(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (xact := self.xacts.get(body.get("id", ""))) is not None:
            xact.abort(body.get("reason") or "aborted by user")
        return web.Response()
