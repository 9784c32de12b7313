"""AIStore's own pods in Kubernetes: the proxies and targets (``:cluster``)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding

from backend.kube import KubeClient, KubePod

from ..widgets.table import KeyedTable
from .kube_base import KubeScreen, short_age
from .kube_describe import KubeDescribeScreen
from .kube_events import KubeEventsScreen
from .kube_logs import KubeLogsScreen

COLUMNS = ["NAME", "ROLE", "READY", "STATUS", "RESTARTS", "NODE", "IP", "AGE"]


def status_text(pod: KubePod) -> Text:
    """kubectl's STATUS word, coloured: green when running and ready."""
    healthy = pod.reason == "Running" and pod.ready
    style = "green" if healthy else "yellow" if pod.phase == "Pending" else "red"
    if pod.reason in ("Succeeded", "Completed", "Terminating"):
        style = "dim"
    return Text(pod.reason or pod.phase, style=style)


def ais_pod_row(pod: KubePod) -> tuple:
    ready, total = pod.ready_count
    return (pod.name, pod.role, f"{ready}/{total}", status_text(pod), str(pod.restarts),
            pod.node or "—", pod.ip or "—", short_age(pod.age_seconds))


class KubeClusterScreen(KubeScreen):
    TITLE_TEXT = "cluster"
    INTERVAL = 5.0
    BINDINGS = [
        Binding("l", "logs", "Logs", id="kube_cluster.logs"),
        Binding("e", "events", "Events", id="kube_cluster.events"),
        Binding("d", "describe", "Describe", id="kube_cluster.describe"),
        Binding("slash", "filter", "Filter", id="kube_cluster.filter"),
        Binding("ctrl+r", "refresh", "Refresh", id="kube_cluster.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.pods: dict[str, KubePod] = {}

    def title_text(self) -> str:
        kube = self.session.kube
        return f"cluster {kube.namespace}" if kube is not None else "cluster"

    def compose_body(self) -> ComposeResult:
        yield KeyedTable(COLUMNS, right=["RESTARTS", "AGE"], id="ais-pods")

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#ais-pods", KeyedTable)

    def focus_main(self) -> None:
        self.table.focus()

    def apply_filter(self, text: str) -> None:
        self.table.set_filter(text)

    def fetch_kube(self, kube: KubeClient) -> list[KubePod]:
        return kube.ais_pods()

    def render_data(self, pods: list[KubePod]) -> None:
        self.pods = {p.name: p for p in pods}
        self.table.sync({p.name: ais_pod_row(p) for p in pods})
        self.refresh_bindings()
        if not pods:
            kube = self.session.kube
            where = f" in namespace {kube.namespace}" if kube is not None else ""
            self.show_problem(f"no AIStore proxy or target pods{where} (try --namespace)",
                              "yellow")

    def on_data_table_row_highlighted(self) -> None:
        self.refresh_bindings()

    def _selected(self) -> KubePod | None:
        if not self.query("#ais-pods"):
            return None
        key = self.table.selected_key
        return self.pods.get(key) if key else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("logs", "events", "describe"):
            return self._selected() is not None and self.session.kube is not None
        return super().check_action(action, parameters)

    def action_logs(self) -> None:
        pod, kube = self._selected(), self.session.kube
        if pod is not None and kube is not None:
            self.app.push_screen(KubeLogsScreen.for_pod(kube, pod))

    def action_events(self) -> None:
        if (pod := self._selected()) is not None:
            self.app.push_screen(KubeEventsScreen(pod.name))

    def action_describe(self) -> None:
        if (pod := self._selected()) is not None:
            self.app.push_screen(KubeDescribeScreen(pod.name))
