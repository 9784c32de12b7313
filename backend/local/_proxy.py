"""The proxy (gateway): the cluster map, bucket metadata, listings merged across targets, and
redirects of object requests to the owning target."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import random
import shutil
import time
from collections import OrderedDict
from itertools import islice
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
from aiohttp import web

from . import _lso
from ._auth import HEALTH, ClusterAuth
from ._bmd import BucketRegistry
from ._cluster import log_path
from ._errors import (
    AISHTTPError,
    bad_request,
    bucket_exists,
    bucket_not_found,
    job_not_found,
    not_supported,
)
from ._fanout import Fanout
from ._getbatch import buckets_of
from ._getbatch import parse_request as parse_get_batch
from ._http import (
    ActMsg,
    SessionOwner,
    decode_value,
    error_middleware,
    json_response,
    local_only,
    read_actmsg,
    request_checks,
    text_response,
)
from ._names import bck_json, object_path_names, validate_bucket_name
from ._nodelog import log_answer
from ._proxy_etl import ProxyEtls
from ._proxy_jobs import ProxyJobs, bucket_to
from ._smap import ClusterMap, Node, new_uuid
from ._unsupported import (
    action_refused,
    refuse_unsupported_list_flags,
    refuse_unsupported_query,
)
from ._xact import new_xid, parse_query

log = logging.getLogger("aisetl.cluster")
MAX_TRACKED_JOBS = 256
KEEP = {"keep": True}  # create-bck to a target: keep what it has of the bucket (a resync)
JOB_QUERIES = ("qryxstats", "status", "status_all", "running_all")
JOB_ACTIONS = {("POST", "etl-bck"), ("POST", "etl-listrange"), ("POST", "copy-bck"),
               ("POST", "copy-listrange"), ("DELETE", "delete-listrange")}
_page_decoder = msgspec.msgpack.Decoder(_lso.Page)


class Proxy(SessionOwner):
    def __init__(self, smap: ClusterMap, root: Path, auth: ClusterAuth) -> None:
        self.smap, self.node, self.auth = smap, smap.proxy, auth
        self.root = root
        self.bmd = BucketRegistry(root / "bmd.json")
        self._bmd_change = asyncio.Lock()  # one bucket change at a time, on every target
        self.started_ns = time.time_ns()
        self._summaries: OrderedDict[str, asyncio.Task] = OrderedDict()
        self.fanout = Fanout(smap, lambda: self.session, self.node, auth)
        self.etls = ProxyEtls(self.fanout, root)
        self.jobs = ProxyJobs(self.fanout, self.bmd, self._create_bucket)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[error_middleware(self.node.pretty),
                                           request_checks(local_only, self.admit,
                                                          refuse_unsupported_query)])
        r = app.router
        r.add_route("*", "/v1/health", self.health)
        r.add_get("/v1/daemon", self.daemon)
        r.add_get("/v1/cluster", self.cluster)
        r.add_put("/v1/cluster", self.cluster_action)
        r.add_get("/v1/reverse/daemon", self.reverse_daemon)
        r.add_route("*", "/v1/buckets", self.buckets)
        r.add_route("*", "/v1/buckets/", self.buckets)
        r.add_route("*", "/v1/buckets/{bucket}", self.bucket)
        r.add_route("*", "/v1/buckets/{bucket}/{prefix:.*}", self.bucket)
        r.add_route("*", "/v1/objects/{bucket}/{obj:.+}", self.redirect_object)
        r.add_post("/v1/objects/{bucket}", self.objects_action)
        r.add_get("/v1/ml/moss", self.redirect_get_batch)
        r.add_get("/v1/ml/moss/{bucket}", self.redirect_get_batch)
        r.add_route("*", "/v1/download", self.no_jobs_of_a_kind)
        r.add_route("*", "/v1/sort", self.no_jobs_of_a_kind)
        self.etls.add_routes(app)
        app.on_startup.append(self._startup)
        app.on_cleanup.append(self._cleanup)
        return app

    def admit(self, request: web.Request) -> None:
        """The owner's token (unless the cluster is open), or a request from a node; health
        checks are open to all."""
        if request.path != HEALTH and not self.auth.from_node(request, self.smap):
            self.auth.check_owner(request)

    def redirect(self, request: web.Request, node: Node, status: int = 307) -> web.Response:
        """Send the client to ``node``, with a signature it serves this request by."""
        sep = "&" if "?" in request.raw_path else "?"
        query = self.auth.redirect_query(self.node, request.method, request.path)
        return web.Response(status=status,
                            headers={"Location": f"{node.url}{request.raw_path}{sep}{query}"})

    async def _startup(self, _app: web.Application) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=120)
        )
        for bucket in self.bmd.buckets:  # targets re-learn buckets after a crash mid-create
            await self.fanout.broadcast("POST", f"/v1/buckets/{bucket}",
                                        ActMsg("create-bck", value=KEEP))
        self.etls.on_startup()

    async def _cleanup(self, _app: web.Application) -> None:
        for task in self._summaries.values():
            task.cancel()
        await self.session.close()

    # --- node and cluster -------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        uptime = str(time.time_ns() - self.started_ns)
        return web.Response(headers={"Ais-Cluster-Uptime": uptime, "Ais-Node-Uptime": uptime})

    async def daemon(self, request: web.Request) -> web.Response:
        what = request.query.get("what", "")
        if what == "smap":
            return json_response(self.smap.to_json())
        if what == "snode":
            return json_response(self.node.to_json())
        if what == "bmd":
            return json_response(self.bmd_json())
        if what == "node_status":
            return json_response({"snode": self.node.to_json(), "tracker": {}, "status": "online",
                                  "deployment": "embedded", "ais_version": "5.0"})
        if what == "log":
            return log_answer(request, log_path(self.root.parent, self.node))
        raise bad_request(f"unknown what={what!r} for {self.node.pretty}")

    async def cluster(self, request: web.Request) -> web.Response:
        what = request.query.get("what", "")
        if what == "smap":
            return json_response(self.smap.to_json())
        if what == "bmd":
            return json_response(self.bmd_json())
        if what in JOB_QUERIES:
            return json_response(await self.jobs.answer(what, await request.read()))
        if what == "cluster_config":
            return json_response({"auth": {"enabled": False, "intra_cluster": {"enabled": False}},
                                  "features": "0"})
        raise bad_request(f"unknown what={what!r} for GET /v1/cluster")

    async def cluster_action(self, request: web.Request) -> web.Response:
        return text_response(await self.jobs.control(await read_actmsg(request)))

    def bmd_json(self) -> dict:
        return {"version": str(self.bmd.version),
                "providers": {"ais": {"": {b: self.bmd.props(b) for b in self.bmd.buckets}}}}

    async def no_jobs_of_a_kind(self, request: web.Request) -> web.Response:
        """The downloader's and dsort's job lists, which clients (``ais show job``) read
        along with every other kind: the embedded cluster has neither, so a list is empty, a
        job by ID does not exist, and starting or aborting one is refused."""
        what = "downloads" if request.path.endswith("/download") else "dsort jobs"
        if request.method != "GET":
            raise not_supported(f"{request.method} {request.path} ({what})")
        job = request.query.get("uuid") or parse_query(await request.read()).id
        if job:
            raise AISHTTPError(404, f"{what[:-1]} {job} does not exist", "ErrNotFound",
                               by_node=True)
        return json_response([])

    async def reverse_daemon(self, request: web.Request) -> web.Response:
        node_id = request.headers.get("Ais-Node-Id", "")
        node = self.smap.node(node_id)
        if node is None:
            raise AISHTTPError(404, f"node {node_id!r} is not in the cluster map")
        if node is self.node:
            return await self.daemon(request)
        data = await self.fanout.call(node, "GET", f"/v1/daemon?{request.query_string}")
        return web.Response(body=data, content_type="application/json")

    # --- buckets ----------------------------------------------------------------------------

    async def buckets(self, request: web.Request) -> web.Response:
        msg = await read_actmsg(request)
        action = msg.action if msg else "list"
        if request.method == "GET" and action == "list":
            return json_response(self._list_buckets(request))
        if request.method == "GET" and action == "summary-bck":
            return await self.summary(msg, list(self.bmd.buckets))
        raise action_refused(request.method, "/v1/buckets", action)

    def _list_buckets(self, request: web.Request, only: str = "") -> list[dict]:
        if request.query.get("provider", "ais") not in ("", "ais"):
            return []
        return [bck_json(b) for b in sorted(self.bmd.buckets) if not only or b == only]

    def require(self, bucket: str) -> str:
        if bucket not in self.bmd:
            raise bucket_not_found(bucket)
        return bucket

    async def bucket(self, request: web.Request) -> web.Response:
        bucket = request.match_info["bucket"]
        if "prefix" in request.match_info and request.method != "HEAD":
            bucket += "/" + request.match_info["prefix"]  # only HEAD (info) takes a prefix
        validate_bucket_name(bucket)
        if request.query.get("provider", "ais") not in ("", "ais"):
            raise bad_request(f"provider {request.query['provider']!r} is not supported here: "
                              "the embedded cluster has ais:// buckets only")
        if request.method == "HEAD":
            return await self.head_bucket(request, bucket)
        msg = await read_actmsg(request)
        action = msg.action if msg else ""
        if request.method == "POST" and action == "create-bck":
            return await self.create_bucket(bucket)
        if request.method == "POST" and action == "move-bck":
            return text_response(await self.rename_bucket(self.require(bucket),
                                                          bucket_to(request.query)))
        if request.method == "DELETE" and action == "destroy-bck":
            return await self.destroy_bucket(bucket)
        if request.method == "GET" and action == "list":
            if msg is None or msg.value is None:
                return json_response(self._list_buckets(request, only=bucket))
            return await self.list_objects(request, self.require(bucket), msg.value)
        if request.method == "GET" and action == "summary-bck":
            return await self.summary(msg, [self.require(bucket)])
        if (request.method, action) in JOB_ACTIONS:
            assert msg is not None
            check = self.etls.check_transform if action.startswith("etl-") else None
            return text_response(await self.jobs.start(request, self.require(bucket), action,
                                                       msg.value, check))
        if request.method == "PUT" and action == "archive":
            assert msg is not None
            return text_response(await self.jobs.archive(self.require(bucket), msg.value))
        if action in ("evict-listrange", "prefetch-listrange", "evict-remote-bck"):
            what = "evict-remote-bck" if action.startswith("evict") else action
            raise bad_request(f"{what}: expecting remote bucket (have ais://{bucket})")
        raise action_refused(request.method, f"ais://{bucket}", action)

    async def create_bucket(self, bucket: str) -> web.Response:
        await self._create_bucket(bucket)
        return web.Response()

    async def _create_bucket(self, bucket: str) -> None:
        """Bucket changes are ordered, as AIStore's BMD versions are: each one is done on
        every target before the next starts (creates racing destroys of a name would
        otherwise reach the targets in different orders and leave them disagreeing). Each
        target starts a created bucket empty: a part of an earlier one it kept (it missed
        the destroy) never comes back."""
        async with self._bmd_change:
            if bucket in self.bmd:
                raise bucket_exists(bucket)
            await self.fanout.broadcast("POST", f"/v1/buckets/{bucket}", ActMsg("create-bck"))
            self.bmd.add(bucket)
        log.info("created bucket ais://%s", bucket)

    async def rename_bucket(self, bucket: str, to: str) -> str:
        """``move-bck``: every target renames its part of the bucket, then a job moves each
        object whose owner is another target under the new name (the placement follows the
        bucket's name) there. The job's ID."""
        async with self._bmd_change:
            self.require(bucket)
            if to in self.bmd:
                raise bucket_exists(to)
            await self.fanout.broadcast("POST", f"/v1/buckets/{bucket}",
                                        ActMsg("move-bck", value={"to": to}))
            self.bmd.rename(bucket, to)
        log.info("renamed bucket ais://%s to ais://%s", bucket, to)
        xid = new_xid()
        await self.fanout.broadcast("POST", "/v1/xactions", {
            "xid": xid, "kind": "move-bck", "src": to, "dst": "", "msg": {}})
        return xid

    async def destroy_bucket(self, bucket: str) -> web.Response:
        async with self._bmd_change:
            self.bmd.remove(self.require(bucket))
            await self.fanout.broadcast("DELETE", f"/v1/buckets/{bucket}",
                                        ActMsg("destroy-bck"))
        log.info("destroyed bucket ais://%s", bucket)
        return web.Response()

    async def head_bucket(self, request: web.Request, bucket: str) -> web.Response:
        self.require(bucket)
        headers = {"Ais-Bucket-Props": json.dumps(self.bmd.props(bucket))}
        if "bsumm_remote" not in request.query:
            return web.Response(headers=headers)
        xid = request.query.get("uuid", "")
        if not xid:
            prefix = request.match_info.get("prefix", "")
            xid = self._start_summary([bucket], prefix)
            return web.Response(status=202, headers={**headers, "Ais-Xaction-Id": xid})
        result = self._summary_result(xid)
        if result is None:
            return web.Response(status=202, headers=headers)
        return web.Response(headers={**headers, "Ais-Bucket-Summ": json.dumps(result[0])})

    # --- summaries --------------------------------------------------------------------------

    async def summary(self, msg: ActMsg | None, buckets: list[str]) -> web.Response:
        value = (msg.value if msg else None) or {}
        if not isinstance(value, dict):
            raise bad_request("summary-bck: the message value must be a JSON object")
        xid = str(value.get("uuid") or "")
        if not xid:
            return text_response(self._start_summary(buckets, str(value.get("prefix") or "")), 202)
        result = self._summary_result(xid)
        return json_response(result) if result is not None else text_response(xid, 202)

    def _start_summary(self, buckets: list[str], prefix: str) -> str:
        xid = new_uuid()
        self._summaries[xid] = asyncio.ensure_future(self._summarize(buckets, prefix))
        while len(self._summaries) > MAX_TRACKED_JOBS:
            self._summaries.popitem(last=False)[1].cancel()
        return xid

    def _summary_result(self, xid: str) -> list[dict] | None:
        task = self._summaries.get(xid)
        if task is None:
            raise job_not_found(xid)
        if not task.done():
            return None
        return task.result()

    async def _summarize(self, buckets: list[str], prefix: str) -> list[dict]:
        usage = shutil.disk_usage(self.root)
        out = []
        for bucket in buckets:
            msg = ActMsg("summary-bck", value={"prefix": prefix})
            replies = await self.fanout.broadcast("GET", f"/v1/buckets/{bucket}", msg)
            totals = [json.loads(r) for r in replies]
            count = sum(t["count"] for t in totals)
            size = sum(t["size"] for t in totals)
            mins = [t["min"] for t in totals if t["count"]]
            out.append({
                **bck_json(bucket),
                "ObjCount": {"obj_count_present": str(count), "obj_count_remote": "0"},
                "ObjSize": {"obj_min_size": min(mins, default=0),
                            "obj_avg_size": size // count if count else 0,
                            "obj_max_size": max((t["max"] for t in totals), default=0)},
                "TotalSize": {"size_on_disk": str(size), "size_all_present_objs": str(size),
                              "size_all_remote_objs": "0", "total_disks_size": str(usage.total)},
                "used_pct": size * 100 // usage.total if usage.total else 0,
                "is_present": True,
            })
        return out

    # --- objects ----------------------------------------------------------------------------

    async def list_objects(self, request: web.Request, bucket: str, value: Any) -> web.Response:
        lso = decode_value(value, _lso.LsoMsg, "list-objects message")
        refuse_unsupported_list_flags(lso.flag_bits)
        msg = ActMsg("list", value=msgspec.to_builtins(lso))
        replies = await self.fanout.broadcast("GET", f"/v1/buckets/{bucket}", msg)
        pages = [_page_decoder.decode(r).entries for r in replies]
        size = lso.page_size
        merged = heapq.merge(*pages, key=lambda e: e.n)
        # a virtual directory (non-recursive listing) comes from every target that has it
        unique = (next(group) for _, group in itertools.groupby(merged, key=lambda e: e.n))
        entries = list(islice(unique, size))
        token = entries[-1].n if len(entries) == size else ""
        as_msgpack = "msgpack" in request.headers.get("Accept", "")
        body = _lso.response_body(lso.uuid or new_uuid(), token, entries, as_msgpack)
        ctype = "application/msgpack" if as_msgpack else "application/json"
        return web.Response(body=body, content_type=ctype)

    async def redirect_get_batch(self, request: web.Request) -> web.Response:
        """get-batch: every bucket it reads must exist; a target picked at random gathers
        and writes the archive (AIStore's "designated target")."""
        req = parse_get_batch(await request.read(), request.match_info.get("bucket", ""))
        for bucket in sorted(buckets_of(req)):
            self.require(bucket)
        return self.redirect(request, random.choice(self.smap.targets))

    async def objects_action(self, request: web.Request) -> web.Response:
        """``POST /v1/objects/<bucket>``: ``promote`` (files into objects)."""
        bucket = self.require(validate_bucket_name(request.match_info["bucket"]))
        msg = await read_actmsg(request)
        if msg is None or msg.action != "promote":
            raise action_refused("POST", f"/v1/objects/{bucket}", msg.action if msg else "")
        return text_response(await self.jobs.promote(bucket, msg.value))

    async def redirect_object(self, request: web.Request) -> web.Response:
        bucket, obj = object_path_names(request.raw_path)
        self.require(bucket)
        return self.redirect(request, self.smap.owner(bucket, obj),
                             301 if request.method == "GET" else 307)
