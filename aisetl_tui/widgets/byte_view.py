"""An object's bytes as text or as a hex dump, drawn line by line as they scroll into view.

A TextArea given a megabyte's hex dump (65,536 lines) took seconds to open and to toggle; this
widget formats only the lines on screen. In hex it pages through the whole object: the bytes
of a screen not yet fetched are asked of ``loader`` (a range read), in 64 KiB chunks of which
a bounded number stay cached. Text shows the bytes given (the first megabyte)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

PREVIEW_BYTES = 1024 * 1024  # what a screen fetches first, and all that text mode shows
CHUNK = 64 * 1024
MAX_CHUNKS = 256  # 16 MiB of fetched bytes at most
OFFSET_STYLE = Style(dim=True)
PENDING_STYLE = Style(dim=True, italic=True)

Loader = Callable[[int, int], Awaitable[bytes]]


def scroll_bindings(scope: str) -> list[Binding]:
    """vi's keys for a scrolled view (their ids under ``scope``)."""
    return [Binding("j", "scroll_down", "Down", show=False, id=f"{scope}.down"),
            Binding("k", "scroll_up", "Up", show=False, id=f"{scope}.up"),
            Binding("g", "scroll_home", "Start", show=False, id=f"{scope}.start"),
            Binding("G", "scroll_end", "End", show=False, id=f"{scope}.end")]


def looks_like_text(data: bytes) -> bool:
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return False
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\n\r\t")
    return controls <= len(text) // 100


def bytes_per_line(width: int) -> int:
    """16, 8 or 4 bytes: as many as fit ``width`` cells (``offset  hex  |chars|``)."""
    for n in (16, 8):
        if 10 + n * 3 + 1 + n + 2 <= width:
            return n
    return 4


def hex_line(offset: int, chunk: bytes, width: int) -> str:
    hexes = " ".join(f"{b:02x}" for b in chunk)
    chars = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
    return f"{offset:08x}  {hexes:<{width * 3 - 1}}  |{chars}|"


class ByteView(ScrollView, can_focus=True):
    DEFAULT_CSS = "ByteView { height: 1fr; background: $surface; }"
    BINDINGS = scroll_bindings("bytes")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.as_hex = False
        self._head = b""  # the bytes given (from offset 0)
        self._total = 0  # the object's size (hex pages up to it)
        self._lines: list[str] = []  # text mode
        self._loader: Loader | None = None
        self._chunks: OrderedDict[int, bytes] = OrderedDict()  # chunk index -> bytes
        self._loading: set[int] = set()
        self._failed: set[int] = set()  # chunks that could not be read (said once)

    # --- content ----------------------------------------------------------------------------

    def show(self, data: bytes, as_hex: bool, size: int | None = None,
             loader: Loader | None = None) -> None:
        """``data``: the object's first bytes; ``size``: all of it (hex fetches the rest
        through ``loader``)."""
        self._head, self._total = data, max(size or 0, len(data))
        self._loader, self._chunks = loader, OrderedDict()
        self._loading, self._failed = set(), set()
        self.set_mode(as_hex)

    def set_mode(self, as_hex: bool) -> None:
        self.as_hex = as_hex
        self._lines = [] if as_hex else self._head.decode(errors="replace").splitlines()
        self._resize()
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    @property
    def text(self) -> str:
        """What text mode shows (``""`` in hex mode)."""
        return "\n".join(self._lines)

    @property
    def line_count(self) -> int:
        if self.as_hex:
            per = bytes_per_line(self.size.width or 80)
            return -(-self._total // per)
        return len(self._lines)

    def _resize(self) -> None:
        width = max((len(line) for line in self._lines[:10_000]), default=0) \
            if not self.as_hex else 0
        self.virtual_size = Size(width, self.line_count)

    def on_resize(self) -> None:
        if self.as_hex:
            self._resize()  # bytes per line follow the width

    # --- bytes ------------------------------------------------------------------------------

    def _bytes(self, start: int, length: int) -> bytes | None:
        """``length`` bytes at ``start`` if at hand (else None, and they are fetched)."""
        end = min(start + length, self._total)
        if end <= len(self._head):
            return self._head[start:end]
        out = b""
        for index in range(start // CHUNK, (end - 1) // CHUNK + 1):
            chunk = self._chunk(index)
            if chunk is None:
                return None
            lo = max(start, index * CHUNK) - index * CHUNK
            hi = min(end, (index + 1) * CHUNK) - index * CHUNK
            out += chunk[lo:hi]
        return out

    def _chunk(self, index: int) -> bytes | None:
        if index * CHUNK + CHUNK <= len(self._head):
            return self._head[index * CHUNK:(index + 1) * CHUNK]
        if index in self._chunks:
            self._chunks.move_to_end(index)
            return self._chunks[index]
        if self._loader is not None and index not in self._loading:
            self._loading.add(index)
            self.run_worker(self._load(index), group="bytes")
        return None

    async def _load(self, index: int) -> None:
        assert self._loader is not None
        loader = self._loader
        try:
            data = await loader(index * CHUNK, CHUNK)
        except Exception as err:  # whatever the loader raises: said, and shown in place
            if loader is self._loader:
                self._failed.add(index)
                self.notify(f"cannot read the bytes at {index * CHUNK:,}: {err}",
                            severity="error", markup=False)
                self.refresh()
            return
        if loader is not self._loader:
            return  # another object since
        self._loading.discard(index)
        self._chunks[index] = data
        while len(self._chunks) > MAX_CHUNKS:
            self._chunks.popitem(last=False)
        self.refresh()

    # --- drawing ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        base = self.rich_style
        if index >= self.line_count:
            return Strip.blank(width, base)
        if self.as_hex:
            per = bytes_per_line(width)
            chunk = self._bytes(index * per, per)
            if chunk is None:
                why = "unreadable" if index * per // CHUNK in self._failed else "fetching…"
                strip = Strip([Segment(f"{index * per:08x}  ", OFFSET_STYLE),
                               Segment(why, PENDING_STYLE)])
            else:
                line = hex_line(index * per, chunk, per)
                strip = Strip([Segment(line[:10], OFFSET_STYLE), Segment(line[10:])])
        else:
            strip = Strip([Segment(self._lines[index].expandtabs())])
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_style(base)
