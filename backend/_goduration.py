"""Go duration strings (``"45s"``, ``"5m"``, ``"1h30m"``), as AIStore's ``cos.Duration`` writes
them: one parser for the client and for the embedded cluster."""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def go_duration(text: str) -> float:
    """Seconds; a ValueError naming ``text`` if it is not a sequence of number+unit parts."""
    text = text.strip()
    pos, total = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m[1]) * _UNITS[m[2]]
        pos = m.end()
    if pos != len(text) or not text:
        raise ValueError(f'invalid duration "{text}" (expected e.g. "45s", "5m", "1h30m")')
    return total
