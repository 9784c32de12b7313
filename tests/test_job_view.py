"""The job monitor's view model, from snapshots as AIStore reports them to every line shown:
rates from the measured time between polls, read bytes exact once a node's share is done, a
lagging node flagged, errors grouped, and once the job ended, its own time and slowest node."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aisetl_tui.job_view import TOTAL_ROW, JobView, Poll, SourceShare
from backend.ais import JobSnap, ObjError

START = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)


def snap(target: str, objs: int, *, size: int = 1000, ended_after: float | None = None,
         errors: int = 0, err: str = "", aborted: bool = False, kind: str = "etl-bck",
         idle: bool = False) -> JobSnap:
    ended = START + timedelta(seconds=ended_after) if ended_after is not None else None
    return JobSnap(xid="x1", kind=kind, target_id=target, src="src", dst="dst",
                   started=START, ended=ended, loc_objs=objs, loc_bytes=objs * size,
                   in_objs=0, in_bytes=0, out_objs=0, out_bytes=0, aborted=aborted, err=err,
                   idle=idle, obj_errors=errors)


def cells(view: JobView, row: str) -> list[str]:
    return [str(c) for c in view.frame().rows[row]]


def test_running_rates_from_measured_time_and_an_eta() -> None:
    view = JobView("x1")
    view.totals = (400, 400 * 4000)  # 4 KB source objects, 1 KB written each
    view.add(Poll(100.0, [snap("T1", 0), snap("T2", 0)], None, wall=1e9))
    view.add(Poll(102.0, [snap("T1", 40), snap("T2", 60)], None, wall=1e9 + 2))
    frame = view.frame()
    assert frame.state == "running" and (frame.bar_total, frame.bar_done) == (400, 100)
    overall = frame.overall.plain.splitlines()
    # 100 objects in 2.0 s measured (not the nominal 1 s interval): 50 obj/s, 300 left: 6 s
    assert overall[0] == ("running · ETA 6s · 100 / 400 objects · read ~390.6 KiB · wrote "
                          "97.7 KiB")
    assert overall[1] == "50 obj/s · in 0.2 MB/s · out 0.1 MB/s"
    # per node: objects, obj/s, read (estimated at the source's mean size until all are done)
    assert cells(view, "T1")[2:5] == ["40", "20", "~156.2 KiB"]
    assert cells(view, TOTAL_ROW)[2:4] == ["100", "50"]
    assert frame.errors is None and frame.caption.plain == "etl-bucket[x1] ais://src => ais://dst"


def test_a_node_well_below_the_median_is_flagged_slow() -> None:
    view = JobView("x1")
    view.totals = (10_000, 10_000_000)
    for second in range(12):  # a full straggler window: T3 does a tenth of the others
        view.add(Poll(float(second), [snap("T1", 100 * second), snap("T2", 100 * second),
                                      snap("T3", 10 * second)], None))
    frame = view.frame()
    assert view.slow == {"T3"}
    assert "slow: T3" in frame.overall.plain
    assert cells(view, "T3")[-1] == "running slow"
    assert ("T3 10 slow", frame.legend[3][1]) == frame.legend[3]


def test_exact_reads_once_a_share_is_done_and_the_summary_of_an_ended_job() -> None:
    view = JobView("x1")
    view.totals = (30, 30_000)
    view.shares = {"T1": SourceShare(10, 5_000), "T2": SourceShare(20, 25_000)}
    view.add(Poll(0.0, [snap("T1", 0), snap("T2", 0)], None))
    view.add(Poll(5.0, [snap("T1", 10, ended_after=2.0), snap("T2", 20, ended_after=10.0)],
                  None))
    frame = view.frame()
    assert frame.ended and frame.state == "finished"
    lines = frame.overall.plain.splitlines()
    # the job's own time (first start to last end), exact reads, averages, the slowest node
    assert lines[0] == ("finished in 10s · 30 / 30 objects · read 29.3 KiB · wrote 29.3 KiB")
    assert lines[1] == ("average 3 obj/s · in 0.0 MB/s · out 0.0 MB/s · slowest T2 (2 obj/s)")
    assert cells(view, "T1")[1:5] == ["████████ 100%", "10", "5", "4.9 KiB"]
    assert frame.legend[0][0] == "average 3"


def test_errors_grouped_and_the_cap_on_what_the_cluster_lists() -> None:
    view = JobView("x1")
    view.totals = (1000, 1_000_000)
    listed = [ObjError(f"ais://src/o{i}", f"ValueError: bad byte at {i}", 500)
              for i in range(128)]
    view.add(Poll(0.0, [snap("T1", 200, errors=150, err="150 object(s) failed")], listed,
                  wall=1_764_583_200.0))
    errors = view.frame().errors
    assert errors is not None
    lines = errors.plain.splitlines()
    assert lines[0] == ("errors: 150 of 1 kind (the cluster keeps at most 128 per node: "
                        "22 not listed)")
    assert lines[1].split()[0] == "128" and "ValueError: bad byte at <n>" in lines[1]
    assert "T1: 150 object(s) failed" in view.frame().overall.plain


def test_an_aborted_job_and_what_was_last_seen() -> None:
    view = JobView("x1")
    view.totals = (50, 50_000)
    view.add(Poll(0.0, [snap("T1", 5, ended_after=1.0, aborted=True, err="aborted by user"),
                        snap("T2", 7, ended_after=1.0, aborted=True)], None))
    frame = view.frame()
    assert frame.state == "aborted" and frame.overall.plain.startswith("aborted in ")
    assert " · 12 / 50 objects" in frame.overall.plain
    assert view.last_seen() == "last seen: 12 of 50 objects, 11.7 KiB"


def test_progress_never_goes_backwards_when_a_node_loses_its_counters() -> None:
    """A target restarts mid-job (its counters start again from zero, or it drops out of the
    answer for a poll): the job's progress stays, and the view says whose counters went."""
    view = JobView("x2")
    view.totals = (400, 400 * 4000)
    view.add(Poll(0.0, [snap("T1", 60), snap("T2", 60)], None))
    assert view.frame().bar_done == 120
    view.add(Poll(1.0, [snap("T1", 70), snap("T2", 5)], None))  # T2 restarted
    frame = view.frame()
    assert frame.bar_done == 130 and view.lost == {"T2"}
    assert "T2 lost its counters (restarted?): counted as last seen" in frame.overall.plain
    view.add(Poll(2.0, [snap("T1", 80)], None))  # and now gone from the answer
    assert view.frame().bar_done == 140


