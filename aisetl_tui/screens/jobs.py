"""Transform jobs, running and finished; Enter re-opens a job's monitor."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding

from backend.ais import AisClient, JobStatus

from ..widgets.table import KeyedTable
from ._base import TableScreen

TRANSFORM_KINDS = ("etl-bck", "etl-listrange")


def job_state(job: JobStatus) -> Text:
    if job.aborted:
        return Text("aborted", style="red")
    if job.ended is None:
        return Text("running", style="yellow")
    return Text("finished" + (" with errors" if job.err else ""),
                style="dark_orange" if job.err else "green")


class JobsScreen(TableScreen):
    TABLE_ID = "jobs"
    TITLE_TEXT = "jobs"
    INTERVAL = 3.0
    BINDINGS = [
        Binding("enter", "open", "Monitor", id="jobs.open"),
        Binding("slash", "filter", "Filter", id="jobs.filter"),
        Binding("ctrl+r", "refresh", "Refresh", id="jobs.refresh"),
    ]

    def compose_body(self) -> ComposeResult:
        yield KeyedTable(["JOB", "KIND", "ETL", "SOURCE", "DESTINATION", "STATE", "ENDED"],
                         sort_rows=False, id="jobs")

    async def fetch(self, client: AisClient) -> list[JobStatus]:
        jobs = await client.list_jobs()
        return [j for j in jobs if j.kind in TRANSFORM_KINDS]

    def render_data(self, jobs: list[JobStatus]) -> None:
        epoch = datetime.min.replace(tzinfo=UTC)
        jobs = sorted(jobs, key=lambda j: (j.ended is not None, j.ended or epoch), reverse=True)
        rows = {}
        for job in jobs:
            record = self.ais.jobs.get(job.xid)
            ended = job.ended.astimezone().strftime("%H:%M:%S") if job.ended else ""
            rows[job.xid] = (job.xid, job.kind, record.chain if record else "",
                             record.src if record else "", record.dst if record else "",
                             job_state(job), ended)
        self.table.sync(rows)

    def on_data_table_row_selected(self) -> None:
        """Enter on the table (the table, not the screen, receives the key)."""
        self.action_open()

    def action_open(self) -> None:
        if (xid := self.table.selected_key) is not None:
            from .job_monitor import JobMonitorScreen

            self.app.push_screen(JobMonitorScreen(xid))
