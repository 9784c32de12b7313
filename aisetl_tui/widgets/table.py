"""The app's tables: DataTables that repaint once their columns are measured, and one
updated in place by row key, so polling keeps the cursor and scroll."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

Cell = str | Text

# k9s's (and vi's) habits, on every table
MOVE_BINDINGS = [
    Binding("j", "cursor_down", "Down", show=False, id="table.down"),
    Binding("k", "cursor_up", "Up", show=False, id="table.up"),
    Binding("g,home", "scroll_top", "First row", show=False, id="table.first"),
    Binding("G,end", "scroll_bottom", "Last row", show=False, id="table.last"),
]

_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3, "TiB": 1024 ** 4}
_NUMBER = re.compile(r"~?(-?[\d,]*\.?\d+)\s*(B|KiB|MiB|GiB|TiB)?")
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?")


def sort_key(cell: object) -> tuple[int, Any]:
    """How a cell sorts: numbers (``1,234``, ``~2.0 MiB``) and durations (``3m05s``) by
    value, before text, which sorts without case; a dash (nothing) last."""
    text = str(cell).strip()
    if m := _NUMBER.fullmatch(text):
        return 0, float(m[1].replace(",", "")) * _UNITS.get(m[2] or "B", 1)
    if text and (m := _DURATION.fullmatch(text)) and any(m.groups()):
        days, hours, minutes, seconds = (float(g or 0) for g in m.groups())
        return 0, ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    return (2, "") if text in ("", "—", "-") else (1, text.lower())


def _aligned(cell: Cell, justify: str) -> Text:
    if isinstance(cell, str):
        return Text(cell, justify=justify)  # type: ignore[arg-type]
    if cell.justify is None:
        cell.justify = justify  # type: ignore[assignment]
    return cell


class Table(DataTable):
    """A DataTable whose cells are repainted whole once its columns are measured, with
    k9s's keys: j/k, g/G (and Home/End move the cursor, not only the view), ``Y`` copies the
    row's name."""

    BINDINGS = [
        *MOVE_BINDINGS,
        Binding("Y", "copy_name", "Copy name", show=False, id="table.copy"),
    ]

    def action_copy_name(self) -> None:
        """The first cell of the row (a bucket's, object's, ETL's or pod's name, a job's id)
        to the clipboard, through the terminal (OSC 52)."""
        if self.row_count == 0:
            return
        name = str(self.get_row_at(self.cursor_row)[0])
        self.app.copy_to_clipboard(name)
        self.notify(f"copied {name!r} to the clipboard", markup=False)

    def watch_virtual_size(self, old: Size, new: Size) -> None:
        """DataTable caches each rendered cell without its width: a row painted before its
        columns were measured kept its cut-off cells (and the header its narrow columns) until
        some cell changed. The width changes when the columns are measured: drop that cache."""
        if old.width != new.width:
            self._clear_caches()  # DataTable has no public way to drop them


class KeyedTable(Table):
    """Rows are identified by a key; ``sync`` adds, updates and removes only what changed.
    After each sync it posts :class:`Synced` (``total`` rows, ``shown`` through the filter).
    ``S`` sorts by the next column, ``R`` reverses the order."""

    BINDINGS = [
        Binding("S", "sort_next", "Sort", show=False, id="table.sort"),
        Binding("R", "sort_reverse", "Reverse", show=False, id="table.reverse"),
    ]

    class Synced(Message):
        """The rows, the filter or the order changed."""

    def __init__(self, columns: Sequence[str], sort_rows: bool = True,
                 right: Sequence[str] = (), **kwargs) -> None:
        """``right``: the columns of numbers, right-aligned."""
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.sort_rows = sort_rows
        self._columns = list(columns)
        self._justify = ["right" if c in right else "left" for c in self._columns]
        self._rows: dict[str, Sequence[Cell]] = {}
        self.filter_text = ""
        self.shown = 0  # rows through the filter
        self.sort_column: int | None = None  # chosen with S (None: the table's own order)
        self.sort_reverse = False

    @property
    def sort_text(self) -> str:
        """``↑SIZE`` / ``↓SIZE`` for a chosen order, else ``""``."""
        if self.sort_column is None:
            return ""
        return f"{'↓' if self.sort_reverse else '↑'}{self._columns[self.sort_column]}"

    @property
    def total(self) -> int:
        return len(self._rows)

    def row(self, key: str) -> Sequence[Cell] | None:
        """The cells of the row ``key`` as last synced (filtered out or not), or None."""
        return self._rows.get(key)

    def on_mount(self) -> None:
        for name in self._columns:
            self.add_column(name, key=name)

    @property
    def has_rows(self) -> bool:
        """Any rows at all, filtered out or not."""
        return bool(self._rows)

    @property
    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None

    def _visible(self, key: str, row: Sequence[Cell]) -> bool:
        if not self.filter_text:
            return True
        needle = self.filter_text.lower()
        return any(needle in str(cell).lower() for cell in row) or needle in key.lower()

    def sync(self, rows: Mapping[str, Sequence[Cell]]) -> None:
        """Show exactly ``rows`` (filtered), touching only the cells that changed. A ``str``
        cell is plain text (DataTable would read it as markup); a ``Text`` cell that says no
        alignment takes its column's (an "error" among sizes is right-aligned too)."""
        self._rows = {key: [_aligned(c, j) for c, j in zip(row, self._justify, strict=True)]
                      for key, row in rows.items()}
        rows = self._rows
        wanted = {k: r for k, r in rows.items() if self._visible(k, r)}
        self.shown = len(wanted)
        added = False
        with self.app.batch_update():
            for key in [k.value for k in list(self.rows) if k.value not in wanted]:
                self.remove_row(key)
            for key, row in wanted.items():
                try:
                    current = self.get_row(key)
                except RowDoesNotExist:
                    self.add_row(*row, key=key)
                    added = True
                    continue
                for column, (old, new) in zip(self._columns, zip(current, row, strict=True),
                                              strict=True):
                    if str(old) != str(new) or type(old) is not type(new):
                        wider = len(str(new)) > len(str(old))  # only then can the column grow
                        self.update_cell(key, column, new, update_width=wider)
            if self.sort_column is not None:  # the user's order holds as values change
                self.sort(self._columns[self.sort_column], key=sort_key,
                          reverse=self.sort_reverse)
            elif added and self.sort_rows:
                self.sort(self._columns[0], key=lambda cell: str(cell).lower())
            elif added and [r.key.value for r in self.ordered_rows] != list(wanted):
                self._reorder(wanted)
        self.post_message(self.Synced())

    def _reorder(self, wanted: Mapping[str, Sequence[Cell]]) -> None:
        """The rows again in the order given: rows added come last, and one that was not
        last (back through a cleared filter) must go to its place. The cursor stays on its
        row."""
        selected = self.selected_key
        self.clear()
        for key, row in wanted.items():
            self.add_row(*row, key=key)
        if selected is not None:
            self.move_cursor(row=self.get_row_index(selected))

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self.sync(self._rows)

    def action_sort_next(self) -> None:
        """Sort by the next column (the first after the last one), ascending."""
        column = -1 if self.sort_column is None else self.sort_column
        self.sort_column, self.sort_reverse = (column + 1) % len(self._columns), False
        self.sync(self._rows)

    def action_sort_reverse(self) -> None:
        if self.sort_column is None:
            self.sort_column = 0
        self.sort_reverse = not self.sort_reverse
        self.sync(self._rows)

