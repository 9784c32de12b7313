"""Per-object errors grouped by what they say: the same failure on a thousand objects is one
line with a count, not a thousand lines. Pure functions, no widgets."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from backend.ais import ObjError

EXAMPLES = 3  # object names kept per group

# Most specific first: a URI holds a path, a path holds numbers.
_MASKS = [
    (re.compile(r"\b[a-z]+://\S*?(?=[.,:;)]?(?:\s|$))"), "<obj>"),  # not its punctuation
    (re.compile(r"(['\"]).*?\1"), "<name>"),
    (re.compile(r"\b[tp]\[[^\]]*\]"), "<node>"),
    (re.compile(r"(?<![\w.])(?:\.{0,2}/[\w.@%+=:,-]+)+/?"), "<path>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b", re.IGNORECASE), "<id>"),
    (re.compile(r"\b0x[0-9a-f]+\b|\b\d+(?:\.\d+)?", re.IGNORECASE), "<n>"),
]


def error_line(message: str) -> str:
    """The line of an error that says what went wrong: the last non-blank one (a Python
    traceback ends with the exception)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"


def error_pattern(message: str) -> str:
    """``message``'s telling line with object names, paths, node ids and numbers masked."""
    text = error_line(message)
    for regex, mask in _MASKS:
        text = regex.sub(mask, text)
    return text


@dataclass
class ErrorGroup:
    pattern: str
    count: int = 0
    first_seen: float = 0.0  # when the monitor first saw one of these (time.time())
    examples: list[str] = field(default_factory=list)
    ecodes: set[int] = field(default_factory=set)


def group_errors(errors: Iterable[ObjError], first_seen: dict[str, float],
                 now: float) -> list[ErrorGroup]:
    """Groups, largest first. ``first_seen`` maps an object name to when it was first seen
    failing; names seen now for the first time are added to it with ``now``."""
    groups: dict[str, ErrorGroup] = {}
    for err in errors:
        seen = first_seen.setdefault(err.obj_name, now)
        pattern = error_pattern(err.message)
        group = groups.get(pattern)
        if group is None:
            group = groups[pattern] = ErrorGroup(pattern, first_seen=seen)
        group.count += 1
        group.first_seen = min(group.first_seen, seen)
        group.ecodes.add(err.ecode)
        if len(group.examples) < EXAMPLES:
            group.examples.append(err.obj_name)
    return sorted(groups.values(), key=lambda g: (-g.count, g.first_seen, g.pattern))
