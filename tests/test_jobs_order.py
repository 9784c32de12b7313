from datetime import UTC, datetime, timedelta

from aisetl_tui.screens.jobs import by_recency
from backend.ais import JobStatus


def test_running_jobs_first_then_the_latest_ended() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)

    def job(xid: str, ended: datetime | None) -> JobStatus:
        return JobStatus(xid=xid, kind="etl-bck", err="", ended=ended, aborted=False)

    jobs = [job("old", t), job("run1", None), job("new", t + timedelta(minutes=5)),
            job("run2", None)]
    assert [j.xid for j in by_recency(jobs)] == ["run1", "run2", "new", "old"]
