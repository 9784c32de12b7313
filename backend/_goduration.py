"""Go duration strings (``"45s"``, ``"5m"``, ``"1h30m"``), as AIStore's ``cos.Duration`` writes
them: one parser for the client and for the embedded cluster."""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def go_duration(text: str) -> float:
    """Seconds; a ValueError naming ``text`` if it is neither ``"0"`` nor a sequence of
    number+unit parts."""
    text = text.strip()
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m[1]) * _UNITS[m[2]]
        pos = m.end()
    if pos != len(text) or not text:
        raise ValueError(f'invalid duration "{text}" (expected e.g. "45s", "5m", "1h30m")')
    return total


def duration_value(value: str | int | float | None, default: float = 0.0) -> float:
    """A duration as AIStore's JSON carries it, in seconds: a Go duration string, or a number
    of nanoseconds (Go's encoding of ``time.Duration``); ``default`` if absent or zero."""
    if value is None or value == "" or value == 0:
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value / 1e9
    if not isinstance(value, str):
        raise ValueError(f"invalid duration {value!r} (expected e.g. \"45s\", \"5m\", or "
                         "nanoseconds)")
    return go_duration(value)
