"""One transformer process ("pod") per ETL per target: start, readiness, logs, metrics, stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil

from .._smap import HOST
from ._limits import Limits, PodCgroups, make_cgroups
from ._podnet import PodNet, host_port
from ._sandbox import LAUNCHER, OWN_NETWORK, Plan

OOM_EXIT = 137  # SIGKILL's 128 + 9, as Kubernetes reports an OOM-killed container
LOG_LINES = 2000
LOG_LINE_MAX = 4096
LOG_CHUNK = 64 * 1024
LOG_FILE_MAX = 16 * 1024 * 1024  # then pod.log becomes pod.log.1 (one kept), as kubelet rotates
STOP_GRACE = 5.0
NO_SUCH_ROUTE = (404, 405, 501)
ROUTE_GRACE = 2.0  # how long a health check may answer "no such route" before init fails

OWNER_ENV_KEPT = frozenset({"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR"})


def _line(raw: bytes) -> str:
    return raw[:LOG_LINE_MAX].decode(errors="replace").rstrip("\r")


@dataclass(frozen=True)
class PodStatus:
    """What Kubernetes would say of the transformer's container (AIStore's ``k8s.PodStatus``)."""

    state: str  # Waiting | Running | Terminated
    reason: str
    message: str = ""
    exit_code: int = 0


class PodError(Exception):
    """The transformer could not be started or became unready: ``cause`` says why,
    ``status`` is its container's once it has one. ``str()`` is the whole story: the cause,
    then the status message (the log's last lines)."""

    def __init__(self, cause: str, status: PodStatus | None = None) -> None:
        tail = f":\n{status.message}" if status is not None and status.message else ""
        super().__init__(cause + tail)
        self.cause = cause
        self.status = status


def owner_env_kept() -> dict[str, str]:
    """What of this cluster's environment a transformer gets: what finds programs and sets
    the locale, as a container's would. Nothing else of the owner's (tokens, keys, paths):
    the rest of its environment is AIStore's contract and the spec's ``env``."""
    return {k: v for k, v in os.environ.items() if k in OWNER_ENV_KEPT}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Launch:
    """How to run a transformer: argv, environment, and where it listens."""

    argv: list[str]
    env: dict[str, str]
    port: int
    cwd: Path | None = None
    health_path: str = "/health"
    sandbox: Plan | None = None  # None: an ordinary process (tests of the pod machinery)
    limits: Limits = field(default_factory=Limits)
    reach: list[int] = field(default_factory=list)  # ports of this machine it may connect to


@dataclass
class Pod:
    name: str
    launch: Launch
    log_file: Path
    on_exit: Callable[[Pod, PodError], None] | None = None
    logs: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    started: float = 0.0
    restarts: int = 0
    _proc: asyncio.subprocess.Process | None = None
    _reader: asyncio.Task | None = None
    _watcher: asyncio.Task | None = None
    _stopping: bool = False
    _ps: psutil.Process | None = None
    _cgroups: PodCgroups | None = None
    _session: aiohttp.ClientSession | None = None
    net: PodNet | None = None  # its own network, where the sandbox gave it one

    @property
    def pid_file(self) -> Path:
        return self.log_file.parent / "pod.pid"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.launch.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The target's connections to this transformer (inside its network, if its own)."""
        assert self._session is not None, "the pod has not started"
        return self._session

    def reach_pod(self, other: Pod) -> None:
        """Let this transformer connect to ``other``'s (the next stage of a pipeline)."""
        if self.net is None:
            return  # (it shares this machine's network: it reaches the other's port)
        port, net = other.launch.port, other.net
        self.net.relay(port, host_port(port) if net is None else lambda: net.connect(port))

    async def start(self, timeout: float) -> None:
        """Spawn the process and wait until its health check answers 200."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        env = {**owner_env_kept(), **self.launch.env}
        argv = self.launch.argv
        if self.launch.limits.any:
            self._cgroups = make_cgroups(self.name, self.launch.limits)  # a few sysfs writes
            self.logs.extend(self._cgroups.notes)
        control = theirs = None  # the launcher's word on the pod's network, and its sockets
        if (plan := self.launch.sandbox) is not None:
            if self._cgroups is not None:
                plan.cgroups = [str(d) for d in self._cgroups.dirs]
                plan.memory_rlimit = self._cgroups.memory_rlimit
            if plan.network:
                control, theirs = socket.socketpair()
                plan.control_fd = theirs.fileno()
            argv = [*LAUNCHER, plan.to_arg(), "--", *argv]
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *argv, env=env, cwd=self.launch.cwd,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, start_new_session=True,
                pass_fds=() if theirs is None else (theirs.fileno(),),
            )
        finally:
            if theirs is not None:
                theirs.close()
        self.started = time.time()
        self.pid_file.write_text(str(self._proc.pid))  # found again if this target dies
        self._reader = asyncio.create_task(self._read_logs())
        try:
            if control is not None:
                await self._enter_network(control, timeout)
            self._session = aiohttp.ClientSession(auto_decompress=False, connector=(
                aiohttp.TCPConnector(socket_factory=self.net.socket_factory)
                if self.net is not None else None))
            await self._wait_ready(timeout)
        except BaseException:
            await self.stop()
            raise
        self._watcher = asyncio.create_task(self._watch())

    async def _enter_network(self, control: socket.socket, timeout: float) -> None:
        """Once the launcher made the pod's network, relay, inside it, the ports of this
        machine the pod may reach; then let the launcher start the transformer."""
        try:
            control.setblocking(False)
            try:
                said = await asyncio.wait_for(
                    asyncio.get_running_loop().sock_recv(control, 1), timeout)
            except TimeoutError:
                raise PodError(f"{self.name}: its sandbox was not made within {timeout:g}s",
                               PodStatus("Waiting", "ContainerCreating",
                                         self.log_tail())) from None
            if said != OWN_NETWORK:  # (it shares this machine's; its log says why)
                control.close()
                return
            control.setblocking(True)
            net = PodNet(control)
            for port in self.launch.reach:
                try:
                    net.relay(port, host_port(port))
                except OSError as err:
                    raise PodError(f"{self.name}: cannot give it port {port} of this "
                                   f"cluster's targets in its network: {err}") from None
            net.ready()
        except BaseException:
            control.close()
            raise
        self.net = net

    async def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        path = self.launch.health_path
        last, refused_since = "no answer", None
        session, probe_timeout = self.session, aiohttp.ClientTimeout(total=2)
        while True:
            assert self._proc is not None
            if self._proc.returncode is not None:
                await self._drain_logs()
                code = self._proc.returncode
                raise PodError(f"{self.name} {self._ended_how(code)} before it became "
                               "ready", PodStatus("Terminated", self._reason(code),
                                                  self.log_tail(), code))
            try:
                async with session.get(self.url + path, timeout=probe_timeout) as resp:
                    if resp.status == 200:
                        return
                    last = f"GET {path} returned {resp.status}"
                    if resp.status in NO_SUCH_ROUTE:  # will not change: fail fast
                        refused_since = refused_since or time.monotonic()
            except (aiohttp.ClientError, TimeoutError):
                pass
            now = time.monotonic()
            if refused_since is not None and now - refused_since > ROUTE_GRACE:
                raise self._not_ready(f"is not ready: {last}; the server must answer "
                                      f"GET {path} with 200 (the readiness probe)")
            if now > deadline:
                raise self._not_ready(f"did not become ready within {timeout:g}s ({last}; "
                                      f"the readiness probe needs 200 from GET {path})")
            await asyncio.sleep(0.05)

    def _not_ready(self, what: str) -> PodError:
        # The server's access log of the probes says nothing the error does not.
        tail = self.log_tail(unless=f"GET {self.launch.health_path} HTTP/")
        return PodError(f"{self.name} {what}", PodStatus("Running", "NotReady", tail))

    async def _read_logs(self) -> None:
        """Copy the transformer's output to its log file (rotated at ``LOG_FILE_MAX``) and to
        the tail kept in memory. It reads what is there rather than line by line: a chatty
        transformer costs a write per burst, and no line is too long to read."""
        assert self._proc is not None and self._proc.stdout is not None
        partial = b""
        f = open(self.log_file, "ab")  # noqa: SIM115 - replaced on rotation, closed below
        try:
            while chunk := await self._proc.stdout.read(LOG_CHUNK):
                f.write(chunk)
                f.flush()
                if f.tell() > LOG_FILE_MAX:
                    f.close()
                    os.replace(self.log_file, f"{self.log_file}.1")
                    f = open(self.log_file, "ab")  # noqa: SIM115
                *lines, partial = (partial + chunk).split(b"\n")
                partial = partial[:LOG_LINE_MAX]  # an endless line keeps its head
                self.logs.extend(_line(line) for line in lines)
            if partial:
                self.logs.append(_line(partial))
        finally:
            f.close()

    async def _drain_logs(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._reader), 1.0)

    async def _watch(self) -> None:
        assert self._proc is not None
        code = await self._proc.wait()
        if self._stopping:
            return
        await self._drain_logs()
        if self.on_exit is not None:
            self.on_exit(self, PodError(f"transformer {self.name} {self._ended_how(code)}",
                                        PodStatus("Terminated", self._reason(code),
                                                  self.log_tail(), code)))

    def _reason(self, code: int) -> str:
        """Kubernetes' reason for a container that ended with ``code``."""
        oom = code == OOM_EXIT and self._cgroups is not None and self._cgroups.oom_killed()
        return "OOMKilled" if oom else "Error"

    def _ended_how(self, code: int) -> str:
        if self._reason(code) == "OOMKilled":
            limit = self.launch.limits.memory or 0
            return (f"was OOMKilled (exit code {code}): it went over its memory limit of "
                    f"{limit / 2**20:,.0f} MiB")
        return f"exited with code {code}"

    def log_tail(self, lines: int = 15, unless: str = "") -> str:
        """The log's last ``lines``, leaving out those that hold ``unless``."""
        return "\n".join([line for line in self.logs if not unless or unless not in line]
                         [-lines:])

    async def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after a grace period."""
        self._stopping = True
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), STOP_GRACE)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):  # helpers it may have left behind
                os.killpg(proc.pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        if self._cgroups is not None:
            self._cgroups.remove()
        if self._session is not None:
            await self._session.close()
        if self.net is not None:
            await self.net.close()
        for task in (self._watcher, self._reader):
            if task is not None and not task.done():
                task.cancel()

    def metrics(self) -> tuple[float, int]:
        """(CPU in cores since the previous call, resident memory in bytes) of its process tree."""
        if not self.running or self.pid is None:
            return 0.0, 0
        try:
            if self._ps is None or self._ps.pid != self.pid:
                self._ps = psutil.Process(self.pid)
            procs = [self._ps, *self._ps.children(recursive=True)]
            cpu = mem = 0
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    cpu += p.cpu_percent(None)
                    mem += p.memory_info().rss
            return cpu / 100.0, mem
        except psutil.Error:
            return 0.0, 0


def reap_orphans(etl_root: Path, target_url: str) -> list[str]:
    """Kill the transformers a crashed predecessor of this target left running.

    Their pid files survive the crash; a process is ours if its ``AIS_TARGET_URL`` points at
    this target. Returns the names of the ETLs whose transformer was lost.
    """
    lost = []
    for pid_file in sorted(etl_root.glob("*/pod.pid")):
        with contextlib.suppress(ValueError, OSError, psutil.Error):
            pid = int(pid_file.read_text())
            env = psutil.Process(pid).environ()
            if env.get("AIS_TARGET_URL", "").startswith(target_url):
                os.killpg(pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)
        lost.append(pid_file.parent.name)
    return lost
