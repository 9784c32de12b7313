"""A pod described: its fields as YAML, then its events.

The Kubernetes backend hands out parsed pods (:class:`~backend.kube.KubePod`), not the raw
object, so this is the YAML of the fields the app knows, not ``kubectl get pod -o yaml``.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import yaml
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import TextArea

from backend.kube import KubeClient, KubeEvent, KubePod

from .kube_base import KubeScreen

HEADER = "# the fields the app reads, not the raw object (that is kubectl get pod -o yaml)\n"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def describe_yaml(pod: KubePod, events: list[KubeEvent]) -> str:
    fields = _plain(dataclasses.asdict(pod))
    fields = {k: v for k, v in fields.items() if v not in ("", None, {}, [])}
    doc: dict[str, Any] = {"pod": fields}
    doc["events"] = [
        {"type": e.type, "reason": e.reason, "count": e.count,
         "lastSeen": e.last_seen.isoformat() if e.last_seen else None,
         "from": e.source, "message": e.message}
        for e in events
    ] or "<none>"
    return HEADER + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


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
        return describe_yaml(kube.get_pod(self.pod), kube.pod_events(self.pod))

    def render_data(self, text: str) -> None:
        if text != self.text:
            self.text = text
            self.query_one("#describe", TextArea).load_text(text)
