"""The app driven by its keys (Textual's pilot) against a real embedded cluster."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from aistore import Client
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label, ProgressBar, Select, Static

from aisetl_tui.app import AisEtlApp
from aisetl_tui.screens.buckets import BucketsScreen
from aisetl_tui.screens.dialogs import ConfirmScreen
from aisetl_tui.screens.etl_init import InitCodeScreen, InitSpecScreen
from aisetl_tui.screens.file_picker import FilePickerScreen
from aisetl_tui.screens.inline import InlineTransformScreen
from aisetl_tui.screens.job_monitor import JobMonitorScreen
from aisetl_tui.screens.jobs import JobsScreen
from aisetl_tui.screens.object_view import ObjectViewScreen
from aisetl_tui.screens.objects import ObjectsScreen
from aisetl_tui.screens.offline import OfflineFormScreen
from aisetl_tui.screens.pods import PodsScreen
from aisetl_tui.widgets.byte_view import ByteView
from aisetl_tui.widgets.chart import RateChart
from aisetl_tui.widgets.live_table import LiveTable
from backend.local import LocalCluster
from tests.conftest import MANIFESTS, TUTORIAL, auth_headers, code_msg

SHARD_MD5 = "393c6706efb128fbc442d3f7d084a426"


async def until(pilot: Pilot, predicate: Callable[[], object], what: str,
                timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def type_text(pilot: Pilot, text: str) -> None:
    await pilot.press(*text)


def table_rows(app: AisEtlApp, selector: str) -> list[list[str]]:
    """The table's cells as shown (DataTable renders a str cell as markup)."""
    table = app.screen.query_one(selector, DataTable)
    return [[c.plain if isinstance(c, Text) else Text.from_markup(str(c)).plain
             for c in table.get_row_at(i)] for i in range(table.row_count)]


class AsAnotherCluster(AisEtlApp):
    """The app given an embedded cluster's endpoint, taking it for another AIStore (one without
    `init code`, as 5.0): what a real cluster gets, exercised on the embedded one."""

    async def is_embedded(self, client) -> bool:
        return False


async def connected(pilot: Pilot, app: AisEtlApp) -> None:
    await until(pilot, lambda: app.status.state == "connected", "the app to connect")


async def open_init_form(pilot: Pilot, app: AisEtlApp, form: str, path: Path):
    """``:init code|spec PATH`` typed in the command bar; the form it opens."""
    await pilot.press("colon")
    await pilot.pause()
    app.screen.query_one(Input).value = f"init {form} {path}"
    await pilot.press("enter")
    screen_type = InitCodeScreen if form == "code" else InitSpecScreen
    await until(pilot, lambda: isinstance(app.screen, screen_type), "the init form")
    return app.screen


async def submit_init_form(pilot: Pilot, app: AisEtlApp, form: str, path: Path, name: str):
    """The init form opened on ``path``, given ``name`` and submitted; the form."""
    screen = await open_init_form(pilot, app, form, path)
    screen.query_one("#name", Input).value = name
    await pilot.press("ctrl+s")
    return screen


