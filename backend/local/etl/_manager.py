"""ETLs on one target: its transformers' lifecycle, what it tells about them, transforms into
a destination, and its share of offline jobs. HTTP handlers live with the target
(``_target_etl.py``, ``_target_xact.py``); this is what they call."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import AISHTTPError
from .._http import ActMsg, decode_value
from .._services import TargetServices
from .._smap import Node
from .._tcb import OfflineJob, TCBMsg, start_share
from .._xact import Xaction
from ._comm import Communicator, Delivered, TransformError, escaped_uname
from ._images import ImageError, ImageRegistry
from ._launch import Confinement, prepare
from ._msgs import EtlSpec, parse_init_msg
from ._pod import Pod, PodError, reap_orphans

log = logging.getLogger("aisetl.cluster")
MAX_INLINE_ERRORS = 1000
EVENTS_KEPT = 20  # an initializing ETL's latest notes or log lines, in its health answer
SECRET_FILE = "secret"  # in an ETL's work directory
OBJECT_ROUTE = "/v1/etl/_object/"  # + <etl>/<secret>/<uname>: the transformers' object access


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

    def info(self) -> dict:
        return {"id": self.spec.name, "stage": self.stage, "xaction_id": self.xid,
                "obj_count": self.obj_count, "in_bytes": self.in_bytes,
                "out_bytes": self.out_bytes}

    def count_out(self, size: int, kind: str = "loc") -> None:
        """One inline or single-object transform done, ``size`` bytes out."""
        self.obj_count += 1
        self.out_bytes += size
        if self.inline:
            self.inline.add(kind, 1, size)

    def inline_error(self, bucket: str, obj: str, err: TransformError) -> None:
        self.errors.append({"obj_name": f"ais://{bucket}/{obj}", "msg": str(err),
                            "ecode": err.status})


@dataclass(frozen=True)
class Route:
    """How transforms run: through ``etl`` then the transformers at ``pipeline`` (URLs of the
    next stages), counted in job ``xid``, with ``args`` for the transformer."""

    etl: TargetEtl
    xid: str
    args: str = ""
    pipeline: list[str] = field(default_factory=list)
    dry_run: bool = False
    timeout: float | None = None  # each object's, if not the ETL's obj_timeout


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


def etl_error_text(target_id: str, etl: str, pod: str, err: PodError,
                   what: str = "failed to start") -> str:
    """A failed start (or, ``what`` says, a pod that ended) in AIStore's words
    (``cmn.ErrETL``): where, the container's status, then why; the message of the status
    holds the log's last lines, as Kubernetes' does with ``TerminationMessagePolicy:
    FallbackToLogsOnError``."""
    fields = [f"t[{target_id}]", f"etl={_go_quote(etl)}", f"pod={_go_quote(pod)}"]
    if (s := err.status) is not None:
        status = (f"container: {etl}, state: {s.state}, reason: {s.reason}, "
                  f"message: {s.message}, exitCode: {s.exit_code}")
        fields.append(f"pod_status={_go_quote(status)}")
    return f"[{','.join(fields)}] ETL {etl} {what}: {err.cause}"


def _write_secret(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(secret)
    path.chmod(0o600)


def _read_secret(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def _go_quote(text: str) -> str:
    """Go's ``%q`` of printable text: a JSON string, non-ASCII kept."""
    return json.dumps(text, ensure_ascii=False)


