"""Transform jobs, running and finished; Enter re-opens a job's monitor."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from rich.text import Text
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
        for job in jobs:
            record = self.session.jobs.get(job.xid)
            etl, src, dst = ((record.chain, record.src, record.dst) if record
                             else self.learned.get(job.xid, ("", "", "")))
            kind = f"{job.kind} ↳ retry of {record.parent}" if record and record.parent \
                else job.kind
            rows[job.xid] = (job.xid, kind, etl, src, dst, job_state(job),
                             ended_text(job.ended, now))
        for xid, report in sorted((self.kept or {}).items(), key=lambda kv: kv[1]["started"],
                                  reverse=True):
            if xid not in rows:  # the cluster forgot it (a restart): what was kept of it
                ended = datetime.fromisoformat(report["ended"]) if report.get("ended") else None
                rows[xid] = (xid, report["kind"], report.get("etl", ""), report["src"],
                             report["dst"], Text(f"{report['state']} · kept", style="dim"),
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
            self.notify(f"the cluster no longer knows job {xid}; what was kept of it: "
                        f"{job_report.state_dir() / f'{xid}.json'}", timeout=10)
            return
        self.app.push_screen(JobMonitorScreen(xid))