async def test_tutorial_through_the_app(cluster: LocalCluster, client: Client, tmp_dir: Path,
                                        http) -> None:
    shard = tmp_dir / "shard.in"
    shard.write_bytes(b"some text :)\n")
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot, app)
            assert f"{len(cluster.smap.targets)} targets" in str(
                app.screen.query_one("StatusBar").render())

            # ais create transform
            await pilot.press("c")
            await type_text(pilot, "app-transform")
            await pilot.press("enter")
            await until(pilot, lambda: any(r[0] == "app-transform"
                                           for r in table_rows(app, "#buckets")), "the bucket")

            # echo "some text :)" | ais put - transform/shard.in  (upload from disk)
            table = app.screen.query_one("#buckets", DataTable)
            table.move_cursor(row=next(i for i, r in enumerate(table_rows(app, "#buckets"))
                                       if r[0] == "app-transform"))
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ObjectsScreen), "objects")
            await pilot.press("u")
            await pilot.pause()
            app.screen.query_one("#path", Input).value = str(shard)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ObjectsScreen)
                        and table_rows(app, "#objects") == [["shard.in", "13 B"]], "upload")

            # ais etl init code --from-file=code.py --runtime=python3.11v2 --comm-type hpull
            await open_init_form(pilot, app, "code", MANIFESTS / "md5" / "code.py")
            await type_text(pilot, "app-md5")
            app.screen.query_one("#comm").value = "hpull"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, ObjectsScreen), "init to finish")
            assert [e["stage"] for e in http.get("/v1/etl").json() if e["id"] == "app-md5"] \
                == ["Running"]

            # ais etl object transformer-md5 transform/shard.in -
            await pilot.press("i")
            await until(pilot, lambda: isinstance(app.screen, InlineTransformScreen)
                        and app.screen.query_one("#output", ByteView).text == SHARD_MD5,
                        "the inline transform")

            # ais etl bucket transformer-md5 ais://transform ais://transform-md5 --wait
            await pilot.press("escape", "escape")
            await until(pilot, lambda: isinstance(app.screen, BucketsScreen), "buckets")
            table = app.screen.query_one("#buckets", DataTable)
            table.move_cursor(row=next(i for i, r in enumerate(table_rows(app, "#buckets"))
                                       if r[0] == "app-transform"))
            await pilot.press("t")
            await until(pilot, lambda: isinstance(app.screen, OfflineFormScreen)
                        and app.screen.query_one("#dst", Input).value, "the form")
            app.screen.query_one("#dst", Input).value = "app-transform-md5"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, JobMonitorScreen)
                        and app.screen.finished, "the job to finish")
            monitor = app.screen
            await until(pilot, lambda: "read 13 B" in str(
                monitor.query_one("#overall-text", Label).render()), "the source listed")
            text = str(monitor.query_one("#overall-text", Label).render())
            # ended: what it read (13 B, exactly: the listing placed the one object) and
            # wrote, the job's own time and its average rates, not rates winding down to zero
            assert re.fullmatch(r"finished in [\d.]+m?s · 1 / 1 object · read 13 B · wrote "
                                r"32 B\naverage [1-9][\d,]* obj/s · in \d+\.\d MB/s · "
                                r"out \d+\.\d MB/s", text), text
            rows = [[str(c) for c in row] for row in monitor.query_one("#nodes", LiveTable).rows]
            assert {r[0] for r in rows[:-1]} == {t.daemon_id for t in cluster.smap.targets}
            assert rows[-1][0] == "Total:" and rows[-1][2] == "1"
            assert rows[-1][1].endswith("100%")
            assert rows[-1][4:7] == ["13 B", "0.0", "32 B"]  # read, in MB/s, written
            assert int(rows[-1][3].replace(",", "")) > 0  # ended: the average, not zero
            # 32-byte outputs: the chart counts objects, as MB/s would read 0.0 (the chart
            # draws in the frame after the data); its legend's average is the table's
            chart = monitor.query_one("#chart", RateChart)
            await until(pilot, lambda: chart._data.unit == "obj/s" and chart._legend,
                        "the chart in obj/s")
            assert chart._legend[0][0] == f"average {rows[-1][3]}"
            assert client.bucket("app-transform-md5").object("shard.in").get_reader() \
                .read_all() == SHARD_MD5.encode()

            # ais etl stop transformer-md5 → the transformer processes are gone
            await pilot.press("escape", "2")
            await until(pilot, lambda: any(r[0] == "app-md5" and "Running" in r[1]
                                           for r in table_rows(app, "#etls")), "the ETL row")
            row = next(r for r in table_rows(app, "#etls") if r[0] == "app-md5")
            # hpull: the transformer answered the inline GET itself, so its output is not
            # counted by the cluster: a dash, not "0 B"
            assert row[2] == "hpull://" and row[5] == "—", row
            table = app.screen.query_one("#etls", DataTable)
            table.move_cursor(row=next(i for i, r in enumerate(table_rows(app, "#etls"))
                                       if r[0] == "app-md5"))
            await pilot.press("s")
            await pilot.pause()
            assert app.screen.focused.id == "cancel"  # the less destructive action first
            await pilot.press("tab", "enter")
            await until(pilot, lambda: any(r[0] == "app-md5" and r[1] == "Stopped"
                                           for r in table_rows(app, "#etls")), "the stop")
            assert "ETL app-md5 stopped" in [n.message for n in app._notifications]
            assert not any(h["pid"] for h in http.get("/v1/etl/app-md5/health").json())
            # its transformers read Stopped too, not Failed (the cluster says Failed for both)
            app.run_command("pods app-md5")
            await until(pilot, lambda: isinstance(app.screen, PodsScreen)
                        and app.screen.table is not None and app.screen.table.row_count == 2,
                        "its pods")
            states = {str(app.screen.table.get_row_at(i)[3]) for i in range(2)}
            assert states == {"Stopped"}, states
    finally:
        http.delete("/v1/etl/app-md5")
        for name in ("app-transform", "app-transform-md5"):
            client.bucket(name).delete(missing_ok=True)


