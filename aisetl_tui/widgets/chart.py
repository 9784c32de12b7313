"""A per-node throughput chart: one labelled text sparkline per node, in one widget.

It draws its lines itself (Textual's line API) from a few segments each, so repainting 32 nodes
every second costs a fraction of a millisecond rather than a rich-text layout of the whole
block; the event loop stays free for the keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

BARS = " ▁▂▃▄▅▆▇█"
LABEL_WIDTH = 12
VALUE_WIDTH = 11
LABEL_STYLE = Style(bold=True)
BARS_STYLE = Style(color="green")


def sparkline(values: Sequence[float], width: int, top: float) -> str:
    """The last ``width`` values as bar characters scaled to ``top`` (right-aligned)."""
    tail = list(values)[-width:] if width > 0 else []
    scale = (len(BARS) - 1) / top if top > 0 else 0.0
    bars = "".join(BARS[min(len(BARS) - 1, round(v * scale))] for v in tail)
    return bars.rjust(width)


class ThroughputChart(Widget):
    DEFAULT_CSS = "ThroughputChart { height: auto; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._series: Mapping[str, Sequence[float]] = {}
        self._unit = "MB/s"
        self._divisor = 1e6
        self._digits = 1
        self._lines: list[Strip] | None = None  # built for ``_width``; None: build again
        self._width = 0

    def show(self, series: Mapping[str, Sequence[float]], unit: str = "MB/s",
             divisor: float = 1e6, digits: int = 1) -> None:
        """Chart ``series`` (per node, oldest first; shown divided by ``divisor`` in ``unit``
        with ``digits`` decimals), scaled to their common top."""
        new_height = len(series) != len(self._series)
        self._series, self._unit, self._divisor = dict(series), unit, divisor
        self._digits = digits
        self._lines = None
        self.refresh(layout=new_height)  # relayout only when nodes come or go

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._series)

    def _build(self, width: int) -> list[Strip]:
        bars_width = max(10, width - LABEL_WIDTH - VALUE_WIDTH - 2)
        top = max((max(s, default=0.0) for s in self._series.values()), default=0.0)
        lines = []
        for name, values in sorted(self._series.items()):
            current = values[-1] / self._divisor if values else 0.0
            lines.append(Strip([
                Segment(f"{name[:LABEL_WIDTH]:>{LABEL_WIDTH}} ", LABEL_STYLE),
                Segment(sparkline(values, bars_width, top), BARS_STYLE),
                Segment(f" {current:>{VALUE_WIDTH - 6},.{self._digits}f} {self._unit}"),
            ]))
        return lines

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self._lines is None or width != self._width:
            self._lines, self._width = self._build(width), width
        base = self.rich_style
        if y >= len(self._lines):
            return Strip.blank(width, base)
        return self._lines[y].crop_extend(0, width, base).apply_style(base)
