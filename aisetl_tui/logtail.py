"""Which log lines are new since the last poll, when each poll returns a bounded tail."""

from __future__ import annotations


def new_lines(seen: list[str], now: list[str]) -> list[str]:
    """The lines of ``now`` that follow what ``seen`` ended with.

    Both are tails of the same growing log; the older part of ``now`` overlaps the newer
    part of ``seen``. With no overlap (the log rotated past everything seen), all of ``now``
    is new.
    """
    if not seen:
        return now
    for overlap in range(min(len(seen), len(now)), 0, -1):
        if seen[-overlap:] == now[:overlap]:
            return now[overlap:]
    return now