def test_a_list_job_is_done_once_idle_on_every_node() -> None:
    """AIStore keeps a list or range transform running, idle, for a minute after its work:
    the monitor counts it finished when every node is idle, timed to when it was seen so."""
    view = JobView("x1")
    view.totals = (100, 100_000)
    at = START.timestamp()
    lst = "etl-listrange"
    view.add(Poll(0.0, [snap("T1", 0, kind=lst), snap("T2", 0, kind=lst)], None, wall=at))
    # T1 is done and idles while T2 works: the job still runs, T1 is no straggler
    view.add(Poll(2.0, [snap("T1", 50, kind=lst, idle=True), snap("T2", 20, kind=lst)], None,
                  wall=at + 2))
    frame = view.frame()
    assert frame.state == "running" and not frame.ended
    assert cells(view, "T1")[-1] == "idle" and "slow" not in cells(view, "T2")[-1]
    view.add(Poll(4.0, [snap("T1", 50, kind=lst, idle=True),
                        snap("T2", 50, kind=lst, idle=True)], None, wall=at + 4))
    frame = view.frame()
    assert frame.state == "finished" and frame.ended
    lines = frame.overall.plain.splitlines()
    # a list job does some of its source: the source's count is no total (sizes only)
    assert lines[0] == "finished in 4.0s · 100 objects · read ~97.7 KiB · wrote 97.7 KiB"
    assert (frame.bar_total, frame.bar_done) == (1, 1)
    assert lines[1].startswith("average 25 obj/s")
    assert lines[2].startswith("idle: AIStore keeps the job a minute")
    # a bucket job that is idle between two polls is not done: only its end says so
    other = JobView("x2")
    other.add(Poll(0.0, [snap("T1", 5, idle=True)], None, wall=at))
    assert other.frame().state == "running"
