"""ETLs on one target: its transformers, inline transforms, offline jobs, and the object
endpoint that transformers use (``AIS_TARGET_URL``)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

import aiohttp
import msgspec
from aiohttp import web

from .._errors import AISHTTPError
from .._http import ActMsg, decode_value, json_response, qbool
from .._names import parse_uname, validate_bucket_name, validate_object_name
from .._smap import Node
from .._xact import Xaction
from ._comm import Communicator, Delivered, TransformError, escaped_uname
from ._images import ImageError, ImageRegistry
from ._launch import prepare
from ._msgs import HPULL, HPUSH, IO, EtlSpec, etl_not_found, parse_init_msg
from ._offline import TCBMsg, run_job
from ._pod import Pod, PodError, reap_orphans

if TYPE_CHECKING:
    from .._target import Target

log = logging.getLogger("aisetl.cluster")
MAX_INLINE_ERRORS = 1000
EVENTS_KEPT = 20  # an initializing ETL's latest notes or log lines, in its health answer
OBJECT_ROUTE = "/v1/etl/_object/"


@dataclass
class TargetEtl:
    spec: EtlSpec
    pod: Pod
    comm: Communicator
    xid: str
    secret: str
    stage: str = "Running"
    reason: str = ""
    inline: Xaction | None = None
    obj_count: int = 0
    in_bytes: int = 0
    out_bytes: int = 0
    errors: deque[dict] = field(default_factory=lambda: deque(maxlen=MAX_INLINE_ERRORS))

    def count_in(self, size: int) -> None:
        self.in_bytes += size

    def info(self) -> dict:
        return {"id": self.spec.name, "stage": self.stage, "xaction_id": self.xid,
                "obj_count": self.obj_count, "in_bytes": self.in_bytes,
                "out_bytes": self.out_bytes}


@dataclass
class Starting:
    """An ETL initializing on this target, for its health answer meanwhile: the stages a
    pod goes through on Kubernetes, as this cluster lives them."""

    pod_name: str
    notes: list[str]  # what preparing it did so far (then the pod's own log)
    pod: Pod | None = None  # once prepared

    def health(self, target_id: str) -> dict:
        if self.pod is None:
            stage = "preparing: " + ("installing its dependencies" if self.notes and
                                     self.notes[-1].startswith("installing") else
                                     "writing its files")
            events = self.notes
        else:
            stage = (f"started (pid {self.pod.pid}), waiting for its health check to answer"
                     if self.pod.pid else "starting its process")
            events = self.pod.logs
        return {"target_id": target_id, "health_status": "Initializing", "stage": stage,
                "pod_name": self.pod_name, "events": list(events)[-EVENTS_KEPT:]}


def etl_error_text(target_id: str, etl: str, pod: str, err: PodError) -> str:
    """A failed start in AIStore's words (``cmn.ErrETL``): where, the container's status,
    then why; the message of the status holds the log's last lines, as Kubernetes' does with
    ``TerminationMessagePolicy: FallbackToLogsOnError``."""
    fields = [f"t[{target_id}]", f"etl={_go_quote(etl)}", f"pod={_go_quote(pod)}"]
    if (s := err.status) is not None:
        status = (f"container: {etl}, state: {s.state}, reason: {s.reason}, "
                  f"message: {s.message}, exitCode: {s.exit_code}")
        fields.append(f"pod_status={_go_quote(status)}")
    return f"[{','.join(fields)}] ETL {etl} failed to start: {err.cause}"


def _go_quote(text: str) -> str:
    """Go's ``%q`` of printable text: a JSON string, non-ASCII kept."""
    return json.dumps(text, ensure_ascii=False)


