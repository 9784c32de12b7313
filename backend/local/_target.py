"""A storage target: objects on local disk, listing pages and totals for the proxy."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

import aiohttp
import msgspec
from aiohttp import web

from . import _lso
from ._archive import ArchiveWriter, files, matcher, read_file
from ._auth import HEALTH, ClusterAuth
from ._cluster import log_path
from ._errors import AISHTTPError, bad_request
from ._fanout import Fanout, node_error
from ._getbatch import GetBatch
from ._http import (
    Blocking,
    SessionOwner,
    decode_value,
    error_middleware,
    json_response,
    local_only,
    qbool,
    read_actmsg,
    request_checks,
)
from ._names import (
    base36,
    object_path_names,
    parse_uname,
    validate_bucket_name,
    validate_object_name,
)
from ._nodelog import log_answer
from ._objhdr import expected_checksum, object_headers, object_props_headers, put_headers
from ._promote import DEFAULT_ROOT as DEFAULT_PROMOTE_ROOT
from ._services import TargetServices
from ._smap import ClusterMap, Node
from ._storage import ObjectMeta, ObjectStore
from ._target_etl import TargetEtlHandlers
from ._target_list import list_page
from ._target_pieces import PieceHandlers
from ._target_xact import TargetXactHandlers
from ._unsupported import (
    action_refused,
    refuse_unsupported_list_flags,
    refuse_unsupported_query,
)
from ._uploads import Uploads
from ._xact import IDLE_FOR, XactRegistry
from .etl._manager import OBJECT_ROUTE, TargetEtls

SMALL_BODY = 256 * 1024
WRITES = ("PUT", "DELETE", "POST", "PATCH")
INTERNAL = ("/v1/buckets", "/v1/xactions", "/v1/etl")  # the proxy's to call
CHUNK = 1024 * 1024
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class FileSlice(web.StreamResponse):
    """Sends ``count`` bytes of an open file from ``offset`` (sendfile where the event loop
    has it, else chunked reads on the I/O pool), then closes the file."""

    def __init__(self, f: BinaryIO, offset: int, count: int, status: int, headers: dict,
                 io: Blocking) -> None:
        super().__init__(status=status, headers=headers)
        self._file, self._offset, self._count, self._io = f, offset, count, io
        self.content_length = count

    async def prepare(self, request: web.BaseRequest):  # type: ignore[override]
        if self.prepared:
            return self._payload_writer
        try:
            writer = await super().prepare(request)
            if request.method != "HEAD" and self._count and request.transport is not None:
                try:
                    await asyncio.get_running_loop().sendfile(
                        request.transport, self._file, self._offset, self._count, fallback=False
                    )
                except NotImplementedError:
                    await self._copy()
            await super().write_eof()
            return writer
        finally:
            self._file.close()

    async def _copy(self) -> None:
        fd, offset, end = self._file.fileno(), self._offset, self._offset + self._count
        while offset < end:
            chunk = await self._io(os.pread, fd, min(CHUNK, end - offset), offset)
            if not chunk:
                raise ConnectionResetError("object shrank while being sent")
            await self.write(chunk)
            offset += len(chunk)


@dataclass
class _Read:
    """An object opened for GET: small ones are read whole, large ones stay open."""

    meta: ObjectMeta
    status: int
    offset: int = 0
    count: int = 0
    data: bytes | None = None
    file: BinaryIO | None = None


HEAD_V2_PROPS = {"name", "size", "checksum", "atime", "version", "custom", "last-modified",
                 "etag", "location", "copies", "ec", "chunked"}


def custom_from_headers(request: web.Request) -> dict[str, str]:
    """A PUT's custom properties, one ``Ais-Custom-Md: key=value`` header each, as AIStore
    reads them (``ObjAttrs.FromHeader``)."""
    custom: dict[str, str] = {}
    for kv in request.headers.getall("Ais-Custom-Md", ()):
        key, eq, value = kv.partition("=")
        if not eq or not key:
            raise bad_request(f"custom metadata: invalid format {json.dumps(kv)} (expecting "
                              "key=value)")
        custom[key] = value
    return custom


def head_v2_props(props: str) -> set[str]:
    """The properties a HEAD v2 asks for (``?props=``), refused as AIStore does when one is
    not a property."""
    wanted = {p.strip() for p in props.split(",") if p.strip()}
    if unknown := sorted(wanted - HEAD_V2_PROPS):
        raise bad_request(f"invalid property {unknown[0]!r} in props list")
    return wanted


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(offset, count) of a single ``bytes=a-b`` range, or None if it cannot be satisfied."""
    m = _RANGE_RE.match(header.strip())
    if not m or (not m[1] and not m[2]):
        return None
    if not m[1]:  # suffix: the last n bytes
        n = min(int(m[2]), size)
        return (size - n, n) if n > 0 else None
    start = int(m[1])
    end = min(int(m[2]), size - 1) if m[2] else size - 1
    if start >= size or end < start:
        return None
    return start, end - start + 1


