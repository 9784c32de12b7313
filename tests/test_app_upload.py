"""Uploading from the Objects screen: never the current directory by accident, a directory only
after saying how much it holds, and leaving mid-upload cancels it without a crash."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

from aistore.sdk.bucket import Bucket
from textual.widgets import Input, ProgressBar, Static

from aisetl_tui.app import AisEtlApp
from aisetl_tui.screens.buckets import BucketsScreen
from aisetl_tui.screens.dialogs import ConfirmScreen
from aisetl_tui.screens.file_picker import FilePickerScreen
from aisetl_tui.screens.objects import ObjectsScreen
from backend.local import LocalCluster, RunInfo
from tests.test_app import connected, table_rows, until


async def open_picker(app: AisEtlApp, pilot, bucket: Bucket) -> None:
    app.run_command(f"objects {bucket.name}")
    await until(pilot, lambda: isinstance(app.screen, ObjectsScreen), "the objects")
    await pilot.press("u")
    await until(pilot, lambda: isinstance(app.screen, FilePickerScreen), "the picker")


async def pick(app: AisEtlApp, pilot, bucket: Bucket, path: Path | str) -> None:
    """Objects of ``bucket`` → u → ``path`` typed into the picker → Enter."""
    await open_picker(app, pilot, bucket)
    app.screen.query_one("#path", Input).value = str(path)
    await pilot.press("enter")


def listed(bucket: Bucket) -> list[str]:
    return [e.name for e in bucket.list_all_objects()]


async def test_an_empty_path_is_an_error_not_the_current_directory(
        cluster: LocalCluster, bucket: Bucket) -> None:
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(120, 30)) as pilot:
        await connected(pilot, app)
        await pick(app, pilot, bucket, "   ")
        await pilot.pause()
        assert isinstance(app.screen, FilePickerScreen)
        assert str(app.screen.query_one("#error", Static).render()) == \
            "type the path of a file or a directory"
    assert listed(bucket) == []


async def test_a_directory_is_uploaded_only_once_confirmed(
        cluster: LocalCluster, bucket: Bucket, tmp_dir: Path) -> None:
    (tmp_dir / "sub").mkdir()
    for i in range(3):
        (tmp_dir / "sub" / f"f{i}.txt").write_bytes(b"x" * 1000)
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(120, 30)) as pilot:
        await connected(pilot, app)
        await pick(app, pilot, bucket, tmp_dir)
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        question = str(app.screen.query_one(".question", Static).render())
        assert f"Upload the directory {tmp_dir}: 3 files, 2.9 KiB" in question
        await pilot.press("escape")  # no
        await until(pilot, lambda: isinstance(app.screen, ObjectsScreen), "the objects")
        await pilot.pause(0.3)
        assert listed(bucket) == []

        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, FilePickerScreen), "the picker")
        app.screen.query_one("#path", Input).value = str(tmp_dir)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.click("#ok")
        await until(pilot, lambda: len(table_rows(app, "#objects")) == 3, "the upload")
    assert sorted(listed(bucket)) == ["sub/f0.txt", "sub/f1.txt", "sub/f2.txt"]


@contextlib.asynccontextmanager
async def big_upload_held(app: AisEtlApp, pilot, cluster: LocalCluster, bucket: Bucket,
                          tmp_dir: Path) -> AsyncIterator[None]:
    """A 512 MiB upload, begun and held: the target it goes to is stopped (SIGSTOP) until
    the test is done with it, so it cannot finish while the test acts (on a fast day it took
    less than the test's keys). What is sent waits in the socket's buffers."""
    big = tmp_dir / "big.bin"
    with big.open("wb") as f:
        f.truncate(512 * 1024 * 1024)
    await connected(pilot, app)
    owner = cluster.smap.owner(bucket.name, big.name).daemon_id
    pid = RunInfo.read(cluster.data_dir).nodes[owner]
    os.kill(pid, signal.SIGSTOP)
    try:
        await pick(app, pilot, bucket, big)
        await until(pilot, lambda: isinstance(app.screen, ObjectsScreen)
                    and app.screen.uploading
                    and (app.screen.query_one("#upload", ProgressBar).progress or 0) > 0,
                    "the upload to start")
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


async def test_leaving_mid_upload_cancels_it_and_says_how_far_it_got(
        cluster: LocalCluster, bucket: Bucket, tmp_dir: Path) -> None:
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(120, 30)) as pilot:
        async with big_upload_held(app, pilot, cluster, bucket, tmp_dir):
            await pilot.press("escape")  # leaving asks first: the upload would go
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            assert "is running. Leave, and cancel it?" in str(
                app.screen.query_one(".question", Static).render())
            await pilot.press("tab", "enter")  # Leave
            await until(pilot, lambda: any("cancelled after 0 of 1 file " in n.message
                                           for n in app._notifications), "the notice")
        await pilot.pause(0.5)
        assert app.is_running and isinstance(app.screen, BucketsScreen)
    assert listed(bucket) == []


async def test_x_cancels_an_upload_and_the_screen_stays(
        cluster: LocalCluster, bucket: Bucket, tmp_dir: Path) -> None:
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(120, 30)) as pilot:
        async with big_upload_held(app, pilot, cluster, bucket, tmp_dir):
            screen = app.screen
            assert screen.check_action("cancel_upload", ()) is True
            await pilot.press("x")
            await until(pilot, lambda: any("cancelled after 0 of 1 file " in n.message
                                           for n in app._notifications), "the notice")
        await until(pilot, lambda: not screen.uploading, "the upload gone")
        assert app.screen is screen and screen.check_action("cancel_upload", ()) is False
    assert listed(bucket) == []
