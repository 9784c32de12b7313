"""A pod's Kubernetes events, oldest first, as ``kubectl describe pod`` lists them."""

from __future__ import annotations

import time

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from backend.kube import KubeClient, KubeEvent

from .kube_base import KubeScreen, short_age


def events_table(events: list[KubeEvent], now: float) -> Table | Text:
    if not events:
        return Text("no events (Kubernetes keeps them for about an hour)", style="dim")
    table = Table(box=None, pad_edge=False, expand=True, header_style="bold")
    table.add_column("TYPE", no_wrap=True)
    table.add_column("REASON", no_wrap=True)
    table.add_column("AGE", no_wrap=True, justify="right")
    table.add_column("FROM", no_wrap=True, style="dim", max_width=14, overflow="ellipsis")
    table.add_column("MESSAGE", ratio=1, overflow="fold")
    for ev in events:
        age = short_age(now - ev.last_seen.timestamp()) if ev.last_seen else "—"
        if ev.count > 1:
            age += f" (x{ev.count})"
        style = "yellow" if ev.type == "Warning" else ""
        table.add_row(Text(ev.type, style=style), Text(ev.reason, style=style), age,
                      Text(ev.source), Text(ev.message))  # Kubernetes' text, not markup
    return table


class KubeEventsScreen(KubeScreen):
    TITLE_TEXT = "events"
    INTERVAL = 5.0
    BINDINGS = [Binding("ctrl+r", "refresh", "Refresh", id="kube_events.refresh")]

    def __init__(self, pod: str) -> None:
        super().__init__()
        self.pod = pod
        self.events: list[KubeEvent] | None = None

    def title_text(self) -> str:
        return f"events {self.pod}"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="events-box"):
            yield Static(Text("loading…", style="dim"), id="events")

    def focus_main(self) -> None:
        self.query_one("#events-box", VerticalScroll).focus()

    def fetch_kube(self, kube: KubeClient) -> list[KubeEvent]:
        return kube.pod_events(self.pod)

    def render_data(self, events: list[KubeEvent]) -> None:
        if events == self.events:
            return
        self.events = events
        self.query_one("#events", Static).update(events_table(events, time.time()))
