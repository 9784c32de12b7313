"""A target's endpoints for objects written in pieces (``_uploads.py`` keeps the pieces):
multipart uploads (start and complete by action, parts by ``uploadId``, abort) and appends
(``append_type`` append or flush)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from aiohttp import web

from ._errors import bad_request
from ._http import Blocking, read_actmsg, text_response
from ._objhdr import expected_checksum, put_headers
from ._unsupported import action_refused
from ._uploads import Uploads

CHUNK = 1024 * 1024


class PieceHandlers:
    def __init__(self, uploads: Uploads, io: Blocking, stats: Counter[str]) -> None:
        self.uploads, self.io, self.stats = uploads, io, stats

    async def action(self, request: web.Request, bucket: str, obj: str) -> web.Response:
        """``POST /v1/objects/B/O``: start a multipart upload, or complete one."""
        msg = await read_actmsg(request)
        action = msg.action if msg else ""
        if action == "mpt-upload":
            return text_response(await self.io(self.uploads.start, bucket, obj))
        if action == "mpt-complete":
            assert msg is not None
            meta = await self.io(self.uploads.complete, request.query.get("uploadId", ""),
                                 bucket, obj, msg.value)
            self.stats["put.n"] += 1
            return web.Response(headers=put_headers(meta))
        raise action_refused("POST", f"ais://{bucket}/{obj}", action)

    async def put_part(self, request: web.Request, bucket: str, obj: str) -> web.Response:
        """``PUT /v1/objects/B/O?uploadId=&partNumber=``: one part, streamed to its file."""
        upload_id, length = request.query["uploadId"], request.content_length
        path, part = await self.io(self.uploads.part_file, upload_id, bucket, obj,
                                   request.query.get("partNumber", ""), length)
        try:
            size = await self._body_to(request, path, "xb")
            if size != length:
                raise bad_request(f"ais://{bucket}/{obj}: part {part}: received {size} bytes, "
                                  f"expected {length} (Content-Length)")
            await self.io(self.uploads.add_part, upload_id, bucket, obj, part, path, size)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        self.stats["put.size"] += size
        return web.Response()

    async def append(self, request: web.Request, bucket: str, obj: str) -> web.Response:
        """``PUT ?append_type=append|flush&append_handle=``: add the body to the object's
        work file (the answer's ``Ais-Append-Handle`` names it), or make that the object."""
        kind, handle = request.query["append_type"], request.query.get("append_handle", "")
        if kind == "flush":
            meta = await self.io(self.uploads.flush, bucket, obj, handle,
                                 expected_checksum(request))
            self.stats["put.n"] += 1
            return web.Response(headers=put_headers(meta))
        if kind != "append":
            raise bad_request(f"invalid operation {kind!r} (expecting either 'append' or "
                              "'flush') - check 'append_type' query")
        path, handle = await self.io(self.uploads.append_file, bucket, obj, handle)
        await self._body_to(request, path, "ab")
        return web.Response(headers={"Ais-Append-Handle": handle})

    async def _body_to(self, request: web.Request, path: Path, mode: str) -> int:
        """The request's body written to the file ``path`` (opened with ``mode``); its size."""
        f = await self.io(open, path, mode)
        size = 0
        try:
            async for chunk in request.content.iter_chunked(CHUNK):
                await self.io(f.write, chunk)
                size += len(chunk)
        finally:
            f.close()
        return size

    async def abort(self, request: web.Request, bucket: str, obj: str) -> web.Response:
        """``DELETE /v1/objects/B/O?uploadId=`` with the action ``mpt-abort``."""
        msg = await read_actmsg(request)
        if msg is None or msg.action != "mpt-abort":
            raise action_refused("DELETE", f"ais://{bucket}/{obj}?uploadId",
                                 msg.action if msg else "")
        await self.io(self.uploads.abort, request.query["uploadId"], bucket, obj)
        return web.Response()

