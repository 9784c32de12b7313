"""The status line on every screen: endpoint, kind of cluster, node counts, connection."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from ..rates import plural


@dataclass(frozen=True)
class ClusterStatus:
    endpoint: str = ""
    embedded: bool = False
    proxies: int = 0
    targets: int = 0
    state: str = "connecting"  # starting | connecting | connected | unreachable
    detail: str = ""
    context: str = ""  # the name of the cluster (``:ctx``)


_STATE_STYLE = {"connected": ("●", "green"), "unreachable": ("○", "red"),
                "connecting": ("◌", "yellow"), "starting": ("◌", "yellow")}


def status_text(status: ClusterStatus, title: str, width: int = 0) -> Text:
    """``title  ● state  kind endpoint · proxies · targets — detail``: the state comes early so
    it survives a narrow terminal. With ``width``, shorter forms are tried until one fits:
    without the kind and the scheme, then with counts as ``1p 2t``."""
    mark, style = _STATE_STYLE.get(status.state, ("?", "white"))
    kind = "embedded" if status.embedded else "remote"
    host = status.endpoint.split("://", 1)[-1]
    counts = f"{plural(status.proxies, 'proxy', 'proxies')} · {plural(status.targets, 'target')}"
    forms = [(f"{kind} {status.endpoint}", counts), (host, counts),
             (host, f"{status.proxies}p {status.targets}t")]
    named = status.context not in ("", kind, host)  # (not one said by the endpoint again)
    for where, shown in forms:
        text = Text.assemble((title, "bold cyan"), "  ", (f"{mark} {status.state}", style))
        if named:
            text.append(f"  {status.context}", style="bold magenta")
        if status.endpoint:
            text.append(f"  {where}")
        if status.state == "connected":
            text.append(f" · {shown}")
        if not width or text.cell_len <= width:
            break
    if status.detail:
        text.append(f" — {status.detail}", style=style if status.state != "connected" else "")
    return text


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { dock: top; height: 1; padding: 0 1; background: $panel; }
    """

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title = title

    def on_mount(self) -> None:
        self.watch(self.app, "status", self._show, init=True)

    def set_title(self, title: str) -> None:
        """A new title; the same one again (each poll asks) costs no repaint."""
        if title != self.title:
            self.title = title
            self._show(self.app.status)  # type: ignore[attr-defined]

    def _show(self, status: ClusterStatus) -> None:
        self.update(status_text(status, self.title, self.content_size.width))

    def on_resize(self) -> None:
        self._show(self.app.status)  # type: ignore[attr-defined]
