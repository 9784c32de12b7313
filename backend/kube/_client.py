"""The synchronous Kubernetes client the app runs in thread workers."""

from __future__ import annotations

import json
import math
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from . import _convert
from ._config import load
from ._errors import (
    KubeApiError,
    KubeError,
    KubeForbidden,
    KubeGone,
    KubeNotFound,
    KubeTimeout,
    KubeUnauthorized,
    KubeUnreachable,
)
from ._models import KubeEvent, KubePod, MetricsUnavailable, PodChange, PodMetrics

METRICS_RESOURCE = "pods.metrics.k8s.io"
AIS_NAMESPACE = "ais"  # where AIStore's own Kubernetes manifests deploy it
_AIS_SELECTOR = "app=ais"  # AIStore's pods of its dev manifests, and ETL pods


class KubeClient:
    """Pods, events, logs and metrics of one namespace, with a timeout on every call.

    Thread safety: every method is synchronous and may be called from several threads at
    once (one urllib3 pool, no shared mutable state). The iterators returned by
    :meth:`follow_logs` and :meth:`watch_pods` belong to the thread that consumes them; stop
    them from any thread through their ``stop`` event. Never call any of this on the event
    loop: it blocks for up to ``timeout`` seconds.

    Timeouts: ``connect_timeout`` to open a connection, ``timeout`` for each read of an
    answer. Streams use ``timeout_seconds`` on the server side as well, so an outage ends in
    :class:`KubeTimeout` or :class:`KubeUnreachable`, never in a hang.
    """

    def __init__(
        self,
        *,
        context: str | None = None,
        namespace: str | None = None,
        kubeconfig: str | os.PathLike[str] | None = None,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
    ) -> None:
        loaded = load(kubeconfig=kubeconfig, context=context, namespace=namespace)
        from kubernetes import client

        self._api_client = loaded.api_client
        self._v1 = client.CoreV1Api(loaded.api_client)
        self._custom = client.CustomObjectsApi(loaded.api_client)
        self.namespace: str = loaded.namespace
        self.namespace_given = namespace is not None  # --namespace: never looked for
        self.namespace_how = "given" if self.namespace_given else "the context's"
        # whether find_etl_namespace found ETL pods (None: not looked yet, or given)
        self.etl_pods_found: bool | None = True if self.namespace_given else None
        self.context: str | None = loaded.context
        self.host: str = loaded.host
        self.source: str = loaded.source
        self.timeout = timeout
        self.connect_timeout = connect_timeout

    def __repr__(self) -> str:
        return f"KubeClient(host={self.host!r}, context={self.context!r}, ns={self.namespace!r})"

    def close(self) -> None:
        """Close pooled connections (safe to call twice)."""
        self._api_client.close()

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- where AIStore's ETL pods are ----------------------------------------------------

    def find_etl_namespace(self, fallbacks: Iterable[str] = (AIS_NAMESPACE,)) -> bool:
        """Point this client at the namespace of AIStore's ETL pods; True if some were found.

        A given namespace (``--namespace``) is kept. Otherwise: every namespace, when the
        grant allows listing pods cluster-wide (the optional ClusterRole of manifests/rbac/);
        else the context's namespace, then ``fallbacks`` (AIStore's manifests use ``ais``).
        ETL pods (``app.kubernetes.io/name=etl``) are looked for first, then AIStore's own
        pods (targets create their ETL pods in their own namespace). Where it looked is in
        :attr:`namespace_how` either way.
        """
        if self.namespace_given:
            return True
        self.etl_pods_found = self._find_etl_namespace(fallbacks)
        return self.etl_pods_found

    def _find_etl_namespace(self, fallbacks: Iterable[str]) -> bool:
        looked: list[str] = []
        for selector, what in ((_convert.ETL_SELECTOR, "ETL"), (_AIS_SELECTOR, "AIStore")):
            try:
                data = self._json("list", "pods", self._v1.list_pod_for_all_namespaces,
                                  label_selector=selector, limit=50)
            except KubeForbidden:
                looked.append("all namespaces (not allowed to list them)")
                break
            found = Counter((p.get("metadata") or {}).get("namespace") or ""
                            for p in data.get("items") or [])
            if found:
                self._use(found.most_common(1)[0][0], f"found by its {what} pods' labels")
                return True
        else:
            looked.append("all namespaces")
        context_ns = self.namespace
        for ns in dict.fromkeys([context_ns, *fallbacks]):
            try:
                data = self._json("list", "pods", self._v1.list_namespaced_pod, ns,
                                  label_selector=_convert.ETL_SELECTOR, limit=1)
            except KubeForbidden:
                looked.append(f"{ns} (forbidden)")
                continue
            if data.get("items"):
                self._use(ns, "found by its ETL pods' labels")
                return True
            looked.append(ns)
        self._use(context_ns, f"no ETL pods found in {', '.join(looked)}")
        return False

    def _use(self, namespace: str, how: str) -> None:
        self.namespace, self.namespace_how = namespace, how

    # ---- pods ---------------------------------------------------------------------------

    def list_pods(self, label_selector: str | None = None) -> list[KubePod]:
        """All pods of the namespace (optionally by label selector), sorted by name."""
        return self._list_pods(label_selector)[0]

    def get_pod(self, name: str) -> KubePod:
        """One pod by name; :class:`KubeNotFound` if it does not exist."""
        return _convert.pod_from_dict(self.get_pod_raw(name))

    def get_pod_raw(self, name: str) -> dict:
        """One pod as the API returns it (what ``kubectl get pod -o yaml`` shows)."""
        return self._json("get", "pods", self._v1.read_namespaced_pod, name, self.namespace)

    def transformer_pods(self, target_ids: Iterable[str]) -> list[KubePod]:
        """Every ETL's transformer pods that belong to one of ``target_ids`` (the Smap's)."""
        pods = self.list_pods(_convert.ETL_SELECTOR)
        return _convert.match_transformer_pods(pods, target_ids)

    def etl_pods(self, etl: str, target_ids: Iterable[str]) -> dict[str, KubePod | None]:
        """ETL ``etl``'s pod on each target (None where a target has none); exact names only."""
        pods = self.list_pods(_convert.ETL_SELECTOR)
        return _convert.match_etl_pods(pods, etl, target_ids)

    def ais_pods(self) -> list[KubePod]:
        """The AIStore proxy and target pods (``role`` is ``proxy`` or ``target``).

        By the ais-k8s operator's ``app.kubernetes.io/component`` label, or for unlabelled
        pods a ``-proxy-N``/``-target-N`` name; see :mod:`backend.kube._convert`.
        """
        return [p for p in self.list_pods() if p.role in ("proxy", "target")]

    def pod_events(self, name: str) -> list[KubeEvent]:
        """The pod's events, oldest first (as ``kubectl describe pod`` lists them)."""
        data = self._json(
            "list", "events", self._v1.list_namespaced_event, self.namespace,
            field_selector=f"involvedObject.kind=Pod,involvedObject.name={name}",
        )
        items = sorted(data.get("items") or [], key=_convert.event_order)
        return [_convert.event_from_dict(e) for e in items]

    # ---- logs ---------------------------------------------------------------------------

    def logs(
        self,
        name: str,
        *,
        container: str | None = None,
        tail_lines: int = 200,
        previous: bool = False,
        timestamps: bool = False,
    ) -> list[str]:
        """The last ``tail_lines`` lines of the pod's log (``previous``: the crashed run's;
        ``timestamps``: each line starts with its RFC 3339 time and a space)."""
        resp = self._call(
            "get", "pods/log", self._v1.read_namespaced_pod_log, name, self.namespace,
            container=container, tail_lines=tail_lines, previous=previous,
            timestamps=timestamps,
        )
        text = self._read_all(resp).decode("utf-8", errors="replace")
        return text.splitlines()

    def follow_logs(
        self,
        name: str,
        *,
        stop: threading.Event,
        container: str | None = None,
        tail_lines: int | None = 10,
        idle_timeout: float = 60.0,
        timestamps: bool = False,
    ) -> Iterator[str]:
        """Lines of the pod's log as they are written, until ``stop`` is set or the log ends.

        Setting ``stop`` (from any thread) ends the iterator within about 0.1 s even while
        it waits for the next line. After ``idle_timeout`` seconds without a line the stream
        is reopened (from the last line's timestamp, no duplicates), so a dead connection is
        noticed and a quiet pod is no error. Errors surface on iteration.
        """
        return self._follow_logs(name, stop, container, tail_lines, idle_timeout, timestamps)

    def _follow_logs(
        self,
        name: str,
        stop: threading.Event,
        container: str | None,
        tail_lines: int | None,
        idle_timeout: float,
        timestamps: bool,
    ) -> Iterator[str]:
        import urllib3

        last_key: tuple[float, int] | None = None
        last_wall = time.time()
        first = True
        while not stop.is_set():
            kwargs: dict[str, Any] = {"container": container, "follow": True, "timestamps": True}
            if first and tail_lines is not None:
                kwargs["tail_lines"] = tail_lines
            elif not first:
                kwargs["since_seconds"] = max(1, math.ceil(time.time() - last_wall) + 1)
            skip_until = last_key
            resp = self._call(
                "get", "pods/log", self._v1.read_namespaced_pod_log, name, self.namespace,
                _request_timeout=(self.connect_timeout, idle_timeout), **kwargs,
            )
            first = False
            try:
                with _Stopper(stop, resp, "follow"):
                    for raw in _lines(resp):
                        stamp, _, text = raw.partition(" ")
                        key = _log_time_key(stamp)
                        if key is None:  # no timestamp: pass through as is
                            yield raw
                        elif skip_until is not None and key <= skip_until:
                            continue
                        else:
                            last_key, last_wall = key, time.time()
                            yield raw if timestamps else text
                        if stop.is_set():
                            return
                return  # the server ended the log: the container has exited
            except urllib3.exceptions.ReadTimeoutError:
                continue  # idle for idle_timeout: reconnect
            except (urllib3.exceptions.HTTPError, OSError) as e:
                if stop.is_set():
                    return
                raise _unreachable(self.host, e) from e
            finally:
                _close(resp)

    # ---- metrics ------------------------------------------------------------------------

    def pod_metrics(
        self, label_selector: str | None = None
    ) -> dict[str, PodMetrics] | MetricsUnavailable:
        """CPU and memory per pod name from metrics.k8s.io, or why there are none.

        404 (no metrics-server) and 403 are answers, not errors: :class:`MetricsUnavailable`
        with ``reason`` ``"no metrics server"`` or ``"forbidden"``.
        """
        try:
            data = self._json(
                "list", METRICS_RESOURCE, self._custom.list_namespaced_custom_object,
                "metrics.k8s.io", "v1beta1", self.namespace, "pods",
                label_selector=label_selector,
            )
        except KubeNotFound:
            return MetricsUnavailable(
                "no metrics server",
                "the metrics.k8s.io API is not served in this cluster (install metrics-server)",
            )
        except KubeForbidden as e:
            return MetricsUnavailable("forbidden", str(e))
        except KubeApiError as e:
            if e.status == 503:
                return MetricsUnavailable("unavailable", f"metrics server not ready: {e}")
            raise
        items = (_convert.metrics_from_dict(i) for i in data.get("items") or [])
        return {m.name: m for m in items}

    # ---- watch --------------------------------------------------------------------------

    def watch_pods(
        self,
        *,
        stop: threading.Event,
        label_selector: str | None = None,
        timeout_seconds: int = 60,
    ) -> Iterator[PodChange]:
        """List, then watch: a ``SYNC`` with every pod, then ADDED/MODIFIED/DELETED changes.

        Follows ``resourceVersion`` across reconnects (each watch lasts ``timeout_seconds`` on
        the server) and relists on 410 Gone, yielding a fresh ``SYNC``, so the caller always
        ends up with the current state. Setting ``stop`` ends it within about 0.1 s.
        """
        return self._watch_pods(stop, label_selector, timeout_seconds)

    def watch_etl_pods(
        self, *, stop: threading.Event, timeout_seconds: int = 60
    ) -> Iterator[PodChange]:
        """:meth:`watch_pods` of the transformer pods of every ETL (match them to targets with
        :func:`match_transformer_pods`)."""
        return self._watch_pods(stop, _convert.ETL_SELECTOR, timeout_seconds)

    def _watch_pods(
        self, stop: threading.Event, label_selector: str | None, timeout_seconds: int
    ) -> Iterator[PodChange]:
        import urllib3

        rv: str | None = None
        while not stop.is_set():
            if rv is None:
                pods, rv = self._list_pods(label_selector)
                yield PodChange("SYNC", pods=tuple(pods))
                continue
            try:
                resp = self._call(
                    "watch", "pods", self._v1.list_namespaced_pod, self.namespace,
                    label_selector=label_selector, watch=True, resource_version=rv,
                    allow_watch_bookmarks=True, timeout_seconds=int(timeout_seconds),
                    _request_timeout=(self.connect_timeout, timeout_seconds + self.timeout),
                )
            except KubeGone:
                rv = None
                continue
            try:
                with _Stopper(stop, resp, "watch"):
                    for line in _lines(resp):
                        if not line.strip():
                            continue
                        event = json.loads(line)
                        kind, obj = event.get("type"), event.get("object") or {}
                        if kind == "ERROR":
                            if obj.get("code") == 410:
                                rv = None  # expired: relist
                                break
                            raise _status_error(
                                int(obj.get("code") or 500), json.dumps(obj), "watch", "pods",
                                self.namespace,
                            )
                        rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                        if kind in ("ADDED", "MODIFIED", "DELETED"):
                            yield PodChange(kind, pod=_convert.pod_from_dict(obj))
                        if stop.is_set():
                            return
            except (urllib3.exceptions.HTTPError, OSError) as e:
                if stop.is_set():
                    return
                if not isinstance(e, urllib3.exceptions.ProtocolError):
                    raise _unreachable(self.host, e) from e
                # the server dropped the stream: resume from rv on the next turn
            finally:
                _close(resp)

    # ---- plumbing -----------------------------------------------------------------------

    def _list_pods(self, label_selector: str | None) -> tuple[list[KubePod], str]:
        data = self._json(
            "list", "pods", self._v1.list_namespaced_pod, self.namespace,
            label_selector=label_selector,
        )
        pods = sorted(
            (_convert.pod_from_dict(p) for p in data.get("items") or []), key=lambda p: p.name
        )
        return pods, str((data.get("metadata") or {}).get("resourceVersion") or "")

    def _call(self, verb: str, resource: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Call ``fn`` unparsed (``_preload_content=False``); every failure as a KubeError."""
        import urllib3
        from kubernetes.client.exceptions import ApiException

        kw.setdefault("_request_timeout", (self.connect_timeout, self.timeout))
        kw = {k: v for k, v in kw.items() if v is not None}
        try:
            return fn(*args, _preload_content=False, **kw)
        except ApiException as e:
            if not e.status:  # TLS trouble is reported as status 0
                raise KubeUnreachable(
                    f"cannot reach the Kubernetes API server at {self.host}: {e.reason}"
                ) from e
            raise _status_error(e.status, e.body or "", verb, resource, self.namespace) from e
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise _unreachable(self.host, e) from e

    def _read_all(self, resp: Any) -> bytes:
        import urllib3

        try:
            return resp.data
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise _unreachable(self.host, e) from e
        finally:
            resp.release_conn()

    def _json(self, verb: str, resource: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        data = self._read_all(self._call(verb, resource, fn, *args, **kw))
        try:
            return json.loads(data)
        except ValueError as e:
            raise KubeError(f"the API server sent invalid JSON for {verb} {resource}") from e


# ---- helpers ----------------------------------------------------------------------------------


def _status_error(status: int, body: str, verb: str, resource: str, namespace: str) -> KubeError:
    """The KubeError for an error answer; ``body`` is the Status JSON (or any text)."""
    try:
        obj = json.loads(body) if body else {}
    except ValueError:
        obj = {}
    if not isinstance(obj, dict):
        obj = {}
    detail = str(obj.get("message") or body or "").strip()
    reason = str(obj.get("reason") or "")
    if status == 403:
        return KubeForbidden(
            f"forbidden: cannot {verb} {resource} in namespace {namespace} "
            f"(RBAC verb {verb} on {resource})" + (f": {detail}" if detail else ""),
            verb=verb, resource=resource, namespace=namespace, detail=detail,
        )
    if status == 401:
        return KubeUnauthorized(
            status, f"unauthorized: the API server rejected the credentials ({detail})", reason
        )
    if status == 404:
        return KubeNotFound(status, f"not found: {detail or resource}", reason)
    if status == 410:
        return KubeGone(status, f"gone: {detail or 'resource version expired'}", reason)
    return KubeApiError(status, f"{verb} {resource} failed ({status}): {detail}", reason)


def _unreachable(host: str, e: BaseException) -> KubeUnreachable:
    import urllib3

    cause = getattr(e, "reason", None) or e  # MaxRetryError wraps the real one
    timeouts = (urllib3.exceptions.TimeoutError, socket.timeout, TimeoutError)
    # NewConnectionError (refused, DNS) subclasses ConnectTimeoutError in urllib3 2.x.
    if isinstance(cause, timeouts) and not isinstance(
        cause, urllib3.exceptions.NewConnectionError
    ):
        return KubeTimeout(f"the Kubernetes API server at {host} did not answer in time")
    text = str(cause).split(": ", 1)[-1] if isinstance(cause, Exception) else str(cause)
    return KubeUnreachable(f"cannot reach the Kubernetes API server at {host}: {text}")


def _lines(resp: Any) -> Iterator[str]:
    from kubernetes.watch.watch import iter_resp_lines

    return iter_resp_lines(resp)


def _close(resp: Any) -> None:
    try:
        resp.close()
        resp.release_conn()
    except Exception:  # already closed or shut down
        pass


def _log_time_key(stamp: str) -> tuple[float, int] | None:
    """(seconds, nanoseconds) of an RFC3339Nano log timestamp, comparable; None if not one."""
    if not stamp or not stamp[:4].isdigit() or "T" not in stamp:
        return None
    base, _, frac = stamp.rstrip("Z").partition(".")
    when = _convert.parse_time(base + "Z")
    if when is None:
        return None
    digits = "".join(ch for ch in frac if ch.isdigit())
    return when.timestamp(), int((digits + "000000000")[:9])


class _Stopper:
    """While active, shuts ``resp``'s socket down as soon as ``stop`` is set.

    A blocked read then returns at once, so a quiet stream can be stopped from any thread.
    """

    def __init__(self, stop: threading.Event, resp: Any, what: str, poll: float = 0.05) -> None:
        self._stop, self._resp, self._poll = stop, resp, poll
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"kube-stream-stopper:{what}",
                                        daemon=True)

    def __enter__(self) -> _Stopper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.is_set():
            if self._stop.wait(self._poll):
                sock = getattr(getattr(self._resp, "connection", None), "sock", None)
                try:
                    if sock is not None:
                        sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
