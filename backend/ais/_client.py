"""The async AIStore client: one ``httpx.AsyncClient``, a timeout on every call, and every
failure raised as an :class:`~backend.ais.AisError` with a readable message."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from .._goduration import duration_value
from . import _wire
from ._errors import AisError, ApiError, ConnectionFailed, NotFound, ReadOnly, api_error
from ._models import (
    BucketInfo,
    BucketSummary,
    ClusterMap,
    EtlDetails,
    EtlInfo,
    EtlLogs,
    EtlPod,
    JobSnap,
    JobStatus,
    ObjectPage,
)

CONNECT_TIMEOUT = 3.0
MAX_REDIRECTS = 5
CHUNK = 256 * 1024
ETL_TIMEOUT = 300.0  # init and start wait for every transformer to become ready
ETL_STOP_TIMEOUT = 120.0
ABORTED_JOBS_READ = 8  # recent aborted inline jobs searched for an aborted ETL's reason
_REDIRECTS = (301, 302, 303, 307, 308)
_JSON = {"Content-Type": "application/json"}
# multi-object jobs of which AIStore keeps no central status (not "IC" kinds): the
# transforms and copies of a list or range of objects
_UNTRACKED_KINDS = ("copy-listrange", "etl-listrange")

Params = Mapping[str, str]


def _origin(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"


def _bucket_path(bucket: str) -> str:
    return f"/v1/buckets/{quote(bucket, safe='')}"


def _object_path(bucket: str, name: str) -> str:
    return f"/v1/objects/{quote(bucket, safe='')}/{quote(name, safe='/')}"


def _tcb_value(etl: str, ext: dict[str, str] | None, prepend: str, dry_run: bool,
               continue_on_error: bool, num_workers: int,
               pipeline: Sequence[str]) -> dict[str, Any]:
    """What a transform job's message (``apc.TCBMsg``) says, as the ``ais`` CLI sends it."""
    value: dict[str, Any] = {"id": etl, "prepend": prepend, "dry_run": dry_run, "force": False,
                             "latest-ver": False, "synchronize": False}
    if ext:
        value["ext"] = ext
    if num_workers:
        value["num-workers"] = num_workers
    if continue_on_error:
        value["coer"] = True
    if pipeline:
        value["pipeline"] = list(pipeline)
    return value


def _act(action: str, value: Any = None, name: str = "") -> bytes:
    """An action message (``apc.ActMsg``), the JSON body of most control requests."""
    return msgspec.json.encode({"action": action, "name": name, "value": value})


def _json(resp: httpx.Response) -> Any:
    try:
        return msgspec.json.decode(resp.content)
    except msgspec.DecodeError:
        snippet = resp.text.strip()[:100]
        raise AisError(f"unexpected answer from {_origin(resp.url)} to {resp.request.method} "
                       f"{resp.url.path}: not JSON ({snippet!r})") from None


def _connect_cause(err: BaseException) -> str:
    """Why a connection failed, from the innermost error (httpx wraps the OS's)."""
    inner: BaseException | None = err
    while inner is not None:
        if isinstance(inner, ConnectionRefusedError):
            return "connection refused"
        if isinstance(inner, socket.gaierror):
            return f"unknown host ({inner.strerror or inner})"
        if isinstance(inner, OSError) and inner.errno is not None:
            return f"connection failed ({inner.strerror or inner})"
        inner = inner.__cause__ or inner.__context__
    return f"connection failed ({str(err) or type(err).__name__})"


@contextlib.contextmanager
def _network_errors(url: httpx.URL, read_timeout: float | None) -> Iterator[None]:
    """httpx's transport errors as :class:`ConnectionFailed` naming the endpoint and cause."""
    where = _origin(url)
    try:
        yield
    except httpx.ConnectTimeout:
        raise ConnectionFailed(f"cannot reach {where}: connection timed out "
                               f"after {CONNECT_TIMEOUT:g}s") from None
    except httpx.ConnectError as err:
        raise ConnectionFailed(f"cannot reach {where}: {_connect_cause(err)}") from None
    except httpx.ReadTimeout:
        raise ConnectionFailed(f"{where} did not answer within {read_timeout:g}s "
                               "(read timeout)") from None
    except httpx.WriteTimeout:
        raise ConnectionFailed(f"sending to {where} timed out") from None
    except httpx.PoolTimeout:
        raise ConnectionFailed(f"too many requests in flight to {where} (no free connection "
                               f"within {read_timeout:g}s)") from None
    except httpx.RemoteProtocolError as err:
        raise ConnectionFailed(f"{where} closed the connection unexpectedly ({err})") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as err:
        raise AisError(f"invalid URL {str(url)!r}: {err}") from None
    except httpx.TransportError as err:
        # an httpx error's text may be empty: then at least its kind (ReadError, ...)
        raise ConnectionFailed(f"connection to {where} failed: "
                               f"{str(err) or type(err).__name__}") from None


