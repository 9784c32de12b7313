"""Transform jobs, running and finished; Enter re-opens a job's monitor, ``x`` exports the
report kept of a job the app watched to its end."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import partial

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding

from backend.ais import AisClient, JobStatus

from .. import job_report
from ..etl_state import TRANSFORM_KINDS, sole_running_etl
from ..widgets.table import KeyedTable
from ._base import TableScreen
from .job_monitor import JobMonitorScreen

LEARN_PER_POLL = 8  # snapshot requests for other jobs' buckets, at most, per poll
Learned = tuple[str, str, str]  # a job's ETL (or ""), source and destination


def job_state(job: JobStatus) -> Text:
    if job.aborted:
        return Text("aborted", style="red")
    if job.idle:  # its work is done; AIStore ends it after a minute with no more
        return Text("idle" + (" with errors" if job.err else ""),
                    style="dark_orange" if job.err else "green")
    if job.ended is None:
        return Text("running", style="yellow")
    return Text("finished" + (" with errors" if job.err else ""),
                style="dark_orange" if job.err else "green")


def ended_text(ended: datetime | None, now: datetime) -> str:
    """When a job ended, in local time: the time of day if today, else the date too."""
    if ended is None:
        return ""
    local = ended.astimezone(now.tzinfo)
    return local.strftime("%H:%M:%S" if local.date() == now.date() else "%b %d %H:%M")


def retry_kind(kind: str, parent: str) -> str:
    """The KIND column: a retry of another job's failures says whose (its kind, a list
    transform, would take the width of the STATE column at 80 columns)."""
    return f"↳ retry of {parent}" if parent else kind


def by_recency(jobs: list[JobStatus]) -> list[JobStatus]:
    """Running jobs first, then those that ended, the latest first."""
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(jobs, key=lambda j: (j.ended is None, j.ended or epoch), reverse=True)


class JobsScreen(TableScreen):
    TABLE_ID = "jobs"
    TITLE_TEXT = "jobs"
    INTERVAL = 3.0
    EMPTY = ("no transform jobs yet", ())
    BINDINGS = [
        Binding("enter", "open", "Monitor", id="jobs.open"),
        Binding("x", "export", "Export report", id="jobs.export"),
        Binding("slash", "filter", "Filter", id="jobs.filter"),
        Binding("ctrl+r", "refresh", "Refresh", id="jobs.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        # (ETL, source, destination) of jobs this app did not start, from their snapshots and
        # the ETLs running when first seen: asked once per job, as they never change.
        self.learned: dict[str, tuple[str, str, str]] = {}
        # reports of jobs watched to their end, kept across restarts (read once)
        self.kept: dict[str, dict] | None = None
        self._listed: set[str] = set()  # the jobs the cluster lists now

    def compose_body(self) -> ComposeResult:
        yield KeyedTable(["JOB", "KIND", "ETL", "SOURCE", "DESTINATION", "STATE", "ENDED"],
                         sort_rows=False, id="jobs")

    async def fetch(self, client: AisClient) -> tuple[list[JobStatus], dict[str, Learned]]:
        if self.kept is None:  # those of this cluster
            self.kept = {x: r for x, r in (await asyncio.to_thread(job_report.kept_reports))
                         .items() if r.get("endpoint") == client.endpoint}
        jobs = by_recency([j for j in await client.list_jobs() if j.kind in TRANSFORM_KINDS])
        unknown = [j for j in jobs
                   if j.xid not in self.session.jobs and j.xid not in self.learned][:LEARN_PER_POLL]
        if not unknown:
            return jobs, {}
        etl = sole_running_etl(await client.list_etls())
        found = await asyncio.gather(*(client.job_snaps(j.xid) for j in unknown),
                                     return_exceptions=True)
        learned = {j.xid: (etl if j.running else "", snaps[0].src, snaps[0].dst)
                   if snaps and not isinstance(snaps, BaseException) else ("", "", "")
                   for j, snaps in zip(unknown, found, strict=True)}
        return jobs, learned

    def render_data(self, data: tuple[list[JobStatus], dict[str, Learned]]) -> None:
        jobs, learned = data
        listed = self._listed = {j.xid for j in jobs}
        self.learned = {x: b for x, b in (self.learned | learned).items() if x in listed}
        rows = {}
        now = datetime.now().astimezone()
        kept = self.kept or {}
        for job in jobs:
            record, report = self.session.jobs.get(job.xid), kept.get(job.xid, {})
            etl, src, dst = ((record.chain, record.src, record.dst) if record
                             else self.learned.get(job.xid, ("", "", "")))
            parent = record.parent if record else report.get("parent", "")
            rows[job.xid] = (job.xid, retry_kind(job.kind, parent),
                             etl or report.get("etl", ""), src, dst, job_state(job),
                             ended_text(job.ended, now))
        for xid, report in sorted(kept.items(), key=lambda kv: kv[1]["started"], reverse=True):
            if xid not in rows:  # the cluster forgot it (a restart): what was kept of it
                ended = datetime.fromisoformat(report["ended"]) if report.get("ended") else None
                rows[xid] = (xid, retry_kind(report["kind"], report.get("parent", "")),
                             report.get("etl", ""), report["src"], report["dst"],
                             Text(f"{report['state']} · kept", style="dim"),
                             ended_text(ended, now))
        self.table.sync(rows)
        self.hint_if_empty()

    def on_data_table_row_selected(self) -> None:
        """Enter on the table (the table, not the screen, receives the key)."""
        self.action_open()

    def action_open(self) -> None:
        xid = self.table.selected_key
        if xid is None:
            return
        if xid in (self.kept or {}) and xid not in self._listed:
            self.notify(f"the cluster no longer knows job {xid}: x exports what was kept of it "
                        "(its report, HTML or JSON)", timeout=10)
            return
        self.app.push_screen(JobMonitorScreen(xid))

    def action_export(self) -> None:
        """The report kept of the highlighted job (the app keeps one for each job its monitor
        saw end), to a new file: HTML, or JSON for a ``.json`` name."""
        if (xid := self.table.selected_key) is not None:
            self._export(xid)

    @work(thread=True, group="export", exit_on_error=False)
    def _export(self, xid: str) -> None:
        report = job_report.kept_report(xid)
        if report is None:
            self.app.call_from_thread(
                self.notify, f"no report of job {xid} is kept: one is once its monitor "
                "(Enter) sees it end", severity="warning", timeout=10)
            return
        self.app.call_from_thread(
            self.save_as, job_report.EXPORT_QUESTION, f"aisetl-job-{xid}.html",
            partial(job_report.report_file, report), f"job {xid}'s report")
