"""The overview (k9s's pulses): the cluster's nodes, the ETLs with their stage and pods ready,
the running transform jobs with progress bars, rates and ETAs, and the latest errors, on one
screen that refreshes itself. The first screen after connecting; ``0`` from anywhere."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from backend.ais import AisClient, AisError, ClusterMap, EtlInfo, JobSnap, JobStatus

from ..error_groups import error_line, group_errors
from ..etl_state import STAGE_STYLE, TRANSFORM_KINDS, shown_stage, sole_running_etl
from ..job_view import BAR_WIDTH, DISPLAY_KIND, covers_source, node_counters, progress_cell
from ..rates import Counters, eta_seconds, human_duration, plural, progress, rate
from ._base import PollingScreen

MAX_JOBS = 8  # running jobs shown (the Jobs tab lists them all)
MAX_ERRORS = 6
MAX_BAR = 40


@dataclass(frozen=True)
class EtlPulse:
    info: EtlInfo
    ready: int  # transformer pods answering
    pods: int
    inline_errors: int
    last_error: str  # the telling line of the latest inline error


@dataclass(frozen=True)
class JobPulse:
    status: JobStatus
    snaps: list[JobSnap]
    total: int | None  # source objects (None: not known yet)
    top_error: str = ""  # what most of its failed objects say (masked), if any failed


@dataclass
class Pulse:
    smap: ClusterMap
    etls: list[EtlPulse] = field(default_factory=list)
    jobs: list[JobPulse] = field(default_factory=list)


class OverviewScreen(PollingScreen):
    TITLE_TEXT = "overview"
    INTERVAL = 2.0
    BINDINGS = [Binding("ctrl+r", "refresh", "Refresh", id="overview.refresh")]

    def __init__(self) -> None:
        super().__init__()
        self._totals: dict[str, int] = {}  # a job's source objects, asked once per job
        # a job's (when, objects done) at the last poll: its rate is measured between polls
        self._last: dict[str, tuple[float, Counters | None]] = {}

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="overview"):
            yield Static(id="ov-cluster")
            yield Static(id="ov-etls")
            yield Static(id="ov-jobs")
            yield Static(id="ov-errors")

    def focus_main(self) -> None:
        self.query_one("#overview", VerticalScroll).focus()

    # --- polling ----------------------------------------------------------------------------

    async def fetch(self, client: AisClient) -> Pulse:
        smap, etls, jobs = await asyncio.gather(client.cluster_map(), client.list_etls(),
                                                client.list_jobs(running_only=True))
        running = [j for j in jobs if j.kind in TRANSFORM_KINDS and j.busy][:MAX_JOBS]
        self._totals = {x: n for x, n in self._totals.items() if x in {j.xid for j in running}}
        sole = sole_running_etl(etls)
        etl_pulses, job_pulses = await asyncio.gather(
            asyncio.gather(*(self._etl(client, e) for e in etls)),
            asyncio.gather(*(self._job(client, j, self._etl_of(j.xid) or sole)
                             for j in running)))
        return Pulse(smap, list(etl_pulses), [j for j in job_pulses if j.snaps])

    async def _etl(self, client: AisClient, etl: EtlInfo) -> EtlPulse:
        if etl.stage != "Running":
            return EtlPulse(etl, 0, 0, 0, "")
        pods, details = await asyncio.gather(client.etl_pods(etl.name),
                                             client.etl_details(etl.name),
                                             return_exceptions=True)
        pods = [] if isinstance(pods, BaseException) else pods
        errors = [] if isinstance(details, BaseException) else details.obj_errors
        last = error_line(errors[-1].message) if errors else ""
        return EtlPulse(etl, sum(p.health == "Running" for p in pods), len(pods), len(errors),
                        last)

    async def _job(self, client: AisClient, job: JobStatus, etl: str) -> JobPulse:
        """``etl``: the one running the job, when known (it keeps the job's errors)."""
        try:
            snaps = await client.job_snaps(job.xid)
            if snaps and job.xid not in self._totals and covers_source(snaps[0].kind):
                self._totals[job.xid] = (await client.bucket_summary(snaps[0].src)).count
            errors = []
            if etl and any(s.obj_errors for s in snaps):
                errors = (await client.etl_details(etl, job_id=job.xid)).obj_errors
        except AisError:  # a job that ended meanwhile: left out this time
            return JobPulse(job, [], None)
        groups = group_errors(errors, {}, 0.0)
        return JobPulse(job, snaps, self._totals.get(job.xid),
                        groups[0].pattern if groups else "")

    def _etl_of(self, xid: str) -> str:
        record = self.session.jobs.get(xid)
        return record.etl if record else ""

    # --- rendering --------------------------------------------------------------------------

    def render_data(self, pulse: Pulse) -> None:
        self.query_one("#ov-cluster", Static).update(self._cluster(pulse.smap))
        self.query_one("#ov-etls", Static).update(self._etls(pulse.etls))
        self.query_one("#ov-jobs", Static).update(self._jobs(pulse.jobs))
        self.query_one("#ov-errors", Static).update(self._errors(pulse))

    def _cluster(self, smap: ClusterMap) -> Group:
        nodes = Text()
        for node in [*smap.proxies, *smap.targets]:
            role = "p" if node.kind == "proxy" else "t"
            primary = "*" if node.url and node.url == smap.primary_url else ""
            nodes.append("● ", style="green")
            nodes.append(f"{role}[{node.id}]{primary}  ")
        return Group(_heading(f"Cluster · {plural(len(smap.proxies), 'proxy', 'proxies')}, "
                              f"{plural(len(smap.targets), 'target')}"), nodes)

    def _etls(self, etls: list[EtlPulse]) -> Group:
        if not etls:
            return Group(_heading("ETLs"), Text("none yet: 2 for the ETLs, then c or y to init "
                                                "one", style="dim"))
        table = _table("NAME", "STAGE", "PODS READY", "OBJECTS", "ERRORS")
        for e in etls:
            stage = shown_stage(e.info, self.session.stopped_etls)
            pods = f"{e.ready}/{e.pods}" if e.pods else ""
            table.add_row(e.info.name, Text(stage, style=STAGE_STYLE.get(stage, "")),
                          Text(pods, style="" if e.ready == e.pods else "yellow"),
                          f"{e.info.obj_count:,}" if e.pods else "",
                          Text(f"{e.inline_errors:,}", style="red") if e.inline_errors else "")
        return Group(_heading(f"ETLs · {len(etls)}"), table)

    def _jobs(self, jobs: list[JobPulse]) -> Group:
        if not jobs:
            return Group(_heading("Running jobs"), Text("none running", style="dim"))
        now = time.monotonic()
        table = _table("JOB", "", "PROGRESS", "OBJ/S", "ETA", "ERRORS")
        bar = max(BAR_WIDTH, min(MAX_BAR, self.size.width - 100))  # wider screens, longer bars
        seen = set()
        for j in jobs:
            xid = j.status.xid
            seen.add(xid)
            counters = Counters(sum(node_counters(s).objs for s in j.snaps), 0)
            when, before = self._last.get(xid, (now, None))
            self._last[xid] = (now, counters)
            objs_per_s = rate(before, counters, now - when).objs_per_s
            done = counters.objs
            first = j.snaps[0]
            record = self.session.jobs.get(xid)
            what = (f"{DISPLAY_KIND.get(first.kind, first.kind)} ais://{first.src} => "
                    f"ais://{first.dst}" + (f" · {record.chain}" if record else ""))
            eta = eta_seconds(progress([counters], j.total, None), objs_per_s)
            errors = sum(s.obj_errors for s in j.snaps)
            table.add_row(xid, what, progress_cell(done, j.total, bar), f"{objs_per_s:,.0f}",
                          human_duration(eta), Text(f"{errors:,}", style="red") if errors else "")
        self._last = {x: v for x, v in self._last.items() if x in seen}
        return Group(_heading(f"Running jobs · {len(jobs)}"), table)

    def _errors(self, pulse: Pulse) -> Group:
        lines = []
        for e in pulse.etls:
            if e.inline_errors:
                lines.append(Text.assemble((f"ETL {e.info.name}", "bold"),
                                           f": {plural(e.inline_errors, 'inline error')} — ",
                                           (e.last_error, "red")))
        for j in pulse.jobs:
            failed = sum(s.obj_errors for s in j.snaps)
            if failed:
                lines.append(Text.assemble((f"job {j.status.xid}", "bold"),
                                           f": {plural(failed, 'object')} failed",
                                           (f" — {j.top_error}" if j.top_error else "", "red")))
            elif err := next((s.err for s in j.snaps if s.err), ""):
                lines.append(Text.assemble((f"job {j.status.xid}", "bold"), ": ",
                                           (error_line(err), "red")))
        if not lines:
            return Group(_heading("Recent errors"), Text("none", style="dim"))
        for line in lines:
            line.truncate(max(20, self.size.width - 4), overflow="ellipsis")
        return Group(_heading("Recent errors"), *lines[:MAX_ERRORS])


def _heading(text: str) -> Text:
    return Text(f"\n{text}", style="bold cyan")


NUMBERS = ("OBJECTS", "ERRORS", "OBJ/S", "ETA", "PODS READY")


def _table(*columns: str) -> Table:
    """Numbers right-aligned and never cut; an unnamed column (a description) takes the
    width left, and gives way first."""
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False,
                  expand="" in columns)
    for column in columns:
        table.add_column(column, no_wrap=True, overflow="ellipsis",
                         justify="right" if column in NUMBERS else "left",
                         min_width=len(column) if column else 8, ratio=None if column else 1)
    return table
