"""A per-node throughput chart: one labelled text sparkline per node, in one widget, so a
32-node update is one repaint rather than 64 widgets' layout."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.widgets import Static

BARS = " ▁▂▃▄▅▆▇█"
LABEL_WIDTH = 12
VALUE_WIDTH = 11


def sparkline(values: Sequence[float], width: int, top: float) -> str:
    """The last ``width`` values as bar characters scaled to ``top`` (right-aligned)."""
    tail = list(values)[-width:] if width > 0 else []
    scale = (len(BARS) - 1) / top if top > 0 else 0.0
    bars = "".join(BARS[min(len(BARS) - 1, round(v * scale))] for v in tail)
    return bars.rjust(width)


class ThroughputChart(Static):
    DEFAULT_CSS = "ThroughputChart { height: auto; }"
    _rows = 0

    def show(self, series: Mapping[str, Sequence[float]], unit: str = "MB/s",
             divisor: float = 1e6) -> None:
        width = max(10, self.size.width - LABEL_WIDTH - VALUE_WIDTH - 2)
        top = max((max(s, default=0.0) for s in series.values()), default=0.0)
        text = Text()
        for name, values in sorted(series.items()):
            current = values[-1] / divisor if values else 0.0
            text.append(f"{name[:LABEL_WIDTH]:>{LABEL_WIDTH}} ", style="bold")
            text.append(sparkline(values, width, top), style="green")
            text.append(f" {current:>{VALUE_WIDTH - 6},.1f} {unit}\n")
        self.update(text, layout=len(series) != self._rows)  # relayout only for new nodes
        self._rows = len(series)
