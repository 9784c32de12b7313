"""A log view: lines of several sources merged by time, each prefixed by its source in its own
colour; ``/`` search with highlight, ``n``/``N`` to walk the matches, ``m`` to keep only
matching lines, ``s`` the last 1m/5m/15m/1h only, ``w`` wrap, ``t`` timestamps, ``ctrl+s``
save what is shown. It holds the last 100,000 lines (drawn only as they scroll into view) and
says when older ones were let go."""

from __future__ import annotations

import bisect
import re
import time
from collections.abc import Iterable
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static

from ..log_lines import (
    MAX_LINES,
    NOTE,
    SEQ,
    SOURCE,
    TEXT,
    WHEN,
    LogLine,
    MergedLog,
    search_pattern,
)
from ..rates import plural
from .line_view import LineView

PALETTE = ["cyan", "magenta", "green", "yellow", "blue", "red"]
MATCH = "black on yellow"
CURRENT = "black on bright_green"
STAMP_LEN = len("00:00:00.000 ")
SINCE = ((None, "all"), (60, "1m"), (300, "5m"), (900, "15m"), (3600, "1h"))  # s cycles
SHOW_EVERY = 0.25  # s: lines that come faster are shown together (one redraw, not one each)


class LogView(Vertical, can_focus=True):
    DEFAULT_CSS = """
    LogView { height: 1fr; }
    LogView > LineView { height: 1fr; }
    LogView > #log-search { display: none; height: 1; border: none; padding: 0 1; }
    LogView > #log-state { height: 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("slash", "search", "Search", id="log.search"),
        # said on the state line while a search is on, and in the help
        Binding("n", "next_match", "Next match", id="log.next", show=False),
        Binding("N", "previous_match", "Previous match", id="log.previous", show=False),
        Binding("m", "only_matches", "Only matches", id="log.only_matches", show=False),
        Binding("w", "wrap", "Wrap", id="log.wrap"),
        Binding("t", "timestamps", "Timestamps", id="log.timestamps", show=False),
        Binding("s", "since", "Since", id="log.since", show=False),
        Binding("ctrl+s", "save", "Save", id="log.save", show=False),
        # with a search on, Esc ends it; without, it goes to the screen (back)
        Binding("escape", "end_search", "End the search", id="log.end_search", show=False),
    ]

    class SaveAsked(Message):
        """The user asked to save the lines shown (as shown: times, sources, only the
        matches if only they show)."""

        def __init__(self, lines: list[str]) -> None:
            super().__init__()
            self.lines = lines

    def __init__(self, *, sources: str = "", id: str | None = None) -> None:
        """``sources``: what the lines come from ("target"), each line prefixed by its
        source; none: one source, no prefix."""
        super().__init__(id=id)
        self.merged = MergedLog(MAX_LINES)
        self.sources = sources
        self.pattern: re.Pattern[str] | None = None
        self.only_matches = False
        self.timestamps = False
        self.since = 0  # index into SINCE: lines of the last this many seconds (0: all)
        self.current = -1  # index into self.matches of the match shown
        self.matches: list[int] = []  # indexes into self.shown of the lines that match
        self.shown: list[LogLine] = []
        self._sources: set[str] = set()  # of the lines shown (or let go since the last redraw)
        self._colors: dict[str, str] = {}
        self._state = ""  # what the state line says
        self._shown_at = 0.0  # when added lines were last shown (monotonic)
        self._show_timer: Timer | None = None  # to show those added since, a moment later
        # what was held before the first line not shown yet: the last line, and the seq
        self._unshown: tuple[LogLine | None, int] | None = None

    def compose(self) -> ComposeResult:
        yield LineView(self.text_of, self.lengths_of, self.key_of, id="log")
        yield Input(placeholder="search (a regular expression; Enter: find, Esc: close)",
                    id="log-search")
        yield Static(id="log-state")

    @property
    def lines_view(self) -> LineView:
        return self.query_one("#log", LineView)

    @property
    def following(self) -> bool:
        return self.lines_view.auto_scroll

    def on_focus(self) -> None:
        self.lines_view.focus()

    def on_resize(self) -> None:
        self._say_state()  # (what fits on its line)

    # ---- feeding ----------------------------------------------------------------------------

    def add(self, batch: Iterable[tuple[str, Iterable[str]]], *, stamped: bool = False,
            note: str = "") -> None:
        """New lines, ``(source, lines)`` each, merged by time with those shown: shown now,
        or, if lines were shown a moment ago, with those that come until ``SHOW_EVERY`` has
        passed (a log that streams is drawn a few times a second, leaving keys the time
        between)."""
        if self._unshown is None:
            # the last line held, shown or not: with only matches on, a line filtered out is
            # still the one new lines follow (the last shown would force a redraw every time)
            self._unshown = (self.merged.lines[-1] if self.merged.lines else None,
                             self.merged.seq)
        now = time.time()
        for source, texts in batch:
            self.merged.add(source, texts, now, stamped=stamped, note=note)
        if self._show_timer is None:
            wait = self._shown_at + SHOW_EVERY - time.monotonic()
            if wait > 0:
                self._show_timer = self.set_timer(wait, self.show_added)
            else:
                self.show_added()

    def show_added(self) -> None:
        """Show the lines added and not shown yet, now."""
        self._stop_showing()
        self._shown_at = time.monotonic()
        if self._unshown is None:
            return
        last, seq = self._unshown
        self._unshown = None
        fresh = self.merged.appended_since(last, seq)
        if fresh is None:
            self.redraw()
        elif fresh:
            self._append(fresh)

    def _stop_showing(self) -> None:
        if self._show_timer is not None:
            self._show_timer.stop()
            self._show_timer = None

    def note(self, text: str, style: str = "dim italic") -> None:
        """The app's own words in the log (a stream ended, a reconnect), as it happens."""
        self.add([("", [text])], note=style)

    def clear(self) -> None:
        self.merged.clear()
        self.redraw()

    def on_unmount(self) -> None:
        self._stop_showing()

    # ---- drawing ----------------------------------------------------------------------------

    def redraw(self) -> None:
        """Draw the held lines again (a toggle, a line gone in between); the current match
        stays current and in view."""
        self._stop_showing()
        self._unshown = None  # (drawn from all the lines held)
        current = self.shown[self.matches[self.current]] if 0 <= self.current < len(
            self.matches) else None
        self.shown, self.matches, self._sources = [], [], set()
        self._append(self.merged.shown(self.pattern, self.only_matches), fresh=True)
        if current is None or not self.matches:
            self.current = -1
        else:  # the same match, or (gone: out of the window, cleared) the next one there is
            at = bisect.bisect_left(self.shown, current)
            self.current = min(bisect.bisect_left(self.matches, at), len(self.matches) - 1)
        self._center_current()
        self._say_state()

    def _append(self, lines: list[LogLine], fresh: bool = False) -> None:
        seconds = SINCE[self.since][0]
        oldest = time.time() - seconds if seconds else None
        for line in lines:
            if self.only_matches and self.pattern and not line[NOTE] \
                    and not self.pattern.search(line[TEXT]):
                continue
            if oldest is not None and line[WHEN] < oldest and not line[NOTE]:
                continue
            index = len(self.shown)
            self.shown.append(line)
            if not line[NOTE]:
                self._sources.add(line[SOURCE])
            if self.pattern is not None and not line[NOTE] and self.pattern.search(line[TEXT]):
                self.matches.append(index)
        view = self.lines_view
        if (cut := len(self.shown) - MAX_LINES) > 0:
            del self.shown[:cut]
            kept = [i - cut for i in self.matches if i >= cut]
            self.current -= len(self.matches) - len(kept)
            self.matches = kept
            if not fresh:
                view.drop_head(cut)
        if fresh:
            view.reset(len(self.shown))
        else:
            view.extend(len(self.shown))
        self._say_state()

    def row_of(self, index: int) -> int:
        """The view's row where shown line ``index`` starts (wrapped lines take several)."""
        return self.lines_view.row_of(index)

    def text_of(self, index: int) -> Text:
        """Shown line ``index`` as drawn: its time (``t``), its source, matches highlighted."""
        line = self.shown[index]
        if line[NOTE]:
            return Text(f"— {line[TEXT]} —", style=line[NOTE])
        text = Text(line[TEXT])
        if self.pattern is not None:
            current = 0 <= self.current < len(self.matches) \
                and self.matches[self.current] == index
            text.highlight_regex(self.pattern, style=CURRENT if current else MATCH)
        return Text.assemble(*self._prefix(line), text)

    def key_of(self, index: int) -> tuple[int, bool, str, int]:
        """What shown line ``index`` looks like depends on: the line itself (its number),
        the times shown, the search, and whether it is the current match."""
        current = 0 <= self.current < len(self.matches) and self.matches[self.current] == index
        return (self.shown[index][SEQ], self.timestamps,
                self.pattern.pattern if self.pattern else "", current)

    def lengths_of(self, start: int, end: int) -> list[int]:
        """The lengths of :meth:`plain_of` of shown lines ``start`` to ``end``, without
        building them (the view asks them of every line: one pass, no call per line)."""
        lines = self.shown[start:end]
        prefixes = {source: self._prefix_length(source)
                    for source in {line[SOURCE] for line in lines}}
        return [len(line[TEXT]) + (4 if line[NOTE] else prefixes[line[SOURCE]])
                for line in lines]

    def _prefix_length(self, source: str) -> int:
        """The length of what a line of ``source`` is prefixed with (its time, its source)."""
        return (STAMP_LEN if self.timestamps else 0) + (
            len(source) + 3 if self.sources and source else 0)

    def plain_of(self, index: int) -> str:
        line = self.shown[index]
        if line[NOTE]:
            return f"— {line[TEXT]} —"
        return "".join(part for part, _style in self._prefix(line)) + line[TEXT]

    def _prefix(self, line: LogLine) -> list[tuple[str, str]]:
        parts = []
        if self.timestamps:
            stamp = datetime.fromtimestamp(line[WHEN]).strftime("%H:%M:%S.%f")[:-3]
            parts.append((f"{stamp} ", "dim"))
        if self.sources and line[SOURCE]:
            color = self._colors.setdefault(line[SOURCE],
                                            PALETTE[len(self._colors) % len(PALETTE)])
            parts.append((f"[{line[SOURCE]}] ", color))
        return parts

    def _say_state(self) -> None:
        """The state line: the search, the lines and every mode on. Too long for the view's
        width (80 columns), the search's key hint goes, then the end of a long pattern: the
        modes must show."""
        hint, pattern, found = " (n/N next/previous, m only these)", "", ""
        if self.pattern is not None:  # first: at 80 columns the end may not show
            where = f"{self.current + 1} of " if self.current >= 0 else ""
            pattern, found = self.pattern.pattern, f"{where}{len(self.matches)} matching"
        lines = plural(len(self.shown), "line")
        of = f" of {plural(len(self._sources), self.sources)}" if self.sources else ""
        modes = ["following" if self.following else "paused"]
        if self.only_matches:
            modes.append("only matches")
        if self.since:
            modes.append(f"since {SINCE[self.since][1]} (s)")
        if self.lines_view.wrap:
            modes.append("wrap")
        if self.timestamps:
            modes.append("t: times")
        if self.merged.dropped:
            modes.append(f"the last {MAX_LINES:,} lines ({self.merged.dropped:,} older let go)")

        def line() -> str:
            search = [f"/{pattern}: {found}{hint}"] if found else []
            return " · ".join([*search, lines + of, *modes])

        width = self.size.width or 10_000
        if found and len(line()) > width:
            hint = ""
        if len(line()) > width:
            of = ""
        if found and (over := len(line()) - width) > 0:
            pattern = pattern[:max(8, len(pattern) - over - 1)] + "…"
        text = line()
        if text != self._state:  # (it changes with each batch only while lines are let go)
            self._state = text
            # one row, whatever it says: no layout of the screen for it
            self.query_one("#log-state", Static).update(text, layout=False)

    # ---- keys -------------------------------------------------------------------------------

    def action_search(self) -> None:
        box = self._show_search(True)
        box.value = self.pattern.pattern if self.pattern else ""
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._show_search(False)
        self.search(event.value)
        self._focus_lines()

    def on_key(self, event) -> None:
        if event.key == "escape" and self.query_one("#log-search", Input).has_focus:
            event.stop()
            self._show_search(False)
            self._focus_lines()

    def _focus_lines(self) -> None:
        """Focus back on the lines, without ``focus()``'s redraw of them all."""
        self.screen.set_focus(self.lines_view)

    def _show_search(self, on: bool) -> Input:
        """The search box in the state line's place (the lines keep their size: no redraw
        of all of them for a key)."""
        box = self.query_one("#log-search", Input)
        box.display = on
        self.query_one("#log-state", Static).display = not on
        return box

    def search(self, text: str) -> None:
        """Highlight what ``text`` finds (none: no search) and show the last match."""
        if self.pattern is None and not text:
            return  # (no search before, none now: nothing shows differently)
        self.show_added()  # (what it finds among them too)
        self.pattern = search_pattern(text)
        self.current = -1
        if self.only_matches:
            self.redraw()  # (which lines show depends on the pattern)
        elif self.pattern is None:  # (a search before: its highlights go)
            self.matches = []
            self.lines_view.refresh()
        else:
            self.matches = [i for i, line in enumerate(self.shown)
                            if not line[NOTE] and self.pattern.search(line[TEXT])]
            self.lines_view.refresh()
        if self.matches:
            self._go(len(self.matches) - 1)
        self._say_state()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "end_search":
            return self.pattern is not None
        return True

    def action_end_search(self) -> None:
        """The search ends, and with it only-matches: every line again, none highlighted."""
        self.search("")
        self.only_matches = False
        self._say_state()

    def action_next_match(self) -> None:
        if self.matches:
            self._go((self.current + 1) % len(self.matches))

    def action_previous_match(self) -> None:
        if self.matches:
            self._go((self.current - 1) % len(self.matches))

    def _go(self, at: int) -> None:
        """Make match ``at`` current, in the middle of the view, which stays there while
        lines come in (``f`` follows again)."""
        self.current = at
        self.lines_view.auto_scroll = False
        self._center_current()
        self.lines_view.refresh()
        self._say_state()

    def _center_current(self) -> None:
        """The current match's line in the middle of the view, and the match itself in view
        (scrolled to, if it is past the right edge: at 80 columns most are)."""
        if 0 <= self.current < len(self.matches):
            view = self.lines_view
            if not view.size.height:  # (not laid out yet: a search as the screen opens)
                self.call_after_refresh(self._center_current)
                return
            index = self.matches[self.current]
            x = view.scroll_offset.x
            line = self.shown[index]
            if not view.wrap and self.pattern and (found := self.pattern.search(line[TEXT])):
                start = self._prefix_length(line[SOURCE]) + found.start()
                end = start + len(found.group())
                width = view.scrollable_content_region.width
                if end <= width:
                    x = 0  # (the line from its start)
                elif start < x or end > x + width:
                    # a third of the way in, the whole match shown (its start if it is wider)
                    x = min(start, max(end - width, start - width // 3))
            view.scroll_to(x=x, y=max(0, view.row_of(index) - view.size.height // 2),
                           animate=False, immediate=True)

    def _measure_again(self) -> None:
        """The same lines, drawn wider or narrower (wrap, times): measured again, the
        current match kept in view."""
        self.lines_view.reset(len(self.shown))
        self._center_current()
        self._say_state()

    def action_only_matches(self) -> None:
        self.only_matches = not self.only_matches
        self.redraw()

    def action_wrap(self) -> None:
        self.lines_view.wrap = not self.lines_view.wrap
        self._measure_again()

    def action_since(self) -> None:
        """Show only the lines of the last minute, 5, 15, 60, then all again."""
        self.since = (self.since + 1) % len(SINCE)
        self.redraw()

    def action_save(self) -> None:
        self.show_added()
        self.post_message(self.SaveAsked([self.plain_of(i) for i in range(len(self.shown))]))

    def action_timestamps(self) -> None:
        self.timestamps = not self.timestamps
        self._measure_again()

    def follow(self, on: bool) -> None:
        view = self.lines_view
        view.auto_scroll = on
        if on:
            view.scroll_end_now()
        self._say_state()
