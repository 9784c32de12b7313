"""get-batch (``GET /v1/ml/moss[/<bucket>]``, AIStore's MOSS): many objects, files inside
shards, and byte ranges of either, in one archive, in the order asked. The proxy checks the
buckets and redirects to a target, which gathers each entry from its owner and writes the
archive: streamed as it goes (``strm``), or whole with a metadata part first (multipart).

The message and the answer are AIStore's (``api/apc/ml.go``); the archive is TAR, TGZ or ZIP
(``mime``); a missing entry fails the request unless ``coer``, which names it under
``__404__/`` with no content. Each request is a ``get-batch`` job, which stays idle for a
while once answered (AIStore's get-batch is a job that idles before it finishes); aborting it
cuts a running answer short."""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass

import msgspec
from aiohttp import web

from ._archive import ArchiveWriter, archive_kind, read_file
from ._errors import AISHTTPError, bad_request, not_supported
from ._http import decode_value
from ._names import validate_bucket_name, validate_object_name
from ._services import TargetServices, byte_range
from ._xact import Xaction, new_xid

MISSING_DIR = "__404__"
SPOOL_IN_MEMORY = 64 * 1024 * 1024  # a multipart answer's archive spills to disk beyond this
CONTENT_TYPES = {"tar": "application/x-tar", "tgz": "application/x-gzip",
                 "zip": "application/zip"}


class MossIn(msgspec.Struct, omit_defaults=True):
    objname: str
    bucket: str = ""
    provider: str = ""
    uname: str = ""
    archpath: str = ""
    opaque: bytes | None = None  # Go's []byte: base64 in JSON
    start: int = 0
    length: int = 0


class MossReq(msgspec.Struct, rename={"entries": "in"}):
    entries: list[MossIn]
    mime: str = ""
    coer: bool = False  # continue on error
    onob: bool = False  # names in the archive: the object's only
    strm: bool = False  # stream the archive as it is made
    coloc: int = 0


class MossOut(msgspec.Struct, omit_defaults=True):
    objname: str
    bucket: str
    provider: str
    size: int
    archpath: str = ""
    err_msg: str = ""
    opaque: bytes | None = None


def parse_request(body: bytes, path_bucket: str) -> MossReq:
    """The request, checked as AIStore checks it: at least one entry, each with a bucket
    (its own or the path's), valid names and ranges, a known archive format."""
    try:
        raw = msgspec.json.decode(body) if body.strip() else None
    except msgspec.DecodeError as err:
        raise bad_request(f"get-batch: malformed JSON request: {err}") from None
    req = decode_value(raw, MossReq, "get-batch request")
    if not req.entries:
        raise bad_request("get-batch: the request has no entries ('in' is empty)")
    archive_kind(req.mime, "get-batch into")
    if req.coloc not in (0, 1, 2):
        raise bad_request(f"invalid 'coloc={req.coloc}' (expecting 0, 1, or 2)")
    for entry in req.entries:
        if entry.uname:
            raise not_supported("get-batch entries named by uname")
        if entry.provider not in ("", "ais"):
            raise bad_request(f"provider {entry.provider!r} is not supported here: the "
                              "embedded cluster has ais:// buckets only")
        entry.bucket = validate_bucket_name(entry.bucket or path_bucket or "")
        validate_object_name(entry.bucket, entry.objname)
        if entry.start < 0 or entry.length < -1 or (entry.start and not entry.length):
            raise AISHTTPError(416, f"get-batch: invalid range start={entry.start},"
                               f"length={entry.length} (oname: {entry.objname!r})",
                               "ErrRangeNotSatisfiable")
    return req


def buckets_of(req: MossReq) -> set[str]:
    return {e.bucket for e in req.entries}