async def test_pipeline_inline_and_offline(cluster: LocalCluster, client: Client, http,
                                           bucket) -> None:
    """``then`` on the inline screen and the offline form: the ETL's result goes through the
    next ETLs (AIStore's etl_pipeline)."""
    names = ("app-reverse", "app-pipe-md5")
    for name, code in zip(names, (b"def transform(data):\n    return data[::-1]\n",
                                  (MANIFESTS / "md5" / "code.py").read_bytes()), strict=True):
        assert http.put("/v1/etl", json=code_msg(name, code, comm="hpush://",
                                                  support_direct_put=True)).status_code == 200
    text = b"some text :)\n"
    bucket.object("text").get_writer().put_content(text)
    expected = hashlib.md5(text[::-1]).hexdigest()
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot, app)
            await app.push_screen(InlineTransformScreen(bucket.name, "text", "app-reverse"))
            output = lambda: app.screen.query_one("#output", ByteView).text  # noqa: E731
            await until(pilot, lambda: output() == text[::-1].decode(), "one stage")
            app.screen.query_one("#pipeline", Input).value = "Bad_Name"
            app.screen.query_one("#pipeline", Input).focus()
            await pilot.press("enter")
            await until(pilot, lambda: "then: ETL name 'Bad_Name'" in str(
                app.screen.query_one("#problem", Static).render()), "the problem")
            app.screen.query_one("#pipeline", Input).value = "app-pipe-md5"
            await pilot.press("enter")
            await until(pilot, lambda: output() == expected, "the pipeline's output")
            assert re.fullmatch(r"output of app-reverse >> app-pipe-md5: 32 B in [\d.]+m?s",
                                str(app.screen.query_one("#out-caption", Static).render()))

            await pilot.press("escape")
            await app.push_screen(OfflineFormScreen(src=bucket.name, etl="app-reverse"))
            await until(pilot, lambda: isinstance(app.screen, OfflineFormScreen)
                        and app.screen.query_one("#dst", Input).value
                        and app.screen.focused is app.screen.query_one("#dst", Input),
                        "the form, at the destination (all else chosen)")
            app.screen.query_one("#dst", Input).value = bucket.name + "-piped"
            app.screen.query_one("#pipeline", Input).value = "app-pipe-md5"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, JobMonitorScreen)
                        and app.screen.finished, "the job to finish")
            assert "ETL app-reverse >> app-pipe-md5" in str(
                app.screen.query_one("#caption", Static).render())
            assert client.bucket(bucket.name + "-piped").object("text").get_reader() \
                .read_all() == expected.encode()

            await pilot.press("escape")  # two buckets now: the form starts at the source
            await app.push_screen(OfflineFormScreen(etl="app-reverse"))
            await until(pilot, lambda: isinstance(app.screen, OfflineFormScreen)
                        and app.screen.focused is app.screen.query_one("#src", Select),
                        "the source bucket focused")
    finally:
        for name in names:
            http.delete(f"/v1/etl/{name}")
        client.bucket(bucket.name + "-piped").delete(missing_ok=True)