class AisClient:
    """An async client of one AIStore cluster (any proxy's URL as ``endpoint``).

    ``timeout`` bounds every call: 3 s to connect, ``timeout`` for each read (ETL init and
    start wait longer, see their arguments). Use as ``async with AisClient(url) as c:`` or
    call :meth:`aclose`.
    """

    def __init__(self, endpoint: str, token: str | None = None, timeout: float = 10.0, *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 readonly: bool = False) -> None:
        """``readonly``: only GET and HEAD go out; any other request is refused here
        (:class:`ReadOnly`), so no path in the app can change the cluster."""
        endpoint = endpoint.strip().rstrip("/")
        if "://" not in endpoint:
            endpoint = f"http://{endpoint}"
        self.endpoint = endpoint
        self.timeout = timeout
        self.readonly = readonly
        self._token = token
        headers = {"User-Agent": "aisetl-tui"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=self._timeout(timeout),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            follow_redirects=False,
            transport=transport,
        )

    def twin(self) -> AisClient:
        """A new client of the same cluster, token and limits, with connections of its own
        (for another thread's event loop)."""
        return AisClient(self.endpoint, self._token, self.timeout, readonly=self.readonly)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AisClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AisClient({self.endpoint!r})"

    # --- plumbing ---------------------------------------------------------------------------

    @staticmethod
    def _timeout(read: float) -> httpx.Timeout:
        return httpx.Timeout(read, connect=min(CONNECT_TIMEOUT, read))

    async def _send(self, method: str, path_or_url: str | httpx.URL, *,
                    params: Params | None = None, body: Any = None,
                    headers: Mapping[str, str] | None = None, timeout: float | None = None,
                    follow: bool = False, stream: bool = False) -> httpx.Response:
        """One request; with ``follow`` also its redirects (same method, body and headers,
        the token included as far as the target, as AIStore's own clients do, and never to
        the transformer an inline transform redirects to: it runs user code). Error answers raise
        :class:`ApiError`; with ``stream`` the body is left unread."""
        if self.readonly and method not in ("GET", "HEAD"):
            raise ReadOnly(f"read-only: {method} {path_or_url} changes the cluster, and the app "
                           "was started with --readonly")
        read = timeout if timeout is not None else self.timeout
        url = httpx.URL(self.endpoint + path_or_url if isinstance(path_or_url, str)
                        else path_or_url)
        for hop in range(MAX_REDIRECTS + 1):
            with _network_errors(url, read):
                request = self._http.build_request(method, url, params=params, content=body,
                                                   headers=headers, timeout=self._timeout(read))
                if hop > 1:  # past the target the proxy sent us to: a transformer's own server
                    request.headers.pop("Authorization", None)
                resp = await self._http.send(request, stream=True)
            if follow and resp.status_code in _REDIRECTS and "location" in resp.headers:
                await resp.aclose()
                url, params = resp.url.join(resp.headers["location"]), None
                continue
            if resp.status_code >= 400:
                with _network_errors(url, read):
                    try:
                        await resp.aread()
                    finally:
                        await resp.aclose()
                raise api_error(resp.status_code, resp.content, resp.headers, resp.reason_phrase,
                                token_sent="Authorization" in self._http.headers,
                                request=f"{method} {url.path}")
            if not stream:
                with _network_errors(url, read):
                    try:
                        await resp.aread()
                    finally:
                        await resp.aclose()
            return resp
        raise AisError(f"too many redirects ({MAX_REDIRECTS}) for {method} {url}")

    async def _read_capped(self, resp: httpx.Response, max_bytes: int | None,
                           timeout: float | None) -> bytes:
        """The body of a streamed response, at most ``max_bytes`` of it."""
        chunks: list[bytes] = []
        size = 0
        read = timeout if timeout is not None else self.timeout
        with _network_errors(resp.url, read):
            try:
                async for chunk in resp.aiter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if max_bytes is not None and size >= max_bytes:
                        break
            finally:
                await resp.aclose()
        data = b"".join(chunks)
        return data[:max_bytes] if max_bytes is not None else data

    async def _put(self, path: str, params: Params, body: Callable[[], Any] | None,
                   length: int, timeout: float | None = None) -> httpx.Response:
        """PUT through the proxy's 307 without sending the body twice: an empty request to the
        proxy, then the body to the target it names (or again to the proxy if it answered)."""
        resp = await self._send("PUT", path, params=params, body=b"", timeout=timeout)
        if resp.status_code in _REDIRECTS and "location" in resp.headers:
            url = resp.url.join(resp.headers["location"])
        elif length == 0 or body is None:
            return resp
        else:  # the proxy stored the (empty) object itself: send the data the same way
            url = resp.url
        headers = {"Content-Length": str(length), "Content-Type": "application/octet-stream"}
        return await self._send("PUT", url, body=body() if body else b"", headers=headers,
                                timeout=timeout)

    # --- cluster ----------------------------------------------------------------------------

    async def cluster_map(self) -> ClusterMap:
        resp = await self._send("GET", "/v1/daemon", params={"what": "smap"})
        return _wire.cluster_map(_json(resp))

    async def deployment(self) -> str:
        """How the proxy says it is deployed (``K8s``, ``dev``…; ``embedded`` for this
        project's cluster), or "" when it does not say."""
        resp = await self._send("GET", "/v1/daemon", params={"what": "node_status"})
        status = _json(resp)
        return str(status.get("deployment") or "") if isinstance(status, dict) else ""

    async def health(self) -> bool:
        """True if the proxy answers ``GET /v1/health`` with 200; never raises
        :class:`AisError`."""
        try:
            resp = await self._send("GET", "/v1/health")
        except AisError:
            return False
        return resp.status_code == 200

    # --- buckets ----------------------------------------------------------------------------

    async def list_buckets(self) -> list[BucketInfo]:
        resp = await self._send("GET", "/v1/buckets", params={"provider": "ais"},
                                body=_act("list"), headers=_JSON)
        return [BucketInfo(str(b.get("name", "")), str(b.get("provider") or "ais"))
                for b in _json(resp) or ()]

    async def create_bucket(self, name: str) -> None:
        await self._send("POST", _bucket_path(name), params={"provider": "ais"},
                         body=_act("create-bck"), headers=_JSON)

    async def destroy_bucket(self, name: str) -> None:
        await self._send("DELETE", _bucket_path(name), params={"provider": "ais"},
                         body=_act("destroy-bck"), headers=_JSON)

    async def bucket_summary(self, name: str, prefix: str = "") -> BucketSummary:
        """Object count and size (``summary-bck``): start the job, then poll it until done,
        for at most the client's timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        value = {"uuid": "", "prefix": prefix, "cached": True, "present": True,
                 "dont_add_remote": False}
        delay = 0.02
        while True:
            resp = await self._send("GET", _bucket_path(name), params={"provider": "ais"},
                                    body=_act("summary-bck", value), headers=_JSON)
            if resp.status_code == 200:
                break
            if not value["uuid"]:  # 202 with the job ID as plain text
                value["uuid"] = resp.headers.get("Ais-Xaction-Id") or resp.text.strip()
            if loop.time() + delay > deadline:
                raise AisError(f"the summary of ais://{name} did not finish within "
                               f"{self.timeout:g}s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)
        results = _json(resp)
        if isinstance(results, dict):
            results = [results]
        entry = next((r for r in results if r.get("name") == name), results[0] if results else {})
        counts, sizes = entry.get("ObjCount") or {}, entry.get("TotalSize") or {}
        return BucketSummary(name, _wire.to_int(counts.get("obj_count_present")),
                             _wire.to_int(sizes.get("size_all_present_objs")))

    async def list_objects(self, bucket: str, prefix: str = "", page_size: int = 1000,
                           token: str = "", uuid: str = "",
                           props: str = "name,size") -> ObjectPage:
        """One page; pass the returned ``token`` and ``uuid`` back for the next one."""
        value = {"uuid": uuid, "continuation_token": token, "prefix": prefix, "props": props,
                 "pagesize": page_size, "flags": "0"}
        resp = await self._send("GET", _bucket_path(bucket), params={"provider": "ais"},
                                body=_act("list", value),
                                headers={**_JSON, "Accept": "application/msgpack"})
        try:
            return _wire.object_page(resp.content, resp.headers.get("Content-Type", ""))
        except ValueError as err:
            raise AisError(f"listing ais://{bucket}: {err}") from None

    # --- objects ----------------------------------------------------------------------------

    async def put_file(self, bucket: str, name: str, path: Path,
                       progress: Callable[[int], None] | None = None) -> None:
        """Upload a file, streamed in chunks; ``progress(bytes_sent_so_far)`` after each."""
        path = Path(path)
        try:
            size = (await asyncio.to_thread(path.stat)).st_size
            f = await asyncio.to_thread(path.open, "rb")
        except OSError as err:
            raise AisError(f"cannot read {path}: {err.strerror or err}") from None

        async def chunks() -> AsyncIterator[bytes]:
            sent = 0
            while chunk := await asyncio.to_thread(f.read, CHUNK):
                yield chunk
                sent += len(chunk)
                if progress is not None:
                    progress(sent)
            if sent != size:
                raise AisError(f"{path} changed size while being uploaded "
                               f"({size} bytes expected, {sent} read)")

        try:
            await self._put(_object_path(bucket, name), {"provider": "ais"}, chunks, size)
        finally:
            await asyncio.to_thread(f.close)

    async def put_bytes(self, bucket: str, name: str, data: bytes) -> None:
        await self._put(_object_path(bucket, name), {"provider": "ais"}, lambda: data,
                        len(data))

    async def get_object(self, bucket: str, name: str, max_bytes: int | None = None,
                         offset: int = 0) -> bytes:
        """The object, or only ``max_bytes`` of it from ``offset`` (a range request)."""
        if max_bytes is not None and max_bytes <= 0:
            return b""
        headers = ({"Range": f"bytes={offset}-{offset + max_bytes - 1}"}
                   if max_bytes is not None else
                   {"Range": f"bytes={offset}-"} if offset else None)
        try:
            resp = await self._send("GET", _object_path(bucket, name),
                                    params={"provider": "ais"}, headers=headers, follow=True,
                                    stream=True)
        except ApiError as err:
            if err.status == 416:  # a range of an empty object
                return b""
            raise
        return await self._read_capped(resp, max_bytes, None)

    async def head_object(self, bucket: str, name: str) -> dict[str, str]:
        """The object's ``Ais-*`` properties (checksum, version, atime, ...) and ``size``."""
        resp = await self._send("HEAD", _object_path(bucket, name), params={"provider": "ais"},
                                follow=True)
        props = {"-".join(p.capitalize() for p in key.split("-")): value
                 for key, value in resp.headers.items() if key.lower().startswith("ais-")}
        props["size"] = resp.headers.get("Content-Length", "0")
        return props

    async def delete_object(self, bucket: str, name: str) -> None:
        await self._send("DELETE", _object_path(bucket, name), params={"provider": "ais"},
                         follow=True)

    # --- ETL --------------------------------------------------------------------------------

    async def list_etls(self) -> list[EtlInfo]:
        resp = await self._send("GET", "/v1/etl")
        return [_wire.etl_info(e) for e in _json(resp) or ()]

    async def etl_details(self, name: str, job_id: str = "") -> EtlDetails:
        """The init message and errors of an ETL: inline errors, or a job's with ``job_id``.

        AIStore's targets forget an ETL once it is aborted (a transformer crashed), and then
        its details are a 404; what is left is its stage in the list and, as the reason, the
        error its inline job was aborted with (the init message is unknown then).
        """
        params = {"uuid": job_id} if job_id else None
        try:
            raw = _json(await self._send("GET", f"/v1/etl/{quote(name, safe='')}",
                                         params=params))
        except NotFound:
            listed = next((e for e in await self.list_etls() if e.name == name), None)
            if job_id or listed is None or listed.stage != "Aborted":
                raise
            return EtlDetails(name, {}, listed.stage, await self._abort_reason(name))
        stage = ""
        if not raw.get("stage"):  # AIStore itself says it only in the list
            stage = next((e.stage for e in await self.list_etls() if e.name == name), "")
        return _wire.etl_details(name, raw, stage)

    async def _abort_reason(self, name: str) -> str:
        """The error of the latest aborted inline job of ETL ``name``: AIStore's ErrETL names
        the pod (``pod="<name>-<target id>"``), which ties the job to the ETL."""
        pod = re.compile(rf'pod="{re.escape(name)}-[a-z0-9]+"')
        aborted = [j for j in await self.list_jobs(kind="etl-inline") if j.aborted and j.ended]
        for job in sorted(aborted, key=lambda j: j.ended, reverse=True)[:ABORTED_JOBS_READ]:
            err = (await self.job_status(job.xid)).err
            if pod.search(err):
                return err
        return ""

    async def init_etl(self, msg: dict[str, Any], timeout: float = ETL_TIMEOUT) -> str:
        """Start an ETL (its transformers on every target); returns its xid.

        Waits ``timeout``, or longer if the message's ``init_timeout`` is longer.
        """
        with contextlib.suppress(ValueError, TypeError):
            timeout = max(timeout, duration_value(msg.get("init_timeout")) + 30)
        resp = await self._send("PUT", "/v1/etl", body=msgspec.json.encode(msg), headers=_JSON,
                                timeout=timeout)
        return resp.text.strip()

    async def stop_etl(self, name: str, *, timeout: float = ETL_STOP_TIMEOUT) -> None:
        await self._send("POST", f"/v1/etl/{quote(name, safe='')}/stop", timeout=timeout)

    async def start_etl(self, name: str, *, timeout: float = ETL_TIMEOUT) -> str:
        """Restart a stopped ETL; returns its new xid."""
        resp = await self._send("POST", f"/v1/etl/{quote(name, safe='')}/start",
                                timeout=timeout)
        return resp.text.strip()

    async def delete_etl(self, name: str, *, timeout: float = ETL_STOP_TIMEOUT) -> None:
        await self._send("DELETE", f"/v1/etl/{quote(name, safe='')}", timeout=timeout)

    async def etl_logs(self, name: str, target_id: str = "") -> list[EtlLogs]:
        path = f"/v1/etl/{quote(name, safe='')}/logs"
        if target_id:
            path += f"/{quote(target_id, safe='')}"
        return _wire.etl_logs(_json(await self._send("GET", path)))

    async def etl_pods(self, name: str) -> list[EtlPod]:
        """Each target's transformer: health, and CPU/memory when metrics are available."""
        base = f"/v1/etl/{quote(name, safe='')}"
        health, metrics = await asyncio.gather(self._send("GET", f"{base}/health"),
                                               self._send("GET", f"{base}/metrics"),
                                               return_exceptions=True)
        if isinstance(health, BaseException):
            raise health
        metrics_json = None
        if isinstance(metrics, httpx.Response):
            with contextlib.suppress(AisError):
                metrics_json = _json(metrics)
        elif not isinstance(metrics, AisError):
            raise metrics
        return _wire.etl_pods(name, _json(health), metrics_json)

    async def transform_object(self, bucket: str, name: str, etl: str, args: str = "",
                               max_bytes: int | None = None, *, pipeline: Sequence[str] = (),
                               timeout: float | None = None) -> bytes:
        """The object as the ETL (then the ``pipeline``'s ETLs) transforms it (inline; hpull's
        redirect to the transformer is followed). ``timeout`` overrides the client's read
        timeout for slow transforms."""
        params = _etl_params(etl, args, pipeline)
        resp = await self._send("GET", _object_path(bucket, name), params=params, follow=True,
                                stream=True, timeout=timeout)
        return await self._read_capped(resp, max_bytes, timeout)

    async def copy_transformed(self, bucket: str, name: str, etl: str, dst_bucket: str,
                               dst_name: str, args: str = "", *, pipeline: Sequence[str] = (),
                               timeout: float | None = None) -> None:
        """Transform one object into ``ais://dst_bucket/dst_name`` (synchronously)."""
        params = {**_etl_params(etl, args, pipeline),
                  "object_to": f"ais/@#/{dst_bucket}/{dst_name}", "latest-ver": "false",
                  "synchronize": "false"}
        await self._put(_object_path(bucket, name), params, None, 0, timeout)

    async def start_bucket_transform(self, src: str, dst: str, etl: str, *,
                                     ext: dict[str, str] | None = None, prefix: str = "",
                                     prepend: str = "", dry_run: bool = False,
                                     continue_on_error: bool = False, num_workers: int = 0,
                                     pipeline: Sequence[str] = ()) -> str:
        """Transform every object of ``src`` (under ``prefix``) into ``dst`` (``etl-bck``);
        returns the job's xid."""
        value = _tcb_value(etl, ext, prepend, dry_run, continue_on_error, num_workers, pipeline)
        resp = await self._send("POST", _bucket_path(src),
                                params={"provider": "ais", "bck_to": f"ais/@#/{dst}/"},
                                body=_act("etl-bck", {**value, "prefix": prefix}),
                                headers=_JSON)
        return resp.text.strip()

    async def start_list_transform(self, src: str, dst: str, etl: str, names: Sequence[str],
                                   *, ext: dict[str, str] | None = None, prepend: str = "",
                                   dry_run: bool = False, continue_on_error: bool = False,
                                   num_workers: int = 0, pipeline: Sequence[str] = ()) -> str:
        """Transform the objects ``names`` of ``src`` into ``dst`` (``etl-listrange``, as
        ``api.ETLMultiObj`` sends it: the destination in the message); returns the job's
        xid."""
        value = _tcb_value(etl, ext, prepend, dry_run, continue_on_error, num_workers, pipeline)
        value.update(objnames=list(names), tobck={"name": dst, "provider": "ais"})
        resp = await self._send("POST", _bucket_path(src), params={"provider": "ais"},
                                body=_act("etl-listrange", value), headers=_JSON)
        return resp.text.strip()

    # --- jobs -------------------------------------------------------------------------------

    async def job_snaps(self, xid: str) -> list[JobSnap]:
        """Every target's snapshot of the job, sorted by target ID."""
        return await self._snaps({"id": xid})

    async def _snaps(self, query: dict[str, Any]) -> list[JobSnap]:
        """Every target's snapshots of the jobs ``query`` (AIStore's ``xact.QueryMsg``)
        asks for."""
        resp = await self._send("GET", "/v1/cluster", params={"what": "qryxstats"},
                                body=msgspec.json.encode(query), headers=_JSON)
        return _wire.job_snaps(_json(resp) or {})

    async def job_status(self, xid: str) -> JobStatus:
        """The job cluster-wide; for jobs AIStore does not track centrally (multi-object
        ones), from their snapshots."""
        try:
            resp = await self._send("GET", "/v1/cluster", params={"what": "status"},
                                    body=msgspec.json.encode({"id": xid, "kind": ""}),
                                    headers=_JSON)
        except NotFound as err:
            try:
                snaps = await self.job_snaps(xid)
            except NotFound:
                raise err from None
            return _wire.status_from_snaps(xid, snaps)
        return _wire.job_status(_json(resp))

    async def abort_job(self, xid: str) -> None:
        await self._send("PUT", "/v1/cluster",
                         body=_act("stop", {"ID": xid, "Kind": ""}), headers=_JSON)

    async def list_jobs(self, kind: str = "", running_only: bool = False) -> list[JobStatus]:
        """Jobs (of ``kind``, or all): those AIStore tracks centrally, and the multi-object
        copies and transforms, which it does not (read from their snapshots)."""
        # AIStore's "show_active" is a filter either way: false asks for ended jobs only
        query = {"show_active": True} if running_only else {}
        untracked = [k for k in _UNTRACKED_KINDS if kind in ("", k)]
        tracked, *per_kind = await asyncio.gather(
            self._send("GET", "/v1/cluster", params={"what": "status_all"},
                       body=msgspec.json.encode({"kind": kind, **query}), headers=_JSON),
            *(self._snaps({"kind": k, **query}) for k in untracked))
        jobs = {s.xid: s for s in map(_wire.job_status, _json(tracked) or ())}
        for snaps in per_kind:
            by_id: dict[str, list[JobSnap]] = {}
            for snap in snaps:
                by_id.setdefault(snap.xid, []).append(snap)
            for xid, job_snaps in by_id.items():
                jobs.setdefault(xid, _wire.status_from_snaps(xid, job_snaps))
        return list(jobs.values())


def _etl_params(etl: str, args: str, pipeline: Sequence[str]) -> dict[str, str]:
    params = {"provider": "ais", "etl_name": etl}
    if args:
        params["etl_args"] = args
    if pipeline:
        params["etl_pipeline"] = ",".join(pipeline)
    return params
