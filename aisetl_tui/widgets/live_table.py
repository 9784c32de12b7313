"""A light table for rows that all change every second, such as the job monitor's nodes.

A DataTable renders each visible cell through Rich again after any update: a screenful of
changed numbers costs tens of milliseconds, and keys pressed meanwhile wait. This table draws
its own lines (Textual's line API): a plain cell is one padded string, a row one strip."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

Cell = str | Text
PAD = 1  # blank cells either side of every column


@dataclass(frozen=True)
class Column:
    title: str
    align: Literal["left", "right"] = "left"
    drop: int = 0  # when the table is too narrow, columns with the highest ``drop`` go first
    # room kept from the start for what it will hold ("~999.9 KiB"): which columns fit is
    # then settled at once, not as values widen (a column gone at 31 % that showed at 7 %)
    width: int = 0


def _fit(text: str, width: int, align: str) -> str:
    if cell_len(text) > width:
        text = text[: max(0, width - 1)] + "…"
    return text.rjust(width) if align == "right" else text.ljust(width)


class LiveTable(Widget, can_focus=True):
    """Rows by key, in the order given, with a row cursor; columns grow to fit, never shrink
    (numbers that tick up do not make the layout jitter)."""

    COMPONENT_CLASSES = {"live-table--header", "live-table--cursor", "live-table--even-row"}
    DEFAULT_CSS = """
    LiveTable {
        background: $surface;
        color: $foreground;
        height: auto;
        & > .live-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .live-table--even-row { background: $surface-lighten-1 50%; }
        & > .live-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        &:focus > .live-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """
    BINDINGS = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("j", "move(1)", "Down", show=False, id="table.down"),
        Binding("k", "move(-1)", "Up", show=False, id="table.up"),
        Binding("g,home", "move(-1_000_000_000)", "First row", show=False, id="table.first"),
        Binding("G,end", "move(1_000_000_000)", "Last row", show=False, id="table.last"),
    ]

    def __init__(self, columns: Sequence[Column], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns = list(columns)
        self._rows: dict[str, tuple[Cell, ...]] = {}
        self._keys: list[str] = []
        self._widths = [max(cell_len(c.title), c.width) for c in self.columns]
        self._styles: dict[str, Style] = {}
        self._strips: dict[int, Strip] = {}  # row index -> its line, until the next change
        self.cursor_row = 0
        self._top = 0  # the first row in view

    # --- data -------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def rows(self) -> list[tuple[Cell, ...]]:
        return [self._rows[k] for k in self._keys]

    @property
    def selected_key(self) -> str | None:
        return self._keys[self.cursor_row] if self._keys else None

    def sync(self, rows: Mapping[str, Sequence[Cell]]) -> None:
        """Show exactly ``rows``, in their order; the cursor stays on its row number."""
        relayout = len(rows) != len(self._keys)
        self._rows = {key: tuple(row) for key, row in rows.items()}
        self._keys = list(self._rows)
        for row in self._rows.values():
            for i, cell in enumerate(row):
                self._widths[i] = max(self._widths[i], cell_len(str(cell)))
        self._strips.clear()
        self._move_to(self.cursor_row)
        self.refresh(layout=relayout)

    # --- cursor and view --------------------------------------------------------------------

    @property
    def _visible_rows(self) -> int:
        return max(1, self.size.height - 1)

    def _move_to(self, row: int) -> None:
        old = self.cursor_row
        self.cursor_row = max(0, min(row, len(self._keys) - 1))
        top = min(self._top, self.cursor_row, len(self._keys) - self._visible_rows)
        top = max(0, top, self.cursor_row - self._visible_rows + 1)  # cursor in view, view full
        if top != self._top:
            self._top = top
            self.refresh()
        elif old != self.cursor_row:
            self._strips.pop(old, None)
            self._strips.pop(self.cursor_row, None)
            width = self.size.width
            self.refresh(Region(0, old - self._top + 1, width, 1),
                         Region(0, self.cursor_row - self._top + 1, width, 1))

    def action_move(self, delta: int) -> None:
        self._move_to(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor_row + direction * self._visible_rows)

    def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and offset.y > 0:
            self._move_to(self._top + offset.y - 1)

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self._move_to(self.cursor_row + 1)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self._move_to(self.cursor_row - 1)

    def _on_resize(self) -> None:
        self._strips.clear()  # the columns that fit may have changed
        self._move_to(self.cursor_row)

    # --- rendering --------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._strips.clear()

    def _style(self, component: str) -> Style:
        if component not in self._styles:
            self._styles[component] = self.get_component_rich_style(component)
        return self._styles[component]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._keys) + 1

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return sum(w + 2 * PAD for w in self._widths)

    def _shown(self) -> list[int]:
        """The columns that fit the widget's width, dropping the most droppable first."""
        shown = list(range(len(self.columns)))
        room = self.size.width
        by_drop = sorted((i for i in shown if self.columns[i].drop),
                         key=lambda i: (-self.columns[i].drop, -i))
        while by_drop and sum(self._widths[i] + 2 * PAD for i in shown) > room:
            shown.remove(by_drop.pop(0))
        return shown

    def _line(self, cells: Sequence[Cell], style: Style) -> Strip:
        segments = []
        shown = self._shown()
        for i in shown:
            cell, column, width = cells[i], self.columns[i], self._widths[i]
            if isinstance(cell, Text):
                text = cell.copy()
                text.truncate(width, overflow="ellipsis")
                text.align(column.align, width)
                text.pad(PAD)
                segments.extend(text.render(self.app.console))
            else:
                segments.append(Segment(" " * PAD + _fit(cell, width, column.align) + " " * PAD))
        return Strip(segments).crop_extend(0, self.size.width, None).apply_style(style)

    def render_line(self, y: int) -> Strip:
        base = self.rich_style
        if y == 0:
            header = self._line([c.title for c in self.columns],
                                base + self._style("live-table--header"))
            return self._with_position(header)
        index = self._top + y - 1
        if index >= len(self._keys):
            return Strip.blank(self.size.width, base)
        if index not in self._strips:
            style = base
            if index % 2:
                style += self._style("live-table--even-row")
            if index == self.cursor_row:
                style += self._style("live-table--cursor")
            self._strips[index] = self._line(self._rows[self._keys[index]], style)
        return self._strips[index]

    def _with_position(self, header: Strip) -> Strip:
        """The header, with ``first-last of n`` at its right end when not every row fits."""
        if len(self._keys) <= self._visible_rows:
            return header
        last = min(len(self._keys), self._top + self._visible_rows)
        note = f" {self._top + 1}-{last} of {len(self._keys)} "
        width = self.size.width
        if cell_len(note) >= width:
            return header
        style = self.rich_style + self._style("live-table--header")
        return Strip.join([header.crop(0, width - cell_len(note)),
                           Strip([Segment(note, style)])])
