"""One object as text (its first megabyte) or hex (all of it, fetched as it is paged to)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from backend.ais import AisError

from ..rates import human_bytes
from ..widgets.byte_view import PREVIEW_BYTES, ByteView, looks_like_text
from ._base import AppScreen


class ObjectViewScreen(AppScreen):
    TITLE_TEXT = "object"
    BINDINGS = [Binding("h", "toggle_hex", "Text/Hex", id="object.hex")]

    def __init__(self, bucket: str, name: str) -> None:
        super().__init__()
        self.bucket, self.obj = bucket, name
        self.data = b""
        self.object_size = 0
        self.as_hex = False
        self._props = ""  # version and checksum, from HEAD

    def compose_body(self) -> ComposeResult:
        yield Static(f"ais://{self.bucket}/{self.obj}", id="caption", markup=False)
        yield ByteView(id="content")

    def on_mount(self) -> None:
        self.load()

    def focus_main(self) -> None:
        self.query_one("#content", ByteView).focus()

    @work(exclusive=True)
    async def load(self) -> None:
        client = self.session.client
        assert client is not None
        try:
            head = await client.head_object(self.bucket, self.obj)
            self.data = await client.get_object(self.bucket, self.obj, PREVIEW_BYTES)
        except AisError as err:
            self.show_problem(str(err))
            return
        self.object_size = int(head.get("size", len(self.data)))
        self.as_hex = not looks_like_text(self.data)
        self.query_one("#content", ByteView).show(
            self.data, self.as_hex, self.object_size,
            loader=lambda offset, length: client.get_object(self.bucket, self.obj, length,
                                                            offset))
        self._caption(head)

    def _caption(self, head: dict[str, str] | None = None) -> None:
        if head is not None:
            self._props = (f"version {head.get('Ais-Version', '?')}, "
                           f"{head.get('Ais-Checksum-Type', '')} "
                           f"{head.get('Ais-Checksum-Value', '')}")
        part = ("" if self.object_size <= len(self.data) or self.as_hex
                else f", first {human_bytes(len(self.data))} shown (h: all of it in hex)")
        self.query_one("#caption", Static).update(
            f"ais://{self.bucket}/{self.obj} — {human_bytes(self.object_size)}{part}, "
            f"{self._props}")

    def action_toggle_hex(self) -> None:
        self.as_hex = not self.as_hex
        self.query_one("#content", ByteView).set_mode(self.as_hex)
        self._caption()
