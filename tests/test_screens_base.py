"""What every screen shares, driven by Textual's pilot."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.app import ComposeResult
from textual.widgets import Static

from aisetl_tui.app import AisEtlApp
from aisetl_tui.screens._base import PollingScreen


class SlowScreen(PollingScreen):
    """A screen whose fetches wait on the cluster for a minute."""

    INTERVAL = 0.2

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0
        self.widgets_when_cancelled: list[int] = []

    def compose_body(self) -> ComposeResult:
        yield Static("data", id="data")

    async def load(self) -> Any:
        self.loads += 1
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            self.widgets_when_cancelled.append(len(self.query("#data")))
            raise


async def test_a_fetch_in_flight_ends_before_the_screens_widgets_go() -> None:
    # nothing listens there
    app = AisEtlApp(start="buckets", endpoint="http://127.0.0.1:9", kube=None)
    screen = SlowScreen()
    async with app.run_test(size=(60, 10)) as pilot:
        await app.push_screen(screen)
        await pilot.pause()
        before = len(screen.widgets_when_cancelled)  # fetches replaced before this point
    # The app quit while a fetch was in flight. Ending it only once the widgets were gone let
    # a fetch that finished in between render into an empty screen and crash the app.
    assert screen.widgets_when_cancelled[before:] == [1]


async def test_a_replaced_fetch_schedules_no_other() -> None:
    app = AisEtlApp(start="buckets", endpoint="http://127.0.0.1:9", kube=None)
    screen = SlowScreen()
    async with app.run_test(size=(60, 10)) as pilot:
        await app.push_screen(screen)
        await pilot.pause()
        loads = screen.loads
        screen.refresh_now()  # ctrl+r while a fetch is in flight: that one is cancelled
        await pilot.pause(4 * SlowScreen.INTERVAL)
        # Only the new fetch: the cancelled one used to arm the timer for yet another.
        assert screen.loads == loads + 1



def test_a_new_files_place_is_checked_and_said_in_words(tmp_path) -> None:
    from aisetl_tui.screens._base import _new_file_problem

    (tmp_path / "taken.csv").write_text("")
    (tmp_path / "afile").write_text("")
    assert _new_file_problem("") == "a file name is needed"
    assert _new_file_problem(str(tmp_path / "taken.csv")).endswith("exists: name a new file")
    assert _new_file_problem(str(tmp_path / "nodir" / "e.json")) == \
        f"{tmp_path / 'nodir'} does not exist"
    assert _new_file_problem(str(tmp_path / "afile" / "e.json")) == \
        f"{tmp_path / 'afile'} is not a directory"
    assert _new_file_problem(str(tmp_path / "new.csv")) is None
