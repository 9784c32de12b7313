"""The job monitor: ``etl-bucket[xid] src => dst``, overall progress with ETA, a per-node
table with a total row, a live per-node throughput chart, the errors so far, and abort."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar, Static

from backend.ais import AisClient, AisError, JobSnap, NotFound, ObjError

from ..rates import (
    Counters,
    Rate,
    ThroughputTracker,
    eta_seconds,
    human_bytes,
    human_duration,
    human_elapsed,
    progress,
    rate,
)
from ..widgets.chart import ThroughputChart
from ..widgets.live_table import Column, LiveTable
from ._base import PollingScreen
from .dialogs import ConfirmScreen
from .jobs import sole_running_etl

ERRORS_EVERY = 3  # fetch the per-object errors every third poll
MAX_ERRORS_SHOWN = 50
DISPLAY_KIND = {"etl-bck": "etl-bucket", "etl-listrange": "etl-objects"}
CHART_TITLE = "[b]throughput per node ({unit}, last minutes)[/b]"


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
    """What this target produced: written here, or sent to the destination's owner."""
    return Counters(s.loc_objs + s.out_objs, s.loc_bytes + s.out_bytes)


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
        self.finished = False
        # the first ETL: it holds the job's per-object errors (None: not found yet, "": never)
        self.etl: str | None = None
        self.chain = ""  # the ETL and its pipeline, as shown
        self._polls = 0
        self._errors: list[ObjError] = []
        self._caption = ""
        self._error_lines = 0
        self._done = Counters(0, 0)  # all nodes' output so far
        self._chart_unit = "MB/s"
        self._seen = False  # some target has reported the job
        self.out_of_reach = False  # the last poll failed to reach the cluster

    def compose_body(self) -> ComposeResult:
        yield Static(f"job {self.xid}", id="caption")
        with Horizontal(id="overall"):
            yield ProgressBar(id="progress", show_eta=False)
            yield Label("", id="overall-text")
        yield LiveTable([Column("TARGET"), Column("OBJECTS", "right"), Column("BYTES", "right"),
                         Column("OBJ/S", "right"), Column("MB/S", "right"), Column("STATE")],
                        id="nodes")
        yield Static(CHART_TITLE.format(unit="MB/s"), id="chart-title")
        yield ThroughputChart(id="chart")
        yield Static("", id="errors")

    def focus_main(self) -> None:
        self.query_one("#nodes", LiveTable).focus()

    def on_mount(self) -> None:
        record = self.ais.jobs.get(self.xid)
        if record is not None:
            self.etl, self.chain = record.etl, record.chain

    # --- polling ----------------------------------------------------------------------------

    async def fetch(self, client: AisClient) -> Poll:
        snaps = await client.job_snaps(self.xid)
        when = time.monotonic()
        if self.totals is None and snaps:
            record = self.ais.jobs.get(self.xid)
            summary = await client.bucket_summary(snaps[0].src, record.prefix if record else "")
            self.totals = (summary.count, summary.size)
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
        return f"last seen: {self._done.objs:,}{of} objects, {human_bytes(self._done.bytes)}"

    def _say(self, state: str, detail: str) -> None:
        self.query_one("#overall-text", Label).update(
            Text.assemble((state, "red"), f" · {detail}"), layout=False)

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
        by_target = {s.target_id: s for s in snaps}
        counters = {t: node_counters(s) for t, s in by_target.items()}
        self.tracker.add(poll.when, counters)
        self._done = Counters(sum(c.objs for c in counters.values()),
                              sum(c.bytes for c in counters.values()))
        ended = all(s.ended is not None for s in snaps)
        self._render_progress(snaps)
        self._render_nodes(by_target, counters, ended)
        # The chart repaints in the next frame: keys pressed meanwhile need not wait for both.
        self.call_after_refresh(self._render_chart)
        if poll.errors is not None:
            self._errors = poll.errors
        self._render_errors(snaps)
        if ended:
            self.finished = True
            self.refresh_bindings()

    def _render_progress(self, snaps: list[JobSnap]) -> None:
        total_objs, total_bytes = self.totals or (None, None)
        p = progress([self._done], total_objs, total_bytes)
        now = self.tracker.total()
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
        detail = f"{p.done_objs:,}{of} objects · {human_bytes(p.done_bytes)}"
        if state == "running":
            detail += (f" · {now.objs_per_s:,.0f} obj/s · {now.bytes_per_s / 1e6:,.1f} MB/s"
                       f" · ETA {human_duration(eta_seconds(p, now.objs_per_s))}")
        else:  # the job's own time and average rates
            avg = _average(snaps, self._done)
            detail += (f" in {human_elapsed(_ran_for(snaps))} · {avg.objs_per_s:,.0f} obj/s · "
                       f"{avg.bytes_per_s / 1e6:,.1f} MB/s")
        err = next((s.err for s in snaps if s.err), "")
        # The state first: on a narrow terminal the line wraps, and the state must not be lost.
        text = Text.assemble(
            (state, {"running": "yellow", "finished": "green"}.get(state, "red")), f" · {detail}")
        if err:
            text.append(f"\n{err}", style="red")
        self.query_one("#overall-text", Label).update(text, layout=False)  # fixed height

    def _render_nodes(self, by_target: dict[str, JobSnap], counters: dict[str, Counters],
                      ended: bool) -> None:
        rows = {}
        # A node that ended shows its average: its current rate only winds down to zero.
        for target, s in sorted(by_target.items()):
            c = counters[target]
            r = self.tracker.nodes[target].current if s.ended is None else _average([s], c)
            rows[target] = (target, f"{c.objs:,}", human_bytes(c.bytes), f"{r.objs_per_s:,.0f}",
                            f"{r.bytes_per_s / 1e6:,.1f}", snap_state(s))
        done = self._done
        total = _average(list(by_target.values()), done) if ended else self.tracker.total()
        rows["~total"] = (Text("Total:", style="bold"), f"{done.objs:,}", human_bytes(done.bytes),
                          f"{total.objs_per_s:,.0f}", f"{total.bytes_per_s / 1e6:,.1f}", "")
        self.query_one("#nodes", LiveTable).sync(rows)

    def _render_chart(self) -> None:
        # In the unit that gives the larger numbers: MB/s once outputs average 1 MB or more,
        # objects/s below (an MD5 job's 32-byte outputs would chart 0.0 MB/s).
        by_bytes = self._done.bytes / 1e6 >= max(1, self._done.objs)
        unit = "MB/s" if by_bytes else "obj/s"
        series = {target: [r.bytes_per_s if by_bytes else r.objs_per_s for r in node.history]
                  for target, node in self.tracker.nodes.items()}
        self.query_one("#chart", ThroughputChart).show(
            series, unit, 1e6 if by_bytes else 1, 1 if by_bytes else 0)
        if unit != self._chart_unit:
            self._chart_unit = unit
            self.query_one("#chart-title", Static).update(CHART_TITLE.format(unit=unit))

    def _render_errors(self, snaps: list[JobSnap]) -> None:
        count = max(len(self._errors), sum(s.obj_errors for s in snaps))
        widget = self.query_one("#errors", Static)
        if not count:
            if self._error_lines:
                self._error_lines = 0
                widget.update("")
            return
        text = Text(f"errors so far: {count}\n", style="bold red")
        for e in self._errors[-MAX_ERRORS_SHOWN:]:
            text.append(f"{e.obj_name}  ", style="bold")
            text.append(e.message.splitlines()[-1] if e.message else "")
            text.append("\n")
        lines = text.plain.count("\n")
        widget.update(text, layout=lines != self._error_lines)  # relayout only on a new size
        self._error_lines = lines

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
