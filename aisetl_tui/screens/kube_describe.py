"""A pod described: the object as the API returns it (``kubectl get pod -o yaml``, without
``managedFields``), then its events."""

from __future__ import annotations

from typing import Any

import yaml
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import TextArea

from backend.kube import KubeClient, KubeEvent

from .kube_base import KubeScreen


def describe_yaml(pod: dict, events: list[KubeEvent]) -> str:
    pod = {**pod, "metadata": {k: v for k, v in (pod.get("metadata") or {}).items()
                               if k != "managedFields"}}
    doc: dict[str, Any] = dict(pod)
    doc["events"] = [
        {"type": e.type, "reason": e.reason, "count": e.count,
         "lastSeen": e.last_seen.isoformat() if e.last_seen else None,
         "from": e.source, "message": e.message}
        for e in events
    ] or "<none>"
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


class KubeDescribeScreen(KubeScreen):
    TITLE_TEXT = "describe"
    INTERVAL = 0  # once; ctrl+r again
    BINDINGS = [Binding("ctrl+r", "refresh", "Refresh", id="kube_describe.refresh")]

    def __init__(self, pod: str) -> None:
        super().__init__()
        self.pod = pod
        self.text = ""

    def title_text(self) -> str:
        return f"describe {self.pod}"

    def compose_body(self) -> ComposeResult:
        yield TextArea("loading…", read_only=True, show_line_numbers=False, id="describe")

    def focus_main(self) -> None:
        self.query_one("#describe", TextArea).focus()

    def fetch_kube(self, kube: KubeClient) -> str:
        return describe_yaml(kube.get_pod_raw(self.pod), kube.pod_events(self.pod))

    def render_data(self, text: str) -> None:
        if text != self.text:
            self.text = text
            self.query_one("#describe", TextArea).load_text(text)
