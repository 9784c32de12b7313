"""A transformer's memory and CPU limits from its spec (Kubernetes ``resources.limits``),
enforced by a cgroup of its own, as the kubelet does: v1 controllers where the host mounts
them (memory, cpu), else v2. Where neither can be written, the memory limit falls back to an
address-space rlimit and the CPU limit is not enforced; the pod's log says so."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CFS_PERIOD_US = 100_000
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(?:e([0-9]+))?([KMGTPE]i?|m|k)?$")
_FACTORS = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
            "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50,
            "Ei": 2**60}


class LimitError(ValueError):
    """A limit that is not a Kubernetes quantity."""


def quantity(text: str, what: str) -> float:
    """A Kubernetes quantity (``512Mi``, ``1G``, ``500m``, ``1e9``, ``2``) as a number."""
    m = _QUANTITY.match(str(text).strip())
    if m is None:
        raise LimitError(f"{what} {text!r} is not a Kubernetes quantity (e.g. 512Mi, 1Gi, "
                         "500m, 2)")
    value = float(m[1]) * 10 ** int(m[2] or 0)
    suffix = m[3] or ""
    return value / 1000 if suffix == "m" else value * _FACTORS[suffix]


@dataclass(frozen=True)
class Limits:
    """``memory`` in bytes, ``cpu`` in cores; None: not limited."""

    memory: int | None = None
    cpu: float | None = None

    @classmethod
    def from_resources(cls, resources: object) -> Limits:
        """From a Kubernetes ``ResourceRequirements`` (only its ``limits`` are enforced)."""
        if not resources:
            return cls()
        if not isinstance(resources, dict):
            raise LimitError("resources must be an object with limits (and requests)")
        limits = resources.get("limits") or {}
        if not isinstance(limits, dict):
            raise LimitError("resources.limits must be an object, e.g. {memory: 512Mi}")
        unknown = sorted(set(limits) - {"memory", "cpu"})
        if unknown:
            raise LimitError(f"resources.limits {', '.join(unknown)}: only memory and cpu "
                             "are enforced by the embedded cluster")
        memory = limits.get("memory")
        cpu = limits.get("cpu")
        return cls(int(quantity(memory, "memory limit")) if memory is not None else None,
                   quantity(cpu, "cpu limit") if cpu is not None else None)

    @property
    def any(self) -> bool:
        return self.memory is not None or self.cpu is not None


@dataclass
class PodCgroups:
    """The cgroup directories made for one pod, and what could not be limited."""

    dirs: list[Path] = field(default_factory=list)
    memory_dir: Path | None = None
    notes: list[str] = field(default_factory=list)
    memory_rlimit: int = 0

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of the pod for going over its memory."""
        if self.memory_dir is None:
            return False
        for name in ("memory.events", "memory.oom_control"):  # v2, v1
            with contextlib.suppress(OSError):
                text = (self.memory_dir / name).read_text()
                m = re.search(r"^oom_kill (\d+)$", text, re.M)
                return bool(m and int(m[1]))
        return False

    def remove(self) -> None:
        for path in reversed(self.dirs):
            with contextlib.suppress(OSError):
                path.rmdir()


def _v1_dir(controller: str) -> Path | None:
    """This process's cgroup directory of a v1 controller, if the host mounts it."""
    mount = CGROUP_ROOT / controller
    if not (mount / "cgroup.procs").exists():
        return None
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return mount / path.lstrip("/")
    return None


def _v2_dir() -> Path | None:
    for mount in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
        if (mount / "cgroup.controllers").exists():
            for line in Path("/proc/self/cgroup").read_text().splitlines():
                if line.startswith("0::"):
                    return mount / line[3:].lstrip("/")
    return None


def make_cgroups(pod: str, limits: Limits) -> PodCgroups:
    """A cgroup per limited controller for ``pod``, limits written; what fails is noted."""
    out = PodCgroups()
    wanted = {"memory": limits.memory is not None, "cpu": limits.cpu is not None}
    for controller in [c for c, on in wanted.items() if on]:
        made = _make_v1(pod, controller, limits, out) or _make_v2(pod, controller, limits, out)
        if made:
            continue
        if controller == "memory" and limits.memory is not None:
            out.memory_rlimit = limits.memory
            out.notes.append("note: limits: no memory cgroup can be made here; the memory "
                             "limit is an address-space rlimit (allocations past it fail "
                             "with MemoryError instead of an OOM kill)")
        else:
            out.notes.append("note: limits: no cpu cgroup can be made here; the cpu limit "
                             "is not enforced")
    return out


def _limit_files(controller: str, limits: Limits, v2: bool) -> dict[str, str]:
    if controller == "memory":
        assert limits.memory is not None
        return {"memory.max" if v2 else "memory.limit_in_bytes": str(limits.memory)}
    assert limits.cpu is not None
    quota = max(1000, int(limits.cpu * CFS_PERIOD_US))
    if v2:
        return {"cpu.max": f"{quota} {CFS_PERIOD_US}"}
    return {"cpu.cfs_period_us": str(CFS_PERIOD_US), "cpu.cfs_quota_us": str(quota)}


def _make_v1(pod: str, controller: str, limits: Limits, out: PodCgroups) -> bool:
    parent = _v1_dir(controller)
    return parent is not None and _make(parent / f"aisetl-{pod}", controller, limits, out,
                                        v2=False)


def _make_v2(pod: str, controller: str, limits: Limits, out: PodCgroups) -> bool:
    parent = _v2_dir()
    if parent is None or controller not in (parent / "cgroup.controllers").read_text().split():
        return False
    with contextlib.suppress(OSError):  # fails where the parent holds processes itself
        (parent / "cgroup.subtree_control").write_text(f"+{controller}")
    path = parent / f"aisetl-{pod}"
    return _make(path, controller, limits, out, v2=True)


def _make(path: Path, controller: str, limits: Limits, out: PodCgroups, v2: bool) -> bool:
    try:
        path.mkdir(exist_ok=True)
        for name, value in _limit_files(controller, limits, v2).items():
            (path / name).write_text(value)
    except OSError:
        with contextlib.suppress(OSError):
            path.rmdir()
        return False
    if path not in out.dirs:
        out.dirs.append(path)
    if controller == "memory":
        out.memory_dir = path
        with contextlib.suppress(OSError):  # no swapping past the limit either, where swap is
            (path / "memory.swap.max" if v2 else path / "memory.memsw.limit_in_bytes"
             ).write_text("0" if v2 else str(limits.memory))
    return True
