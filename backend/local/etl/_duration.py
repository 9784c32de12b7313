"""Go duration strings (``"45s"``, ``"5m"``, ``"1h30m"``), as AIStore's ``cos.Duration``."""

from __future__ import annotations

from ..._goduration import go_duration


def parse_duration(value: str | int | float | None, default: float) -> float:
    """Seconds; a number is nanoseconds (Go's JSON encoding of time.Duration)."""
    if value is None or value == "" or value == 0:
        return default
    if isinstance(value, int | float):
        return value / 1e9
    return go_duration(value)
