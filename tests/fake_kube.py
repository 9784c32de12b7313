"""A FAKE Kubernetes API server for the tests of backend.kube and of the app's Kubernetes views.

No Kubernetes API server can run here, so :class:`FakeKubeApi` is a fake Kubernetes API
server: ``http.server`` in a thread on 127.0.0.1 (port 0) that answers the few endpoints the
backend uses the way the API server does (PodList, Pod, EventList, pod log plain and
``follow``, chunked watch streams of newline-delimited WatchEvents with 410 Gone, the
metrics.k8s.io PodMetricsList, and ``Status`` objects for 401/403/404/410). The objects come
from tests/data/kube/*.json, copied from the shapes of real objects. The client reaches it
through a generated kubeconfig (``server: http://127.0.0.1:PORT``, a dummy bearer token).
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

DATA = Path(__file__).parent / "data" / "kube"
NS = "ais"
TOKEN = "dummy-token"
TARGETS = ["TqVt8081", "yBnt8082", "Mxkt8083"]


def _load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def _now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def _stamp_seconds(line: str) -> float:
    stamp = line.split(" ", 1)[0]
    base = stamp.split(".")[0].rstrip("Z")
    return datetime.fromisoformat(base).replace(tzinfo=UTC).timestamp()


def _selector_matches(selector: str, labels: dict[str, str]) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class FakeKubeApi:
    """A fake Kubernetes API server for namespace ``ais``; see the module docstring.

    Knobs: ``forbidden`` ({(verb, resource)} answered 403), ``metrics_status`` (None, 404,
    403), ``hang`` (accept, never answer), ``gone_as`` ("event": a 200 stream with an ERROR
    event; "status": an HTTP 410), ``follow_interval`` (seconds between streamed log lines).
    """

    def __init__(self) -> None:
        self.pods: dict[str, dict[str, Any]] = {
            p["metadata"]["name"]: p for p in _load("pods.json")["items"]
        }
        self.events: list[dict[str, Any]] = _load("events.json")["items"]
        self.metrics: dict[str, Any] = _load("pod_metrics.json")
        self.logs: dict[str, list[str]] = {
            "md5-etl-tqvt8081": (DATA / "md5-etl-tqvt8081.log").read_text().splitlines()
        }
        self.log_ended: set[str] = set()
        self.endless_logs: set[str] = set()
        self.forbidden: set[tuple[str, str]] = set()
        self.metrics_status: int | None = None
        self.hang = False
        self.gone_as = "event"
        self.follow_interval = 0.05
        self.rv = int(_load("pods.json")["metadata"]["resourceVersion"])
        self.history: list[tuple[int, str, dict[str, Any]]] = []
        self.expired_before = 0
        self.gone_sent: list[str] = []  # how each 410 was sent: "event" or "status"
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.cond = threading.Condition()
        self.closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    # ---- lifecycle and mutations used by tests ----

    def start(self) -> FakeKubeApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.closing.set()
        with self.cond:
            self.cond.notify_all()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()

    def set_pod(self, pod: dict[str, Any], kind: str = "MODIFIED") -> None:
        with self.cond:
            self.rv += 1
            pod = copy.deepcopy(pod)
            pod["metadata"]["resourceVersion"] = str(self.rv)
            name = pod["metadata"]["name"]
            if kind == "DELETED":
                self.pods.pop(name, None)
            else:
                self.pods[name] = pod
            self.history.append((self.rv, kind, pod))
            self.cond.notify_all()

    def expire(self) -> None:
        """Compact history: every resourceVersion so far is now too old to watch from."""
        with self.cond:
            self.expired_before = self.rv + 1
            self.history.clear()
            self.cond.notify_all()

    def append_log(self, pod: str, text: str) -> None:
        with self.cond:
            self.logs.setdefault(pod, []).append(f"{_now_stamp()} {text}")

    def kubeconfig(self, path: Path, *, namespace: str = NS, token: str = TOKEN) -> Path:
        server = f"http://127.0.0.1:{self.port}"
        cfg = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": "fake", "cluster": {"server": server}}],
            "users": [{"name": "fake-user", "user": {"token": token}}],
            "contexts": [
                {"name": "fake", "context": {"cluster": "fake", "user": "fake-user",
                                             "namespace": namespace}},
                {"name": "elsewhere", "context": {"cluster": "fake", "user": "fake-user",
                                                  "namespace": "elsewhere"}},
            ],
            "current-context": "fake",
        }
        path.write_text(yaml.safe_dump(cfg))
        return path

    # ---- HTTP ----

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                try:
                    fake._serve(self)
                except (BrokenPipeError, ConnectionResetError, OSError):
                    self.close_connection = True

        return Handler

    def _send_json(self, h: BaseHTTPRequestHandler, code: int, obj: Any) -> None:
        body = json.dumps(obj).encode()
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _start_chunked(self, h: BaseHTTPRequestHandler, content_type: str) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()

    @staticmethod
    def _chunk(h: BaseHTTPRequestHandler, data: bytes) -> None:
        h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        h.wfile.flush()

    def _forbid(self, h: BaseHTTPRequestHandler, verb: str, resource: str) -> bool:
        if (verb, resource) not in self.forbidden:
            return False
        group = "metrics.k8s.io" if "." in resource else ""
        plain = resource.split(".")[0]
        msg = (f'{plain} is forbidden: User "system:serviceaccount:ais:aisetl-tui" cannot '
               f'{verb} resource "{plain}" in API group "{group}" in the namespace "{NS}"')
        self._send_json(h, 403, _status(403, "Forbidden", msg))
        return True

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        url = urlparse(h.path)
        q = parse_qs(url.query)
        self.requests.append((url.path, q))
        if self.hang:
            self.closing.wait(30)
            h.close_connection = True
            return
        if h.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send_json(h, 401, _status(401, "Unauthorized", "Unauthorized"))
            return
        arg = lambda k, d=None: q.get(k, [d])[0]  # noqa: E731
        if m := re.fullmatch(r"/api/v1(?:/namespaces/([^/]+))?/pods", url.path):  # or all
            if arg("watch") == "true":
                if not self._forbid(h, "watch", "pods"):
                    self._watch(h, m.group(1), arg("labelSelector", ""),
                                int(arg("resourceVersion", "0")), int(arg("timeoutSeconds", "30")))
                return
            if self._forbid(h, "list", "pods"):
                return
            with self.cond:
                items = [p for p in self.pods.values() if m.group(1) in (NS, None)
                         and _selector_matches(arg("labelSelector", ""),
                                               p["metadata"].get("labels") or {})]
                body = {"kind": "PodList", "apiVersion": "v1",
                        "metadata": {"resourceVersion": str(self.rv)}, "items": items}
            self._send_json(h, 200, body)
        elif m := re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods/([^/]+)", url.path):
            if self._forbid(h, "get", "pods"):
                return
            pod = self.pods.get(m.group(2)) if m.group(1) == NS else None
            if pod is None:
                self._send_json(h, 404, _status(404, "NotFound",
                                                f'pods "{m.group(2)}" not found'))
            else:
                self._send_json(h, 200, pod)
        elif m := re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods/([^/]+)/log", url.path):
            if not self._forbid(h, "get", "pods/log"):
                self._log(h, m.group(2), q)
        elif m := re.fullmatch(r"/api/v1/namespaces/([^/]+)/events", url.path):
            if self._forbid(h, "list", "events"):
                return
            fields = dict(t.split("=", 1) for t in arg("fieldSelector", "").split(",") if t)
            items = [e for e in self.events if m.group(1) == NS and all(
                e["involvedObject"].get(k.split(".", 1)[1]) == v for k, v in fields.items())]
            self._send_json(h, 200, {"kind": "EventList", "apiVersion": "v1",
                                     "metadata": {"resourceVersion": str(self.rv)},
                                     "items": items})
        elif re.fullmatch(r"/apis/metrics.k8s.io/v1beta1/namespaces/([^/]+)/pods", url.path):
            if self.metrics_status == 404:
                self._send_json(h, 404, _load("status_not_found.json"))
            elif self.metrics_status == 403 or ("list", "pods.metrics.k8s.io") in self.forbidden:
                self.forbidden.add(("list", "pods.metrics.k8s.io"))
                self._forbid(h, "list", "pods.metrics.k8s.io")
            else:
                body = copy.deepcopy(self.metrics)
                sel = arg("labelSelector", "")
                body["items"] = [i for i in body["items"]
                                 if _selector_matches(sel, i["metadata"].get("labels") or {})]
                self._send_json(h, 200, body)
        else:
            self._send_json(h, 404, _load("status_not_found.json"))

    def _log(self, h: BaseHTTPRequestHandler, name: str, q: dict[str, list[str]]) -> None:
        if name not in self.pods:
            self._send_json(h, 404, _status(404, "NotFound", f'pods "{name}" not found'))
            return
        stamps = q.get("timestamps", ["false"])[0] == "true"
        since = q.get("sinceSeconds", [None])[0]
        tail = q.get("tailLines", [None])[0]

        def render(lines: list[str]) -> bytes:
            out = lines if stamps else [ln.split(" ", 1)[1] for ln in lines]
            return "".join(f"{ln}\n" for ln in out).encode()

        with self.cond:
            lines = list(self.logs.get(name, []))
        sent = len(lines)
        if since is not None:
            cutoff = time.time() - int(since)
            lines = [ln for ln in lines if _stamp_seconds(ln) >= cutoff - 1]
        if tail is not None:
            lines = lines[len(lines) - int(tail):] if int(tail) else []
        if q.get("follow", ["false"])[0] != "true":
            body = render(lines)
            h.send_response(200)
            h.send_header("Content-Type", "text/plain")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        self._start_chunked(h, "text/plain")
        if lines:
            self._chunk(h, render(lines))
        tick = 0
        while not self.closing.is_set() and name not in self.log_ended:
            time.sleep(self.follow_interval)
            if name in self.endless_logs:
                tick += 1
                self.append_log(name, f"tick {tick}")
            with self.cond:
                new = self.logs.get(name, [])[sent:]
                sent += len(new)
            if new:
                self._chunk(h, render(new))
        self._chunk(h, b"")

    def _watch(self, h: BaseHTTPRequestHandler, ns: str, selector: str, rv: int,
               timeout: int) -> None:
        gone = _load("status_gone.json")
        if rv < self.expired_before:
            self.gone_sent.append(self.gone_as)
            if self.gone_as == "status":
                self._send_json(h, 410, gone)
                return
            self._start_chunked(h, "application/json")
            self._chunk(h, json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n")
            self._chunk(h, b"")
            return
        self._start_chunked(h, "application/json")
        deadline = time.monotonic() + timeout
        pos = rv
        while not self.closing.is_set() and time.monotonic() < deadline:
            with self.cond:
                if self.expired_before > pos and self.gone_as == "status":
                    break  # the stream ends; the next watch from ``pos`` gets HTTP 410
                if self.expired_before > pos:
                    self.gone_sent.append("event")
                    out = [("ERROR", gone)]
                else:
                    out = [(k, o) for r, k, o in self.history if r > pos]
                    pos = max([pos] + [r for r, _, _ in self.history])
                if not out:
                    self.cond.wait(0.1)
                    continue
            for kind, obj in out:
                if kind == "ERROR" or (ns == NS and _selector_matches(
                        selector, obj["metadata"].get("labels") or {})):
                    self._chunk(h, json.dumps({"type": kind, "object": obj}).encode() + b"\n")
            if out[0][0] == "ERROR":
                break
        self._chunk(h, b"")
