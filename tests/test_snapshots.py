"""SVG snapshots of the main screens, with data from a real embedded cluster.

Target IDs are fixed (the cluster's identity file is written first) and the status line is
pinned, since the cluster's port changes from run to run; everything else on screen comes
from the cluster itself.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aistore import Client
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from aisetl_tui.app import AisEtlApp
from aisetl_tui.job_view import Poll, SourceShare
from aisetl_tui.screens.job_monitor import JobMonitorScreen
from aisetl_tui.session import Connected
from aisetl_tui.widgets.byte_view import ByteView
from aisetl_tui.widgets.status import ClusterStatus
from backend.ais import AisClient, JobSnap, ObjError
from backend.local import LocalCluster, read_token
from tests.conftest import auth_headers, code_msg

SIZE = (100, 30)
PINNED = ClusterStatus(endpoint="http://127.0.0.1:8080", embedded=True, proxies=1, targets=2,
                       state="connected")


class PinnedStatusApp(AisEtlApp):
    """The app with its connection watcher replaced by a fixed status line."""

    async def _connect_pinned(self) -> None:
        self.session.client = AisClient(self.context.endpoint or "", token=read_token())
        self.session.supports_init_code = True
        self.status = PINNED
        self.screen.post_message(Connected())

    def connect(self) -> None:  # type: ignore[override]
        self.run_worker(self._connect_pinned(), group="connect")


@pytest.fixture(scope="module")
def snap_cluster() -> Iterator[LocalCluster]:
    path = Path(tempfile.mkdtemp(prefix="aisetl-snap-"))
    identity = {"uuid": "snapshots1", "creation_time": "2026-11-22 10:00:00",
                "proxy": "PxProxyA", "targets": ["TgtAlpha", "TgtBravo"], "runs": 0}
    (path / "cluster.json").write_text(json.dumps(identity))
    try:
        with LocalCluster(path, targets=2, port=0) as c:
            client = Client(c.endpoint)
            for name, count in (("images", 12), ("shards", 3)):
                bck = client.bucket(name)
                bck.create()
                for i in range(count):
                    bck.object(f"{name[:-1]}-{i:03}.bin").get_writer().put_content(
                        b"x" * (1000 * (i + 1)))
            client.bucket("shards").object("notes.txt").get_writer().put_content(
                b"some text :)\n")
            c.http = __import__("httpx").Client(base_url=c.endpoint, timeout=60,
                                                headers=auth_headers())
            code = Path("manifests/md5/code.py").read_bytes()
            assert c.http.put("/v1/etl", json=code_msg("md5-snap", code, comm="hpush://")
                              ).status_code == 200
            yield c
            c.http.close()
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def settle(pilot: Pilot, predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the screen did not settle"
        await pilot.pause(0.05)
    await pilot.pause(0.2)


def rows(app, selector: str) -> list[list[str]]:
    table = app.screen.query_one(selector, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def test_buckets_screen(snap_compare, snap_cluster) -> None:
    async def ready(pilot: Pilot) -> None:
        await settle(pilot, lambda: rows(pilot.app, "#buckets") == [
            ["images", "12", "76.2 KiB"], ["shards", "4", "5.9 KiB"]])

    assert snap_compare(PinnedStatusApp(start="buckets", endpoint=snap_cluster.endpoint),
                        terminal_size=SIZE, run_before=ready)


def test_overview_screen(snap_compare, snap_cluster) -> None:
    """Before the inline transform below: it would count an object on the ETL."""
    async def ready(pilot: Pilot) -> None:
        def panel(name: str) -> str:
            console = Console(width=100, record=True, file=io.StringIO())
            console.print(pilot.app.screen.query_one(f"#ov-{name}", Static).content)
            return console.export_text()

        await settle(pilot, lambda: "md5-snap" in panel("etls") and "2/2" in panel("etls")
                     and "t[TgtBravo]" in panel("cluster"))

    assert snap_compare(PinnedStatusApp(endpoint=snap_cluster.endpoint),
                        terminal_size=SIZE, run_before=ready)


def test_objects_screen(snap_compare, snap_cluster) -> None:
    async def ready(pilot: Pilot) -> None:
        await settle(pilot, lambda: len(rows(pilot.app, "#buckets")) == 2)
        await pilot.press("enter")
        await settle(pilot, lambda: pilot.app.screen.query("#objects")
                     and len(rows(pilot.app, "#objects")) == 12)

    assert snap_compare(PinnedStatusApp(start="buckets", endpoint=snap_cluster.endpoint),
                        terminal_size=SIZE, run_before=ready)


def test_inline_transform_screen(snap_compare, snap_cluster) -> None:
    async def ready(pilot: Pilot) -> None:
        app = pilot.app
        await settle(pilot, lambda: len(rows(app, "#buckets")) == 2)
        await pilot.press("down", "enter")
        await settle(pilot, lambda: app.screen.query("#objects")
                     and len(rows(app, "#objects")) == 4)
        await pilot.press("i")  # notes.txt sorts first
        await settle(pilot, lambda: app.screen.query("#output") and app.screen.query_one(
            "#output", ByteView).text == "393c6706efb128fbc442d3f7d084a426")
        caption = app.screen.query_one("#out-caption", Static)  # its latency varies: pin it
        caption.update(re.sub(r"in [\d.]+m?s$", "in 5.0ms", str(caption.render())))
        await pilot.pause()

    assert snap_compare(PinnedStatusApp(start="buckets", endpoint=snap_cluster.endpoint),
                        terminal_size=SIZE, run_before=ready)


def test_help_screen(snap_compare, snap_cluster) -> None:
    async def ready(pilot: Pilot) -> None:
        await settle(pilot, lambda: len(rows(pilot.app, "#buckets")) == 2)
        await pilot.press("question_mark")

    assert snap_compare(PinnedStatusApp(start="buckets", endpoint=snap_cluster.endpoint),
                        terminal_size=SIZE, run_before=ready)


def test_init_code_form(snap_compare, snap_cluster) -> None:
    async def ready(pilot: Pilot) -> None:
        await settle(pilot, lambda: len(rows(pilot.app, "#buckets")) == 2)
        pilot.app.run_command("init code manifests/md5/code.py")
        await pilot.pause(0.5)

    assert snap_compare(PinnedStatusApp(start="buckets", endpoint=snap_cluster.endpoint),
                        terminal_size=SIZE, run_before=ready)


class ScriptedMonitor(JobMonitorScreen):
    """The job monitor fed three pinned polls of a finished job with errors, instead of a
    live job whose timing varies from run to run; everything else is the real screen."""

    def __init__(self) -> None:
        super().__init__("pinnedjob1")
        self.etl = ""  # no per-object errors to look up beyond the pinned ones
        self.view.etl_shown = "md5-snap"
        self.view.totals = (300, 300_000)
        self.view.shares = {"TgtAlpha": SourceShare(140, 140_000),
                            "TgtBravo": SourceShare(160, 160_000)}
        errors = [ObjError(f"ais://images/bad-{i}.bin", f"ValueError: bad header at {i}", 500)
                  for i in range(3)]
        self.script = [
            Poll(0.0, [job_snap("TgtAlpha", 0, None), job_snap("TgtBravo", 0, None)], [],
                 wall=1_764_583_200.0),
            Poll(2.0, [job_snap("TgtAlpha", 60, None), job_snap("TgtBravo", 90, None, 3)],
                 errors, wall=1_764_583_202.0),
            Poll(4.0, [job_snap("TgtAlpha", 140, 4.0), job_snap("TgtBravo", 157, 3.5, 3)],
                 errors, wall=1_764_583_204.0),
        ]

    async def fetch(self, client: AisClient) -> Poll:
        return self.script.pop(0)


def job_snap(target: str, done: int, ended_after: float | None, errors: int = 0) -> JobSnap:
    start = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
    return JobSnap(xid="pinnedjob1", kind="etl-bck", target_id=target, src="images",
                   dst="images-md5", started=start,
                   ended=start + timedelta(seconds=ended_after) if ended_after else None,
                   loc_objs=done, loc_bytes=done * 32, in_objs=0, in_bytes=0, out_objs=0,
                   out_bytes=0, aborted=False, err="", idle=False, obj_errors=errors)


def test_job_monitor_screen(snap_compare, snap_cluster) -> None:
    async def ready(pilot: Pilot) -> None:
        await settle(pilot, lambda: len(rows(pilot.app, "#buckets")) == 2)
        monitor = ScriptedMonitor()
        await pilot.app.push_screen(monitor)
        await settle(pilot, lambda: monitor.finished and not monitor.script)

    assert snap_compare(PinnedStatusApp(start="buckets", endpoint=snap_cluster.endpoint),
                        terminal_size=SIZE, run_before=ready)

