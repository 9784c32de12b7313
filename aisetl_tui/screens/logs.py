"""Logs of every transformer of one ETL, each line prefixed by its target, followed live."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import RichLog

from backend.ais import AisClient, EtlLogs

from ..logtail import new_lines
from ._base import PollingScreen

MAX_LINES = 5000
PALETTE = ["cyan", "magenta", "green", "yellow", "blue", "red"]


class LogsScreen(PollingScreen):
    TITLE_TEXT = "logs"
    INTERVAL = 2.0
    BINDINGS = [
        Binding("f", "follow", "Follow on/off", id="logs.follow"),
        Binding("c", "clear", "Clear", id="logs.clear"),
    ]

    def __init__(self, etl: str) -> None:
        super().__init__()
        self.etl = etl
        self._seen: dict[str, list[str]] = {}
        self._colors: dict[str, str] = {}

    def compose_body(self) -> ComposeResult:
        yield RichLog(max_lines=MAX_LINES, wrap=False, markup=False, auto_scroll=True, id="log")

    def title_text(self) -> str:
        return f"logs {self.etl}"

    @property
    def log_view(self) -> RichLog:
        return self.query_one("#log", RichLog)

    def focus_main(self) -> None:
        self.log_view.focus()

    async def fetch(self, client: AisClient) -> list[EtlLogs]:
        return await client.etl_logs(self.etl)

    def render_data(self, logs: list[EtlLogs]) -> None:
        for entry in sorted(logs, key=lambda e: e.target_id):
            lines = entry.text.splitlines()[-MAX_LINES:]
            fresh = new_lines(self._seen.get(entry.target_id, []), lines)
            self._seen[entry.target_id] = lines
            color = self._colors.setdefault(entry.target_id,
                                            PALETTE[len(self._colors) % len(PALETTE)])
            for line in fresh:
                self.log_view.write(Text.assemble((f"[{entry.target_id}] ", color), line))

    def action_follow(self) -> None:
        self.log_view.auto_scroll = not self.log_view.auto_scroll
        self.notify("following" if self.log_view.auto_scroll else "paused")

    def action_clear(self) -> None:
        self.log_view.clear()
