"""A stacked time-series chart of per-node rates: each node a coloured band, the top of the
stack the total, a y axis in the rate's unit and an x axis in seconds before now.

It draws its lines itself (Textual's line API), a few segments per line, so repainting every
second costs well under a millisecond per line and the event loop stays free for the keys.
Bands end in eighth blocks, so a rate resolves to an eighth of a line."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

EIGHTHS = " ▁▂▃▄▅▆▇█"
PALETTE = ["#4fc1e9", "#a0d468", "#ffce54", "#ed5565", "#ac92ec", "#48cfad", "#fc6e51",
           "#ec87c0"]
GUTTER = 8  # the y axis labels and the axis line
MIN_PLOT_ROWS = 2
TICK_EVERY = 12  # columns between x axis labels, at least
TICK_STEPS = (5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)  # seconds between x axis labels


def node_colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def nice_top(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value * 0.9999)


def short_number(value: float) -> str:
    """``950``, ``1.2k``, ``35k``, ``2.5M``, ``0.75``: at most five characters (a quarter of a
    small axis is not rounded to ``0.2``)."""
    for divisor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= divisor:
            scaled = value / divisor
            return f"{scaled:.1f}{suffix}" if scaled < 10 else f"{scaled:.0f}{suffix}"
    if 0 < value < 10 and value != int(value):
        return f"{value:.2f}".rstrip("0")
    return f"{value:.0f}"


def ago(seconds: float) -> str:
    if seconds <= 0:
        return "now"
    return f"-{seconds / 60:g}m" if seconds % 60 == 0 else f"-{seconds:.0f}s"


def y_labels(rows: int, top: float) -> dict[int, float]:
    """Row -> the value at its top edge, for quarters of ``top`` (halves on a short plot)."""
    parts = 4 if rows >= 8 else 2
    return {round(rows * (1 - k / parts)): top * k / parts for k in range(parts, 0, -1)}


@dataclass(frozen=True)
class ChartData:
    """Per-node samples, oldest first, already in the chart's unit; the newest sample is now.
    The first node is the bottom band."""

    series: Mapping[str, Sequence[float]]
    unit: str = "obj/s"
    seconds_per_sample: float = 1.0


Cell = tuple[int, int | None, int]  # bottom band (-1: none), the band above it, eighths
EMPTY: Cell = (-1, None, 0)


def stack_cell(bounds: Sequence[float], low: float, high: float, band: int = 0) -> Cell:
    """One cell covering values ``low``..``high`` of a stack whose bands end at ``bounds``
    (cumulative, ascending): the band at its bottom (-1: none, above the stack), the band
    above it within the cell (None: nothing), and how many eighths the bottom one fills.
    A band too thin to draw in the cell gives way to the one above it. ``band``: no band
    below it reaches ``low`` (a column's cells are found bottom up, each search going on
    from where the last began)."""
    if not bounds or low >= bounds[-1]:
        return EMPTY
    while bounds[band] <= low:
        band += 1
    while True:
        if bounds[band] >= high:
            return band, None, 8
        eighths = int((bounds[band] - low) / (high - low) * 8)
        above = band + 1
        while above < len(bounds) and bounds[above] <= bounds[band]:
            above += 1  # bands with nothing in this sample
        if above == len(bounds):
            return band, None, eighths
        if eighths:
            return band, above, eighths
        band = above


def column_cells(bounds: Sequence[float], rows: int, top: float) -> list[Cell]:
    """A sample's cells, bottom row first."""
    cells, band, step = [], 0, top / rows
    for row in range(rows):
        low = row * step
        if not bounds or low >= bounds[-1]:
            cells.extend([EMPTY] * (rows - row))
            break
        while bounds[band] <= low:
            band += 1
        cells.append(stack_cell(bounds, low, low + step, band))
    return cells


