"""Transformer pods: one row per ETL per target, from AIStore's health and metrics."""

from __future__ import annotations

import asyncio
import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical

from backend.ais import AisClient, EtlPod

from ..rates import human_bytes, human_duration
from ..widgets.table import KeyedTable
from ._base import PollingScreen

BASE_COLUMNS = ["ETL", "TARGET", "POD", "NODE", "STATE", "RESTARTS", "AGE"]
METRIC_COLUMNS = ["CPU", "MEM"]
STATE_STYLE = {"Running": "green", "Pending": "yellow", "Failed": "red", "Succeeded": "dim"}


def pod_row(pod: EtlPod, node: str, with_metrics: bool, now: float) -> tuple:
    age = human_duration(now - pod.started) if pod.started else "—"
    row = (pod.etl, pod.target_id, pod.pod_name, node,
           Text(pod.health, style=STATE_STYLE.get(pod.health, "")), str(pod.restarts), age)
    if with_metrics:
        cpu = f"{pod.cpu * 1000:.0f}m" if pod.cpu is not None else "—"
        mem = human_bytes(pod.mem) if pod.mem is not None else "—"
        row += (cpu, mem)
    return row


class PodsScreen(PollingScreen):
    TITLE_TEXT = "pods"
    INTERVAL = 3.0
    BINDINGS = [
        Binding("l", "logs", "Logs", id="pods.logs"),
        Binding("slash", "filter", "Filter", id="pods.filter"),
        Binding("ctrl+r", "refresh", "Refresh", id="pods.refresh"),
    ]

    def __init__(self, only: str | None = None) -> None:
        super().__init__()
        self.only = only
        self.with_metrics: bool | None = None
        self.pods: dict[str, EtlPod] = {}

    def compose_body(self) -> ComposeResult:
        yield Vertical(id="pods-box")

    def title_text(self) -> str:
        return f"pods {self.only}" if self.only else "pods"

    @property
    def table(self) -> KeyedTable | None:
        tables = self.query(KeyedTable)
        return tables.first() if tables else None

    def focus_main(self) -> None:
        if self.table is not None:
            self.table.focus()

    def apply_filter(self, text: str) -> None:
        if self.table is not None:
            self.table.set_filter(text)

    async def fetch(self, client: AisClient) -> list[EtlPod]:
        names = [self.only] if self.only else [e.name for e in await client.list_etls()]
        lists = await asyncio.gather(*(client.etl_pods(n) for n in names),
                                     return_exceptions=True)
        return [p for pods in lists if isinstance(pods, list) for p in pods]

    async def _ensure_table(self, with_metrics: bool) -> KeyedTable:
        if self.table is None or with_metrics != self.with_metrics:
            box = self.query_one("#pods-box", Vertical)
            await box.remove_children()
            columns = BASE_COLUMNS + (METRIC_COLUMNS if with_metrics else [])
            await box.mount(KeyedTable(columns, id="pods"))
            self.focus_main()
            if self.with_metrics is not None or not with_metrics:
                self.notify("CPU and memory columns hidden: the cluster reports no metrics "
                            "for these transformers" if not with_metrics
                            else "CPU and memory metrics are back")
            self.with_metrics = with_metrics
        assert self.table is not None
        return self.table

    def render_data(self, pods: list[EtlPod]) -> None:
        self.run_worker(self._show_pods(pods), group="render", exclusive=True)

    async def _show_pods(self, pods: list[EtlPod]) -> None:
        with_metrics = any(p.cpu is not None or p.mem is not None for p in pods) or not pods
        table = await self._ensure_table(with_metrics)
        node = "localhost" if self.ais.status.embedded else "—"
        now = time.time()
        self.pods = {p.pod_name: p for p in pods}
        table.sync({p.pod_name: pod_row(p, node, with_metrics, now) for p in pods})

    def action_logs(self) -> None:
        table = self.table
        if table is not None and (key := table.selected_key) and key in self.pods:
            from .logs import LogsScreen

            self.app.push_screen(LogsScreen(self.pods[key].etl))
