"""What every screen shares, driven by Textual's pilot."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.app import ComposeResult
from textual.widgets import Static

from aisetl_tui.app import AisEtlApp
from aisetl_tui.screens._base import PollingScreen


class SlowScreen(PollingScreen):
    """A screen whose fetch is still waiting on the cluster when the app quits."""

    def __init__(self) -> None:
        super().__init__()
        self.widgets_when_cancelled: list[int] = []

    def compose_body(self) -> ComposeResult:
        yield Static("data", id="data")

    async def load(self) -> Any:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            self.widgets_when_cancelled.append(len(self.query("#data")))
            raise


async def test_a_fetch_in_flight_ends_before_the_screens_widgets_go() -> None:
    app = AisEtlApp(endpoint="http://127.0.0.1:9", kube=None)  # nothing listens there
    screen = SlowScreen()
    async with app.run_test(size=(60, 10)) as pilot:
        await app.push_screen(screen)
        await pilot.pause()
        before = len(screen.widgets_when_cancelled)  # a fetch replaced by a newer one
    # The app quit while a fetch was in flight. Ending it only once the widgets were gone let
    # a fetch that finished in between render into an empty screen and crash the app.
    assert screen.widgets_when_cancelled[before:] == [1]