class RateChart(Widget):
    """Fills its height: a legend line, the plot, and the x axis."""

    DEFAULT_CSS = "RateChart { height: 1fr; min-height: 5; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._data = ChartData({})
        self._legend: list[tuple[str, str]] = []  # (text, colour) per legend item
        self._lines: list[Strip] | None = None  # built for ``_built_for``; None: build again
        self._built_for = Size(0, 0)

    def show(self, data: ChartData, legend: Sequence[tuple[str, str]] = ()) -> None:
        """Chart ``data``; ``legend`` is (text, colour) per item, shown above the plot."""
        self._data, self._legend = data, list(legend)
        self._lines = None
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines = None  # drawn in the old style

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(MIN_PLOT_ROWS + 2, container.height)

    def render_line(self, y: int) -> Strip:
        if self._lines is None or self.size != self._built_for:
            base, width = self.rich_style, self.size.width
            self._lines = [line.crop_extend(0, width, base).apply_style(base)
                           for line in self._build(self.size)]
            self._built_for = self.size
        if y >= len(self._lines):
            return Strip.blank(self.size.width, self.rich_style)
        return self._lines[y]

    # --- drawing ----------------------------------------------------------------------------

    def _build(self, size: Size) -> list[Strip]:
        rows = max(MIN_PLOT_ROWS, size.height - 2)
        cols = max(1, size.width - GUTTER)
        names = list(self._data.series)  # bottom band first
        window = [list(self._data.series[n])[-cols:] for n in names]
        length = max((len(w) for w in window), default=0)
        window = [[0.0] * (length - len(w)) + w for w in window]  # aligned at now
        stacks = [_cumulative([w[i] for w in window]) for i in range(length)]
        top = nice_top(max((s[-1] for s in stacks if s), default=0.0))
        colours = [node_colour(i) for i in range(len(names))]
        lines = [self._legend_line()]
        labels = y_labels(rows, top)
        columns = [column_cells(s, rows, top) for s in stacks]
        for row in range(rows):
            label = labels.get(row)
            gutter = f"{short_number(label):>{GUTTER - 2}} ┤" if label is not None \
                else " " * (GUTTER - 1) + "│"
            cells = [column[rows - 1 - row] for column in columns]
            lines.append(Strip([Segment(gutter, Style(dim=True)),
                                Segment(" " * (cols - length)),
                                *_cell_segments(cells, colours)]))
        lines.append(self._x_axis(cols, length))
        return lines

    def _legend_line(self) -> Strip:
        segments = [Segment(f"{self._data.unit:>{GUTTER - 2}}  ", Style(bold=True))]
        for text, colour in self._legend:
            if colour:
                segments.append(Segment("■ ", Style(color=colour)))
            segments.append(Segment(text + "   ", Style(bold=not colour)))
        return Strip(segments)

    def _x_axis(self, cols: int, length: int) -> Strip:
        """``0 └`` then labels at round seconds before now, as far back as there is data."""
        per_sample = self._data.seconds_per_sample
        step = next((t for t in TICK_STEPS if t / per_sample >= TICK_EVERY), TICK_STEPS[-1])
        axis = [" "] * cols
        seconds = 0
        while True:
            back = round(seconds / per_sample)  # columns back from the right edge
            text = ago(seconds)
            start = cols - back - len(text)
            if start < 0 or back > max(length, 1):
                break
            axis[start:start + len(text)] = text
            seconds += step
        return Strip([Segment(f"{'0':>{GUTTER - 2}} └", Style(dim=True)),
                      Segment("".join(axis), Style(dim=True))])


def _cumulative(values: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for v in values:
        total += max(0.0, v)
        out.append(total)
    return out


def _cell_segments(cells: Sequence[tuple[int, int | None, int]],
                   colours: Sequence[str]) -> list[Segment]:
    """Cells as segments, runs of the same look joined."""
    segments: list[Segment] = []
    blank = Style()
    styles: dict[tuple[int, int | None], Style] = {}
    run, run_style = "", blank
    for band, above, eighths in cells:
        if band < 0:
            char, style = " ", blank
        else:
            char = EIGHTHS[eighths]
            style = styles.get((band, above)) or styles.setdefault(
                (band, above), Style(color=colours[band],
                                     bgcolor=colours[above] if above is not None else None))
        if style is run_style:
            run += char
        else:
            if run:
                segments.append(Segment(run, run_style))
            run, run_style = char, style
    if run:
        segments.append(Segment(run, run_style))
    return segments
