"""A target's ETL endpoints (AIStore's ``ais/tgtetl.go``): the proxy's ETL control calls,
inline transforms (``GET /v1/objects/B/O?etl_name=``), single-object copies through an ETL, and
the object access its transformers use (``AIS_TARGET_URL``)."""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import unquote

import msgspec
from aiohttp import web

from ._errors import AISHTTPError
from ._http import json_response, read_body
from ._names import parse_uname, validate_bucket_name, validate_object_name
from ._storage import ObjectMeta
from .etl._comm import TransformError
from .etl._manager import OBJECT_ROUTE, Route, TargetEtl, TargetEtls
from .etl._msgs import HPULL, HPUSH, IO


class ObjectHandlers(Protocol):
    """The target's own object endpoints, which a transformer's object access goes through."""

    async def get_object(self, request: web.Request, bucket: str,
                         obj: str) -> web.StreamResponse: ...

    async def head_object(self, request: web.Request, bucket: str,
                          obj: str) -> web.Response: ...

    async def receive(self, request: web.Request, bucket: str, obj: str) -> ObjectMeta: ...


class InitCall(msgspec.Struct):
    """What the proxy sends a target to start its transformer of an ETL."""

    msg: dict[str, Any]
    xid: str
    secret: str


class TargetEtlHandlers:
    def __init__(self, etls: TargetEtls, objects: ObjectHandlers) -> None:
        self.etls, self.objects = etls, objects
        self.services = etls.services

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_put("/v1/etl", self.init)
        r.add_get("/v1/etl", self.list)
        r.add_route("*", OBJECT_ROUTE + "{name}/{secret}/{uname:.+}", self.object_access)
        r.add_get("/v1/etl/{name}", self.details)
        r.add_post("/v1/etl/{name}/stop", self.stop)
        r.add_delete("/v1/etl/{name}", self.delete)
        r.add_get("/v1/etl/{name}/logs", self.logs)
        r.add_get("/v1/etl/{name}/health", self.health)
        r.add_get("/v1/etl/{name}/metrics", self.metrics)

    # --- control, from the proxy ------------------------------------------------------------

    async def init(self, request: web.Request) -> web.Response:
        call = await read_body(request, InitCall, "ETL init call")
        await self.etls.init(call.msg, call.xid, call.secret)
        return web.Response()

    async def stop(self, request: web.Request) -> web.Response:
        await self.etls.stop(request.match_info["name"],
                             request.query.get("reason") or "user abort")
        return web.Response()

    async def delete(self, request: web.Request) -> web.Response:
        await self.etls.delete(request.match_info["name"])
        return web.Response()

    # --- what it tells ----------------------------------------------------------------------

    async def list(self, _request: web.Request) -> web.Response:
        return json_response(self.etls.infos())

    async def details(self, request: web.Request) -> web.Response:
        return json_response(self.etls.details(request.match_info["name"],
                                       request.query.get("uuid", "")))

    async def logs(self, request: web.Request) -> web.Response:
        return json_response(self.etls.logs(request.match_info["name"]))

    async def health(self, request: web.Request) -> web.Response:
        return json_response(self.etls.health(request.match_info["name"]))

    async def metrics(self, request: web.Request) -> web.Response:
        return json_response(self.etls.metrics(request.match_info["name"]))

    # --- inline -----------------------------------------------------------------------------

    async def inline(self, request: web.Request, bucket: str, obj: str) -> web.StreamResponse:
        """``GET /v1/objects/B/O?etl_name=...``: the transformed object, streamed."""
        etl = self.etls.get(request.query["etl_name"])
        args = request.query.get("etl_args", "")
        stages = request.query.get("etl_pipeline", "")
        if stages.strip(", ") and etl.spec.comm == HPULL:
            raise AISHTTPError(400, f"etl job {etl.spec.name}: hpull:// does not support "
                               "etl_pipeline (the client reads the transformer's answer)")
        pipeline = self.etls.pipeline_urls(etl, stages)
        s = self.services
        meta = await s.io(s.store.head, bucket, obj)
        fqn = s.store.fqn(bucket, obj)
        etl.in_bytes += meta.size
        try:
            if etl.spec.comm in (HPUSH, HPULL, IO):
                return await self._stream(request, etl, bucket, obj, fqn, args, pipeline)
            data = await etl.comm.transform(bucket, obj, fqn, args, pipeline)
        except TransformError as err:
            etl.inline_error(bucket, obj, err)
            raise AISHTTPError(err.status, str(err), "ErrETL") from None
        assert isinstance(data, bytes)  # no destination: never "delivered"
        etl.count_out(len(data))
        return web.Response(body=data, content_type="application/octet-stream")

    @staticmethod
    async def _stream(request: web.Request, etl: TargetEtl, bucket: str, obj: str, fqn: str,
                      args: str, pipeline: list[str]) -> web.StreamResponse:
        async with etl.comm.open(bucket, obj, fqn, args, pipeline) as upstream:
            resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
            if upstream.content_length is not None:
                resp.content_length = upstream.content_length
            await resp.prepare(request)
            size = 0
            async for chunk in upstream.content.iter_chunked(1 << 20):
                await resp.write(chunk)
                size += len(chunk)
            await resp.write_eof()
        etl.count_out(size)
        return resp

    async def copy(self, request: web.Request, bucket: str, obj: str, dst_bucket: str,
                   dst_obj: str) -> web.Response:
        """Single-object copy with transform: transform here, write where the owner is."""
        etl = self.etls.get(request.query["etl_name"])
        route = Route(etl, etl.xid, request.query.get("etl_args", ""),
                      self.etls.pipeline_urls(etl, request.query.get("etl_pipeline", "")))
        s = self.services
        etl.in_bytes += (await s.io(s.store.head, bucket, obj)).size
        try:
            kind, size = await self.etls.deliver(route, bucket, obj, dst_bucket, dst_obj)
        except TransformError as err:
            etl.inline_error(bucket, obj, err)
            raise AISHTTPError(err.status, str(err), "ErrETL") from None
        etl.count_out(size, kind)
        return web.Response()

    # --- the transformers' own object access ------------------------------------------------

    async def object_access(self, request: web.Request) -> web.StreamResponse:
        """``AIS_TARGET_URL/<uname>``: GET (hpull) and PUT (direct put) for transformers."""
        self.etls.with_secret(request.match_info["name"], request.match_info["secret"])
        raw = request.raw_path.split("?", 1)[0]
        bucket, obj = parse_uname(unquote(raw.split("/", 6)[6]))
        bucket = validate_bucket_name(bucket)
        obj = validate_object_name(bucket, obj)
        if request.method == "GET":
            return await self.objects.get_object(request, bucket, obj)
        if request.method == "HEAD":
            return await self.objects.head_object(request, bucket, obj)
        if request.method == "PUT":
            if not self.services.fanout.auth.may_put(request, bucket, obj):
                raise AISHTTPError(403, f"ETL {request.match_info['name']} may put only the "
                                   "object its target asked it to transform into (its "
                                   f"direct-put destination), not ais://{bucket}/{obj}")
            meta = await self.objects.receive(request, bucket, obj)
            if xact := self.services.xacts.get(request.query.get("uuid", "")):
                xact.add("in", 1, meta.size)
            return web.Response()
        raise AISHTTPError(405, f"method {request.method} not allowed on ETL object access")
