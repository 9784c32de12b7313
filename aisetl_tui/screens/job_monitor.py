"""The job monitor, a dashboard of one offline transform: ``etl-bucket[xid] src => dst``,
overall progress with ETA, per node its share of the source as a progress bar, what it read and
wrote and how fast, a stacked chart of the nodes' rates with their total on top, a flag on a
node that lags the others, the errors grouped by what they say, and once done, a summary.
The screen fetches and renders; :class:`~aisetl_tui.job_view.JobView` decides what it says."""

from __future__ import annotations

import asyncio
import time
from functools import partial

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, ProgressBar, Static

from backend.ais import AisClient, AisError, NotFound

from .. import job_report
from ..etl_state import sole_running_etl
from ..job_view import Frame, JobView, Poll, SourceShare
from ..widgets.chart import RateChart
from ..widgets.live_table import Column, LiveTable
from ._base import PollingScreen
from .errors import ErrorsScreen

ERRORS_EVERY = 3  # fetch the per-object errors every third poll
LOCATE_MAX = 100_000  # list where each source object lives up to this many objects


class JobMonitorScreen(PollingScreen):
    TITLE_TEXT = "job"
    INTERVAL = 1.0
    MUTATING = frozenset({"abort"})
    BINDINGS = [Binding("a", "abort", "Abort", id="job.abort"),
                Binding("e", "errors", "Errors", id="job.errors"),
                Binding("x", "export", "Export report", id="job.export")]

    def __init__(self, xid: str) -> None:
        super().__init__()
        self.xid = xid
        self.view = JobView(xid)
        self.finished = False
        # the first ETL: it holds the job's per-object errors (None: not found yet, "": never)
        self.etl: str | None = None
        self._polls = 0
        self._shown: dict[str, str] = {}  # what the caption and errors say now (repainted
        # only on a change: polled every second, they change far less often)
        self.out_of_reach = False  # the last poll failed to reach the cluster
        self.watched = False  # seen running: what it reports at its end is whole
        self.kept: dict | None = None  # its report as kept when it was watched
        self._kept_read = False
        self.buckets = ("", "")  # the job's source and destination, once a target says

    def compose_body(self) -> ComposeResult:
        yield Static(f"job {self.xid}", id="caption")
        with Vertical(id="overall"):
            yield ProgressBar(id="progress", show_eta=False)
            yield Label("", id="overall-text")
        yield LiveTable([Column("TARGET"), Column("PROGRESS", drop=2),
                         Column("OBJECTS", "right"), Column("OBJ/S", "right"),
                         Column("READ", "right", drop=3, width=len("~999.9 KiB")),
                         Column("IN MB/S", "right"),
                         Column("WRITTEN", "right", drop=3, width=len("999.9 KiB")),
                         Column("OUT MB/S", "right", drop=1),
                         Column("STATE", width=len("running slow"))], id="nodes")
        yield RateChart(id="chart")
        yield Static("", id="errors")

    def focus_main(self) -> None:
        self.query_one("#nodes", LiveTable).focus()

    def on_mount(self) -> None:
        self.view.error_seen = self.session.error_seen.setdefault(self.xid, {})
        record = self.session.jobs.get(self.xid)
        if record is not None:
            self.etl, self.view.etl_shown = record.etl, record.chain
            self.view.parent = record.parent

    def _use_kept(self, kept: dict) -> None:
        """The report kept when this job was watched (before the app's restart, or by an
        earlier monitor): its throughput history, and what an export gives once it ended."""
        self.kept = kept
        throughput = kept.get("throughput") or {}
        self.view.kept_history = throughput.get("nodes") or {}
        self.view.kept_seconds_per_sample = throughput.get("seconds_per_sample") or 1.0
        if not self.view.etl_shown and kept.get("etl"):
            self.view.etl_shown, self.view.parent = kept["etl"], kept.get("parent", "")

    @property
    def prefix(self) -> str:
        record = self.session.jobs.get(self.xid)
        return record.prefix if record else ""

    # --- polling ----------------------------------------------------------------------------

    async def fetch(self, client: AisClient) -> Poll:
        if not self._kept_read:  # (before the first poll's end: kept, or not, for sure)
            self._kept_read = True
            if (kept := await asyncio.to_thread(job_report.kept_report, self.xid)) is not None:
                self._use_kept(kept)
        snaps = await client.job_snaps(self.xid)
        when = time.monotonic()
        if snaps and not self.buckets[0]:
            self.buckets = (snaps[0].src, snaps[0].dst)
        if self.view.totals is None and snaps:
            summary = await client.bucket_summary(snaps[0].src, self.prefix)
            self.view.totals = (summary.count, summary.size)
            if not summary.count:
                self.view.shares = {}  # nothing to read anywhere
            elif summary.count <= LOCATE_MAX:
                self.locate_sources(snaps[0].src)
        done = bool(snaps) and all(s.done for s in snaps)
        if self.etl is None and snaps:
            self.etl = await self._find_etl(client, running=not done)
            if self.etl is None and done:
                self.etl = ""  # unknown for good: an ended job gains no per-object errors
            if self.etl and not self.view.etl_shown:
                self.view.etl_shown = self.etl
            self.refresh_bindings()  # (the errors key, once an ETL is known)
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
            self.view.shares = {t: SourceShare(o, b) for t, (o, b) in shares.items()}
            if self.view.seen and not self.problem:  # not over what a failed poll says
                self._show(self.view.frame())

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
        if isinstance(err, NotFound) and self.view.seen:
            self.finished = True  # nothing left to abort, nothing more to poll for
            self._say("lost", f"the cluster no longer knows job {self.xid}: it restarted "
                      f"since, and the job went with it ({self.view.last_seen()})")
        elif not isinstance(err, NotFound):
            self.out_of_reach = True
            self._say("unreachable", f"{self.view.last_seen()}; rates and ETA frozen until the "
                      "cluster answers")
        self.refresh_bindings()

    def _say(self, state: str, detail: str) -> None:
        self.query_one("#overall-text", Label).update(
            Text.assemble((state, "red"), f" · {detail}"), layout=False)

    # --- rendering --------------------------------------------------------------------------

    def render_data(self, poll: Poll) -> None:
        snaps = poll.snaps
        if self.out_of_reach and snaps:  # back: say what became of the job meanwhile
            self.out_of_reach = False
            ended = all(s.done for s in snaps)
            what = ("was aborted" if any(s.aborted for s in snaps) else "finished") \
                if ended else "is still running"
            self.notify(f"the cluster answers again: job {self.xid} {what}")
        if not snaps:
            self.show_problem(f"job {self.xid}: no target reports it yet", "yellow")
            return
        self.view.add(poll)
        self._show(self.view.frame())

    def _show(self, frame: Frame) -> None:
        if self._changed("caption", frame.caption):
            self.query_one("#caption", Static).update(frame.caption)
        self.query_one("#progress", ProgressBar).update(total=frame.bar_total,
                                                        progress=frame.bar_done)
        self.query_one("#overall-text", Label).update(frame.overall, layout=False)  # fixed
        self.query_one("#nodes", LiveTable).sync(frame.rows)
        # The chart repaints in the next frame: keys pressed meanwhile need not wait for both.
        self.call_after_refresh(self.query_one("#chart", RateChart).show, frame.chart,
                                frame.legend)
        errors = self.query_one("#errors", Static)
        errors.display = frame.errors is not None
        if frame.errors is not None and self._changed("errors", frame.errors):
            errors.update(frame.errors)
        if not frame.ended:
            self.watched = True
        elif not self.finished:
            self.finished = True
            self.refresh_bindings()
            if self.watched or self.kept is None:  # (never a watched run's with less)
                report = {**self.view.summary(), "endpoint": self.client.endpoint
                          if self.client else ""}
                self.run_worker(lambda: job_report.keep(report), thread=True, group="keep",
                                exit_on_error=False)

    def _changed(self, part: str, text: Text) -> bool:
        """Whether ``part`` now says something else than it did (and remember it)."""
        if self._shown.get(part) == text.plain:
            return False
        self._shown[part] = text.plain
        return True

    async def _poll(self) -> None:
        if self.finished:
            return  # the last render showed the final state; nothing moves any more
        await super()._poll()

    # --- abort ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "abort" and (self.finished or self.out_of_reach):
            return False
        if action == "errors" and not self.etl:
            return None  # dimmed: no ETL known (yet) to hold the job's errors
        if action == "export" and not self.view.seen:
            return None
        return super().check_action(action, parameters)

    def action_export(self) -> None:
        """The job's report, as it stands, to a new file: a self-contained HTML page (its
        chart drawn as SVG), or JSON for a ``.json`` name."""
        # opened after it ended: its throughput is in what was kept when it was watched
        report = self.kept if self.finished and not self.watched and self.kept \
            else self.view.summary()
        self.save_as(job_report.EXPORT_QUESTION, f"aisetl-job-{self.xid}.html",
                     partial(job_report.report_file, report), f"job {self.xid}'s report")

    def action_errors(self) -> None:
        """The error workbench of this job; a retry it starts opens its own monitor."""
        if self.etl:
            self.app.push_screen(ErrorsScreen(
                self.etl, self.xid, *self.buckets,
                open_job=lambda xid: self.app.push_screen(JobMonitorScreen(xid)),
                known=(self.view.errors, self.view.error_groups())))

    def action_abort(self) -> None:
        self.change(lambda client: client.abort_job(self.xid), f"aborting job {self.xid}",
                    (f"Abort job [b]{self.xid}[/b]? Objects already written stay in the "
                     "destination.", "Abort"))