class Drain:
    """Collects what is written until it is taken out (a streamed answer, piece by piece)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(data)
        return len(data)

    def take(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


@dataclass
class GetBatch:
    """One target's side of get-batch: it gathers and writes the archive."""

    services: TargetServices

    async def handle(self, request: web.Request) -> web.StreamResponse:
        req = parse_request(await request.read(), request.match_info.get("bucket", ""))
        kind = archive_kind(req.mime)
        xact = self.services.xacts.add(Xaction(new_xid("gb-"), "get-batch"))
        xact.work_begins()
        try:
            answer = self._stream if req.strm else self._multipart
            return await answer(request, req, kind, xact)
        except AISHTTPError as err:
            xact.abort(err.message)
            raise
        finally:
            xact.work_ends(self.services.xacts.idle_for)

    async def _entry(self, req: MossReq, entry: MossIn,
                     xact: Xaction) -> tuple[str, bytes, MossOut]:
        """The entry's name in the archive, its content, and what the answer says of it."""
        name = entry.objname if req.onob else f"{entry.bucket}/{entry.objname}"
        if entry.archpath:
            name += "/" + entry.archpath
        if xact.aborted:  # between entries: an aborted job answers no more
            raise AISHTTPError(409, f"get-batch job {xact.id} was aborted: {xact.err}",
                               "ErrAborted")
        out = MossOut(entry.objname, entry.bucket, "ais", 0, entry.archpath,
                      opaque=entry.opaque)
        try:
            data = await self._read(entry)
        except AISHTTPError as err:
            if not req.coer or err.status != 404:  # a bad range fails even so
                raise
            out.err_msg = err.message
            return f"{MISSING_DIR}/{name}", b"", out
        out.size = len(data)
        xact.add("loc", 1, len(data))
        return name, data, out

    async def _read(self, entry: MossIn) -> bytes:
        s, where = self.services, f"ais://{entry.bucket}/{entry.objname}"
        if not entry.archpath:
            return await s.read_object(entry.bucket, entry.objname, entry.start, entry.length)
        shard = await s.read_object(entry.bucket, entry.objname)
        data = await s.io(read_file, shard, where, entry.archpath)
        offset, count = byte_range(where, entry.start, entry.length, len(data))
        return data[offset:offset + count]

    async def _stream(self, request: web.Request, req: MossReq, kind: str,
                      xact: Xaction) -> web.StreamResponse:
        """Each entry is read before anything is sent for it: the first failure (without
        ``coer``) before the answer starts is an error answer; a later one cuts it short."""
        drain = Drain()
        writer = ArchiveWriter(kind, drain)
        resp = web.StreamResponse(headers={"Content-Type": CONTENT_TYPES[kind]})
        for entry in req.entries:
            try:
                name, data, _out = await self._entry(req, entry, xact)
            except AISHTTPError as err:
                if not resp.prepared:
                    raise
                xact.abort(err.message)  # the answer started: it can only be cut short
                raise ConnectionResetError(f"get-batch cut short: {err.message}") from None
            await self.services.io(writer.add, name, data)
            if not resp.prepared:
                await resp.prepare(request)
            await resp.write(drain.take())
        await self.services.io(writer.close)
        if not resp.prepared:
            await resp.prepare(request)
        await resp.write(drain.take())
        await resp.write_eof()
        return resp

    async def _multipart(self, request: web.Request, req: MossReq, kind: str,
                         xact: Xaction) -> web.StreamResponse:
        """``multipart/mixed``: the metadata (``MossResp``), then the archive, as Go's
        multipart writer lays them out."""
        with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY) as archive:
            writer = ArchiveWriter(kind, archive)
            outs = []
            for entry in req.entries:
                name, data, out = await self._entry(req, entry, xact)
                await self.services.io(writer.add, name, data)
                outs.append(out)
            await self.services.io(writer.close)
            meta = msgspec.json.encode({"uuid": uuid.uuid4().hex[:10], "out": outs}) + b"\n"
            boundary = uuid.uuid4().hex
            resp = web.StreamResponse(headers={
                "Content-Type": f"multipart/mixed; boundary={boundary}"})
            await resp.prepare(request)
            await resp.write(f"--{boundary}\r\nContent-Disposition: form-data; "
                             f'name="metadata"\r\n\r\n'.encode() + meta)
            await resp.write(f"\r\n--{boundary}\r\nContent-Disposition: form-data; "
                             f'name="archive"; filename="get-batch"\r\n'
                             "Content-Type: application/octet-stream\r\n\r\n".encode())
            archive.seek(0)
            while chunk := await self.services.io(archive.read, 1 << 20):
                await resp.write(chunk)
            await resp.write(f"\r\n--{boundary}--\r\n".encode())
            await resp.write_eof()
            return resp
