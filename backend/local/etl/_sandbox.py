"""A pod-like sandbox for one transformer, run as ``python -m backend.local.etl._sandbox PLAN --
ARGV...`` (the environment is the transformer's own).

What a container gives a transformer on Kubernetes, from Linux namespaces (no container
runtime): its own PID namespace, with an init of ours as PID 1 that forwards signals to the
transformer and reaps what it leaves (when the transformer ends, the pod ends, and with it
every process it started, double-forked daemons too; a ``kill(1)`` from inside ends only the
pod); its own mount view, in which the owner's files (home, temporary directories, the
cluster's data) are hidden under empty tmpfs and only what the runtime needs comes back,
read-only except the pod's scratch directory; its own network holding only loopback, in
which the launcher makes sockets for the target (see ``_podnet``); an unprivileged user when
the cluster runs as root; memory and CPU limits from a cgroup the target prepared (see
``_limits``).

A mechanism the host does not offer (no user namespaces for a non-root owner, say) is left
out: the transformer still runs, and the launcher says what was left out on its first lines
of output (the pod's log), starting with ``note: sandbox:``.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import signal
import socket
import sys
from dataclasses import asdict, dataclass, field

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = (0x00020000, 0x10000000, 0x20000000,
                                                          0x40000000)
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
OWN_NETWORK, HOST_NETWORK = b"n", b"h"  # what the launcher first says on ``Plan.control_fd``
MADE, NOT_MADE = b"s", b"e"  # its answer to the target's request for a socket
GO = b"\0"  # the target's word that the pod's network is ready: start the transformer
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG = 1
LAUNCHER = [sys.executable, "-m", "backend.local.etl._sandbox"]  # this module, run
NOTE = "note: sandbox:"
STOPS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP)
STOP_GRACE = 10  # seconds a transformer told to stop has before it is killed
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2)


@dataclass
class Plan:
    """What the sandbox hides, what it shows again and how, who runs inside, and the
    cgroup directories the pod joins (its limits)."""

    hide: list[str] = field(default_factory=list)
    readonly: list[str] = field(default_factory=list)
    writable: list[str] = field(default_factory=list)
    cwd: str = "/"
    drop_to: int | None = None  # uid and gid to run as (when the cluster runs as root)
    cgroups: list[str] = field(default_factory=list)
    memory_rlimit: int = 0  # bytes of address space, where no cgroup limits memory
    network: bool = False  # a network of its own, holding only loopback
    # a socket to the target: the launcher says on it whether the pod got a network of its
    # own, then makes sockets in it for the target (one per request)
    control_fd: int = -1

    def to_arg(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_arg(cls, text: str) -> Plan:
        return cls(**json.loads(text))


_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                       ctypes.c_ulong(flags), data.encode() if data else None),
           f"mount {target}")


def _enter_namespaces(plan: Plan, notes: list[str]) -> bool:
    """New mount and PID namespaces (a network one if the plan asks and the host allows:
    else ``plan.network`` becomes False, and a user namespace when not root); False if the
    host allows none."""
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNS | CLONE_NEWPID | (0 if uid == 0 else CLONE_NEWUSER)
    try:
        if plan.network:
            try:
                _unshare(flags | CLONE_NEWNET)
            except OSError as err:
                _unshare(flags)
                plan.network = False
                notes.append(f"{NOTE} network: no network namespace ({err.strerror}): the "
                             "transformer shares this machine's network")
        else:
            _unshare(flags)
    except OSError as err:
        plan.network = False
        notes.append(f"{NOTE} no namespaces ({err.strerror}): the transformer shares this "
                     "machine's processes, files and network")
        return False
    if uid != 0:  # the owner stays themselves inside; only the namespaces are theirs
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"{uid} {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"{gid} {gid} 1")
    return True


def _bring_up_loopback() -> None:
    """A new network namespace's loopback starts down."""
    import fcntl
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH22x", b"lo", 0)  # struct ifreq: name, flags
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


