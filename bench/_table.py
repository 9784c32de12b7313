"""The table every benchmark ends with: each measure, its value, its target, PASS or MISS."""

from __future__ import annotations

import math

Row = tuple[str, str, str, bool | None]  # measure, value, target, met (None: no target)


def p99(values: list[float]) -> float:
    """The 99th percentile of sorted ``values`` (nearest rank): the smallest value that at
    least 99 % of them do not exceed. Of 100 values, the second highest."""
    return values[math.ceil(len(values) * 0.99) - 1]


def print_results(rows: list[Row]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure':<{width}}  {'value':>12}  {'target':>10}")
    for name, value, target, ok in rows:
        met = "" if ok is None else "PASS" if ok else "MISS"
        print(f"{name:<{width}}  {value:>12}  {target:>10}  {met}".rstrip())
