"""The developer's loop through the keys: a transform edited, run on a sample with ctrl+r,
its error shown at its line, fixed, run again and compared with the run before; bad code
refused before anything is sent; the code saved back to its file."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from PIL import Image
from textual.widgets import Input, Static

from aisetl_tui.app import AisEtlApp
from aisetl_tui.screens.dialogs import ConfirmScreen
from aisetl_tui.screens.editor import EditorScreen
from aisetl_tui.widgets.byte_view import ByteView
from backend.ais import NotFound, code_init_msg
from backend.local import LocalCluster
from tests.test_app import connected, table_rows, until

BUGGY = '''import hashlib


def transform(data: bytes) -> bytes:
    if data.startswith(b"bad"):
        raise ValueError("cannot take " + data.decode())
    return hashlib.md5(data).hexdigest().encode()
'''
FIXED = BUGGY.replace('raise ValueError("cannot take " + data.decode())', 'return b"skipped"')
PASS_IMAGES = '''def transform(data: bytes) -> bytes:
    return data
'''


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(out, "PNG")
    return out.getvalue()


async def run_and_wait(pilot, screen: EditorScreen, number: int, objects: int,
                       key: str = "ctrl+r", timeout: float = 60) -> None:
    await pilot.press(key)
    await until(pilot, lambda: len(screen.runs) == number
                and len(screen.runs[-1].results) == objects, f"run {number}", timeout=timeout)
    await pilot.pause(0.2)


async def open_editor(pilot, app: AisEtlApp, path: Path, text: str) -> EditorScreen:
    """``:edit PATH``, and the editor once it holds ``text``."""
    app.run_command(f"edit {path}")
    await until(pilot, lambda: isinstance(app.screen, EditorScreen)
                and app.screen.query("#code") and app.screen.code.text == text, "the editor")
    return app.screen


def status(screen: EditorScreen) -> str:
    return str(screen.query_one("#run-status", Static).render())


async def test_edit_run_see_the_error_at_its_line_fix_and_compare(cluster: LocalCluster,
                                                                   tmp_path: Path) -> None:
    code_file = tmp_path / "picky.py"
    code_file.write_text(BUGGY)
    app = AisEtlApp(endpoint=cluster.endpoint, start="buckets")
    async with app.run_test(size=(140, 45)) as pilot:
        await connected(pilot, app)
        client = app.session.client
        await client.create_bucket("dev-loop")
        try:
            for i in range(6):
                await client.put_bytes("dev-loop", f"in/{i}.txt",
                                       b"bad %d" % i if i in (1, 4) else b"good %d" % i)
            await client.put_bytes("dev-loop", "zz/pic.png", png(64, 48))
            screen = await open_editor(pilot, app, code_file, BUGGY)
            assert "transform(bytes) function" in screen.title_text()
            screen.query_one("#etl-name", Input).value = "picky-dev"
            screen.query_one("#bucket", Input).value = "dev-loop"
            screen.query_one("#prefix", Input).value = "in/"

            # run 1: two objects fail; the error says where, and the line is selected
            await run_and_wait(pilot, screen, 1, 6)
            rows = {r[0]: r for r in table_rows(app, "#samples")}
            assert sorted(rows) == [f"in/{i}.txt" for i in range(6)]
            assert rows["in/1.txt"][2] == "error" and rows["in/4.txt"][2] == "error"
            assert "4 ok, 2 failed" in status(screen) and "first 8 of ais://dev-loop/in/*" \
                in status(screen)
            assert screen.code.selection.start[0] == 5  # line 6: the raise
            screen.samples.move_cursor(row=1)
            await pilot.pause(0.2)
            caption = str(screen.query_one("#sample-caption", Static).render())
            assert caption == "in/1.txt: failed at line 6"

            # bad code is refused before anything is sent, at its line
            screen.code.load_text(BUGGY.replace("    return hashlib", "    return hashlib("))
            await pilot.press("ctrl+r")
            await pilot.pause(0.3)
            assert screen.problem.startswith("not sent: line 7: syntax error"), screen.problem
            assert len(screen.runs) == 1 and screen.code.selection.start[0] == 6

            # run 2, fixed: the failures are fixed, the rest the same, and it replaced run 1's
            screen.code.load_text(FIXED)
            await run_and_wait(pilot, screen, 2, 6)
            rows = {r[0]: r for r in table_rows(app, "#samples")}
            assert rows["in/1.txt"][5] == "fixed" and rows["in/4.txt"][5] == "fixed"
            assert {rows[f"in/{i}.txt"][5] for i in (0, 2, 3, 5)} == {"same"}
            assert "replaced picky-dev (Running)" in status(screen)
            assert "vs run 1: 2 fixed, 4 same" in status(screen)
            assert "6 ok" in status(screen) and "p95" in status(screen)
            shown = await client.transform_object("dev-loop", "in/1.txt", "picky-dev")
            assert shown == b"skipped"  # the cluster runs the fixed code

            # ctrl+s writes the file back
            await pilot.press("ctrl+s")
            await until(pilot, lambda: code_file.read_text() == FIXED, "the file saved")
            assert "unsaved" not in screen.title_text()

            # an image's output is described by its format and size
            screen.code.load_text(PASS_IMAGES)
            screen.query_one("#prefix", Input).value = "zz/"
            await run_and_wait(pilot, screen, 3, 1)
            caption = str(screen.query_one("#sample-caption", Static).render())
            assert "PNG image 64x48 (RGB)" in caption
            assert screen.query_one("#sample-output", ByteView).as_hex

            # leaving with unsaved changes asks first
            await pilot.press("escape", "escape")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        finally:
            with contextlib.suppress(NotFound):
                await client.delete_etl("picky-dev")
            await client.destroy_bucket("dev-loop")


async def test_an_etls_code_opens_in_the_editor_and_a_foreign_etl_is_replaced_only_after_a_yes(
        cluster: LocalCluster) -> None:
    app = AisEtlApp(endpoint=cluster.endpoint, start="etls", keymap={"editor.run": "f5"})
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        client = app.session.client
        await client.create_bucket("dev-loop2")
        try:
            await client.put_bytes("dev-loop2", "a.txt", b"abc")
            await client.init_etl(code_init_msg("upper-dev", FIXED.replace(
                "hashlib.md5(data).hexdigest().encode()", "data.upper()")))
            await until(pilot, lambda: "upper-dev" in app.screen.table.rows, "the ETL listed")
            app.screen.table.move_cursor(row=app.screen.table.get_row_index("upper-dev"))
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, EditorScreen)
                        and "data.upper()" in app.screen.code.text, "the ETL's code")
            screen: EditorScreen = app.screen
            assert screen.query_one("#etl-name", Input).value == "upper-dev"
            assert "edit · ETL upper-dev" in screen.title_text()
            screen.query_one("#bucket", Input).value = "dev-loop2"
            # its own ETL: replaced without asking; the run's key rebound (keymap.toml)
            await run_and_wait(pilot, screen, 1, 1, key="f5")
            assert screen.runs[-1].results["a.txt"].head == b"ABC"

            # another name, taken by an ETL not made here: asked first, and "no" sends nothing
            await client.init_etl(code_init_msg("other-dev", PASS_IMAGES))
            screen.query_one("#etl-name", Input).value = "other-dev"
            await pilot.press("f5")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            await pilot.press("escape")
            await pilot.pause(0.3)
            assert len(screen.runs) == 1
            assert await client.transform_object("dev-loop2", "a.txt", "other-dev") == b"abc"

            # an import this Python cannot find is refused at its line, before anything is sent
            screen.query_one("#etl-name", Input).value = "upper-dev"
            screen.code.load_text("import no_such_module_here\n\n" + screen.code.text)
            await pilot.press("f5")
            await until(pilot, lambda: screen.problem.startswith("not sent: line 1: no module"),
                        "the import refused")
            assert len(screen.runs) == 1
            screen.query_one("#deps", Input).value = "no-such-module-here>=1, other"
            assert screen.options().dependencies == ("no-such-module-here>=1", "other")
        finally:
            for etl in ("upper-dev", "other-dev"):
                with contextlib.suppress(NotFound):
                    await client.delete_etl(etl)
            await client.destroy_bucket("dev-loop2")


async def test_read_only_the_editor_runs_nothing(cluster: LocalCluster, tmp_path: Path) -> None:
    app = AisEtlApp(endpoint=cluster.endpoint, start="buckets", readonly=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        app.run_command(f"edit {tmp_path / 'new.py'}")
        await until(pilot, lambda: isinstance(app.screen, EditorScreen)
                    and app.screen.query("#code"), "the editor")
        await until(pilot, lambda: "def transform" in app.screen.code.text, "a starting example")
        assert app.screen.check_action("run", ()) is False
        await pilot.press("ctrl+r")
        await pilot.pause(0.3)
        assert app.screen.runs == []


PICKY_SERVER = '''from aistore.sdk.etl.webserver.fastapi_server import FastAPIServer


class Picky(FastAPIServer):
    def transform(self, data, path, etl_args):
        print("looking at", path, flush=True)
        if data.startswith(b"bad"):
            raise ValueError("bad data in " + path)
        return data.upper()
'''


async def test_an_etlserver_class_whose_answer_has_no_traceback_is_shown_from_its_log(
        cluster: LocalCluster, tmp_path: Path) -> None:
    """The SDK's FastAPI server answers a failure with its message alone: the traceback, and
    with it the failing line, come from the transformer's log at that object."""
    code_file = tmp_path / "picky_server.py"
    code_file.write_text(PICKY_SERVER)
    app = AisEtlApp(endpoint=cluster.endpoint, start="buckets")
    async with app.run_test(size=(140, 45)) as pilot:
        await connected(pilot, app)
        client = app.session.client
        await client.create_bucket("dev-loop3")
        try:
            await client.put_bytes("dev-loop3", "a/bad.txt", b"bad input")
            await client.put_bytes("dev-loop3", "a/good.txt", b"good input")
            screen = await open_editor(pilot, app, code_file, PICKY_SERVER)
            assert "ETLServer class" in screen.title_text()
            screen.query_one("#etl-name", Input).value = "picky-server"
            screen.query_one("#bucket", Input).value = "dev-loop3"
            await run_and_wait(pilot, screen, 1, 2)
            await until(pilot, lambda: screen.runs[-1].results["a/bad.txt"].log,
                        "the log at the object")
            bad = screen.runs[-1].results["a/bad.txt"]
            assert "Traceback" not in bad.error and "bad data in" in bad.error
            assert "looking at dev-loop3/a/bad.txt" in bad.log and "Traceback" in bad.log
            assert screen.runs[-1].results["a/good.txt"].head == b"GOOD INPUT"
            assert screen.code.selection.start[0] == 7  # line 8: the raise
            screen.samples.move_cursor(row=0)
            await pilot.pause(0.2)
            caption = str(screen.query_one("#sample-caption", Static).render())
            assert caption == "a/bad.txt: failed at line 8"
        finally:
            with contextlib.suppress(NotFound):
                await client.delete_etl("picky-server")
            await client.destroy_bucket("dev-loop3")