def serve_socket(control: socket.socket) -> bytes:
    """Answer one request of the target: for an address family (a byte), make a socket of
    it in this process's network (the pod's) and hand it over. The request, or ``b""`` once
    the target hung up. No privilege is needed for it, where entering the network from
    outside needs ``CAP_SYS_ADMIN``: an owner who is not root gets pods with a network of
    their own too."""
    try:
        request = control.recv(1)
        if request in (b"", GO):
            return request
        try:
            made = socket.socket(request[0], socket.SOCK_STREAM)
        except OSError:
            control.sendall(NOT_MADE)
            return request
        with made:
            socket.send_fds(control, [MADE], [made.fileno()])
        return request
    except OSError:  # (the target went: as hung up)
        return b""


def _serve_until_go(control: socket.socket) -> None:
    """Make sockets until the target says the pod's network is ready (its relays listen),
    so the transformer never starts before what it may reach."""
    while (request := serve_socket(control)) != GO:
        if not request:
            raise SystemExit("sandbox: the target went before the pod's network was ready")


def _serve_until_ends(init: int, control: socket.socket | None) -> None:
    """Serve the target's requests for sockets until ``init`` ends. (In this thread: a
    process that made a PID namespace for its children can start no thread.)"""
    if control is None:
        return  # (_wait_for waits)
    try:
        ended: int | None = os.pidfd_open(init)
    except OSError:  # (an old kernel, or a filter): look every half second
        ended = None
    try:
        while control is not None:
            waiting = [control] if ended is None else [ended, control]
            ready, _, _ = select.select(waiting, [], [], 0.5 if ended is None else None)
            if (ended in ready if ended is not None else _ended(init)):
                return
            if control in ready and not serve_socket(control):
                control.close()
                control = None
    finally:
        if ended is not None:
            os.close(ended)


def _ended(pid: int) -> bool:
    """Whether child ``pid`` ended (left to be waited for)."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _tell_network(plan: Plan) -> socket.socket | None:
    """Say on the control socket whether the pod has a network of its own; the socket, to
    serve the target's requests, if it does."""
    if plan.control_fd < 0:
        return None
    control = socket.socket(fileno=plan.control_fd)
    control.set_inheritable(False)  # (not the transformer's)
    control.sendall(OWN_NETWORK if plan.network else HOST_NETWORK)
    if plan.network:
        return control
    control.close()
    return None


def _lay_out_view(plan: Plan) -> None:
    """Hide ``plan.hide`` under empty tmpfs, then bring back what the pod needs."""
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    shown = [(p, False) for p in plan.readonly] + [(p, True) for p in plan.writable]
    shown = [(p, w) for p, w in shown if os.path.exists(p)]
    # Held open before anything is hidden: a path under a tmpfs is reached through its fd.
    fds = {p: os.open(p, os.O_PATH) for p, _ in shown}
    hidden: list[str] = []
    for path in sorted({os.path.realpath(p) for p in plan.hide if os.path.isdir(p)}, key=len):
        if not any(_under(path, h) for h in hidden):  # else it went with its parent
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=16m")
            hidden.append(path)
    for path, writable in sorted(shown, key=lambda pw: len(pw[0])):
        if os.path.isdir(f"/proc/self/fd/{fds[path]}"):
            os.makedirs(path, exist_ok=True)
        elif not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "a").close()  # a mount point for a file
        _mount(f"/proc/self/fd/{fds[path]}", path, None, MS_BIND | MS_REC)
        if not writable:
            try:
                _mount("none", path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
            except OSError as err:
                print(f"{NOTE} {path} could not be made read-only ({err.strerror})",
                      flush=True)
        os.close(fds[path])


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _join_cgroups(plan: Plan) -> None:
    """Join the pod's cgroups (its limits): the init, and so the transformer, not the
    launcher, which must answer its target however hard the transformer works."""
    notes = []
    for path in plan.cgroups:
        try:
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write("0")  # (this process)
        except OSError as err:
            notes.append(f"{NOTE} limits of {path} not applied ({err.strerror})")
    if plan.memory_rlimit:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (plan.memory_rlimit, plan.memory_rlimit))
    for line in notes:
        print(line, flush=True)


