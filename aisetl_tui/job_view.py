"""What the job monitor shows of one offline transform, computed from what was polled: the
per-target snapshots (and per-object errors) in, every line, row, chart and summary out. No
widgets and no I/O: the screen fetches and renders, this decides what they say."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.text import Text

from backend.ais import JobSnap, ObjError

from .error_groups import KEPT_PER_TARGET, ErrorGroup, error_line, group_errors
from .rates import (
    Counters,
    Rate,
    ThroughputTracker,
    eta_seconds,
    human_bytes,
    human_duration,
    human_elapsed,
    noun_for,
    plural,
    progress,
    rate,
)
from .widgets.chart import ChartData, node_colour

ERROR_KINDS_SHOWN = 5
DISPLAY_KIND = {"etl-bck": "etl-bucket", "etl-listrange": "etl-objects"}
MAX_BANDS = 8  # the chart's bands: one per node up to this many
SLOWEST_SHARE = 0.9  # a summary names the slowest node when it is this far below the fastest
BAR_WIDTH = 8
PARTIAL = " ▏▎▍▌▋▊▉"
STATE_STYLE = {"running": "yellow", "finished": "green"}  # anything else: red
TOTAL_ROW = "~total"


@dataclass
class Poll:
    """One poll of a job: when (monotonic, for rates), the wall clock then (for what is
    shown), every target's snapshot, and the per-object errors if they were fetched."""

    when: float
    snaps: list[JobSnap]
    errors: list[ObjError] | None
    wall: float = field(default_factory=time.time)


@dataclass(frozen=True)
class SourceShare:
    """The part of the source a node transforms: its objects and their bytes."""

    objs: int
    bytes: int


@dataclass(frozen=True)
class Figures:
    """What a node, or all of them, did: the table's row, the chart's legend, the summary.
    Rates are current while it runs and its average once it ended."""

    written: Counters
    read: float  # bytes; estimated unless ``exact``
    exact: bool
    rate: Rate  # objects/s and bytes written/s
    read_rate: float  # bytes read/s


@dataclass(frozen=True)
class Frame:
    """Everything the monitor shows after a poll."""

    caption: Text
    state: str  # running, finished or aborted
    bar_total: int | None  # the progress bar's total (None: indeterminate)
    bar_done: int
    overall: Text
    rows: dict[str, tuple[str | Text, ...]]  # per node, then the total (TOTAL_ROW)
    chart: ChartData
    legend: list[tuple[str, str]]
    errors: Text | None  # None: no errors
    ended: bool


def covers_source(kind: str) -> bool:
    """A job of the whole source bucket (or its prefix), not of a list or range of it."""
    return kind.endswith("-bck")


def snap_state(s: JobSnap) -> str:
    if s.aborted:
        return "aborted"
    if s.ended is not None:
        return "finished"
    return "idle" if s.idle else "running"  # (idle: done, of a kind that idles, below)


def node_counters(s: JobSnap) -> Counters:
    """The objects this target is done with (written here, sent to the destination's owner,
    or failed), and the bytes it wrote."""
    objs, size = s.processed
    return Counters(objs + s.obj_errors, size)


def progress_cell(done: int, total: int | None, width: int = BAR_WIDTH) -> Text:
    """``█████▌   48%`` (a bar ``width`` cells wide); blank and a dash when the total is not
    known."""
    if not total:
        return Text(" " * width + "    —", style="dim")
    fraction = min(1.0, done / total)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (PARTIAL[part] if part else "")
    return Text.assemble((bar, "green"), ("░" * (width - len(bar)), "grey30"),
                         f" {fraction:>4.0%}")


