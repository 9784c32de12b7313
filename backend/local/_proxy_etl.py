"""The proxy's ETL endpoints (AIStore's ``ais/prxetl.go``): the ETL metadata (etlMD),
init/stop/start/delete across all targets, merged views, and the start of offline transforms.
A target that fails a request fails it for the whole cluster, naming that target."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import string
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import msgspec
from aiohttp import web

from ._errors import AISHTTPError, bad_request
from ._fanout import Fanout
from ._fs import write_atomic
from ._http import json_response, read_body, text_response
from ._tcb import TCBMsg
from ._xact import new_xid
from .etl._msgs import etl_not_found, parse_init_msg

log = logging.getLogger("aisetl.cluster")

INIT_SLACK = 120.0  # beyond init_timeout: installing dependencies, starting processes


def _secret() -> str:
    return "".join(secrets.choice(string.ascii_letters) for _ in range(10))


class AbortValue(msgspec.Struct):
    reason: str = ""
    target: str = ""
    secret: str = ""


class AbortReport(msgspec.Struct):
    """What a target sends when its transformer of an ETL died (an ``etl-aborted`` action)."""

    value: AbortValue = msgspec.field(default_factory=AbortValue)


class ProxyEtls:
    def __init__(self, fanout: Fanout, root: Path) -> None:
        self.fanout = fanout
        self._path = root / "etl.json"
        self.md: dict[str, dict[str, Any]] = {}
        if self._path.exists():
            self.md = json.loads(self._path.read_text())
        self._locks: dict[str, asyncio.Lock] = {}

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_put("/v1/etl", self.init)
        r.add_get("/v1/etl", self.list)
        r.add_get("/v1/etl/{name}", self.details)
        r.add_delete("/v1/etl/{name}", self.delete)
        r.add_post("/v1/etl/{name}/start", self.start)
        r.add_post("/v1/etl/{name}/stop", self.stop)
        r.add_post("/v1/etl/{name}/_aborted", self.aborted)
        r.add_get("/v1/etl/{name}/logs", self.logs)
        r.add_get("/v1/etl/{name}/logs/{target}", self.logs)
        r.add_get("/v1/etl/{name}/health", self.per_target)
        r.add_get("/v1/etl/{name}/metrics", self.per_target)

    def on_startup(self) -> None:
        """Transformers do not survive a cluster restart; say so rather than pretend."""
        changed = False
        for entry in self.md.values():
            if entry["stage"] != "Aborted":
                entry.update(stage="Aborted", reason="the cluster restarted; start the ETL again")
                changed = True
        if changed:
            self._save()

    def _save(self) -> None:
        write_atomic(self._path, json.dumps(self.md, indent=1).encode())

    def _lock(self, name: str) -> asyncio.Lock:
        return self._locks.setdefault(name, asyncio.Lock())

    def entry(self, name: str) -> dict[str, Any]:
        if name not in self.md:
            raise etl_not_found(name)
        return self.md[name]

    def require_running(self, name: str) -> dict[str, Any]:
        entry = self.entry(name)
        if entry["stage"] != "Running":
            raise AISHTTPError(404, f"etl job {name} is not running (stage {entry['stage']})",
                               "ErrNotFound")
        return entry

    # --- lifecycle --------------------------------------------------------------------------

    async def init(self, request: web.Request) -> web.Response:
        msg = await read_body(request, Any, "ETL init message")
        spec = parse_init_msg(msg)
        async with self._lock(spec.name):
            if spec.name in self.md:
                raise AISHTTPError(409, f"etl job {spec.name} already exists", by_node=True)
            self.md[spec.name] = {"msg": msg, "stage": "Initializing", "xid": "", "reason": ""}
            xid = await self._start_everywhere(spec.name, spec.init_timeout)
        return text_response(xid)

    async def _start_everywhere(self, name: str, init_timeout: float) -> str:
        entry = self.md[name]
        entry.update(stage="Initializing", xid=new_xid("etl-"), secret=_secret(), reason="")
        self._save()
        body = {"msg": entry["msg"], "xid": entry["xid"], "secret": entry["secret"]}
        try:
            await self.fanout.broadcast("PUT", "/v1/etl", body, timeout=init_timeout + INIT_SLACK)
        except AISHTTPError as err:
            entry.update(stage="Aborted", reason=err.message)
            self._save()
            try:
                await self._stop_targets(name, "init failed")
            except AISHTTPError as stop_err:  # the init's own failure is the one to answer
                log.warning("after a failed init of ETL %s: %s", name, stop_err.message)
            raise
        entry["stage"] = "Running"
        self._save()
        log.info("ETL %s running on every target (%s)", name, entry["xid"])
        return entry["xid"]

    async def _stop_targets(self, name: str, reason: str) -> None:
        """Every target stops its transformer of ``name``; any that cannot fails the call."""
        await self.fanout.broadcast("POST", f"/v1/etl/{name}/stop?" + urlencode({"reason": reason}))

    async def stop(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        async with self._lock(name):
            entry = self.entry(name)
            try:
                await self._stop_targets(name, "user abort")
            finally:  # stopped where it could be: not running any more
                if entry["stage"] != "Aborted":
                    entry.update(stage="Aborted", reason="user abort")
                self._save()
                log.info("ETL %s stopped", name)
        return web.Response()

    async def start(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        async with self._lock(name):
            entry = self.entry(name)
            if entry["stage"] != "Aborted":
                raise bad_request(f"can't start ETL[{name}] during {entry['stage']} stage")
            spec = parse_init_msg(entry["msg"])
            xid = await self._start_everywhere(name, spec.init_timeout)
        return text_response(xid)

    async def delete(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        async with self._lock(name):
            self.entry(name)
            await self.fanout.broadcast("DELETE", f"/v1/etl/{name}")
            del self.md[name]
            self._save()
        return web.Response()

    async def aborted(self, request: web.Request) -> web.Response:
        """A target's transformer died: the ETL is Aborted cluster-wide, with the reason."""
        name = request.match_info["name"]
        report = await read_body(request, AbortReport, "ETL abort report")
        value = report.value
        entry = self.md.get(name)
        if entry is not None and value.secret != entry.get("secret"):
            raise AISHTTPError(403, f"etl job {name}: only its own targets report it aborted")
        if entry is not None and entry["stage"] == "Running":
            entry.update(stage="Aborted", reason=value.reason or "transformer failed")
            self._save()
            await self._stop_targets(name, entry["reason"].splitlines()[0])  # the root cause
        return web.Response()

    # --- views ------------------------------------------------------------------------------

    async def list(self, _request: web.Request) -> web.Response:
        per_target = await self.fanout.broadcast_json("GET", "/v1/etl")
        out = []
        for name in sorted(self.md):
            entry = self.md[name]
            reported = [i for infos in per_target for i in infos
                        if i["id"] == name and i["xaction_id"] == entry.get("xid", "")]
            if not reported:  # as AIStore: what no target reports, the proxy's metadata says
                out.append({"id": name, "stage": entry["stage"]})
                continue
            info = {"id": name, "stage": entry["stage"], "xaction_id": entry.get("xid", ""),
                    "obj_count": 0, "in_bytes": 0, "out_bytes": 0}
            for i in reported:  # summed: AIStore shows the last target's counts only
                for key in ("obj_count", "in_bytes", "out_bytes"):
                    info[key] += i[key]
            out.append(info)
        return json_response(out)

    async def details(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        entry = self.entry(name)
        uuid = request.query.get("uuid", "")
        replies = await self.fanout.broadcast_json("GET", f"/v1/etl/{name}?"
                                                   + urlencode({"uuid": uuid}), missing_ok=True)
        errors = [e for r in replies for e in r["obj_errors"]]
        msg = entry["msg"]
        if "runtime" in msg:  # AIStore's ETLSpecMsg as it keeps it: resources always there
            msg = {"resources": {}, **msg}
        out: dict[str, Any] = {"init_msg": msg, "stage": entry["stage"],
                               "reason": entry.get("reason", "")}
        if errors:
            out["obj_errors"] = errors
        return json_response(out)

    async def logs(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.entry(name)
        wanted = request.match_info.get("target")
        targets = [t for t in self.fanout.smap.targets if not wanted or t.daemon_id == wanted]
        if not targets:
            raise AISHTTPError(404, f"target {wanted} is not in the cluster map")
        return json_response(await self.fanout.broadcast_json(
            "GET", f"/v1/etl/{name}/logs", targets=targets, missing_ok=True))

    async def per_target(self, request: web.Request) -> web.Response:
        """``/health`` and ``/metrics``: one entry per target, sorted by target ID."""
        name = request.match_info["name"]
        self.entry(name)
        what = request.path.rsplit("/", 1)[1]
        out = await self.fanout.broadcast_json("GET", f"/v1/etl/{name}/{what}", missing_ok=True)
        return json_response(sorted(out, key=lambda e: e["target_id"]))

    # --- offline transforms -----------------------------------------------------------------

    def check_transform(self, action: str, msg: TCBMsg) -> None:
        """An offline transform's ETL (and its pipeline's) must be running."""
        if not msg.etl_name:
            raise bad_request(f"{action}: the ETL name (id) is required")
        for name in [msg.etl_name, *(msg.pipeline or [])]:
            self.require_running(name)