def _end_with_parent(alive_r: int) -> None:
    """Be killed when the launcher dies (killed itself, say): the whole pod goes with its
    PID 1. The pipe closes the race of a launcher that died before this was asked."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    os.set_blocking(alive_r, False)
    try:
        if os.read(alive_r, 1) == b"":
            os._exit(128 + signal.SIGKILL)
    except BlockingIOError:
        pass  # the launcher lives
    os.close(alive_r)


def _exit_like(status: int) -> None:
    """End this process as the waited-for one ended: its code, or its signal's 128 + n."""
    if os.WIFSIGNALED(status):
        os._exit(128 + os.WTERMSIG(status))
    os._exit(os.waitstatus_to_exitcode(status))


def _forward_signals(to_pid: int, grace: int = 0) -> None:
    """Pass the signals that stop or poke a process on to ``to_pid``; with a ``grace``, a
    stop it has not obeyed in that many seconds becomes a SIGKILL (as a container runtime
    ends a container that ignores its stop signal)."""

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(to_pid, signum)
        if grace and signum in STOPS:
            signal.alarm(grace)

    def kill(_signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(to_pid, signal.SIGKILL)

    for sig in FORWARDED:
        signal.signal(sig, forward)
    if grace:
        signal.signal(signal.SIGALRM, kill)


def _wait_for(pid: int) -> int:
    """Wait for ``pid``, reaping any other child meanwhile (an init's duty); its status."""
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            return 0
        if done == pid:
            return status


def _run_transformer(plan: Plan, argv: list[str], confined: bool, alive_r: int) -> None:
    """The pod's init (PID 1 when ``confined``): start the transformer, forward signals to
    it, reap orphans, and end with it, or with the launcher (``alive_r``)."""
    _join_cgroups(plan)
    if confined:
        try:
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        except OSError as err:
            print(f"{NOTE} /proc shows the host's processes ({err.strerror})", flush=True)
    if confined and plan.drop_to is not None:  # init too: the transformer may signal it
        os.setgroups([])
        os.setgid(plan.drop_to)
        os.setuid(plan.drop_to)
    _end_with_parent(alive_r)  # (after the drop, which clears the death signal)
    child = os.fork()
    if child == 0:
        for sig in FORWARDED:
            signal.signal(sig, signal.SIG_DFL)
        os.chdir(plan.cwd)
        try:
            os.execvp(argv[0], argv)
        except OSError as err:
            print(f"cannot run {argv[0]}: {err.strerror}", flush=True)
            os._exit(127)
    _forward_signals(child, grace=STOP_GRACE)
    _exit_like(_wait_for(child))


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        raise SystemExit("usage: python -m backend.local.etl._sandbox PLAN -- ARGV...")
    plan, argv = Plan.from_arg(sys.argv[1]), sys.argv[3:]
    notes: list[str] = []
    confined = _enter_namespaces(plan, notes)
    for line in notes:
        print(line, flush=True)
    if confined:
        try:
            _lay_out_view(plan)
            if plan.network:
                _bring_up_loopback()
                print("note: network: a network of its own, in which this transformer reaches "
                      "only the cluster's targets (a pod on Kubernetes may reach more)",
                      flush=True)
        except OSError as err:  # half a sandbox is none: the pod fails, saying why
            raise SystemExit(f"sandbox: cannot lay out the pod: {err}") from None
    control = _tell_network(plan)
    if control is not None:
        _serve_until_go(control)
    alive_r, alive_w = os.pipe()  # its end, once this launcher is gone: EOF
    init = os.fork()  # in the new PID namespace: PID 1
    if init == 0:
        os.close(alive_w)
        if control is not None:
            control.close()
        _run_transformer(plan, argv, confined, alive_r)
    os.close(alive_r)
    _forward_signals(init)
    _serve_until_ends(init, control)
    _exit_like(_wait_for(init))


if __name__ == "__main__":
    main()