class JobView:
    """One job as polled so far. Feed it :meth:`add` (and :attr:`totals`, :attr:`shares`
    as they become known); :meth:`frame` says what to show."""

    def __init__(self, xid: str) -> None:
        self.xid = xid
        self.tracker = ThroughputTracker()
        self.totals: tuple[int, int] | None = None  # the source's objects and bytes
        # each node's share of the source, once listed (None: not yet, or too many objects)
        self.shares: dict[str, SourceShare] | None = None
        self.etl_shown = ""  # the ETL (and its pipeline) as the caption names it
        self.parent = ""  # the job this one retries the failures of
        # kept from when the job was watched (its report): each node's objects/s per sample
        self.kept_history: dict[str, list[float]] = {}
        self.kept_seconds_per_sample = 0.0
        self.snaps: list[JobSnap] = []  # the last poll's
        self.done = Counters(0, 0)  # all nodes' output so far
        # each node's most done so far: a target that restarts loses its counters (or drops
        # out of the answer), and the job's progress must not go backwards with them
        self._most: dict[str, Counters] = {}
        self.lost: set[str] = set()  # nodes whose counters went back or went away
        self.errors: list[ObjError] = []
        self._grouped: tuple[list[ObjError] | None, list[ErrorGroup]] = (None, [])
        # object name -> when first seen failing (the app's, shared by the job's screens)
        self.error_seen: dict[str, float] = {}
        self._wall = 0.0  # the last poll's wall clock
        self._idle_since: datetime | None = None  # first seen done and idle: its end, as shown
        self.slow: set[str] = set()

    @property
    def seen(self) -> bool:
        """Some target has reported the job."""
        return bool(self.snaps)

    @property
    def job_totals(self) -> tuple[int, int] | None:
        """The job's objects and bytes: its source's for a bucket job; unknown for a job of a
        list or range, which does some of them (the source's then give object sizes only)."""
        return self.totals if self.snaps and covers_source(self.snaps[0].kind) else None

    @property
    def ended(self) -> bool:
        """Every node is done: the job ended, or, of a kind that idles between requests (a
        list or range), waits idle for more; AIStore ends it a minute later."""
        return bool(self.snaps) and all(s.done for s in self.snaps)

    @property
    def idling(self) -> bool:
        """Done, and idle rather than ended."""
        return self.ended and any(s.ended is None for s in self.snaps)

    def add(self, poll: Poll) -> None:
        """A poll that found the job on some target."""
        counters = {s.target_id: node_counters(s) for s in poll.snaps}
        self.tracker.add(poll.when, counters)
        for target, most in self._most.items():
            now = counters.get(target)
            if now is None or now.objs < most.objs:
                self.lost.add(target)
        for target, now in counters.items():
            most = self._most.get(target, Counters(0, 0))
            self._most[target] = Counters(max(most.objs, now.objs), max(most.bytes, now.bytes))
        self.done = Counters(sum(c.objs for c in self._most.values()),
                             sum(c.bytes for c in self._most.values()))
        if poll.errors is not None:
            self.errors = poll.errors
        self.snaps, self._wall = poll.snaps, poll.wall
        if self.idling and self._idle_since is None:
            self._idle_since = datetime.fromtimestamp(poll.wall, UTC)

    def last_seen(self) -> str:
        """``last seen: 120 of 400 objects, 1.2 MiB``: for when the job is out of sight."""
        total = self.job_totals[0] if self.job_totals else None
        of = f" of {total:,}" if total is not None else ""
        noun = noun_for(total if total is not None else self.done.objs, "object")
        return f"last seen: {self.done.objs:,}{of} {noun}, {human_bytes(self.done.bytes)}"

    def frame(self) -> Frame:
        """What to show for the last poll (after :meth:`add`; again once shares are known)."""
        snaps = self.snaps
        by_target = {s.target_id: s for s in snaps}
        ended = self.ended
        self.slow = set() if ended else self.tracker.stragglers(
            t for t, s in by_target.items() if not s.done)
        nodes = {t: self._node_figures(s) for t, s in sorted(by_target.items())}
        total = self._total_figures(nodes, ended)
        states = {snap_state(s) for s in snaps}
        state = "aborted" if "aborted" in states else ("finished" if ended else "running")
        total_objs = self.job_totals[0] if self.job_totals else None
        if total_objs:
            bar_total, bar_done = total_objs, self.done.objs
        else:  # an empty source, or its size not known yet: indeterminate while it runs
            bar_total = None if state == "running" else 1
            bar_done = int(state == "finished")
        chart, legend = self._chart(nodes, total, ended)
        return Frame(self._caption(), state, bar_total, bar_done,
                     self._overall(state, nodes, total), self._rows(by_target, nodes, total),
                     chart, legend, self._errors_text(), ended)

    def summary(self) -> dict[str, Any]:
        """The job as a report keeps it (plain data: see :mod:`aisetl_tui.job_report`): what
        it was, what it did in all and per node, its errors by kind, and the nodes'
        throughput history (objects/s per sample)."""
        snaps, ended = self.snaps, self.ended
        first = snaps[0]
        nodes = {s.target_id: self._node_figures(s) for s in sorted(snaps,
                                                                     key=lambda s: s.target_id)}
        total = self._total_figures(nodes, ended)
        states = {snap_state(s) for s in snaps}
        ends = [s.ended for s in snaps if s.ended] or ([self._idle_since] if self._idle_since
                                                        else [])
        return {
            "xid": self.xid, "kind": first.kind, "etl": self.etl_shown, "parent": self.parent,
            "src": first.src, "dst": first.dst,
            "state": "aborted" if "aborted" in states else ("finished" if ended else "running"),
            "started": min(s.started for s in snaps).isoformat(),
            "ended": max(ends).isoformat() if ended and ends else None,
            "seconds": self._ran_for(snaps) if ended else None,
            "objects": self.done.objs, "bytes_written": self.done.bytes,
            "bytes_read": round(total.read), "bytes_read_exact": total.exact,
            "failed": self._failed(),
            "objects_per_s": total.rate.objs_per_s, "read_bytes_per_s": total.read_rate,
            "written_bytes_per_s": total.rate.bytes_per_s,
            "nodes": [{"target": t, "objects": f.written.objs, "bytes_written": f.written.bytes,
                       "bytes_read": round(f.read), "objects_per_s": f.rate.objs_per_s,
                       "read_bytes_per_s": f.read_rate} for t, f in nodes.items()],
            "slowest": _slowest(nodes),
            "errors": [{"pattern": g.pattern, "count": g.count, "examples": g.examples,
                        "first_seen": datetime.fromtimestamp(g.first_seen, UTC).isoformat()}
                       for g in self.error_groups()],
            "throughput": {"unit": "objects/s",
                           "seconds_per_sample": self.tracker.seconds_per_sample,
                           "nodes": {t: [r.objs_per_s for r in self.tracker.nodes[t].history]
                                     for t in sorted(self.tracker.nodes)}},
        }

    # --- figures ----------------------------------------------------------------------------

    def _node_figures(self, s: JobSnap) -> Figures:
        written = node_counters(s)
        # A node that ended shows its average: its current rate only winds down to zero.
        r = self.tracker.nodes[s.target_id].current if s.running and not self.idling \
            else self._average([s], written)
        return Figures(written, self._read(s.target_id, written.objs),
                       self._exact(s.target_id, written.objs), r,
                       r.objs_per_s * self._mean_size(s.target_id))

    def _total_figures(self, nodes: dict[str, Figures], ended: bool) -> Figures:
        read = sum(f.read for f in nodes.values())
        exact = all(f.exact for f in nodes.values())
        if ended:  # over the job's own time, from its first start to its last end
            took = self._ran_for(self.snaps)
            return Figures(self.done, read, exact, self._average(self.snaps, self.done),
                           read / took if took else 0.0)
        return Figures(self.done, read, exact, self.tracker.total(),
                       sum(f.read_rate for f in nodes.values()))

    def _share(self, target: str) -> SourceShare | None:
        """The node's share of the source, once listed (none listed: it has no objects); a
        list or range job's share is not known."""
        if self.shares is None or self.job_totals is None:
            return None
        return self.shares.get(target, SourceShare(0, 0))

    def _mean_size(self, target: str) -> float:
        """The mean size of the node's source objects; before they are listed, the whole
        source's (0 while its size is not known)."""
        share = self._share(target)
        if share is not None and share.objs:
            return share.bytes / share.objs
        objs, size = self.totals or (0, 0)
        return size / objs if objs else 0.0

    def _read(self, target: str, done_objs: int) -> float:
        """What the node has read: its source objects' bytes once all are done, before that
        ``done_objs`` at their mean size (AIStore counts what a job wrote, not what it read)."""
        share = self._share(target)
        if share is not None and done_objs >= share.objs:
            return share.bytes
        return done_objs * self._mean_size(target)

    def _exact(self, target: str, done_objs: int) -> bool:
        """Whether what the node read is known exactly: all of its listed share is done."""
        share = self._share(target)
        return share is not None and done_objs >= share.objs

    def _ran_for(self, snaps: list[JobSnap]) -> float:
        """Seconds from the job's first start to its last end (every target is done; a job
        that idles ended, as far as the work goes, when it was first seen idle)."""
        ends = [s.ended or self._idle_since for s in snaps]
        known = [e for e in ends if e is not None]
        return (max(known) - min(s.started for s in snaps)).total_seconds() if known else 0.0

    def _average(self, snaps: list[JobSnap], done: Counters) -> Rate:
        """``done`` over the time these targets ran the job."""
        return rate(Counters(0, 0), done, self._ran_for(snaps))

    def _failed(self) -> int:
        """Objects that failed: as the nodes count them, or as listed if that is more."""
        return max(len(self.errors), sum(s.obj_errors for s in self.snaps))

    # --- what is shown ----------------------------------------------------------------------

    def _caption(self) -> Text:
        first = self.snaps[0]
        kind = DISPLAY_KIND.get(first.kind, first.kind)
        return Text.assemble((f"{kind}[{self.xid}] ", "bold"),
                             f"ais://{first.src} => ais://{first.dst}",
                             f"   ETL {self.etl_shown}" if self.etl_shown else "",
                             f" · retry of {self.parent}" if self.parent else "")

    def _overall(self, state: str, nodes: dict[str, Figures], total: Figures) -> Text:
        total_objs, total_bytes = self.job_totals or (None, None)
        p = progress([self.done], total_objs, total_bytes)
        of = f" / {total_objs:,}" if total_objs is not None else ""
        failed = self._failed()
        noun = noun_for(total_objs if total_objs is not None else p.done_objs, "object")
        head = (f"{p.done_objs:,}{of} {noun}" + (f" ({failed:,} failed)" if failed else "")
                + f" · read {_bytes(total.read, total.exact)} · "
                f"wrote {human_bytes(p.done_bytes)}")
        rates = (f"{total.rate.objs_per_s:,.0f} obj/s · in {total.read_rate / 1e6:,.1f} MB/s"
                 f" · out {total.rate.bytes_per_s / 1e6:,.1f} MB/s")
        if state == "running":
            when = f" · ETA {human_duration(eta_seconds(p, total.rate.objs_per_s))}"
            if self.slow:
                rates += f" · slow: {', '.join(sorted(self.slow))}"
        else:  # the job's own time, average rates, and its slowest node
            when = f" in {human_elapsed(self._ran_for(self.snaps))}"
            rates = f"average {rates}"
            if slowest := _slowest(nodes):
                rates += (f" · slowest {slowest} "
                          f"({nodes[slowest].rate.objs_per_s:,.0f} obj/s)")
        # The state and its time first: a line too long for the terminal loses its end.
        text = Text.assemble((state, STATE_STYLE.get(state, "red")), f"{when} · {head}\n{rates}")
        if self.lost:
            whose = "its" if len(self.lost) == 1 else "their"
            text.append(f"\n{', '.join(sorted(self.lost))} lost {whose} counters (restarted?):"
                        " counted as last seen", style="yellow")
        if self.idling:
            text.append("\nidle: AIStore keeps the job a minute for more requests between "
                        "these buckets, then ends it", style="dim")
        if err := _job_error(self.snaps):
            text.append(f"\n{err}", style="red")
        return text

    def _rows(self, by_target: dict[str, JobSnap], nodes: dict[str, Figures],
              total: Figures) -> dict[str, tuple[str | Text, ...]]:
        rows: dict[str, tuple[str | Text, ...]] = {}
        for target, f in nodes.items():
            share = self._share(target)
            state = Text(snap_state(by_target[target]))
            if target in self.slow:
                state.append(" slow", style="bold yellow")
            rows[target] = (target, progress_cell(f.written.objs, share.objs if share else None),
                            *_figure_cells(f), state)
        total_objs = self.job_totals[0] if self.job_totals else None
        rows[TOTAL_ROW] = (Text("Total:", style="bold"),
                           progress_cell(total.written.objs, total_objs),
                           *_figure_cells(total), "")
        return rows

    def _chart(self, nodes: dict[str, Figures], total: Figures,
               ended: bool) -> tuple[ChartData, list[tuple[str, str]]]:
        """The nodes' objects/s, or the MB/s they read once objects average 1 MB or more; the
        legend gives each node's rate as the table does (its average once it ended). Past
        :data:`MAX_BANDS` nodes, the slow ones and the first by name keep a band each and
        the rest share one (32 bands of 8 colours tell nothing apart)."""
        objs, size = self.totals or (0, 0)
        by_bytes = bool(objs) and size / objs >= 1e6

        def value(target: str) -> float:
            f = nodes.get(target)
            return 0.0 if f is None else f.read_rate / 1e6 if by_bytes else f.rate.objs_per_s

        def number(v: float) -> str:
            return f"{v:,.1f}" if by_bytes else f"{v:,.0f}"

        # opened after it ended (a sample each): the history kept when it was watched
        kept = self.kept_history if not any(
            len(n.history) > 1 for n in self.tracker.nodes.values()) else {}

        def history(target: str) -> list[float]:
            factor = self._mean_size(target) / 1e6 if by_bytes else 1.0
            rates = kept.get(target) or [r.objs_per_s for r in self.tracker.nodes[target].history]
            return [v * factor for v in rates]

        names = sorted(self.tracker.nodes)
        banded = names if len(names) <= MAX_BANDS else sorted(
            (sorted(self.slow) + [n for n in names if n not in self.slow])[:MAX_BANDS - 1])
        rest = [n for n in names if n not in banded]
        total_value = total.read_rate / 1e6 if by_bytes else total.rate.objs_per_s
        # the total first: with many nodes, the legend's end is cut off
        legend = [(f"{'average' if ended else 'total'} {number(total_value)}", "")]
        series = {}
        for i, target in enumerate(banded):
            series[target] = history(target)
            mark = " slow" if target in self.slow else ""
            legend.append((f"{target} {number(value(target))}{mark}", node_colour(i)))
        if rest:
            series["others"] = _sum_aligned([history(t) for t in rest])
            legend.append((f"{len(rest)} others {number(sum(map(value, rest)))}",
                           node_colour(len(banded))))
        return ChartData(series, "MB/s in" if by_bytes else "obj/s",
                         self.kept_seconds_per_sample if kept else
                         self.tracker.seconds_per_sample), legend

    def error_groups(self) -> list[ErrorGroup]:
        """The errors grouped (every frame asks: grouped once per fetch)."""
        if self._grouped[0] is not self.errors:
            # errors first seen after the job ended (opened then) failed by its end at latest
            ends = [s.ended.timestamp() for s in self.snaps if s.ended]
            now = min(self._wall, max(ends)) if self.ended and ends else self._wall
            self._grouped = (self.errors, group_errors(self.errors, self.error_seen, now))
        return self._grouped[1]

    def _errors_text(self) -> Text | None:
        count = self._failed()
        if not count:
            return None
        groups = self.error_groups()
        kinds = f" of {plural(len(groups), 'kind')}" if groups else ""
        text = Text(f"errors: {count:,}{kinds}", style="bold red")
        if any(s.obj_errors > KEPT_PER_TARGET for s in self.snaps):
            text.append(f" (the cluster keeps at most {KEPT_PER_TARGET} per node: "
                        f"{count - len(self.errors):,} not listed)", style="red")
        elif len(self.errors) < count:
            text.append(f" ({len(self.errors):,} listed so far)", style="red")
        for g in groups[:ERROR_KINDS_SHOWN]:
            since = time.strftime("%H:%M:%S", time.localtime(g.first_seen))
            text.append(f"\n{g.count:>6,}  ", style="bold")
            text.append(g.pattern)
            text.append(f"  since {since} · e.g. {', '.join(g.examples)}", style="dim")
        if len(groups) > ERROR_KINDS_SHOWN:
            text.append(f"\n  … {len(groups) - ERROR_KINDS_SHOWN} more kinds", style="dim")
        return text


