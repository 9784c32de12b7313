"""Logs of every transformer of one ETL, merged by time, each line prefixed by its target,
followed live; searchable (see :class:`~aisetl_tui.widgets.log_view.LogView`)."""

from __future__ import annotations

import asyncio

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from backend.ais import AisClient, AisError, EtlLogs
from backend.kube import KubeError

from ..log_lines import MAX_LINES, mention_pattern
from ..logtail import new_lines
from ..session import Session
from ..widgets.log_view import LogView
from ._base import PollingScreen
from .kube_logs import KubeLogsScreen


async def etl_logs_screen(session: Session, etl: str) -> Screen:
    """The logs of every transformer of ``etl``: followed from Kubernetes where there is
    one (with its timestamps, and the previous runs' logs a key away), else asked of
    AIStore every few seconds."""
    kube = await session.kube_client()
    if kube is not None and session.client is not None:
        try:
            targets = [t.id for t in (await session.client.cluster_map()).targets]
            pods = await asyncio.to_thread(kube.etl_pods, etl, targets)
        except (AisError, KubeError):
            return LogsScreen(etl)
        return KubeLogsScreen.for_etl(kube, etl, {t: p for t, p in pods.items() if p})
    return LogsScreen(etl)


class LogsScreen(PollingScreen):
    TITLE_TEXT = "logs"
    INTERVAL = 2.0
    BINDINGS = [
        Binding("f", "follow", "Follow on/off", id="logs.follow"),
        Binding("c", "clear", "Clear", id="logs.clear"),
    ]

    def __init__(self, etl: str, find: str = "") -> None:
        """``find``: searched for once the first lines are in (an object's name, from the
        error workbench)."""
        super().__init__()
        self.etl, self.find = etl, find
        self._seen: dict[str, list[str]] = {}

    def compose_body(self) -> ComposeResult:
        yield LogView(sources="target", id="logs")

    def title_text(self) -> str:
        return f"logs {self.etl}"

    @property
    def log_view(self) -> LogView:
        return self.query_one("#logs", LogView)

    def focus_main(self) -> None:
        self.log_view.focus()

    async def fetch(self, client: AisClient) -> list[EtlLogs]:
        return await client.etl_logs(self.etl)

    def render_data(self, logs: list[EtlLogs]) -> None:
        batch = []
        for entry in sorted(logs, key=lambda e: e.target_id):
            lines = entry.text.splitlines()[-MAX_LINES:]
            batch.append((entry.target_id, new_lines(self._seen.get(entry.target_id, []),
                                                     lines)))
            self._seen[entry.target_id] = lines
        self.log_view.add(batch)
        if self.find and any(lines for _target, lines in batch):
            self.log_view.search(mention_pattern(self.find))
            if not self.log_view.matches:
                self.notify(f"the transformers' logs do not mention {self.find!r}",
                            severity="warning")
            self.find = ""

    def action_follow(self) -> None:
        view = self.log_view
        view.follow(not view.following)
        self.notify("following" if view.following else "paused")

    def action_clear(self) -> None:
        self.log_view.clear()