async def test_job_over_an_empty_bucket_ends_with_a_full_bar(cluster: LocalCluster,
                                                              client: Client, http,
                                                              bucket) -> None:
    """Nothing to transform: the monitor says finished, and its bar is full, not an endless
    indeterminate one."""
    code = b"def transform(data):\n    return data\n"
    assert http.put("/v1/etl", json=code_msg("app-empty", code)).status_code == 200
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot, app)
            await app.push_screen(OfflineFormScreen(src=bucket.name, etl="app-empty"))
            await until(pilot, lambda: isinstance(app.screen, OfflineFormScreen)
                        and app.screen.query_one("#dst", Input).value, "the form")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, JobMonitorScreen)
                        and app.screen.finished, "the job to finish")
            assert app.screen.query_one("#progress", ProgressBar).percentage == 1
            assert re.fullmatch(r"finished in [\d.]+m?s · 0 / 0 objects · read 0 B · wrote 0 B"
                                r"\naverage 0 obj/s · in 0\.0 MB/s · out 0\.0 MB/s",
                                str(app.screen.query_one("#overall-text", Label).render()))
    finally:
        http.delete("/v1/etl/app-empty")
        client.bucket(f"{bucket.name}-app-empty").delete(missing_ok=True)


async def test_jobs_screen_shows_jobs_started_elsewhere(cluster: LocalCluster, client: Client,
                                                         http, bucket) -> None:
    """A job this app did not start (here, the SDK's) shows its source and destination, from
    the cluster's own snapshots, and Enter opens its monitor."""
    code = b"def transform(data):\n    return data\n"
    assert http.put("/v1/etl", json=code_msg("app-jobs", code)).status_code == 200
    bucket.object("a").get_writer().put_content(b"x" * 2_000_000)
    dst = f"{bucket.name}-out"
    try:
        xid = bucket.transform(etl_name="app-jobs", to_bck=client.bucket(dst))
        client.job(xid).wait(timeout=60, verbose=False)
        app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot, app)
            await pilot.press("4")
            await until(pilot, lambda: isinstance(app.screen, JobsScreen) and any(
                r[0] == xid and r[3:5] == [bucket.name, dst] for r in table_rows(app, "#jobs")),
                "the job with its buckets")
            row = next(r for r in table_rows(app, "#jobs") if r[0] == xid)
            assert row[1] == "etl-bck" and row[5] == "finished"
            app.screen.query_one("#jobs", DataTable).move_cursor(
                row=[r[0] for r in table_rows(app, "#jobs")].index(xid))
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, JobMonitorScreen)
                        and app.screen.finished, "its monitor")
            assert f"ais://{bucket.name} => ais://{dst}" in str(
                app.screen.query_one("#caption", Static).render())
            # 2 MB objects: the chart is in MB/s read
            chart = app.screen.query_one("#chart", RateChart)
            await until(pilot, lambda: chart._data.unit == "MB/s in", "the chart in MB/s")
    finally:
        http.delete("/v1/etl/app-jobs")
        client.bucket(dst).delete(missing_ok=True)


async def test_a_running_job_started_elsewhere_is_put_down_to_the_only_running_etl(
        tmp_dir: Path) -> None:
    """Stopping an ETL aborts its jobs: with one ETL Running, a running job is that ETL's.
    The Jobs screen keeps the name once learned, and the monitor's caption shows it."""
    slow = b"import time\n\ndef transform(data):\n    time.sleep(0.1)\n    return data\n"
    with LocalCluster(tmp_dir / "cluster", targets=1, port=0) as cluster:
        client = Client(cluster.endpoint)
        assert requests.put(f"{cluster.endpoint}/v1/etl", json=code_msg("only-etl", slow),
                            headers=auth_headers(), timeout=60).status_code == 200
        src = client.bucket("src")
        src.create()
        for i in range(100):  # 10 s, one at a time
            src.object(f"o{i:03}").get_writer().put_content(b"x")
        xid = src.transform(etl_name="only-etl", to_bck=client.bucket("dst"), num_workers=1)
        app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot, app)
            await pilot.press("4")
            await until(pilot, lambda: isinstance(app.screen, JobsScreen) and any(
                r[0] == xid and r[2:6] == ["only-etl", "src", "dst", "running"]
                for r in table_rows(app, "#jobs")), "the running job and its ETL")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, JobMonitorScreen) and
                        "ETL only-etl" in str(app.screen.query_one("#caption", Static).render()),
                        "the monitor naming the ETL")
        requests.put(f"{cluster.endpoint}/v1/cluster",  # the job has served: stop it
                     json={"action": "stop", "value": {"ID": xid}}, headers=auth_headers(),
                     timeout=10)


