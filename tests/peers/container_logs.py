"""The kubelet's log endpoint, for the pods the node agent runs, served to the real API server.

``GET /api/v1/namespaces/NS/pods/POD/log`` on the API server is proxied to the kubelet of the
pod's node: ``https://<node InternalIP>:<kubeletEndpoint port>/containerLogs/NS/POD/CONTAINER``
with the same query (``follow``, ``tailLines``, ``timestamps``, ``sinceSeconds``,
``limitBytes``, ``previous``). The API server does not verify a kubelet's certificate unless
told a CA, so a self-signed one does. Lines are kept as the container runtime keeps them: an
RFC 3339 time, a space, the line.
"""

from __future__ import annotations

import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ContainerLog:
    """One container's log file, written line by line with the time each line came."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ended = threading.Event()

    def copy_from(self, stream) -> None:
        """Copy a process's output into the log until it ends (run in a thread)."""
        with self.path.open("ab") as out:
            for raw in iter(stream.readline, b""):
                out.write(f"{stamp()} ".encode() + raw.rstrip(b"\n") + b"\n")
                out.flush()
        self.ended.set()

    def lines(self) -> list[tuple[str, str]]:
        """(time, text) of each line so far."""
        if not self.path.exists():
            return []
        text = self.path.read_text(errors="replace")
        return [tuple(ln.split(" ", 1)) if " " in ln else (ln, "")  # type: ignore[misc]
                for ln in text.splitlines()]

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines())


class LogServer:
    """HTTPS on 127.0.0.1 answering ``/containerLogs/NS/POD/CONTAINER`` from ``find``."""

    def __init__(self, workdir: Path, find: Callable[[str, str], ContainerLog | None]) -> None:
        cert, key = workdir / "kubelet.crt", workdir / "kubelet.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", str(key), "-out", str(cert), "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        handler = type("Handler", (_Handler,), {"find": staticmethod(find)})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                        name="kubelet-logs")

    def start(self) -> LogServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    find: Callable[[str, str], ContainerLog | None]

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "containerLogs":
            return self._error(404, f"no such path {url.path}")
        _, _namespace, pod, container = parts
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        log = self.find(pod, container)
        if log is None:
            return self._error(404, f'container "{container}" in pod "{pod}" is not running')
        if query.get("previous") == "true":
            return self._error(400, f'previous terminated container "{container}" in pod '
                               f'"{pod}" not found')
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        try:
            for chunk in _select(log, query):
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):  # the reader went
            pass

    def _error(self, status: int, message: str) -> None:
        body = message.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _select(log: ContainerLog, query: dict[str, str]) -> Iterator[bytes]:
    """The lines the query asks for; with ``follow``, new ones as they come until it ends."""
    timestamps = query.get("timestamps") == "true"
    since = float(query.get("sinceSeconds", 0) or 0)
    cutoff = (datetime.now(UTC).timestamp() - since) if since else None
    budget = int(query["limitBytes"]) if query.get("limitBytes") else None

    def shown(lines: list[tuple[str, str]]) -> Iterator[bytes]:
        nonlocal budget
        for when, text in lines:
            if cutoff is not None and _seconds(when) < cutoff:
                continue
            line = (f"{when} {text}\n" if timestamps else f"{text}\n").encode()
            if budget is not None:
                line = line[:budget]
                budget -= len(line)
            yield line
            if budget == 0:
                return

    lines = log.lines()
    if "tailLines" in query:
        lines = lines[-int(query["tailLines"]):] if int(query["tailLines"]) else []
    yield from shown(lines)
    if query.get("follow") != "true":
        return
    seen = len(log.lines())
    while budget != 0 and not (log.ended.is_set() and len(log.lines()) == seen):
        time.sleep(0.2)
        now = log.lines()
        yield from shown(now[seen:])
        seen = len(now)


def _seconds(when: str) -> float:
    try:
        return datetime.strptime(when, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0
