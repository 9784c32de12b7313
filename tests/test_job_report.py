"""A job's report: what the monitor saw, kept across restarts in the XDG state directory,
and exported as JSON or as one self-contained HTML page with the nodes' throughput in SVG."""

from __future__ import annotations

import json
import re
from pathlib import Path

from aisetl_tui import job_report
from aisetl_tui.job_view import JobView, Poll
from backend.ais import ObjError
from tests.test_job_view import snap


def finished_view() -> JobView:
    view = JobView("x1")
    view.totals = (300, 300_000)
    view.etl_shown = "md5 >> <script>"
    for second in range(6):
        done = second * 30
        view.add(Poll(100.0 + second, [snap("T1", done), snap("T2", done // 2, errors=2)],
                      None, wall=1e9 + second))
    errors = [ObjError(f"ais://src/o{i}", f"ValueError: bad {i}", 500) for i in range(4)]
    view.add(Poll(107.0, [snap("T1", 200, ended_after=7), snap("T2", 96, ended_after=7,
                                                                errors=4)], errors,
                  wall=1e9 + 7))
    return view


def test_a_report_says_what_the_job_did_in_all_and_per_node() -> None:
    report = finished_view().summary()
    assert (report["kind"], report["src"], report["dst"], report["state"]) == \
        ("etl-bck", "src", "dst", "finished")
    assert report["objects"] == 300 and report["failed"] == 4 and report["seconds"] == 7.0
    assert [(n["target"], n["objects"]) for n in report["nodes"]] == [("T1", 200), ("T2", 100)]
    assert report["slowest"] == "T2"
    assert report["etl"] == "md5 >> <script>" and report["parent"] == ""
    assert report["errors"] == [{"pattern": "ValueError: bad <n>", "count": 4,
                                 "examples": ["ais://src/o0", "ais://src/o1", "ais://src/o2"],
                                 "first_seen": "2001-09-09T01:46:47+00:00"}]  # (wall 1e9 + 7)
    assert set(report["throughput"]["nodes"]) == {"T1", "T2"}
    assert json.loads(job_report.report_json(report)) == report


def test_the_html_page_stands_alone_and_escapes_what_it_shows() -> None:
    html = job_report.report_html(finished_view().summary())
    assert html.startswith("<!doctype html>") and "<svg" in html and "<polygon" in html
    assert "<script>" not in html and "md5 &gt;&gt; &lt;script&gt;" in html
    links = re.findall(r"(?:src|href)=\"([^\"]+)\"", html)
    assert not links and "http://www.w3.org/2000/svg" in html  # nothing fetched: no network
    assert "300 (4 failed)" in html and "ValueError: bad &lt;n&gt;" in html
    assert "not listed" not in html and "retry of" not in html
    report = {**finished_view().summary(), "parent": "first-1", "failed": 300}
    html = job_report.report_html(report)
    assert "<th>retry of</th><td>first-1</td>" in html
    assert "296 of the 300 failures are not listed" in html


def test_errors_first_seen_after_the_job_ended_failed_by_its_end() -> None:
    """A monitor opened after the job ended sees its errors then, not when they happened:
    "first seen" is the job's end at the latest (it was the time the screen opened)."""
    view = JobView("x2")
    ended = snap("T1", 10, ended_after=7, errors=1)
    errors = [ObjError("ais://src/o1", "ValueError: bad 1", 500)]
    view.add(Poll(500.0, [ended], errors, wall=ended.ended.timestamp() + 3600))
    assert view.error_groups()[0].first_seen == ended.ended.timestamp()


def test_a_kept_report_is_found_by_its_job_id_and_no_id_names_a_file_elsewhere(
        tmp_path: Path) -> None:
    report = finished_view().summary()
    job_report.keep(report, tmp_path / "jobs")
    assert job_report.kept_report("x1", tmp_path / "jobs") == report
    assert job_report.kept_report("x9", tmp_path / "jobs") is None
    assert job_report.kept_report("../jobs/x1", tmp_path / "jobs") is None
    try:
        job_report.keep({**report, "xid": "../evil"}, tmp_path / "jobs")
    except ValueError as err:
        assert "not a job ID" in str(err)
    else:
        raise AssertionError("a job ID with ../ was kept")
    assert not (tmp_path / "evil.json").exists()


def test_reports_are_kept_the_latest_first_and_a_broken_one_skipped(tmp_path: Path,
                                                                   monkeypatch) -> None:
    monkeypatch.setattr(job_report, "KEPT", 3)
    report = finished_view().summary()
    for i in range(5):
        job_report.keep({**report, "xid": f"job{i}"}, tmp_path)
    (tmp_path / "broken.json").write_text("{not json")
    kept = job_report.kept_reports(tmp_path)
    assert sorted(kept) == ["job2", "job3", "job4"] and kept["job4"]["objects"] == 300
    assert not list(tmp_path.glob("*.tmp"))


async def test_the_monitor_keeps_and_exports_the_report_and_jobs_lists_it_later(
        cluster, bucket, tmp_dir: Path) -> None:
    from aistore import Client

    from aisetl_tui.app import AisEtlApp
    from aisetl_tui.screens.job_monitor import JobMonitorScreen
    from aisetl_tui.screens.jobs import JobsScreen
    from tests.conftest import code_msg
    from tests.test_app import connected, table_rows, until
    from tests.test_app_errors import export_to

    for i in range(20):
        bucket.object(f"o{i}").get_writer().put_content(b"x")
    app = AisEtlApp(endpoint=cluster.endpoint, start="buckets")
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        client = app.session.client
        name = f"report-{bucket.name[-8:]}"
        await client.init_etl(code_msg(name, b"def transform(data):\n    return data\n",
                                       comm="hpush://"))
        try:
            xid = await client.start_bucket_transform(bucket.name, bucket.name + "-out", name)
            app.session.remember_job(xid, name, bucket.name, bucket.name + "-out")  # as a start
            app.push_screen(JobMonitorScreen(xid))
            await until(pilot, lambda: app.screen.finished, "the job to end", timeout=60)
            kept = job_report.state_dir() / f"{xid}.json"
            await until(pilot, kept.exists, "the report kept")
            assert json.loads(kept.read_text())["objects"] == 20
            assert json.loads(kept.read_text())["endpoint"] == cluster.endpoint
            page = tmp_dir / "report.html"
            await export_to(pilot, app, page)
            text = page.read_text()  # (a job this short has one sample: no chart)
            assert f"Job {xid}: {name}" in text and "20 (0 failed)" in text
            # opened again after it ended: what was kept when it was watched stays, and is
            # what its chart and its export show (a poll now sees no throughput)
            watched = {**json.loads(kept.read_text()), "parent": "first-job-1",
                       "throughput": {"unit": "objects/s", "seconds_per_sample": 1.0,
                                      "nodes": {t: [5.0, 7.0, 6.0]
                                                for t in json.loads(kept.read_text())[
                                                    "throughput"]["nodes"]}}}
            job_report.keep(watched)
            await pilot.press("escape")
            app.push_screen(JobMonitorScreen(xid))
            await until(pilot, lambda: app.screen.finished, "the job seen ended", timeout=60)
            await pilot.pause(0.5)
            assert json.loads(kept.read_text()) == watched  # not overwritten with less
            chart = app.screen.view.frame().chart
            assert all(series == [5.0, 7.0, 6.0] for series in chart.series.values())
            again = tmp_dir / "again.json"
            await export_to(pilot, app, again)
            assert json.loads(again.read_text())["throughput"] == watched["throughput"]
            # a job the cluster no longer knows, kept from an earlier run
            job_report.keep({**watched, "xid": "gone-job-1"})
            await pilot.press("escape")
            await pilot.press("4")
            await until(pilot, lambda: isinstance(app.screen, JobsScreen) and any(
                r[0] == "gone-job-1" and r[5] == "finished · kept"
                for r in table_rows(app, "#jobs")), "the kept job listed")
            rows = {r[0]: r for r in table_rows(app, "#jobs")}
            assert rows["gone-job-1"][1:3] == ["↳ retry of first-job-1", name]
            assert rows[xid][2] == name
            app.screen.table.move_cursor(row=[r[0] for r in table_rows(app, "#jobs")]
                                         .index("gone-job-1"))
            exported = tmp_dir / "gone.json"
            await export_to(pilot, app, exported)
            assert json.loads(exported.read_text())["xid"] == "gone-job-1"
        finally:
            await client.delete_etl(name)
            Client(cluster.endpoint).bucket(bucket.name + "-out").delete(missing_ok=True)
            (job_report.state_dir() / "gone-job-1.json").unlink(missing_ok=True)