class TargetEtls:
    def __init__(self, services: TargetServices) -> None:
        self.services = services
        self.etls: dict[str, TargetEtl] = {}
        self.starting: dict[str, Starting] = {}  # ETLs initializing here
        self._jobs: set[asyncio.Task] = set()
        self._reports: list[asyncio.Future] = []  # of ETLs lost in a crash, sent after start

    @property
    def _id(self) -> str:
        return self.services.node.daemon_id

    async def recover(self) -> None:
        """After a crash: end the old transformers now, and tell the proxy their ETLs are
        lost once this target serves (the proxy calls every target back: waiting for it
        before serving cost seconds per ETL)."""
        node = self.services.node
        etl_root = self.services.store.root / "etl"
        lost = await self.services.io(reap_orphans, etl_root, node.url)
        keys = [await self.services.io(_read_secret, etl_root / name / SECRET_FILE)
                for name in lost]
        self._reports.append(asyncio.ensure_future(asyncio.gather(*(
            self._report_abort(name, secret, f"{node.pretty} restarted; its transformer "
                                             f"{name}-{node.daemon_id.lower()} was lost")
            for name, secret in zip(lost, keys, strict=True)))))

    def get(self, name: str, running: bool = True) -> TargetEtl:
        """This target's ETL ``name``; with ``running``, only if its transformer runs."""
        etl = self.etls.get(name)
        if running and (etl is None or etl.stage != "Running"):  # AIStore's words, no tcode
            primary = self.services.smap.proxy.url
            raise AISHTTPError(404, f'{name} does not exist - try starting new ETL with '
                               f'"{primary}/v1/etl/init" endpoint', by_node=True)
        if etl is None:
            raise AISHTTPError(404, f"{name} does not exist", "ErrNotFound", by_node=True)
        return etl

    def with_secret(self, name: str, secret: str) -> TargetEtl:
        """The ETL whose transformer holds ``secret`` (its object access), or a 403."""
        etl = self.etls.get(name)
        if etl is None or etl.secret != secret:
            raise AISHTTPError(403, f"etl job {name}: invalid ETL object access")
        return etl

    def pipeline_urls(self, first: TargetEtl, names: str | list[str] | None) -> list[str]:
        """Where this target's transformers of a pipeline's next stages after ``first``
        (``etl_pipeline``, a comma-separated string or a list of ETL names) listen; each must
        be running, and each stage's transformer may now reach the next's."""
        if isinstance(names, str):
            names = names.split(",")
        urls, previous = [], first
        for name in (n.strip() for n in names or [] if n.strip()):
            etl = self.etls.get(name)
            if etl is None or etl.stage != "Running":  # AIStore's GetPipeline, word for word
                raise AISHTTPError(404, f"[t[{self._id}],etl={_go_quote(name)}] entry not found "
                                   "in the target", "ErrETL")
            try:
                previous.pod.reach_pod(etl.pod)
            except OSError as err:  # (its code took the port first, say)
                raise AISHTTPError(500, f"etl job {previous.spec.name}: its transformer cannot "
                                   f"be given the way to the next stage, {name}: {err}",
                                   "ErrETL") from None
            urls.append(etl.pod.url)
            previous = etl
        return urls

    # --- lifecycle --------------------------------------------------------------------------

    async def init(self, msg: Any, xid: str, secret: str) -> None:
        """Start this target's transformer of the ETL that ``msg`` describes (replacing one
        of the same name); a 400 if it cannot start."""
        spec = parse_init_msg(msg)
        if (old := self.etls.get(spec.name)) is not None:
            await self._stop(old, "re-initialized")
        pod_name = f"{spec.name}-{self._id.lower()}"
        starting = self.starting[spec.name] = Starting(pod_name, [])
        try:
            await self._init(spec, xid, secret, starting)
        finally:
            self.starting.pop(spec.name, None)

    async def _init(self, spec: EtlSpec, xid: str, secret: str, starting: Starting) -> None:
        s = self.services
        workdir = s.store.root / "etl" / spec.name
        target_url = f"{s.node.url}{OBJECT_ROUTE}{spec.name}/{secret}"
        try:
            images = ImageRegistry(s.store.root.parent)
            cores = max(1, (os.cpu_count() or 1) // len(s.smap.targets))
            confine = Confinement(s.store.root.parent, s.store.objects_dir,
                                  tuple(t.port for t in s.smap.targets))
            launch = await prepare(spec, workdir, target_url, starting.notes, images, cores,
                                   confine=confine)
        except (PodError, ImageError) as err:
            raise AISHTTPError(400, f"{s.node.pretty}: ETL {spec.name}: {err}") from None
        await s.io(_write_secret, workdir / SECRET_FILE, secret)  # for a restart after a crash
        pod = Pod(starting.pod_name, launch, workdir / "pod.log", on_exit=self._pod_exited)
        pod.logs.extend(starting.notes)
        starting.pod = pod
        etl = TargetEtl(spec, pod, Communicator(spec, pod, secret), xid, secret,
                        stage="Initializing")
        etl.inline = s.xacts.add(Xaction(xid, "etl-inline", etl=spec.name))
        etl.inline.idle = True
        self.etls[spec.name] = etl
        try:
            await pod.start(spec.init_timeout)
        except PodError as err:
            etl.stage, etl.reason = "Aborted", str(err)
            etl.inline.abort(str(err))
            # 400, not 5xx: the cause is the ETL itself, and the SDK would retry a 5xx
            raise AISHTTPError(400, etl_error_text(self._id, spec.name, starting.pod_name,
                                                   err)) from None
        etl.stage = "Running"

    def _pod_exited(self, pod: Pod, err: PodError) -> None:
        etl = next((e for e in self.etls.values() if e.pod is pod), None)
        if etl is None or etl.stage != "Running":
            return
        reason = etl_error_text(self._id, etl.spec.name, pod.name, err, "aborted")
        log.warning("%s", reason)
        etl.stage, etl.reason = "Aborted", reason
        self._abort_jobs(etl.spec.name, reason)
        if etl.inline:
            etl.inline.abort(reason)
        asyncio.get_running_loop().create_task(
            self._report_abort(etl.spec.name, etl.secret, reason))

    async def _report_abort(self, name: str, secret: str, reason: str) -> None:
        """Tell the proxy the ETL lost its transformer here (the ETL's secret says it is
        this cluster's target that tells)."""
        msg = ActMsg("etl-aborted", name=name,
                     value={"reason": reason, "target": self._id, "secret": secret})
        try:
            await self.services.fanout.call(self.services.smap.proxy, "POST",
                                            f"/v1/etl/{name}/_aborted", msg, timeout=5)
        except AISHTTPError as err:  # no proxy yet: it learns from its own start
            log.warning("could not tell the proxy that ETL %s aborted: %s", name, err.message)

    async def stop(self, name: str, reason: str) -> None:
        """Stop this target's transformer of ``name``, if it has one (nothing to do if not)."""
        if (etl := self.etls.get(name)) is not None:
            await self._stop(etl, reason)

    async def delete(self, name: str) -> None:
        """Stop the transformer of ``name`` and forget the ETL."""
        if (etl := self.etls.pop(name, None)) is not None:
            await self._stop(etl, "deleted")

    async def _stop(self, etl: TargetEtl, reason: str) -> None:
        if etl.stage == "Running":
            etl.stage, etl.reason = "Aborted", reason
        self._abort_jobs(etl.spec.name, reason)
        if etl.inline:
            etl.inline.abort(reason)
        await etl.pod.stop()
        await etl.comm.close()

    async def shutdown(self) -> None:
        for task in [*self._jobs, *self._reports]:
            task.cancel()
        await asyncio.gather(*(self._stop(e, "target shutting down") for e in self.etls.values()),
                             return_exceptions=True)

    # --- what it tells ----------------------------------------------------------------------

    def infos(self) -> list[dict]:
        return [e.info() for e in self.etls.values()]

    def details(self, name: str, xid: str) -> dict:
        """The stage, and the per-object errors of job ``xid`` (or of inline transforms)."""
        etl = self.get(name, running=False)
        if xid:
            xact = self.services.xacts.get(xid)
            errors = list(xact.obj_errors) if xact else []
        else:
            errors = list(etl.errors)
        return {"obj_errors": errors, "stage": etl.stage, "reason": etl.reason}

    def logs(self, name: str) -> dict:
        etl = self.get(name, running=False)
        text = "\n".join(etl.pod.logs) + ("\n" if etl.pod.logs else "")
        return {"target_id": self._id, "logs": base64.b64encode(text.encode()).decode()}

    def health(self, name: str) -> dict:
        if (starting := self.starting.get(name)) is not None:
            return starting.health(self._id)
        etl = self.get(name, running=False)
        status = "Running" if etl.pod.running else ("Failed" if etl.reason else "Succeeded")
        return {"target_id": self._id, "health_status": status, "pod_name": etl.pod.name,
                "pid": etl.pod.pid if etl.pod.running else None, "restarts": etl.pod.restarts,
                "started": etl.pod.started}

    def metrics(self, name: str) -> dict:
        cpu, mem = self.get(name, running=False).pod.metrics()
        return {"target_id": self._id, "cpu": cpu, "mem": mem}

    # --- transforms into a destination ------------------------------------------------------

    async def deliver(self, route: Route, bucket: str, obj: str, dst_bucket: str,
                      dst_obj: str) -> tuple[str, int]:
        """Transform ``bucket/obj`` into ``dst_bucket/dst_obj`` on the target that owns it:
        written here (``"loc"``), or put there directly by the (last) transformer, or sent
        there by this target (``"out"``). The kind and the result's size, for the counters."""
        s, etl = self.services, route.etl
        fqn = s.store.fqn(bucket, obj)
        owner = s.smap.owner(dst_bucket, dst_obj)
        local = owner.daemon_id == self._id
        destination = ""
        if not local and etl.spec.direct_put and not route.dry_run:
            destination = (f"{owner.url}/{escaped_uname(dst_bucket, dst_obj)}"
                           f"?{self._put_query(route, dst_bucket, dst_obj)}")
        result = await etl.comm.transform(bucket, obj, fqn, route.args, route.pipeline,
                                          destination, route.timeout)
        if isinstance(result, Delivered):
            return "out", result.size
        if route.dry_run:
            return "loc", len(result)
        if local:
            await s.io(s.store.put_bytes, dst_bucket, dst_obj, result)
            return "loc", len(result)
        await self._send_to(owner, route, dst_bucket, dst_obj, result)
        return "out", len(result)

    def _put_query(self, route: Route, bucket: str, obj: str) -> str:
        """The query of a put into ``bucket/obj`` through the ETL's object access: the job it
        counts for, and a signature that lets it put this object and no other."""
        return f"owt=3&{self.services.fanout.auth.direct_put_query(route.xid, bucket, obj)}"

    async def _send_to(self, owner: Node, route: Route, bucket: str, obj: str,
                       data: bytes) -> None:
        url = (f"{owner.url}{OBJECT_ROUTE}{route.etl.spec.name}/{route.etl.secret}/"
               f"{escaped_uname(bucket, obj)}?{self._put_query(route, bucket, obj)}")
        async with self.services.session.put(url, data=data) as resp:
            if resp.status >= 400:
                text = (await resp.read()).decode(errors="replace")
                raise AISHTTPError(resp.status, f"writing ais://{bucket}/{obj} on "
                                   f"{owner.pretty} failed: {text}")

    # --- offline jobs -----------------------------------------------------------------------

    def start_job(self, xid: str, kind: str, src: str, dst: str, value: Any) -> None:
        """Start this target's share of offline job ``xid`` (``value``: its ``TCBMsg``)."""
        msg = decode_value(value, TCBMsg, "transform message")
        etl = self.get(msg.etl_name)
        route = Route(etl, xid, pipeline=self.pipeline_urls(etl, msg.pipeline), dry_run=msg.dry_run,
                      timeout=msg.transform_timeout)
        xact = self.services.xacts.running_or_new(
            Xaction(xid, kind, src=src, dst=dst, etl=etl.spec.name,
                    pipeline=tuple(msg.pipeline or ())))

        async def deliver(name: str, dst_name: str) -> tuple[str, int]:
            return await self.deliver(route, src, name, dst, dst_name)

        task = start_share(OfflineJob(xact, src, dst, msg), self.services, deliver)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    def _abort_jobs(self, etl_name: str, reason: str) -> None:
        for xact in self.services.xacts.query(running=True):
            if etl_name in (xact.etl, *xact.pipeline) and xact.kind != "etl-inline":
                xact.abort(reason)
