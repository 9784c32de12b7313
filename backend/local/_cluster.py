"""The embedded cluster's supervisor: one proxy and N target processes on 127.0.0.1.

Layout of the data directory::

    cluster.json        identity: cluster UUID and node IDs (stable across restarts)
    lock                held by the running supervisor
    run.json            present while running: supervisor pid, endpoint, node pids
    run/smap.json       the cluster map of this run (ports may differ between runs)
    proxy/              the proxy's bucket metadata
    target-<ID>/        one data directory per target
    logs/<node>.log     each node's log
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from ._auth import ClusterAuth, TokenError, ensure_token
from ._fs import write_atomic
from ._smap import HOST, ClusterMap, Node, new_node_id, new_uuid

log = logging.getLogger("aisetl.cluster")

DEFAULT_PORT = 8080
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
MAX_RESTARTS_PER_MINUTE = 5


LOG_MAX = 16 * 1024 * 1024  # a node's log, at most, before it is rotated (one old one kept)


def log_path(data_dir: Path, node: Node) -> Path:
    """Where the supervisor writes ``node``'s output (its log, for ``what=log`` too)."""
    return data_dir / "logs" / f"{node.daemon_type}-{node.daemon_id}.log"


def rotate_log(path: Path, limit: int = LOG_MAX) -> bool:
    """Keep a node's log under ``limit`` bytes: past it, the log becomes ``<name>.1`` (one
    kept) and starts over. Copied then truncated, as logrotate's copytruncate: the node
    appends to the file it was given, and goes on at its new end."""
    try:
        if path.stat().st_size <= limit:
            return False
        shutil.copyfile(path, f"{path}.1")
        os.truncate(path, 0)
    except OSError:  # (gone, or the disk is full: it is tried again on the next round)
        return False
    return True


class ClusterError(Exception):
    """The embedded cluster cannot start, or is not where it was expected."""


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "aisetl-tui" / "cluster"


@dataclass
class RunInfo:
    """What ``run.json`` says about a running cluster."""

    pid: int
    endpoint: str
    nodes: dict[str, int] = field(default_factory=dict)
    auth: bool = True  # whether it asks for the owner's token

    @classmethod
    def read(cls, data_dir: Path) -> RunInfo | None:
        try:
            raw = json.loads((data_dir / "run.json").read_text())
            return cls(raw["pid"], raw["endpoint"], raw.get("nodes", {}), raw.get("auth", True))
        except (FileNotFoundError, ValueError, KeyError):
            return None


def healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/v1/health", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def find_running(data_dir: Path) -> RunInfo | None:
    """The cluster running on ``data_dir``, if its supervisor is alive and its proxy answers."""
    info = RunInfo.read(data_dir)
    if info is None or not process_alive(info.pid):
        return None
    return info if healthy(info.endpoint) else None


