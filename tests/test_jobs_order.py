from datetime import UTC, datetime, timedelta

from aisetl_tui.screens.jobs import by_recency, ended_text
from backend.ais import JobStatus


def test_running_jobs_first_then_the_latest_ended() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)

    def job(xid: str, ended: datetime | None) -> JobStatus:
        return JobStatus(xid=xid, kind="etl-bck", err="", ended=ended, aborted=False)

    jobs = [job("old", t), job("run1", None), job("new", t + timedelta(minutes=5)),
            job("run2", None)]
    assert [j.xid for j in by_recency(jobs)] == ["run1", "run2", "new", "old"]


def test_ended_shows_the_date_unless_today() -> None:
    now = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
    assert ended_text(datetime(2026, 3, 5, 9, 30, 15, tzinfo=UTC), now) == "09:30:15"
    assert ended_text(datetime(2026, 3, 4, 23, 59, tzinfo=UTC), now) == "Mar 04 23:59"
    assert ended_text(None, now) == ""