def _slowest(nodes: dict[str, Figures]) -> str:
    """The node with objects to do that went slowest, if well behind the fastest ("": none
    was)."""
    working = [t for t, f in nodes.items() if f.written.objs]
    slowest = min(working, key=lambda t: nodes[t].rate.objs_per_s, default="")
    fastest = max((nodes[t].rate.objs_per_s for t in working), default=0.0)
    return slowest if slowest and nodes[slowest].rate.objs_per_s < SLOWEST_SHARE * fastest \
        else ""


def _sum_aligned(histories: list[list[float]]) -> list[float]:
    """Element-wise sums of histories that end at the same sample (newer nodes have fewer)."""
    length = max(map(len, histories), default=0)
    return [sum(h[i - length + len(h)] for h in histories if i - length + len(h) >= 0)
            for i in range(length)]


def _job_error(snaps: list[JobSnap]) -> str:
    """The first node's error, with its node, its telling line if it is a traceback, and how
    many other nodes report one."""
    failed = [s for s in snaps if s.err]
    if not failed:
        return ""
    err = failed[0].err
    if "\n" in err:  # a traceback: its first line says where, its last what went wrong
        err = f"{err.splitlines()[0].partition(':')[0]}: {error_line(err)}"
    more = f" (and {len(failed) - 1} more nodes)" if len(failed) > 1 else ""
    return f"{failed[0].target_id}: {err}{more}"


def _bytes(n: float, exact: bool) -> str:
    return human_bytes(n) if exact else f"~{human_bytes(n)}"


def _figure_cells(f: Figures) -> tuple[str, ...]:
    """OBJECTS, OBJ/S, READ, IN MB/S, WRITTEN, OUT MB/S."""
    return (f"{f.written.objs:,}", f"{f.rate.objs_per_s:,.0f}", _bytes(f.read, f.exact),
            f"{f.read_rate / 1e6:,.1f}", human_bytes(f.written.bytes),
            f"{f.rate.bytes_per_s / 1e6:,.1f}")