@pytest.mark.parametrize(
    ("form", "name", "path", "expected"),
    [
        ("code", "Bad_Name", MANIFESTS / "md5" / "code.py", "may contain only lowercase"),
        ("code", "syntax-etl", TUTORIAL / "README.md", "syntax error"),
        ("code", "nofunc-etl", MANIFESTS / "md5" / "io_code.py",
         'no top-level function "transform"'),
        ("spec", "yaml-etl", TUTORIAL / "io_code.py", "YAML"),
        ("spec", "probe-etl", TUTORIAL / "spec.yaml", "readinessProbe"),
    ],
)
async def test_bad_input_in_forms(cluster: LocalCluster, http, form: str, name: str,
                                  path: Path, expected: str) -> None:
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    before = http.get("/v1/etl").json()
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        form_screen = await submit_init_form(pilot, app, form, path, name)
        error = form_screen.query_one("#form-error", Static)
        await until(pilot, lambda: expected in str(error.render()), f"the error {expected!r}")
        assert app.screen is form_screen  # the form stays, with the error
    assert http.get("/v1/etl").json() == before  # nothing changed


async def test_form_error_in_view_on_a_short_terminal(cluster: LocalCluster) -> None:
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(100, 24)) as pilot:
        await connected(pilot, app)
        form = await open_init_form(pilot, app, "code", MANIFESTS / "md5" / "code.py")
        form.query_one("#name", Input).value = ""
        form.query_one("#func", Input).focus()
        await pilot.press("ctrl+s")  # no name: the form's end, with the error, is off screen
        error = form.query_one("#form-error", Static)
        await until(pilot, lambda: "name:" in str(error.render()), "the error")
        await pilot.pause()
        shown = form.find_widget(error).region  # raises if the error is scrolled out of view
        assert shown.height > 0 and shown.bottom <= 24
        assert form.focused is form.query_one("#name", Input)


async def test_brackets_in_names_paths_and_commands_are_text(cluster: LocalCluster,
                                                             bucket) -> None:
    name = "odd[/b]/[x]name.txt"
    bucket.object(name).get_writer().put_content(b"text with [/red] in it")
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(120, 30)) as pilot:
        await connected(pilot, app)
        app.run_command(f"objects {bucket.name}")
        await until(pilot, lambda: isinstance(app.screen, ObjectsScreen), "the objects")
        await pilot.pause()
        await until(pilot, lambda: table_rows(app, "#objects") == [[name, "22 B"]], "the list")
        await pilot.press("enter")  # view: the caption quotes the name
        await until(pilot, lambda: isinstance(app.screen, ObjectViewScreen)
                    and "22 B" in str(app.screen.query_one("#caption", Static).render()),
                    "the object view")
        assert f"ais://{bucket.name}/{name}" in str(app.screen.query_one("#caption").render())
        await pilot.press("escape", "ctrl+d")  # the confirmation quotes it too
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert f"Delete ais://{bucket.name}/{name}?" in \
            str(app.screen.query_one(".question", Static).render())
        await pilot.press("escape", "u")  # a missing path with brackets
        await until(pilot, lambda: isinstance(app.screen, FilePickerScreen), "the picker")
        app.screen.query_one("#path", Input).value = "/no/such/[/b]"
        await pilot.press("enter")
        await pilot.pause()
        assert str(app.screen.query_one("#error", Static).render()) == \
            "/no/such/[/b] does not exist"
        await pilot.press("escape")
        app.run_command("[/b]")  # an unknown command is quoted in a notification
        await pilot.pause(0.3)
        assert app.is_running and isinstance(app.screen, ObjectsScreen)
        shown = [n for n in app._notifications if "[/b]" in n.message]
        assert shown and not any(n.markup for n in shown)  # as typed, not dropped as bad markup


