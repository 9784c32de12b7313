"""Log lines of several sources (targets, pods) merged by time, in a bounded window.

A line's time is the one it starts with (Kubernetes' ``timestamps=true`` RFC 3339 prefix, or a
logger's ``2026-12-02 00:35:11,962``); a line without one (a traceback's) keeps the time of its
source's line before it; a source's first lines without one, the time of the first line after
them that has one (else when they were read). Equal times keep the order lines came in.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from datetime import UTC, datetime

MAX_LINES = 100_000  # held per view: their text (about 20 MB), drawn as they show
_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?"
                    r"(Z|[+-]\d{2}:?\d{2})?")


def line_time(text: str) -> float | None:
    """The time ``text`` starts with, as seconds since the epoch (a time without a zone is
    this machine's local time, as loggers write it), or None."""
    m = _STAMP.match(text)
    if m is None:
        return None
    date, clock, frac, zone = m.groups()
    try:
        when = datetime.fromisoformat(f"{date}T{clock}")
    except ValueError:
        return None
    if zone == "Z":
        when = when.replace(tzinfo=UTC)
    elif zone:
        when = datetime.fromisoformat(f"{date}T{clock}{zone}")
    return when.timestamp() + (int(frac) / 10 ** len(frac) if frac else 0.0)


# A line is a plain tuple, ``(when, seq, source, text, note)``: ordered by time, then by
# arrival; ``note`` is the style of the app's own words ("" for a log's line). Tuples of
# numbers and strings are left out of the garbage collector's passes: 100,000 dataclass
# instances made each full pass take 50-90 ms, a stall of the screen whatever was pressed.
LogLine = tuple[float, int, str, str, str]
WHEN, SEQ, SOURCE, TEXT, NOTE = range(5)


class MergedLog:
    """The last ``max_lines`` lines of every source, ordered by time."""

    def __init__(self, max_lines: int = MAX_LINES) -> None:
        self.max_lines = max_lines
        self.lines: list[LogLine] = []
        self.dropped = 0  # older lines let go to keep the bound
        self._seq = 0
        self._last: dict[str, float] = {}  # per source: the time of its latest line

    def add(self, source: str, texts: Iterable[str], read_at: float, *,
            note: str = "", stamped: bool = False) -> None:
        """Add ``source``'s new lines, read at ``read_at``. ``stamped``: each line starts with
        its time and a space (Kubernetes' ``timestamps=true``), taken off the text. ``note``:
        the lines are the app's own words (in this style), at ``read_at``."""
        texts = list(texts)
        times = [line_time(text) for text in texts]
        # a source's first lines without a time (a pod's start) go with the first that has one
        first = next((when for when in times if when is not None), read_at)
        for text, when in zip(texts, times, strict=True):
            if stamped and when is not None:
                text = text.partition(" ")[2]
            if when is None:
                when = read_at if note else self._last.get(source, first)
            self._last[source] = when
            self._seq += 1
            line = (when, self._seq, source, text, note)
            if self.lines and line < self.lines[-1]:
                bisect.insort(self.lines, line)
            else:
                self.lines.append(line)
        if len(self.lines) > self.max_lines:
            cut = len(self.lines) - self.max_lines
            del self.lines[:cut]
            self.dropped += cut

    @property
    def seq(self) -> int:
        """How many lines were ever added (the next line's number minus one)."""
        return self._seq

    def appended_since(self, last: LogLine | None, seq: int) -> list[LogLine] | None:
        """The lines added since ``seq`` (:attr:`seq` before them), if they all went after
        ``last`` (the last line held before them) and none was let go; else None (draw
        again)."""
        if last is None:
            return list(self.lines)
        at = bisect.bisect_right(self.lines, last)
        if at == 0 or self.lines[at - 1] is not last:  # ``last`` itself was let go
            return None
        fresh = self.lines[at:]
        return fresh if len(fresh) == self._seq - seq else None

    def clear(self) -> None:
        """Forget the lines held (the user's clear: not counted as let go)."""
        self.lines.clear()

    def shown(self, pattern: re.Pattern[str] | None, only_matches: bool) -> list[LogLine]:
        """The lines to show: all, or with ``only_matches`` those ``pattern`` finds."""
        if pattern is None or not only_matches:
            return list(self.lines)
        return [ln for ln in self.lines if ln[NOTE] or pattern.search(ln[TEXT])]


def mention_pattern(name: str) -> str:
    """A search for the lines that mention object ``name``: by its last part, as a logger
    often writes it (``obj-7.txt`` of ``data/obj-7.txt``), not inside a longer name."""
    return rf"(?<![\w.-]){re.escape(name.rsplit('/', 1)[-1])}(?![\w-]|\.\w)"


def search_pattern(text: str) -> re.Pattern[str] | None:
    """What ``/`` searches for: a case-insensitive regular expression, or the text itself
    when it is not one (``[`` alone)."""
    if not text:
        return None
    try:
        return re.compile(text, re.IGNORECASE)
    except re.error:
        return re.compile(re.escape(text), re.IGNORECASE)