def process_alive(pid: int) -> bool:
    """Whether ``pid`` still runs: a zombie has exited (its parent has yet to reap it)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


@dataclass
class _Child:
    node: Node
    sock: socket.socket
    args: list[str]
    log_path: Path
    proc: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)

    def spawn(self, lock_fd: int, auth: ClusterAuth) -> None:
        """Start the node with its listening socket, the run's credentials and the data
        directory's lock: a node holds the lock as long as it lives, so no second cluster
        takes its data meanwhile, even after its supervisor is gone."""
        credentials = auth.pipe()
        try:
            with open(self.log_path, "ab") as logf:
                self.proc = subprocess.Popen(
                    [*self.args, "--auth-fd", str(credentials)], stdin=subprocess.DEVNULL,
                    stdout=logf, stderr=logf, start_new_session=True,
                    pass_fds=(self.sock.fileno(), lock_fd, credentials),
                )
        finally:
            os.close(credentials)


class LocalCluster:
    """Starts, watches and stops the processes of one embedded cluster."""

    def __init__(self, data_dir: Path | None = None, targets: int = 2,
                 port: int | None = None, fsync_put: bool = False,
                 promote_root: Path | None = None, job_idle: float | None = None,
                 auth: bool = True, token_path: Path | None = None,
                 idle_timeout: float | None = None) -> None:
        """``fsync_put``: fsync every PUT, as AIStore's ``Fsync-PUT`` feature does (off by
        default there too). ``promote_root``: the only tree files are promoted from
        (AIStore's ``/var/lib/ais/promote`` by default). ``job_idle``: seconds a job of a
        kind that idles waits for more work before it finishes (AIStore: a minute).
        ``auth``: every request but a health check needs the owner's token (the one in
        ``token_path``, made at first start; see :mod:`._auth`); False: open to any local
        user. ``idle_timeout``: seconds a connection may go without a whole request (16, as
        AIStore's ``ReadHeaderTimeout``)."""
        if targets < 1:
            raise ClusterError("a cluster needs at least one target")
        self.fsync_put = fsync_put
        self.promote_root = promote_root
        self.job_idle = job_idle
        self.idle_timeout = idle_timeout
        self.data_dir = (data_dir or default_data_dir()).resolve()
        self.num_targets = targets
        self.port = port
        self.auth, self.token_path = auth, token_path
        self.token: str | None = None  # the owner's, once started (None: open)
        self.smap: ClusterMap | None = None
        self._credentials: ClusterAuth | None = None
        self._children: list[_Child] = []
        self._lock_file = None

    @property
    def endpoint(self) -> str:
        assert self.smap is not None, "the cluster is not started"
        return self.smap.proxy.url

    # --- start ------------------------------------------------------------------------------

    def start(self) -> str:
        """Start every node, wait until each answers its health check, return the endpoint."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        try:
            try:
                self.token = ensure_token(self.token_path) if self.auth else None
            except (TokenError, OSError) as err:
                raise ClusterError(f"the cluster's token: {err}") from None
            self._credentials = ClusterAuth.new(self.token)
            identity = self._identity()
            self.smap = self._bind(identity)
            self.smap.save(self.data_dir / "run" / "smap.json")
            (self.data_dir / "logs").mkdir(exist_ok=True)
            targets = [c for c in self._children if c.node.daemon_type == "target"]
            proxies = [c for c in self._children if c.node.daemon_type == "proxy"]
            for group in (targets, proxies):  # targets first: the proxy syncs buckets to them
                for child in group:
                    child.spawn(self._lock_fd, self._run_auth)
                self._wait_ready(group)
            self._write_run_info()
        except BaseException:
            self.stop()
            raise
        return self.endpoint

    @property
    def _lock_fd(self) -> int:
        assert self._lock_file is not None, "the cluster holds its lock while it runs"
        return self._lock_file.fileno()

    @property
    def _run_auth(self) -> ClusterAuth:
        assert self._credentials is not None, "made when the cluster starts"
        return self._credentials

    def _take_lock(self) -> None:
        self._lock_file = open(self.data_dir / "lock", "w")  # noqa: SIM115 - held while running
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            self._lock_file = None
            info = RunInfo.read(self.data_dir)
            where = f" at {info.endpoint} (pid {info.pid})" if info else ""
            raise ClusterError(f"a cluster is already running on {self.data_dir}{where}") from None

    def _identity(self) -> dict:
        path = self.data_dir / "cluster.json"
        if path.exists():
            identity = json.loads(path.read_text())
            have = len(identity["targets"])
            if have != self.num_targets:
                raise ClusterError(
                    f"{self.data_dir} holds a cluster with {have} target(s); start it with "
                    f"--targets {have}, or use another --data directory for {self.num_targets}"
                )
            return identity
        identity = {
            "uuid": new_uuid(),
            "creation_time": time.strftime("%Y-%m-%d %H:%M:%S"),
            "proxy": new_node_id(),
            "targets": [new_node_id() for _ in range(self.num_targets)],
            "runs": 0,
        }
        write_atomic(path, json.dumps(identity, indent=1).encode())
        return identity

    def _bind(self, identity: dict) -> ClusterMap:
        identity["runs"] = identity.get("runs", 0) + 1
        write_atomic(self.data_dir / "cluster.json", json.dumps(identity, indent=1).encode())
        proxy_sock = self._proxy_socket()
        socks = [(identity["proxy"], "proxy", proxy_sock)]
        socks += [(tid, "target", _listen(0)) for tid in identity["targets"]]
        nodes = {nid: Node(nid, kind, s.getsockname()[1]) for nid, kind, s in socks}
        smap = ClusterMap(
            uuid=identity["uuid"], version=identity["runs"],
            creation_time=identity["creation_time"], proxy=nodes[identity["proxy"]],
            targets=tuple(sorted((nodes[t] for t in identity["targets"]),
                                 key=lambda n: n.daemon_id)),
        )
        smap_path = self.data_dir / "run" / "smap.json"
        for nid, kind, sock in reversed(socks):  # targets, then the proxy
            root = self.data_dir / ("proxy" if kind == "proxy" else f"target-{nid}")
            args = [sys.executable, "-m", "backend.local._node", "--role", kind, "--id", nid,
                    "--smap", str(smap_path), "--root", str(root), "--fd", str(sock.fileno())]
            if kind == "target" and self.fsync_put:
                args.append("--fsync-put")
            if kind == "target" and self.promote_root is not None:
                args += ["--promote-root", str(self.promote_root)]
            if kind == "target" and self.job_idle is not None:
                args += ["--job-idle", str(self.job_idle)]
            if self.idle_timeout is not None:
                args += ["--idle-timeout", str(self.idle_timeout)]
            self._children.append(_Child(nodes[nid], sock, args,
                                         log_path(self.data_dir, nodes[nid])))
        return smap

    def _proxy_socket(self) -> socket.socket:
        if self.port is not None:
            try:
                return _listen(self.port)
            except OSError as err:
                raise ClusterError(f"cannot listen on {HOST}:{self.port}: {err.strerror}") from None
        try:
            return _listen(DEFAULT_PORT)
        except OSError:
            return _listen(0)  # the default port is taken: any free port will do

    def _wait_ready(self, children: list[_Child]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        for child in children:
            while not healthy(child.node.url, timeout=0.5):
                if child.proc is not None and child.proc.poll() is not None:
                    raise ClusterError(f"{child.node.pretty} exited with code "
                                       f"{child.proc.returncode}:\n{_tail(child.log_path)}")
                if time.monotonic() > deadline:
                    raise ClusterError(f"{child.node.pretty} did not become ready in "
                                       f"{READY_TIMEOUT:.0f}s:\n{_tail(child.log_path)}")
                time.sleep(0.05)

    def _write_run_info(self) -> None:
        nodes = {c.node.daemon_id: c.proc.pid for c in self._children if c.proc}
        data = {"pid": os.getpid(), "endpoint": self.endpoint, "nodes": nodes,
                "auth": self.auth}
        write_atomic(self.data_dir / "run.json", json.dumps(data, indent=1).encode())

    # --- watch ------------------------------------------------------------------------------

    def check_children(self) -> None:
        """Restart nodes that died; give up on one that keeps dying."""
        for child in self._children:
            if child.proc is None or child.proc.poll() is None:
                continue
            now = time.monotonic()
            child.restarts = [t for t in child.restarts if now - t < 60] + [now]
            if len(child.restarts) > MAX_RESTARTS_PER_MINUTE:
                raise ClusterError(f"{child.node.pretty} keeps exiting (last code "
                                   f"{child.proc.returncode}):\n{_tail(child.log_path)}")
            log.warning("%s exited with code %s; restarting it", child.node.pretty,
                        child.proc.returncode)
            child.spawn(self._lock_fd, self._run_auth)
            self._wait_ready([child])
            self._write_run_info()

    def serve_forever(self, poll_seconds: float = 0.2) -> None:
        """Watch the nodes until SIGINT or SIGTERM, then stop them all."""
        stopping = False

        def request_stop(_sig: int, _frame: object) -> None:
            nonlocal stopping
            stopping = True

        old = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not stopping:
                self.check_children()
                for child in self._children:
                    rotate_log(child.log_path)
                time.sleep(poll_seconds)
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
            self.stop()

    # --- stop -------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL after a grace period); idempotent."""
        procs = [c.proc for c in self._children if c.proc and c.proc.poll() is None]
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for child in self._children:
            child.sock.close()
        self._children.clear()
        if self._lock_file is not None:
            (self.data_dir / "run.json").unlink(missing_ok=True)
            self._lock_file.close()
            self._lock_file = None

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def start_in_background(data_dir: Path | None = None, targets: int = 2, port: int | None = None,
                        timeout: float = 60.0, fsync_put: bool = False,
                        promote_root: Path | None = None, auth: bool = True) -> RunInfo:
    """The cluster running on ``data_dir``, started as a detached process if it is not.

    Its output goes to ``supervisor.log`` in the data directory.
    """
    data = (data_dir or default_data_dir()).resolve()
    if (running := find_running(data)) is not None:
        return running
    data.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "aisetl_tui.cli", "cluster", "--data", str(data),
           "--targets", str(targets)]
    if port is not None:
        cmd += ["--port", str(port)]
    if fsync_put:
        cmd.append("--fsync-put")
    if promote_root is not None:
        cmd += ["--promote-root", str(promote_root)]
    if not auth:
        cmd.append("--no-auth")
    log_path = data / "supervisor.log"
    with open(log_path, "ab") as logf:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (running := find_running(data)) is not None and running.pid == proc.pid:
            return running
        if proc.poll() is not None:
            raise ClusterError("the embedded cluster did not start:\n" + _tail(log_path, 5))
        time.sleep(0.1)
    raise ClusterError(f"the embedded cluster did not start in {timeout:.0f}s; see {log_path}")