async def test_cluster_loss_and_recovery(tmp_dir: Path) -> None:
    data = tmp_dir / "cluster"
    first = LocalCluster(data, targets=1, port=0)
    endpoint = first.start()
    port = int(endpoint.rsplit(":", 1)[1])
    second: LocalCluster | None = None
    app = AisEtlApp(start="buckets", endpoint=endpoint)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await connected(pilot, app)
            first.stop()
            await until(pilot, lambda: app.status.state == "unreachable", "the banner",
                        timeout=10)
            assert "cannot reach" in app.status.detail
            assert isinstance(app.screen, BucketsScreen)  # still working, no traceback
            second = LocalCluster(data, targets=1, port=port)
            second.start()
            await until(pilot, lambda: app.status.state == "connected", "recovery",
                        timeout=20)
    finally:
        first.stop()
        if second is not None:
            second.stop()


async def test_first_run_hints_on_empty_tables(tmp_dir: Path) -> None:
    """An empty cluster: each table says what is missing and the keys that make some, as
    bound (a keymap changes them); with --readonly, only what is missing."""
    from aisetl_tui.config import load_keymap

    path = tmp_dir / "keymap.toml"
    path.write_text('[keymap]\n"buckets.create" = "n"\n')
    hints = {"1": "no buckets yet: n creates one",
             "2": "no ETLs yet: c inits one from Python code, y from a pod spec",
             "4": "no transform jobs yet"}

    async def check(app: AisEtlApp, pilot: Pilot, readonly: bool) -> None:
        for key, hint in hints.items():
            shown = hint.split(":")[0] if readonly else hint
            await pilot.press(key)
            await until(pilot, lambda: app.screen.problem == shown, shown)  # noqa: B023

    with LocalCluster(tmp_dir / "cluster", targets=1, port=0) as cluster:
        for readonly in (True, False):
            app = AisEtlApp(start="buckets", endpoint=cluster.endpoint, readonly=readonly,
                            keymap=load_keymap(path))
            async with app.run_test(size=(120, 40)) as pilot:
                await connected(pilot, app)
                await check(app, pilot, readonly)
        app = AisEtlApp(start="buckets", endpoint=cluster.endpoint, keymap=load_keymap(path))
        async with app.run_test(size=(120, 40)) as pilot:  # the first bucket: no hint
            await connected(pilot, app)
            await pilot.press("n")
            await until(pilot, lambda: app.screen.query("#answer"), "the prompt")
            await pilot.press(*"first", "enter")
            await until(pilot, lambda: isinstance(app.screen, BucketsScreen)
                        and app.screen.table.has_rows and not app.screen.problem,
                        "the hint gone")


async def test_readonly_hides_every_mutating_action(cluster: LocalCluster) -> None:
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint, readonly=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        for mode, hidden in (("buckets", {"create", "destroy"}),
                             ("etls", {"init_code", "init_spec", "stop", "start", "delete"})):
            await app.switch_mode(mode)
            await pilot.pause(0.3)
            shown = {b.binding.action for b in app.screen.active_bindings.values()}
            assert not shown & hidden
            assert all(app.screen.check_action(a, ()) is False for a in hidden)
        await pilot.press("c")  # nothing opens
        await pilot.pause(0.2)
        assert not isinstance(app.screen, InitCodeScreen)


async def test_keymap_remaps_bindings_by_id(cluster: LocalCluster, tmp_dir: Path) -> None:
    from aisetl_tui.config import load_keymap

    path = tmp_dir / "keymap.toml"
    path.write_text('[keymap]\n"buckets.create" = "n"\n')
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint, keymap=load_keymap(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await pilot.press("n")
        await pilot.pause(0.2)
        assert app.screen.query("#answer")  # the create-bucket prompt
        await pilot.press("escape")
        await pilot.press("c")
        await pilot.pause(0.2)
        assert not app.screen.query("#answer")


def test_bad_keymap_file_is_reported(tmp_dir: Path) -> None:
    from aisetl_tui.config import ConfigError, load_keymap

    path = tmp_dir / "keymap.toml"
    path.write_text("[keymap\n")
    with pytest.raises(ConfigError, match=r"keymap\.toml"):
        load_keymap(path)
    assert load_keymap(tmp_dir / "missing.toml") == {}
