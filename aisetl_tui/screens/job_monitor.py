"""The job monitor, a dashboard of one offline transform: ``etl-bucket[xid] src => dst``,
overall progress with ETA, per node its share of the source as a progress bar, what it read and
wrote and how fast, a stacked chart of the nodes' rates with their total on top, a flag on a
node that lags the others, the errors grouped by what they say, and once done, a summary."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, ProgressBar, Static

from backend.ais import AisClient, AisError, JobSnap, NotFound, ObjError

from ..error_groups import error_line, group_errors
from ..etl_state import sole_running_etl
from ..rates import (
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
from ..widgets.chart import ChartData, RateChart, node_colour
from ..widgets.live_table import Column, LiveTable
from ._base import PollingScreen
from .dialogs import ConfirmScreen

ERRORS_EVERY = 3  # fetch the per-object errors every third poll
ERROR_KINDS_SHOWN = 5
AIS_ERRORS_KEPT = 128  # AIStore keeps at most this many per-object errors per target
LOCATE_MAX = 100_000  # list where each source object lives up to this many objects
DISPLAY_KIND = {"etl-bck": "etl-bucket", "etl-listrange": "etl-objects"}
MAX_BANDS = 8  # the chart's bands: one per node up to this many
SLOWEST_SHARE = 0.9  # a summary names the slowest node when it is this far below the fastest
BAR_WIDTH = 8
PARTIAL = " ▏▎▍▌▋▊▉"


@dataclass
class Poll:
    when: float
    snaps: list[JobSnap]
    errors: list[ObjError] | None


def snap_state(s: JobSnap) -> str:
    if s.aborted:
        return "aborted"
    if s.ended is not None:
        return "finished"
    return "idle" if s.idle else "running"


def node_counters(s: JobSnap) -> Counters:
    """The objects this target is done with (written here, sent to the destination's owner,
    or failed), and the bytes it wrote."""
    return Counters(s.loc_objs + s.out_objs + s.obj_errors, s.loc_bytes + s.out_bytes)


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


class JobMonitorScreen(PollingScreen):
    TITLE_TEXT = "job"
    INTERVAL = 1.0
    MUTATING = frozenset({"abort"})
    BINDINGS = [Binding("a", "abort", "Abort", id="job.abort")]

    def __init__(self, xid: str) -> None:
        super().__init__()
        self.xid = xid
        self.tracker = ThroughputTracker()
        self.totals: tuple[int, int] | None = None
        # each node's share of the source, once listed (None: not yet, or too many objects)
        self.shares: dict[str, SourceShare] | None = None
        self.finished = False
        # the first ETL: it holds the job's per-object errors (None: not found yet, "": never)
        self.etl: str | None = None
        self.chain = ""  # the ETL and its pipeline, as shown
        self._polls = 0
        self._errors: list[ObjError] = []
        self._error_seen: dict[str, float] = {}  # object name -> when first seen failing
        self._errors_shown = ""  # what the errors line says now (repainted only on a change)
        self._caption = ""
        self._done = Counters(0, 0)  # all nodes' output so far
        self._seen = False  # some target has reported the job
        self._snaps: list[JobSnap] = []  # the last poll's
        self._slow: set[str] = set()
        self.out_of_reach = False  # the last poll failed to reach the cluster

    def compose_body(self) -> ComposeResult:
        yield Static(f"job {self.xid}", id="caption")
        with Vertical(id="overall"):
            yield ProgressBar(id="progress", show_eta=False)
            yield Label("", id="overall-text")
        yield LiveTable([Column("TARGET"), Column("PROGRESS", drop=2),
                         Column("OBJECTS", "right"), Column("OBJ/S", "right"),
                         Column("READ", "right", drop=3), Column("IN MB/S", "right"),
                         Column("WRITTEN", "right", drop=3), Column("OUT MB/S", "right", drop=1),
                         Column("STATE")], id="nodes")
        yield RateChart(id="chart")
        yield Static("", id="errors")

    def focus_main(self) -> None:
        self.query_one("#nodes", LiveTable).focus()

    def on_mount(self) -> None:
        record = self.session.jobs.get(self.xid)
        if record is not None:
            self.etl, self.chain = record.etl, record.chain

    @property
    def prefix(self) -> str:
        record = self.session.jobs.get(self.xid)
        return record.prefix if record else ""

    # --- polling ----------------------------------------------------------------------------

    async def fetch(self, client: AisClient) -> Poll:
        snaps = await client.job_snaps(self.xid)
        when = time.monotonic()
        if self.totals is None and snaps:
            summary = await client.bucket_summary(snaps[0].src, self.prefix)
            self.totals = (summary.count, summary.size)
            if not summary.count:
                self.shares = {}  # nothing to read anywhere
            elif summary.count <= LOCATE_MAX:
                self.locate_sources(snaps[0].src)
        done = bool(snaps) and all(s.ended is not None for s in snaps)
        if self.etl is None and snaps:
            self.etl = await self._find_etl(client, running=not done)
            if self.etl is None and done:
                self.etl = ""  # unknown for good: an ended job gains no per-object errors
        errors = None
        if self.etl and (self._polls % ERRORS_EVERY == 0 or done):
            errors = (await client.etl_details(self.etl, job_id=self.xid)).obj_errors
        self._polls += 1
        return Poll(when, snaps, errors)

    @work(group="locate")
    async def locate_sources(self, bucket: str) -> None:
        """Each node's share of the source (AIStore places every object on one target): one
        listing with the objects' locations, beside the polls. Without it the bars stay
        blank and reads are estimated from the whole source's mean object size."""
        client = self.client
        if client is None:
            return
        shares: dict[str, list[int]] = {}
        token = uuid = ""
        try:
            while True:
                page = await client.list_objects(bucket, self.prefix, page_size=10_000,
                                                 token=token, uuid=uuid,
                                                 props="name,size,location")
                for entry in page.entries:
                    share = shares.setdefault(entry.target_id, [0, 0])
                    share[0] += 1
                    share[1] += entry.size
                token, uuid = page.token, page.uuid
                if not token:
                    break
        except AisError:
            return  # the bars stay blank; the polls say what is wrong with the cluster
        if "" not in shares:  # every object had a location
            self.shares = {t: SourceShare(o, b) for t, (o, b) in shares.items()}
            if self._snaps and not self.problem:  # not over what a failed poll says
                self._draw()

    async def _find_etl(self, client: AisClient, running: bool) -> str | None:
        """For a job this app did not start: the ETL whose details know the job, or the only
        one that can be running it."""
        etls = await client.list_etls()
        found = await asyncio.gather(*(client.etl_details(e.name, job_id=self.xid)
                                       for e in etls), return_exceptions=True)
        for etl, details in zip(etls, found, strict=True):
            if not isinstance(details, BaseException) and details.obj_errors:
                return etl.name
        if running and (sole := sole_running_etl(etls)):
            return sole
        return etls[0].name if len(etls) == 1 else None

    def poll_failed(self, err: Exception) -> None:
        """The cluster is out of reach, or no longer knows the job: the numbers freeze (no
        new rates, no ETA), Abort goes, and the line says what happened in words."""
        super().poll_failed(err)
        if isinstance(err, NotFound) and self._seen:
            self.finished = True  # nothing left to abort, nothing more to poll for
            self._say("lost", f"the cluster no longer knows job {self.xid}: it restarted "
                      f"since, and the job went with it ({self._last_seen()})")
        elif not isinstance(err, NotFound):
            self.out_of_reach = True
            self._say("unreachable", f"{self._last_seen()}; rates and ETA frozen until the "
                      "cluster answers")
        self.refresh_bindings()

    def _last_seen(self) -> str:
        total = self.totals[0] if self.totals else None
        of = f" of {total:,}" if total is not None else ""
        noun = noun_for(total if total is not None else self._done.objs, "object")
        return f"last seen: {self._done.objs:,}{of} {noun}, {human_bytes(self._done.bytes)}"

    def _say(self, state: str, detail: str) -> None:
        self.query_one("#overall-text", Label).update(
            Text.assemble((state, "red"), f" · {detail}"), layout=False)

    # --- rendering --------------------------------------------------------------------------

    def render_data(self, poll: Poll) -> None:
        snaps = poll.snaps
        if snaps:
            self._seen = True
        if self.out_of_reach and snaps:  # back: say what became of the job meanwhile
            self.out_of_reach = False
            ended = all(s.ended is not None for s in snaps)
            what = ("was aborted" if any(s.aborted for s in snaps) else "finished") \
                if ended else "is still running"
            self.notify(f"the cluster answers again: job {self.xid} {what}")
        if not snaps:
            self.show_problem(f"job {self.xid}: no target reports it yet", "yellow")
            return
        first = snaps[0]
        kind = DISPLAY_KIND.get(first.kind, first.kind)
        caption = Text.assemble((f"{kind}[{self.xid}] ", "bold"),
                                f"ais://{first.src} => ais://{first.dst}",
                                f"   ETL {self.chain or self.etl}" if self.etl else "")
        if caption.plain != self._caption:
            self._caption = caption.plain
            self.query_one("#caption", Static).update(caption)
        counters = {s.target_id: node_counters(s) for s in snaps}
        self.tracker.add(poll.when, counters)
        self._done = Counters(sum(c.objs for c in counters.values()),
                              sum(c.bytes for c in counters.values()))
        if poll.errors is not None:
            self._errors = poll.errors
        self._snaps = snaps
        self._draw()

    def _draw(self) -> None:
        """Show the last poll's snapshots (again, once the source's shares are known)."""
        snaps = self._snaps
        by_target = {s.target_id: s for s in snaps}
        ended = all(s.ended is not None for s in snaps)
        self._slow = set() if ended else self.tracker.stragglers(
            t for t, s in by_target.items() if s.ended is None)
        nodes = {t: self._node_figures(s) for t, s in sorted(by_target.items())}
        total = self._total_figures(snaps, nodes, ended)
        self._render_progress(snaps, nodes, total)
        self._render_nodes(by_target, nodes, total)
        # The chart repaints in the next frame: keys pressed meanwhile need not wait for both.
        self.call_after_refresh(self._render_chart, nodes, total, ended)
        self._render_errors(snaps)
        if ended and not self.finished:
            self.finished = True
            self.refresh_bindings()

    def _node_figures(self, s: JobSnap) -> Figures:
        written = node_counters(s)
        # A node that ended shows its average: its current rate only winds down to zero.
        r = self.tracker.nodes[s.target_id].current if s.ended is None \
            else _average([s], written)
        return Figures(written, self._read(s.target_id, written.objs),
                       self._exact(s.target_id, written.objs), r,
                       r.objs_per_s * self._mean_size(s.target_id))

    def _total_figures(self, snaps: list[JobSnap], nodes: dict[str, Figures],
                       ended: bool) -> Figures:
        read = sum(f.read for f in nodes.values())
        if ended:  # over the job's own time, from its first start to its last end
            took = _ran_for(snaps)
            return Figures(self._done, read, all(f.exact for f in nodes.values()),
                           _average(snaps, self._done), read / took if took else 0.0)
        return Figures(self._done, read, all(f.exact for f in nodes.values()),
                       self.tracker.total(), sum(f.read_rate for f in nodes.values()))

    def _share(self, target: str) -> SourceShare | None:
        """The node's share of the source, once listed (none listed: it has no objects)."""
        return None if self.shares is None else self.shares.get(target, SourceShare(0, 0))

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

    def _render_progress(self, snaps: list[JobSnap], nodes: dict[str, Figures],
                         total: Figures) -> None:
        total_objs, total_bytes = self.totals or (None, None)
        p = progress([self._done], total_objs, total_bytes)
        states = {snap_state(s) for s in snaps}
        state = "aborted" if "aborted" in states else (
            "finished" if states == {"finished"} else "running")
        bar = self.query_one("#progress", ProgressBar)
        if total_objs:
            bar.update(total=total_objs, progress=p.done_objs)
        else:  # an empty source, or its size not known yet: indeterminate while it runs
            bar.update(total=None if state == "running" else 1,
                       progress=int(state == "finished"))
        of = f" / {total_objs:,}" if total_objs is not None else ""
        failed = self._failed(snaps)
        noun = noun_for(total_objs if total_objs is not None else p.done_objs, "object")
        head = (f"{p.done_objs:,}{of} {noun}" + (f" ({failed:,} failed)" if failed else "")
                + f" · read {_bytes(total.read, total.exact)} · "
                f"wrote {human_bytes(p.done_bytes)}")
        rates = (f"{total.rate.objs_per_s:,.0f} obj/s · in {total.read_rate / 1e6:,.1f} MB/s"
                 f" · out {total.rate.bytes_per_s / 1e6:,.1f} MB/s")
        if state == "running":
            head += f" · ETA {human_duration(eta_seconds(p, total.rate.objs_per_s))}"
            if self._slow:
                rates += f" · slow: {', '.join(sorted(self._slow))}"
        else:  # the job's own time, average rates, and its slowest node
            head += f" in {human_elapsed(_ran_for(snaps))}"
            rates = f"average {rates}"
            working = [t for t, f in nodes.items() if f.written.objs]  # had objects to do
            slowest = min(working, key=lambda t: nodes[t].rate.objs_per_s, default="")
            fastest = max((nodes[t].rate.objs_per_s for t in working), default=0.0)
            if slowest and nodes[slowest].rate.objs_per_s < SLOWEST_SHARE * fastest:
                rates += (f" · slowest {slowest} "
                          f"({nodes[slowest].rate.objs_per_s:,.0f} obj/s)")
        err = _job_error(snaps)
        # The state first: on a narrow terminal the line wraps, and the state must not be lost.
        text = Text.assemble(
            (state, {"running": "yellow", "finished": "green"}.get(state, "red")),
            f" · {head}\n{rates}")
        if err:
            text.append(f"\n{err}", style="red")
        self.query_one("#overall-text", Label).update(text, layout=False)  # fixed height

    def _render_nodes(self, by_target: dict[str, JobSnap], nodes: dict[str, Figures],
                      total: Figures) -> None:
        rows: dict[str, tuple[str | Text, ...]] = {}
        for target, f in nodes.items():
            share = self._share(target)
            state = Text(snap_state(by_target[target]))
            if target in self._slow:
                state.append(" slow", style="bold yellow")
            rows[target] = (target, progress_cell(f.written.objs, share.objs if share else None),
                            *_figure_cells(f), state)
        total_objs = self.totals[0] if self.totals else None
        rows["~total"] = (Text("Total:", style="bold"),
                          progress_cell(total.written.objs, total_objs),
                          *_figure_cells(total), "")
        self.query_one("#nodes", LiveTable).sync(rows)

    def _render_chart(self, nodes: dict[str, Figures], total: Figures, ended: bool) -> None:
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

        def history(target: str) -> list[float]:
            factor = self._mean_size(target) / 1e6 if by_bytes else 1.0
            return [r.objs_per_s * factor for r in self.tracker.nodes[target].history]

        names = sorted(self.tracker.nodes)
        banded = names if len(names) <= MAX_BANDS else sorted(
            (sorted(self._slow) + [n for n in names if n not in self._slow])[:MAX_BANDS - 1])
        rest = [n for n in names if n not in banded]
        total_value = total.read_rate / 1e6 if by_bytes else total.rate.objs_per_s
        # the total first: with many nodes, the legend's end is cut off
        legend = [(f"{'average' if ended else 'total'} {number(total_value)}", "")]
        series = {}
        for i, target in enumerate(banded):
            series[target] = history(target)
            mark = " slow" if target in self._slow else ""
            legend.append((f"{target} {number(value(target))}{mark}", node_colour(i)))
        if rest:
            series["others"] = _sum_aligned([history(t) for t in rest])
            legend.append((f"{len(rest)} others {number(sum(map(value, rest)))}",
                           node_colour(len(banded))))
        self.query_one("#chart", RateChart).show(
            ChartData(series, "MB/s in" if by_bytes else "obj/s",
                      self.tracker.seconds_per_sample), legend)

    def _failed(self, snaps: list[JobSnap]) -> int:
        """Objects that failed: as the nodes count them, or as listed if that is more."""
        return max(len(self._errors), sum(s.obj_errors for s in snaps))

    def _render_errors(self, snaps: list[JobSnap]) -> None:
        count = self._failed(snaps)
        widget = self.query_one("#errors", Static)
        if not count:
            widget.display = False
            self._errors_shown = ""
            return
        groups = group_errors(self._errors, self._error_seen, time.time())
        kinds = f" of {plural(len(groups), 'kind')}" if groups else ""
        text = Text(f"errors: {count:,}{kinds}", style="bold red")
        if any(s.obj_errors > AIS_ERRORS_KEPT for s in snaps):
            text.append(f" (the cluster keeps at most {AIS_ERRORS_KEPT} per node: "
                        f"{count - len(self._errors):,} not listed)", style="red")
        elif len(self._errors) < count:
            text.append(f" ({len(self._errors):,} listed so far)", style="red")
        for g in groups[:ERROR_KINDS_SHOWN]:
            since = time.strftime("%H:%M:%S", time.localtime(g.first_seen))
            text.append(f"\n{g.count:>6,}  ", style="bold")
            text.append(g.pattern)
            text.append(f"  since {since} · e.g. {', '.join(g.examples)}", style="dim")
        if len(groups) > ERROR_KINDS_SHOWN:
            text.append(f"\n  … {len(groups) - ERROR_KINDS_SHOWN} more kinds", style="dim")
        if text.plain != self._errors_shown:  # polled every second, changed far less often
            self._errors_shown = text.plain
            widget.display = True
            widget.update(text)

    async def _poll(self) -> None:
        if self.finished:
            return  # the last render showed the final state; nothing moves any more
        await super()._poll()

    # --- abort ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "abort" and (self.finished or self.out_of_reach):
            return False
        return super().check_action(action, parameters)

    def action_abort(self) -> None:
        async def abort() -> None:
            assert self.client is not None
            try:
                await self.client.abort_job(self.xid)
                self.notify(f"aborting {self.xid}")
            except AisError as err:
                self.notify(str(err), severity="error")
            self.refresh_now()

        self.app.push_screen(ConfirmScreen(f"Abort job [b]{self.xid}[/b]? Objects already "
                                           "written stay in the destination.", "Abort"),
                             lambda ok: self.run_worker(abort(), group="mutate") if ok else None)


def _ran_for(snaps: list[JobSnap]) -> float:
    """Seconds from the job's first start to its last end (every target has ended)."""
    ended = [s.ended for s in snaps if s.ended is not None]
    return (max(ended) - min(s.started for s in snaps)).total_seconds() if ended else 0.0


def _average(snaps: list[JobSnap], done: Counters) -> Rate:
    """``done`` over the time these targets ran the job."""
    return rate(Counters(0, 0), done, _ran_for(snaps))


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
