"""Lines of text drawn only as they scroll into view.

A RichLog renders every line it is given and keeps the rendering: 5,000 log lines were
its practical limit. This view asks for a line's text only to draw it, so it holds 100,000
lines for the cost of their strings; with wrap on it keeps where each line starts (a line's
rows from its length, folded every so many characters) and the rows of the lines on screen.
Lengths are counted in characters: a line of wide characters may be cut at the edge."""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable, Hashable
from itertools import accumulate

from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .byte_view import scroll_bindings

WRAP_CACHE = 256  # lines whose wrapped rows are kept (a screen's worth, and then some)
DRAWN_CACHE = 512  # lines kept drawn (without wrap)


class LineView(ScrollView, can_focus=True):
    DEFAULT_CSS = "LineView { height: 1fr; background: $surface; }"
    BINDINGS = scroll_bindings("lines")

    def __init__(self, text_of: Callable[[int], Text],
                 lengths_of: Callable[[int, int], list[int]],
                 key_of: Callable[[int], Hashable], *, id: str | None = None) -> None:
        """``text_of(i)``: line ``i`` as drawn; ``lengths_of(start, end)``: the lengths in
        characters of lines ``start`` to ``end`` (what the view measures, of every line: it
        must be cheap); ``key_of(i)``: what identifies line ``i`` as drawn (the same key, the
        same drawing: it is reused)."""
        super().__init__(id=id)
        self._text_of, self._lengths_of, self._key_of = text_of, lengths_of, key_of
        # lines on screen, drawn as shown: for the scroll, width and style they were drawn at
        self._drawn: OrderedDict[Hashable, tuple[tuple[int, int, Style], Strip]] = OrderedDict()
        self.count = 0
        self.wrap = False
        self.auto_scroll = True  # to the end as lines come
        self._widest = 0
        self._starts: list[int] = [0]  # with wrap: the row each line starts at, then the end
        self._width = 0  # the width the starts were measured for
        # lines on screen, wrapped: by what they look like and the width they were folded at
        self._wrapped: OrderedDict[tuple[Hashable, int], list[Strip]] = OrderedDict()
        self._base = Style()  # the view's own style, as of the frame being drawn

    # --- content ----------------------------------------------------------------------------

    def reset(self, count: int) -> None:
        """The lines are others now (``count`` of them): measure them again."""
        self.count, self._widest, self._starts = 0, 0, [0]
        self._wrapped.clear()
        self.extend(count)
        self.refresh()

    def extend(self, count: int) -> None:
        """Lines were added at the end (``count`` in all now)."""
        width = self._wrap_width()
        lengths = self._lengths_of(self.count, count)
        self._widest = max(self._widest, *lengths) if lengths else self._widest
        if self.wrap:  # (folded every ``width`` characters, as drawn; an empty line: a row)
            rows = accumulate([-(-length // width) or 1 for length in lengths],
                              initial=self._starts[-1])
            next(rows)  # (the start already there)
            self._starts.extend(rows)
        self.count, self._width = count, width
        self._resize()
        if self.auto_scroll:
            self.scroll_end_now()

    def drop_head(self, cut: int) -> None:
        """The first ``cut`` lines were let go: the rest moved up."""
        self.count -= cut
        if self.wrap:
            base = self._starts[cut]
            self._starts = [row - base for row in self._starts[cut:]]
        self._resize()

    def scroll_end_now(self) -> None:
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

    @property
    def rows(self) -> int:
        return self._starts[-1] if self.wrap else self.count

    def row_of(self, index: int) -> int:
        """The row line ``index`` starts at."""
        return self._starts[index] if self.wrap else index

    def _wrap_width(self) -> int:
        return max(1, self.scrollable_content_region.width or self.size.width or 80)

    def _resize(self) -> None:
        self.virtual_size = Size(0 if self.wrap else self._widest, self.rows)

    def on_resize(self) -> None:
        if self.wrap and self._wrap_width() != self._width:
            self.reset(self.count)

    # --- focus ------------------------------------------------------------------------------
    # Textual redraws a widget whose focus changes; these lines look the same either way, and
    # redrawing a screen of them made ``/`` (focus to the search box) and Enter slow.

    def _on_focus(self, event: events.Focus) -> None:
        event.prevent_default()
        self.has_focus = True
        if self.parent is not None:
            self.parent.post_message(events.DescendantFocus(self))

    def _on_blur(self, event: events.Blur) -> None:
        event.prevent_default()
        self.has_focus = False
        if self.parent is not None:
            self.parent.post_message(events.DescendantBlur(self))

    # --- drawing ----------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        self._base = self.rich_style  # (once a frame, not for each of its lines)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row, width, base = scroll_y + y, self.size.width, self._base
        if row >= self.rows:
            return Strip.blank(width, base)
        if self.wrap:
            index = bisect.bisect_right(self._starts, row) - 1
            rows = self._wrapped_rows(index)
            strip = rows[min(row - self._starts[index], len(rows) - 1)]
            return strip.extend_cell_length(width, base).apply_style(base)
        key = self._key_of(row)
        if (drawn := self._drawn.get(key)) is None or drawn[0] != (scroll_x, width, base):
            text = self._text_of(row)
            strip = Strip(list(text.render(self.app.console, end="")), text.cell_len)
            drawn = self._drawn[key] = (
                (scroll_x, width, base),
                strip.crop_extend(scroll_x, scroll_x + width, base).apply_style(base))
            while len(self._drawn) > DRAWN_CACHE:
                self._drawn.popitem(last=False)
        return drawn[1]

    def _wrapped_rows(self, index: int) -> list[Strip]:
        key = (self._key_of(index), self._width)
        if (rows := self._wrapped.get(key)) is not None:
            self._wrapped.move_to_end(key)
            return rows
        console, text = self.app.console, self._text_of(index)
        lines = text.divide(range(self._width, len(text), self._width))
        rows = [Strip(list(line.render(console, end="")), line.cell_len) for line in lines] \
            or [Strip([])]
        self._wrapped[key] = rows
        while len(self._wrapped) > WRAP_CACHE:
            self._wrapped.popitem(last=False)
        return rows