class TargetEtls:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.etls: dict[str, TargetEtl] = {}
        self.starting: dict[str, Starting] = {}  # ETLs initializing here
        self._jobs: dict[str, asyncio.Task] = {}

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_put("/v1/etl", self.init)
        r.add_get("/v1/etl", self.list)
        r.add_route("*", OBJECT_ROUTE + "{name}/{secret}/{uname:.+}", self.object_access)
        r.add_get("/v1/etl/{name}", self.details)
        r.add_delete("/v1/etl/{name}", self.stop_request)
        r.add_get("/v1/etl/{name}/logs", self.logs)
        r.add_get("/v1/etl/{name}/health", self.health)
        r.add_get("/v1/etl/{name}/metrics", self.metrics)
        r.add_get("/v1/xactions", self.query_xactions)
        r.add_post("/v1/xactions", self.start_job)
        r.add_put("/v1/xactions", self.abort_job)
        app.on_shutdown.append(self._shutdown)

    async def recover(self) -> None:
        """After a crash: end the old transformers and tell the proxy their ETLs are lost."""
        node = self.target.node
        lost = await self.target.io(reap_orphans, self.target.store.root / "etl", node.url)
        for name in lost:
            await self._report_abort(name, f"{node.pretty} restarted; its transformer "
                                     f"{name}-{node.daemon_id.lower()} was lost")

    def get(self, name: str, running: bool = True) -> TargetEtl:
        etl = self.etls.get(name)
        if etl is None or (running and etl.stage != "Running"):
            raise etl_not_found(name, " - try starting new ETL with PUT /v1/etl (init)")
        return etl

    def pipeline_urls(self, names: str | list[str] | None) -> list[str]:
        """Where this target's transformers of a pipeline's next stages (``etl_pipeline``, a
        comma-separated string or a list of ETL names) listen; each must be running."""
        if isinstance(names, str):
            names = names.split(",")
        return [self.get(name.strip()).pod.url for name in names or [] if name.strip()]

    # --- lifecycle --------------------------------------------------------------------------

    async def init(self, request: web.Request) -> web.Response:
        body = await request.json()
        spec = parse_init_msg(body["msg"])
        old = self.etls.get(spec.name)
        if old is not None:
            await self._stop(old, "re-initialized")
        node = self.target.node
        workdir = self.target.store.root / "etl" / spec.name
        target_url = f"{node.url}{OBJECT_ROUTE}{spec.name}/{body['secret']}"
        notes: list[str] = []
        pod_name = f"{spec.name}-{node.daemon_id.lower()}"
        starting = self.starting[spec.name] = Starting(pod_name, notes)
        try:
            return await self._init(spec, body, workdir, target_url, starting)
        finally:
            self.starting.pop(spec.name, None)

    async def _init(self, spec: EtlSpec, body: dict, workdir: Path, target_url: str,
                    starting: Starting) -> web.Response:
        node = self.target.node
        try:
            images = ImageRegistry(self.target.store.root.parent)
            cores = max(1, (os.cpu_count() or 1) // len(self.target.smap.targets))
            launch = await prepare(spec, workdir, target_url, starting.notes, images, cores)
        except (PodError, ImageError) as err:
            raise AISHTTPError(400, f"{node.pretty}: ETL {spec.name}: {err}") from None
        pod = Pod(starting.pod_name, launch, workdir / "pod.log", on_exit=self._pod_exited)
        pod.logs.extend(starting.notes)
        starting.pod = pod
        comm = Communicator(spec, pod, self.target.session)
        etl = TargetEtl(spec, pod, comm, body["xid"], body["secret"], stage="Initializing")
        etl.inline = self.target.xacts.add(Xaction(etl.xid, "etl-inline", etl=spec.name))
        etl.inline.idle = True
        self.etls[spec.name] = etl
        try:
            await pod.start(spec.init_timeout)
        except PodError as err:
            etl.stage, etl.reason = "Aborted", str(err)
            etl.inline.abort(str(err))
            # 400, not 5xx: the cause is the ETL itself, and the SDK would retry a 5xx
            raise AISHTTPError(400, etl_error_text(node.daemon_id, spec.name, starting.pod_name,
                                                   err)) from None
        etl.stage = "Running"
        return web.Response()

    def _pod_exited(self, pod: Pod, reason: str) -> None:
        etl = next((e for e in self.etls.values() if e.pod is pod), None)
        if etl is None or etl.stage != "Running":
            return
        log.warning("%s", reason)
        etl.stage, etl.reason = "Aborted", reason
        self._abort_jobs(etl.spec.name, reason)
        if etl.inline:
            etl.inline.abort(reason)
        asyncio.get_running_loop().create_task(self._report_abort(etl.spec.name, reason))

    async def _report_abort(self, name: str, reason: str) -> None:
        proxy = self.target.smap.proxy
        msg = ActMsg("etl-aborted", name=name, value={"reason": reason,
                                                      "target": self.target.node.daemon_id})
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):  # no proxy yet: it knows
            async with self.target.session.post(
                    f"{proxy.url}/v1/etl/{name}/_aborted", data=msgspec.json.encode(msg),
                    timeout=aiohttp.ClientTimeout(total=5)):
                pass

    async def stop_request(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        etl = self.etls.get(name)
        if etl is not None:
            await self._stop(etl, request.query.get("reason") or "user abort")
            if qbool(request, "delete"):
                del self.etls[name]
        return web.Response()

    async def _stop(self, etl: TargetEtl, reason: str) -> None:
        if etl.stage == "Running":
            etl.stage, etl.reason = "Aborted", reason
        self._abort_jobs(etl.spec.name, reason)
        if etl.inline:
            etl.inline.abort(reason)
        await etl.pod.stop()
        await etl.comm.close()

    async def _shutdown(self, _app: web.Application) -> None:
        for task in self._jobs.values():
            task.cancel()
        await asyncio.gather(*(self._stop(e, "target shutting down") for e in self.etls.values()),
                             return_exceptions=True)

    # --- views ------------------------------------------------------------------------------

    async def list(self, _request: web.Request) -> web.Response:
        return json_response([e.info() for e in self.etls.values()])

    async def details(self, request: web.Request) -> web.Response:
        etl = self.get(request.match_info["name"], running=False)
        xid = request.query.get("uuid", "")
        if xid:
            xact = self.target.xacts.get(xid)
            errors = list(xact.obj_errors) if xact else []
        else:
            errors = list(etl.errors)
        return json_response({"obj_errors": errors, "stage": etl.stage, "reason": etl.reason})

    async def logs(self, request: web.Request) -> web.Response:
        etl = self.get(request.match_info["name"], running=False)
        text = "\n".join(etl.pod.logs) + ("\n" if etl.pod.logs else "")
        return json_response({"target_id": self.target.node.daemon_id,
                              "logs": base64.b64encode(text.encode()).decode()})

    async def health(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if (starting := self.starting.get(name)) is not None:
            return json_response(starting.health(self.target.node.daemon_id))
        etl = self.get(name, running=False)
        status = "Running" if etl.pod.running else ("Failed" if etl.reason else "Succeeded")
        return json_response({"target_id": self.target.node.daemon_id, "health_status": status,
                              "pod_name": etl.pod.name, "pid": etl.pod.pid if etl.pod.running
                              else None, "restarts": etl.pod.restarts,
                              "started": etl.pod.started})

    async def metrics(self, request: web.Request) -> web.Response:
        etl = self.get(request.match_info["name"], running=False)
        cpu, mem = etl.pod.metrics()
        return json_response({"target_id": self.target.node.daemon_id, "cpu": cpu, "mem": mem})

    # --- inline -----------------------------------------------------------------------------

    async def inline(self, request: web.Request, bucket: str, obj: str) -> web.StreamResponse:
        """``GET /v1/objects/B/O?etl_name=...``: the transformed object, streamed."""
        etl = self.get(request.query["etl_name"])
        etl_args = request.query.get("etl_args", "")
        stages = request.query.get("etl_pipeline", "")
        if stages.strip(", ") and etl.spec.comm == HPULL:
            raise AISHTTPError(400, f"etl job {etl.spec.name}: hpull:// does not support "
                               "etl_pipeline (the client reads the transformer's answer)")
        pipeline = self.pipeline_urls(stages)
        meta = await self.target.io(self.target.store.head, bucket, obj)
        fqn = self.target.store.fqn(bucket, obj)
        etl.count_in(meta.size)
        if etl.spec.comm == HPULL:
            etl.obj_count += 1
            location = etl.comm.pull_url(bucket, obj, fqn, etl_args)
            return web.Response(status=307, headers={"Location": location})
        try:
            if etl.spec.comm in (HPUSH, IO):
                return await self._stream_inline(request, etl, bucket, obj, fqn, etl_args,
                                                 pipeline)
            data = await etl.comm.transform(bucket, obj, fqn, etl_args, pipeline)
        except TransformError as err:
            self._inline_error(etl, bucket, obj, err)
            raise AISHTTPError(err.status, str(err), "ErrETL") from None
        assert isinstance(data, bytes)  # no destination: never "delivered"
        self._count_out(etl, len(data))
        return web.Response(body=data, content_type="application/octet-stream")

    async def _stream_inline(self, request: web.Request, etl: TargetEtl, bucket: str, obj: str,
                             fqn: str, etl_args: str, pipeline: list[str]) -> web.StreamResponse:
        async with etl.comm.open(bucket, obj, fqn, etl_args, pipeline) as upstream:
            resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
            if upstream.content_length is not None:
                resp.content_length = upstream.content_length
            await resp.prepare(request)
            size = 0
            async for chunk in upstream.content.iter_chunked(1 << 20):
                await resp.write(chunk)
                size += len(chunk)
            await resp.write_eof()
        self._count_out(etl, size)
        return resp

    def _count_out(self, etl: TargetEtl, size: int, kind: str = "loc") -> None:
        etl.obj_count += 1
        etl.out_bytes += size
        if etl.inline:
            etl.inline.add(kind, 1, size)

    def _inline_error(self, etl: TargetEtl, bucket: str, obj: str, err: TransformError) -> None:
        etl.errors.append({"obj_name": f"ais://{bucket}/{obj}", "msg": str(err),
                           "ecode": err.status})

    async def copy(self, request: web.Request, bucket: str, obj: str, dst_bucket: str,
                   dst_obj: str) -> web.Response:
        """Single-object copy with transform: transform here, write where the owner is."""
        etl = self.get(request.query["etl_name"])
        pipeline = self.pipeline_urls(request.query.get("etl_pipeline", ""))
        meta = await self.target.io(self.target.store.head, bucket, obj)
        etl.count_in(meta.size)
        try:
            kind, size = await self.deliver(etl, etl.xid, bucket, obj,
                                            request.query.get("etl_args", ""), dst_bucket,
                                            dst_obj, pipeline)
        except TransformError as err:
            self._inline_error(etl, bucket, obj, err)
            raise AISHTTPError(err.status, str(err), "ErrETL") from None
        self._count_out(etl, size, kind)
        return web.Response()

    async def deliver(self, etl: TargetEtl, xid: str, bucket: str, obj: str, etl_args: str,
                      dst_bucket: str, dst_obj: str, pipeline: list[str],
                      dry_run: bool = False) -> tuple[str, int]:
        """Transform ``bucket/obj`` (then through the ``pipeline``'s transformers) into
        ``dst_bucket/dst_obj`` on the target that owns it: written here (``"loc"``), or put
        there directly by the (last) transformer, or sent there by this target (``"out"``).
        The kind and the result's size, for the job's counters."""
        fqn = self.target.store.fqn(bucket, obj)
        owner = self.target.smap.owner(dst_bucket, dst_obj)
        local = owner.daemon_id == self.target.node.daemon_id
        destination = ""
        if not local and etl.spec.direct_put and not dry_run:
            destination = f"{owner.url}/{escaped_uname(dst_bucket, dst_obj)}?owt=3&uuid={xid}"
        result = await etl.comm.transform(bucket, obj, fqn, etl_args, pipeline, destination)
        if isinstance(result, Delivered):
            return "out", result.size
        if dry_run:
            return "loc", len(result)
        if local:
            await self.target.io(self.target.store.put_bytes, dst_bucket, dst_obj, result)
            return "loc", len(result)
        await self.send_to(owner, etl, dst_bucket, dst_obj, result, xid)
        return "out", len(result)

    async def send_to(self, owner: Node, etl: TargetEtl, bucket: str, obj: str, data: bytes,
                      xid: str) -> None:
        url = (f"{owner.url}{OBJECT_ROUTE}{etl.spec.name}/{etl.secret}/"
               f"{escaped_uname(bucket, obj)}?owt=3&uuid={xid}")
        async with self.target.session.put(url, data=data) as resp:
            if resp.status >= 400:
                text = (await resp.read()).decode(errors="replace")
                raise AISHTTPError(resp.status, f"writing ais://{bucket}/{obj} on "
                                   f"{owner.pretty} failed: {text}")

    # --- the transformers' own object access ------------------------------------------------

    async def object_access(self, request: web.Request) -> web.StreamResponse:
        """``AIS_TARGET_URL/<uname>``: GET (hpull) and PUT (direct put) for transformers."""
        name, secret = request.match_info["name"], request.match_info["secret"]
        etl = self.etls.get(name)
        if etl is None or etl.secret != secret:
            raise AISHTTPError(403, f"etl job {name}: invalid ETL object access")
        raw = request.raw_path.split("?", 1)[0]
        bucket, obj = parse_uname(unquote(raw.split("/", 6)[6]))
        bucket = validate_bucket_name(bucket)
        obj = validate_object_name(bucket, obj)
        if request.method == "GET":
            return await self.target.get_object(request, bucket, obj)
        if request.method == "HEAD":
            return await self.target.head_object(bucket, obj)
        if request.method == "PUT":
            meta = await self.target.receive(request, bucket, obj)
            if xact := self.target.xacts.get(request.query.get("uuid", "")):
                xact.add("in", 1, meta.size)
            return web.Response()
        raise AISHTTPError(405, f"method {request.method} not allowed on ETL object access")

    # --- offline jobs -----------------------------------------------------------------------

    async def start_job(self, request: web.Request) -> web.Response:
        body = await request.json()
        msg = decode_value(body["msg"], TCBMsg, "transform message")
        etl = self.get(msg.etl_name)
        pipeline = self.pipeline_urls(msg.pipeline)
        xact = self.target.xacts.add(Xaction(body["xid"], body["kind"], src=body["src"],
                                             dst=body["dst"], etl=etl.spec.name,
                                             pipeline=tuple(msg.pipeline or ())))
        task = asyncio.create_task(run_job(self, etl, xact, body["src"], body["dst"], msg,
                                           pipeline))
        self._jobs[xact.id] = task
        task.add_done_callback(lambda _t, xid=xact.id: self._jobs.pop(xid, None))
        return web.Response()

    def _abort_jobs(self, etl_name: str, reason: str) -> None:
        for xact in self.target.xacts.query(only_running=True):
            if etl_name in (xact.etl, *xact.pipeline) and xact.kind != "etl-inline":
                xact.abort(reason)

    async def query_xactions(self, request: web.Request) -> web.Response:
        query = _query(await _raw_json(request))
        xacts = self.target.xacts.query(query.get("id", ""), query.get("kind", ""),
                                        (query.get("bck") or {}).get("name", ""),
                                        bool(query.get("show_active")))
        return json_response([x.snap() for x in xacts])

    async def abort_job(self, request: web.Request) -> web.Response:
        body = await request.json()
        xact = self.target.xacts.get(body.get("id", ""))
        if xact is not None:
            xact.abort(body.get("reason") or "aborted by user")
        return web.Response()


async def _raw_json(request: web.Request) -> dict:
    with contextlib.suppress(ValueError):
        data = await request.json()
        if isinstance(data, dict):
            return data
    return {}


def _query(raw: dict) -> dict:
    """``xact.QueryMsg`` keys, whatever their case (Go decodes JSON case-insensitively)."""
    lower = {k.lower(): v for k, v in raw.items()}
    return {"id": lower.get("id") or "", "kind": lower.get("kind") or "",
            "bck": lower.get("bck") or {}, "show_active": lower.get("show_active")
            or lower.get("onlyrunning") or False}