class Target(SessionOwner):
    def __init__(self, smap: ClusterMap, node: Node, root: Path, auth: ClusterAuth,
                 fsync_put: bool = False, promote_root: Path | None = None,
                 job_idle: float = IDLE_FOR) -> None:
        self.smap, self.node, self.auth = smap, node, auth
        self.store = ObjectStore(root, fsync_put)
        self.promote_root = promote_root
        self.io = Blocking()
        self.stats: Counter[str] = Counter()
        self.xacts = XactRegistry(job_idle)
        self.uploads = Uploads(self.store, node.daemon_id)
        self.pieces = PieceHandlers(self.uploads, self.io, self.stats)
        services = TargetServices(node, smap, self.store, self.io, self.xacts,
                                  Fanout(smap, lambda: self.session, node, auth))
        self.etls = TargetEtls(services)
        self.etl_handlers = TargetEtlHandlers(self.etls, self)
        self.get_batch = GetBatch(services)
        self.started_ns = time.time_ns()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[error_middleware(self.node.pretty),
                                           request_checks(local_only, self.admit,
                                                          refuse_unsupported_query)],
                              client_max_size=16 * 1024 * 1024)
        app.router.add_get("/v1/health", self.health)
        app.router.add_get("/v1/daemon", self.daemon)
        app.router.add_route("*", "/v1/buckets/{bucket}", self.bucket)
        app.router.add_route("*", "/v1/objects/{bucket}/{obj:.+}", self.object)
        app.router.add_get("/v1/ml/moss", self.get_batch.handle)
        app.router.add_get("/v1/ml/moss/{bucket}", self.get_batch.handle)
        self.etl_handlers.add_routes(app)
        TargetXactHandlers(self.etls, self.copy_to, self.delete_for_job,
                           self.promote_root or DEFAULT_PROMOTE_ROOT).add_routes(app)
        app.on_startup.append(self._startup)
        app.on_shutdown.append(self._shutdown)
        app.on_cleanup.append(self._cleanup)
        return app

    def admit(self, request: web.Request) -> None:
        """A target serves the cluster's nodes, requests the proxy redirected here (signed),
        and its transformers' object access (their ETL's secret, checked by its handler).
        Anything else is the owner's (token) and only reads, as AIStore 5.0 refuses the
        rest: a write straight to a target would put an object where the proxy never looks
        for it, and a bucket change there would leave the cluster disagreeing."""
        path, method = request.path, request.method
        if path == HEALTH or path.startswith(OBJECT_ROUTE) or \
                self.auth.from_node(request, self.smap):
            return
        redirected = self.auth.redirected(request, self.smap)
        if redirected:
            return
        if redirected is not None:
            raise AISHTTPError(403, f"{self.node.pretty}: {method} {path}: not redirected "
                               "here by the proxy (its signature is invalid or expired)")
        if path.startswith("/v1/objects/") and method in WRITES:
            raise bad_request(f"{self.node.pretty}: {method}(obj) is expected to be "
                              "redirected (send it to the proxy)")
        if path.startswith(INTERNAL) and (method != "GET" or not path.startswith("/v1/etl")):
            raise AISHTTPError(403, f"{self.node.pretty}: {method} {path} is for the "
                                    "cluster's nodes only (send requests to the proxy)")
        self.auth.check_owner(request)

    async def _startup(self, _app: web.Application) -> None:
        await self.io(self.store.recover)
        await self.io(self.uploads.recover)
        self._session = aiohttp.ClientSession(auto_decompress=False)
        self._warm_up = asyncio.ensure_future(self.io(self.store.warm_up))  # in the background
        await self.etls.recover()

    async def _shutdown(self, _app: web.Application) -> None:
        await self.etls.shutdown()

    async def _cleanup(self, _app: web.Application) -> None:
        await self._warm_up
        await self.session.close()
        self.io.shutdown()

    # --- node -------------------------------------------------------------------------------

    async def health(self, _request: web.Request) -> web.Response:
        return web.Response(status=200)

    async def daemon(self, request: web.Request) -> web.Response:
        what = request.query.get("what", "")
        if what == "smap":
            return json_response(self.smap.to_json())
        if what == "node_status":
            return json_response(self.node_status())
        if what == "snode":
            return json_response(self.node.to_json())
        if what == "log":
            return log_answer(request, log_path(self.store.root.parent, self.node))
        raise bad_request(f"unknown what={what!r} for {self.node.pretty}")

    def node_status(self) -> dict:
        tracker = {k: {"v": str(v)} for k, v in sorted(self.stats.items())}
        tracker["up.ns.time"] = {"v": str(time.time_ns() - self.started_ns)}
        return {
            "snode": self.node.to_json(), "tracker": tracker, "status": "online",
            "deployment": "embedded", "ais_version": "5.0", "smap_version": str(self.smap.version),
        }

    # --- buckets (called by the proxy) ------------------------------------------------------

    async def bucket(self, request: web.Request) -> web.Response:
        bucket = validate_bucket_name(request.match_info["bucket"])
        msg = await read_actmsg(request)
        action = msg.action if msg else ""
        if request.method == "POST" and action == "create-bck":
            value = msg.value if msg else None
            keep = isinstance(value, dict) and value.get("keep") is True
            await self.io(self.store.create_bucket, bucket, not keep)
            return web.Response()
        if request.method == "DELETE" and action == "destroy-bck":
            await self.io(self.store.destroy_bucket, bucket)
            return web.Response()
        if request.method == "POST" and action == "move-bck" and msg is not None:
            to = validate_bucket_name(str((msg.value or {}).get("to", "")))
            await self.io(self.store.rename_bucket, bucket, to)
            return web.Response()
        if request.method == "GET" and action == "list" and msg is not None:
            lso = decode_value(msg.value, _lso.LsoMsg, "list-objects message")
            refuse_unsupported_list_flags(lso.flag_bits)
            page = await self.io(list_page, self.store, self.node, bucket, lso)
            return web.Response(body=msgspec.msgpack.encode(page),
                                content_type="application/msgpack")
        if request.method == "GET" and action == "summary-bck":
            value = (msg.value if msg else None) or {}
            prefix = value.get("prefix", "") if isinstance(value, dict) else ""
            if not isinstance(prefix, str):
                raise bad_request("summary-bck: the prefix must be a string")
            return json_response(await self.io(self.store.totals, bucket, prefix))
        raise action_refused(request.method, f"ais://{bucket}", action)

    # --- objects ----------------------------------------------------------------------------

    async def object(self, request: web.Request) -> web.StreamResponse:
        bucket, obj = object_path_names(request.raw_path)
        method = request.method
        if method == "GET":
            if request.query.get("etl_name"):
                return await self.etl_handlers.inline(request, bucket, obj)
            if request.query.get("archpath") or request.query.get("archregx"):
                return await self.get_archived(request, bucket, obj)
            return await self.get_object(request, bucket, obj)
        if method == "HEAD":
            return await self.head_object(request, bucket, obj)
        if method == "PUT":
            if "uploadId" in request.query:  # AIStore: a part, whatever else is asked
                return await self.pieces.put_part(request, bucket, obj)
            if request.query.get("append_type"):
                return await self.pieces.append(request, bucket, obj)
            if "object_to" in request.query:
                return await self.copy_object(request, bucket, obj)
            meta = await self.receive(request, bucket, obj)
            return web.Response(headers=put_headers(meta))
        if method == "DELETE" and "uploadId" in request.query:
            return await self.pieces.abort(request, bucket, obj)
        if method == "DELETE":
            try:
                await self.io(self.store.delete, bucket, obj)
            except AISHTTPError as err:
                if err.tcode != "ErrNotFound":
                    raise
                raise AISHTTPError(404, f"ais://{bucket}/{obj} doesn't exist") from None
            self.stats["del.n"] += 1
            return web.Response()
        if method == "PATCH":
            return await self.set_custom(request, bucket, obj)
        if method == "POST":
            return await self.pieces.action(request, bucket, obj)
        raise AISHTTPError(405, f"method {method} not allowed on ais://{bucket}/{obj}")

    def _open_read(self, bucket: str, obj: str, range_header: str | None) -> _Read:
        f, meta = self.store.open(bucket, obj)
        offset, count, status = 0, meta.size, 200
        if range_header and meta.size:
            rng = parse_range(range_header, meta.size)
            if rng is None:
                f.close()
                return _Read(meta, 416)
            (offset, count), status = rng, 206
        if count > SMALL_BODY:
            return _Read(meta, status, offset, count, file=f)
        with f:
            return _Read(meta, status, offset, count, data=os.pread(f.fileno(), count, offset))

    async def get_archived(self, request: web.Request, bucket: str, obj: str) -> web.Response:
        """``GET ?archpath=`` (one file out of the shard) or ``?archregx=&archmode=`` (a TAR
        of the files whose names match)."""
        q, where = request.query, f"ais://{bucket}/{obj}"
        if q.get("archpath") and q.get("archregx"):
            raise bad_request(f"{where}: archpath and archregx cannot both be given")
        if request.headers.get("Range"):
            raise bad_request(f"{where}: a Range cannot be combined with reading an archive")
        data = await self.io(self.store.read, bucket, obj)
        if archpath := q.get("archpath"):
            content = await self.io(read_file, data, where, archpath, q.get("archmime", ""))
            self.stats["get.n"] += 1
            return web.Response(body=content, content_type="application/octet-stream")
        wanted = matcher(q.get("archregx", ""), q.get("archmode", ""))
        out = io.BytesIO()
        writer = ArchiveWriter("tar", out)

        def collect() -> None:
            for name, content in files(data, where, q.get("archmime", "")):
                if wanted(name):
                    writer.add(name, content)
            writer.close()

        await self.io(collect)
        self.stats["get.n"] += 1
        return web.Response(body=out.getvalue(), content_type="application/x-tar")

    async def get_object(self, request: web.Request, bucket: str, obj: str) -> web.StreamResponse:
        r = await self.io(self._open_read, bucket, obj, request.headers.get("Range"))
        if r.status == 416:
            wanted = request.headers.get("Range", "").strip().removeprefix("bytes=")
            raise AISHTTPError(416, f"size={r.meta.size}: not satisfiable range [{wanted}]",
                               "ErrRangeNotSatisfiable",
                               headers={"Content-Range": f"bytes */{r.meta.size}"})
        headers = object_headers(r.meta)
        if r.status == 206:
            headers["Content-Range"] = f"bytes {r.offset}-{r.offset + r.count - 1}/{r.meta.size}"
        self.stats["get.n"] += 1
        self.stats["get.size"] += r.count
        if r.file is not None:
            return FileSlice(r.file, r.offset, r.count, r.status, headers, self.io)
        return web.Response(body=r.data, status=r.status, headers=headers)

    async def head_object(self, request: web.Request, bucket: str, obj: str) -> web.Response:
        meta = await self.io(self.store.head, bucket, obj)
        headers = object_props_headers(self.node, bucket, obj, meta, self.store.root)
        if props := request.query.get("props", ""):  # HEAD v2: Last-Modified, ETag on ask
            wanted = head_v2_props(props)
            if "chunked" in wanted and meta.chunk_count:
                headers["Ais-Chunks-Count"] = str(meta.chunk_count)
                headers["Ais-Chunks-Max-Chunk-Size"] = str(meta.chunk_max)
            if wanted & {"last-modified", "etag"}:
                mtime_ns = await self.io(self.store.mtime_ns, bucket, obj)
                if "last-modified" in wanted:
                    headers["Last-Modified"] = formatdate(mtime_ns / 1e9, usegmt=True)
                if "etag" in wanted:  # AIStore's for a checksum that is not an MD5
                    headers["ETag"] = f'"v1-{meta.cksum_value}-{base36(mtime_ns)}"'
        return web.Response(headers=headers)

    async def set_custom(self, request: web.Request, bucket: str, obj: str) -> web.Response:
        """``PATCH /v1/objects/B/O`` with ``{"value": {key: value}}``: custom properties,
        added to those the object has, or replacing them (``set-new-custom=true``)."""
        msg = await read_actmsg(request)
        custom = msg.value if msg is not None else None
        if not isinstance(custom, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in custom.items()):
            raise bad_request(f"ais://{bucket}/{obj}: custom properties must be a JSON object "
                              'of strings, as {"value": {"key": "value"}}')
        await self.io(self.store.set_custom, bucket, obj, custom,
                      qbool(request, "set-new-custom"))
        return web.Response()

    async def receive(self, request: web.Request, bucket: str, obj: str) -> ObjectMeta:
        """Store the request's body as ``ais://bucket/obj``, atomically."""
        expect = expected_checksum(request)
        custom = custom_from_headers(request)
        length = request.content_length
        if length is not None and length <= SMALL_BODY:
            data = await request.read()
            if len(data) != length:
                raise bad_request(f"ais://{bucket}/{obj}: body shorter than Content-Length")
            meta = await self._put_small(bucket, obj, data, expect, custom)
        else:
            meta = await self._stream_in(bucket, obj, request.content.iter_chunked(CHUNK),
                                         length, expect, custom)
        self.stats["put.n"] += 1
        self.stats["put.size"] += meta.size
        return meta

    async def _put_small(self, bucket: str, obj: str, data: bytes,
                         expect: tuple[str, str] | None,
                         custom: dict[str, str]) -> ObjectMeta:
        """Without fsync, a small object is written on the event loop: a few page-cache system
        calls cost less than the hand-off to the I/O pool and back, which took a third of
        the target's CPU per 4 KiB PUT. With fsync, the disk's wait stays off the loop."""
        if self.store.fsync_put:
            return await self.io(self.store.put_bytes, bucket, obj, data, expect, custom)
        return self.store.put_bytes(bucket, obj, data, expect, custom)

    async def _stream_in(self, bucket: str, obj: str, chunks: AsyncIterator[bytes],
                         length: int | None, expect: tuple[str, str] | None = None,
                         custom: dict[str, str] | None = None) -> ObjectMeta:
        writer = await self.io(self.store.writer, bucket, obj, expect, custom)
        try:
            async for chunk in chunks:
                await self.io(writer.write, chunk)
        except BaseException:
            await self.io(writer.abort)
            raise
        return await self.io(writer.commit, length)

    async def copy_object(self, request: web.Request, bucket: str, obj: str) -> web.Response:
        """Single-object copy (``object_to``): write locally or stream to the owning target."""
        dst_bucket, dst_obj = parse_uname(request.query["object_to"])
        validate_bucket_name(dst_bucket)
        validate_object_name(dst_bucket, dst_obj or obj)
        dst_obj = dst_obj or obj
        if request.query.get("etl_name"):
            return await self.etl_handlers.copy(request, bucket, obj, dst_bucket, dst_obj)
        await self.copy_to(bucket, obj, dst_bucket, dst_obj)
        return web.Response()

    async def copy_to(self, bucket: str, obj: str, dst_bucket: str, dst_obj: str,
                      dry_run: bool = False) -> tuple[str, int]:
        """Copy an object this target has to the target that owns the destination: written
        here (``"loc"``) or streamed there (``"out"``); the kind and the bytes."""
        f, meta = await self.io(self.store.open, bucket, obj)
        owner = self.smap.owner(dst_bucket, dst_obj)
        try:
            if dry_run:
                return "loc", meta.size
            if owner.daemon_id == self.node.daemon_id:
                await self._stream_in(dst_bucket, dst_obj, self._read_chunks(f), meta.size)
                return "loc", meta.size
            await self._send(owner, dst_bucket, dst_obj, self._read_chunks(f), meta.size)
            return "out", meta.size
        finally:
            f.close()

    async def delete_for_job(self, bucket: str, obj: str) -> int:
        """Delete an object as part of a job (``delete-listrange``); its size."""
        size = await self.io(self.store.delete, bucket, obj)
        self.stats["del.n"] += 1
        return size

    async def _read_chunks(self, f: BinaryIO) -> AsyncIterator[bytes]:
        while chunk := await self.io(f.read, CHUNK):
            yield chunk

    async def _send(self, owner: Node, bucket: str, obj: str, chunks: AsyncIterator[bytes],
                    size: int) -> None:
        url = f"{owner.url}/v1/objects/{bucket}/{quote(obj)}"
        headers = {"Content-Length": str(size), **self.auth.sender_headers(self.node)}
        async with self.session.put(url, data=chunks, headers=headers) as resp:
            if resp.status >= 400:
                raise node_error(resp.status, await resp.read())


