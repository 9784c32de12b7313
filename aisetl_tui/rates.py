"""Throughput, progress and ETA of an offline transform, from per-target cumulative counters.

Pure functions and small value types: no I/O, no widgets, so they are easy to test. Rates divide
by the measured time between two samples (never the nominal poll interval), and survive
counters that reset (a restarted job or target) and targets that appear or disappear.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import islice
from statistics import median

HISTORY = 300  # samples kept per target for the chart (5 minutes at one per second)
STRAGGLER_WINDOW = 10  # samples a node's rate is averaged over before it is called slow
STRAGGLER_SHARE = 0.5  # slow: below this share of the nodes' median rate


@dataclass(frozen=True)
class Counters:
    """One target's cumulative counters for one job, as of one sample."""

    objs: int
    bytes: int


@dataclass(frozen=True)
class Rate:
    objs_per_s: float
    bytes_per_s: float


ZERO = Rate(0.0, 0.0)


def rate(prev: Counters | None, cur: Counters, seconds: float) -> Rate:
    """The rate between two samples; a counter that went backwards restarted from zero."""
    if prev is None or seconds <= 0:
        return ZERO
    d_objs = cur.objs - prev.objs if cur.objs >= prev.objs else cur.objs
    d_bytes = cur.bytes - prev.bytes if cur.bytes >= prev.bytes else cur.bytes
    return Rate(d_objs / seconds, d_bytes / seconds)


@dataclass
class NodeSeries:
    """What the monitor keeps per target: the last sample, the current rate, its history."""

    last: Counters | None = None
    last_time: float = 0.0
    current: Rate = ZERO
    history: deque[Rate] = field(default_factory=lambda: deque(maxlen=HISTORY))


class ThroughputTracker:
    """Feeds samples in; per-target rates and bounded histories come out."""

    def __init__(self) -> None:
        self.nodes: dict[str, NodeSeries] = {}
        self.times: deque[float] = deque(maxlen=HISTORY)  # when each sample was taken

    @property
    def seconds_per_sample(self) -> float:
        """The measured time between samples, on average over the history (1 s before two)."""
        if len(self.times) < 2:
            return 1.0
        return (self.times[-1] - self.times[0]) / (len(self.times) - 1)

    def add(self, when: float, counters: Mapping[str, Counters]) -> None:
        """Record one poll's counters, taken at monotonic time ``when``."""
        self.times.append(when)
        for target, cur in counters.items():
            node = self.nodes.setdefault(target, NodeSeries())
            node.current = rate(node.last, cur, when - node.last_time) if node.last else ZERO
            node.last, node.last_time = cur, when
            node.history.append(node.current)
        for target, node in self.nodes.items():
            if target not in counters:  # a target that stopped reporting moves nothing
                node.current = ZERO
                node.history.append(ZERO)

    def total(self) -> Rate:
        return Rate(sum(n.current.objs_per_s for n in self.nodes.values()),
                    sum(n.current.bytes_per_s for n in self.nodes.values()))

    def stragglers(self, running: Iterable[str]) -> set[str]:
        """The ``running`` nodes whose objects/s over the last :data:`STRAGGLER_WINDOW`
        samples stay below :data:`STRAGGLER_SHARE` of the median of all running nodes.
        Needs two nodes and a full window (a node's first seconds are not a trend)."""
        recent = {}
        for target in running:
            node = self.nodes.get(target)
            if node is None or len(node.history) < STRAGGLER_WINDOW:
                return set()
            window = islice(reversed(node.history), STRAGGLER_WINDOW)
            recent[target] = sum(r.objs_per_s for r in window) / STRAGGLER_WINDOW
        if len(recent) < 2:
            return set()
        typical = median(recent.values())
        return {t for t, r in recent.items() if r < STRAGGLER_SHARE * typical}


@dataclass(frozen=True)
class Progress:
    done_objs: int
    done_bytes: int
    total_objs: int | None
    total_bytes: int | None

    @property
    def fraction(self) -> float | None:
        """Completed share by objects, or None while the total is unknown."""
        if not self.total_objs:
            return None
        return min(1.0, self.done_objs / self.total_objs)


def progress(counters: Iterable[Counters], total_objs: int | None,
             total_bytes: int | None) -> Progress:
    done = list(counters)
    return Progress(sum(c.objs for c in done), sum(c.bytes for c in done), total_objs,
                    total_bytes)


def eta_seconds(p: Progress, objs_per_s: float) -> float | None:
    """Seconds left at the current rate; None when it cannot be told."""
    if p.total_objs is None or objs_per_s <= 0:
        return None
    return max(0.0, (p.total_objs - p.done_objs) / objs_per_s)


def noun_for(n: int, noun: str, nouns: str = "") -> str:
    """``noun`` for one, its plural (``nouns`` when irregular) for any other count."""
    return noun if n == 1 else nouns or noun + "s"


def plural(n: int, noun: str, nouns: str = "") -> str:
    """``1 object``, ``2 objects``, ``1,024 objects`` (``nouns``: an irregular plural)."""
    return f"{n:,} {noun_for(n, noun, nouns)}"


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def human_elapsed(seconds: float) -> str:
    """How long something took, finer than :func:`human_duration` below 10 s:
    ``4.2ms``, ``37ms``, ``3.1s``, ``1m05s``."""
    if seconds < 0.01:
        return f"{seconds * 1000:.1f}ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    return f"{seconds:.1f}s" if seconds < 10 else human_duration(seconds)


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02}m"
    return f"{minutes}m{secs:02}s" if minutes else f"{secs}s"
