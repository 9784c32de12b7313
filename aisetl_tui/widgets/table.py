"""The app's tables: DataTables that repaint once their columns are measured, and one
updated in place by row key, so polling keeps the cursor and scroll."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.geometry import Size
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

Cell = str | Text


class Table(DataTable):
    """A DataTable whose cells are repainted whole once its columns are measured."""

    def watch_virtual_size(self, old: Size, new: Size) -> None:
        """DataTable caches each rendered cell without its width: a row painted before its
        columns were measured kept its cut-off cells (and the header its narrow columns) until
        some cell changed. The width changes when the columns are measured: drop that cache."""
        if old.width != new.width:
            self._clear_caches()


class KeyedTable(Table):
    """Rows are identified by a key; ``sync`` adds, updates and removes only what changed.
    After each sync it posts :class:`Synced` (``total`` rows, ``shown`` through the filter)."""

    class Synced(Message):
        """The rows or the filter changed."""

    def __init__(self, columns: Sequence[str], sort_rows: bool = True, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.sort_rows = sort_rows
        self._columns = list(columns)
        self._rows: dict[str, Sequence[Cell]] = {}
        self.filter_text = ""
        self.shown = 0  # rows through the filter

    @property
    def total(self) -> int:
        return len(self._rows)

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
        cell is plain text (DataTable would read it as markup)."""
        self._rows = {key: [Text(c) if isinstance(c, str) else c for c in row]
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
            if added and self.sort_rows:
                self.sort(self._columns[0], key=lambda cell: str(cell).lower())
        self.post_message(self.Synced())

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self.sync(self._rows)
