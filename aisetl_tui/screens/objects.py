"""Objects of one bucket: a paged listing that stays fast on 100,000 objects (the next page is
fetched as the cursor nears the end), a server-side prefix filter, upload with progress,
view, delete, and transform one object."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, ProgressBar, Static

from backend.ais import AisError, ObjectEntry

from ..markup import escape
from ..rates import human_bytes, plural
from ..widgets.table import Table
from ._base import AppScreen
from .dialogs import ConfirmScreen
from .file_picker import FilePickerScreen
from .inline import InlineTransformScreen
from .object_view import ObjectViewScreen

FIRST_PAGE = 200  # enough to fill any screen at once; later pages are larger
PAGE_SIZE = 1000
PREFETCH_ROWS = 100  # fetch the next page when the cursor is this close to the end


def upload_plan(path: Path, prefix: str = "") -> list[tuple[Path, str]]:
    """(local file, object name) pairs for a file or a whole directory tree."""
    if path.is_file():
        return [(path, prefix + path.name)]
    if path.is_dir():
        return [(p, prefix + p.relative_to(path).as_posix())
                for p in sorted(path.rglob("*")) if p.is_file()]
    raise FileNotFoundError(f"{path} does not exist")


class ObjectsScreen(AppScreen):
    TITLE_TEXT = "objects"
    MUTATING = frozenset({"upload", "delete"})
    BINDINGS = [
        Binding("enter", "view", "View", id="objects.view"),
        Binding("u", "upload", "Upload", id="objects.upload"),
        Binding("ctrl+d", "delete", "Delete", id="objects.delete"),
        Binding("i", "inline", "Transform", id="objects.inline"),
        Binding("slash", "filter", "Prefix", id="objects.filter"),
        Binding("ctrl+r", "refresh", "Refresh", id="objects.refresh"),
        Binding("x", "cancel_upload", "Cancel upload", id="objects.cancel_upload"),
    ]

    def __init__(self, bucket: str) -> None:
        super().__init__()
        self.bucket = bucket
        self.prefix = ""
        self._token: str | None = None  # None: nothing loaded yet; "": all loaded
        self._uuid = ""
        self._loading = False
        self._count = 0

    def title_text(self) -> str:
        return f"ais://{self.bucket}"

    def compose_body(self) -> ComposeResult:
        yield Static(id="summary", markup=False)
        table = Table(cursor_type="row", zebra_stripes=True, id="objects")
        table.add_column("NAME", key="name")
        table.add_column("SIZE", key="size")
        yield table
        yield ProgressBar(id="upload", show_eta=True)

    @property
    def table(self) -> DataTable:
        return self.query_one("#objects", DataTable)

    def on_mount(self) -> None:
        self.query_one("#upload", ProgressBar).display = False
        self.reload()

    def focus_main(self) -> None:
        self.table.focus()

    def _show_summary(self) -> None:
        more = "" if self._token == "" else " (more below)"
        where = f" with prefix {self.prefix!r}" if self.prefix else ""
        self.query_one("#summary", Static).update(
            f"ais://{self.bucket}: {plural(self._count, 'object')} listed{where}{more}")

    # --- listing ----------------------------------------------------------------------------

    def reload(self) -> None:
        self.table.clear()
        self._token, self._uuid, self._count = None, "", 0
        self.load_page()

    def action_refresh(self) -> None:
        self.reload()

    def apply_filter(self, text: str) -> None:
        if text != self.prefix:
            self.prefix = text
            self.reload()

    @work(exclusive=True, group="list")
    async def load_page(self) -> None:
        if self._loading or self._token == "" or self.session.client is None:
            return
        self._loading = True
        try:
            page = await self.session.client.list_objects(
                self.bucket, prefix=self.prefix, token=self._token or "",
                page_size=PAGE_SIZE if self._token else FIRST_PAGE,
                uuid=self._uuid)
        except AisError as err:
            self.show_problem(str(err))
            return
        finally:
            self._loading = False
        self.show_problem("")
        self._token, self._uuid = page.token, page.uuid
        self._add(page.entries)

    def _add(self, entries: list[ObjectEntry]) -> None:
        with self.app.batch_update():
            for e in entries:
                # DataTable reads a str cell as markup: a name is escaped (a str, not a Text
                # per row: pages of a 100,000-object bucket stay small)
                self.table.add_row(escape(e.name), human_bytes(e.size), key=e.name)
        self._count += len(entries)
        self._show_summary()

    @on(DataTable.RowHighlighted)
    def _maybe_more(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()
        if self._token and event.cursor_row >= self._count - PREFETCH_ROWS:
            self.load_page()

    @property
    def selected(self) -> str | None:
        if self.table.row_count == 0:
            return None
        return self.table.coordinate_to_cell_key(self.table.cursor_coordinate).row_key.value

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("view", "delete", "inline") and self.selected is None:
            return False
        if action == "cancel_upload" and not self.uploading:
            return False
        return super().check_action(action, parameters)

    @property
    def uploading(self) -> bool:
        return any(w.group == "upload" and w.is_running for w in self.workers)

    def action_cancel_upload(self) -> None:
        """Stop the upload; it says how far it got (objects written so far stay)."""
        self.workers.cancel_group(self, "upload")

    def action_back(self) -> None:
        """Esc during an upload asks first: leaving cancels it."""
        if not self.uploading:
            super().action_back()
            return

        def answered(leave: bool | None) -> None:
            if leave:
                super(ObjectsScreen, self).action_back()

        self.app.push_screen(ConfirmScreen(
            f"An upload into ais://{escape(self.bucket)} is running. Leave, and cancel it? "
            "(the objects written so far stay)", "Leave"), answered)

    # --- actions ----------------------------------------------------------------------------

    def on_data_table_row_selected(self) -> None:
        """Enter on the table (the table, not the screen, receives the key)."""
        self.action_view()

    def action_view(self) -> None:
        if (name := self.selected) is not None:
            self.app.push_screen(ObjectViewScreen(self.bucket, name))

    def action_inline(self) -> None:
        if (name := self.selected) is not None:
            self.app.push_screen(InlineTransformScreen(self.bucket, name))

    def action_delete(self) -> None:
        if (name := self.selected) is not None:
            self.change(lambda client: client.delete_object(self.bucket, name),
                        f"deleted ais://{self.bucket}/{name}",
                        (f"Delete [b]ais://{self.bucket}/{escape(name)}[/b]?", "Delete"))

    def after_change(self) -> None:
        self.reload()

    def action_upload(self) -> None:
        def chosen(path: Path | None) -> None:
            if path is not None:
                self._upload(path)

        self.app.push_screen(FilePickerScreen(
            f"Upload a file or a directory into ais://{self.bucket} (a directory's files keep "
            "their relative paths as names)"), chosen)

    @work(exclusive=True, group="upload")
    async def _upload(self, path: Path) -> None:
        assert self.session.client is not None
        try:  # a directory tree may be large: walked off the event loop
            plan = await asyncio.to_thread(upload_plan, path, self.prefix)
            sizes = await asyncio.to_thread(lambda: [p.stat().st_size for p, _ in plan])
        except OSError as err:
            self.notify(str(err), severity="error")
            return
        total = sum(sizes)
        if path.is_dir() and not await self.app.push_screen_wait(ConfirmScreen(
                f"Upload the directory [b]{escape(str(path))}[/b]: {plural(len(plan), 'file')}, "
                f"{human_bytes(total)}, into ais://{self.bucket}?", "Upload")):
            return
        bar = self.query_one("#upload", ProgressBar)
        bar.update(total=total or 1, progress=0)
        bar.display = True
        self.refresh_bindings()  # x cancels it
        done = files = 0
        try:
            for (local, name), size in zip(plan, sizes, strict=True):
                def step(sent: int, base: int = done) -> None:
                    bar.update(progress=base + sent)

                await self.session.client.put_file(self.bucket, name, local, progress=step)
                done, files = done + size, files + 1
            self.notify(f"uploaded {plural(len(plan), 'object')} to ais://{self.bucket}")
        except (AisError, OSError) as err:
            self.notify(f"upload stopped after {files} of {plural(len(plan), 'file')}: {err}",
                        severity="error")
        except asyncio.CancelledError:  # the screen was left: say how far it got
            self.app.notify(f"upload into ais://{self.bucket} cancelled after {files} of "
                            f"{plural(len(plan), 'file')} ({human_bytes(done)} of "
                            f"{human_bytes(total)})", severity="warning")
            raise
        finally:
            if self in self.app.screen_stack:  # not when the screen was left mid-upload
                bar.display = False
                self.reload()
                self.call_after_refresh(self.refresh_bindings)  # no upload to cancel now
