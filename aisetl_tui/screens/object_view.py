"""One object's first megabyte, as text or hex."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static, TextArea

from backend.ais import AisError

from ..rates import human_bytes
from ..views import PREVIEW_BYTES, looks_like_text, render_bytes
from ._base import AppScreen


class ObjectViewScreen(AppScreen):
    TITLE_TEXT = "object"
    BINDINGS = [Binding("h", "toggle_hex", "Text/Hex", id="object.hex")]

    def __init__(self, bucket: str, name: str) -> None:
        super().__init__()
        self.bucket, self.obj = bucket, name
        self.data = b""
        self.as_hex = False

    def compose_body(self) -> ComposeResult:
        yield Static(f"ais://{self.bucket}/{self.obj}", id="caption", markup=False)
        yield TextArea(read_only=True, id="content", show_line_numbers=False)

    def on_mount(self) -> None:
        self.load()

    def focus_main(self) -> None:
        self.query_one("#content", TextArea).focus()

    @work(exclusive=True)
    async def load(self) -> None:
        assert self.ais.client is not None
        try:
            self.data = await self.ais.client.get_object(self.bucket, self.obj, PREVIEW_BYTES)
            head = await self.ais.client.head_object(self.bucket, self.obj)
        except AisError as err:
            self.show_problem(str(err))
            return
        self.as_hex = not looks_like_text(self.data)
        size = int(head.get("size", len(self.data)))
        shown = "" if size <= len(self.data) else f", first {human_bytes(len(self.data))} shown"
        self.query_one("#caption", Static).update(
            f"ais://{self.bucket}/{self.obj} — {human_bytes(size)}{shown}, "
            f"version {head.get('Ais-Version', '?')}, "
            f"{head.get('Ais-Checksum-Type', '')} {head.get('Ais-Checksum-Value', '')}")
        self._show()

    def _show(self) -> None:
        self.query_one("#content", TextArea).load_text(render_bytes(self.data, self.as_hex))

    def action_toggle_hex(self) -> None:
        self.as_hex = not self.as_hex
        self._show()
