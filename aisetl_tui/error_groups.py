"""Per-object errors grouped by what they say: the same failure on a thousand objects is one
line with a count, not a thousand lines; where each came from, whether AIStore kept them
all, the names to transform again, and the errors as CSV or JSON. Pure functions, no
widgets."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from backend.ais import ObjError

EXAMPLES = 3  # object names kept per group
KEPT_PER_TARGET = 128  # AIStore keeps at most this many of an ETL job's errors per target
_TARGET = re.compile(r"\bt\[([A-Za-z0-9_-]+)\]")
_OBJECT = re.compile(r"^(?:[a-z0-9]+://)?([^/]+)/(.+)$", re.DOTALL)
Where = Callable[[ObjError], str]  # the target an error happened on (its ID, or "")

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
    targets: set[str] = field(default_factory=set)  # the nodes that said so (their IDs)
    errors: list[ObjError] = field(default_factory=list)  # every one of them


def named_target(err: ObjError) -> str:
    """The target an error names (see :func:`target_of`)."""
    return target_of(err.message)


def group_errors(errors: Iterable[ObjError], first_seen: dict[str, float],
                 now: float, where: Where = named_target) -> list[ErrorGroup]:
    """Groups, largest first. ``first_seen`` maps an object name to when it was first seen
    failing; names seen now for the first time are added to it with ``now``. ``where``
    tells each error's target."""
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
        group.errors.append(err)
        if target := where(err):
            group.targets.add(target)
        if len(group.examples) < EXAMPLES:
            group.examples.append(err.obj_name)
    return sorted(groups.values(), key=lambda g: (-g.count, g.first_seen, g.pattern))


def target_of(message: str) -> str:
    """The ID of the target an error names (AIStore's errors say ``t[ID]``), or ""."""
    found = _TARGET.search(message)
    return found[1] if found else ""


def split_name(obj_name: str) -> tuple[str, str]:
    """``ais://bucket/dir/obj`` (as errors name objects) → ``("bucket", "dir/obj")``."""
    found = _OBJECT.match(obj_name)
    return (found[1], found[2]) if found else ("", obj_name)


def object_name(obj_name: str) -> str:
    """``ais://bucket/dir/obj`` → ``dir/obj``."""
    return split_name(obj_name)[1]


def cap_note(listed: int, reported: Mapping[str, int]) -> str:
    """What is missing from a job's list of errors, in words ("" when nothing is).
    ``reported``: each target's count of failed objects (its snapshot's); AIStore lists at
    most :data:`KEPT_PER_TARGET` of them per target."""
    total = sum(reported.values())
    over = sorted(t for t, n in reported.items() if n > KEPT_PER_TARGET)
    if not over or total <= listed:
        return ""
    nodes = ", ".join(f"t[{t}]" for t in over)
    return (f"{total:,} objects failed and {listed:,} are listed: AIStore lists at most "
            f"{KEPT_PER_TARGET} per target, and {nodes} had more; a retry of those listed "
            f"leaves {total - listed:,}")


def errors_csv(errors: Iterable[ObjError], where: Where = named_target) -> str:
    """One row per error: the object, its error code, the target, the pattern and the whole
    message."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["object", "ecode", "target", "pattern", "message"])
    for err in errors:
        writer.writerow([err.obj_name, err.ecode, where(err), error_pattern(err.message),
                         err.message])
    return out.getvalue()


def errors_json(errors: Iterable[ObjError], where: Where = named_target,
                about: Mapping[str, object] | None = None) -> str:
    """The errors as a list, or, with ``about`` (the job, its ETL, how many failed and how
    many are listed), an object of those facts with the list as its ``errors``."""
    listed = [{"object": err.obj_name, "ecode": err.ecode, "target": where(err),
               "pattern": error_pattern(err.message), "message": err.message}
              for err in errors]
    return json.dumps(listed if about is None else {**about, "errors": listed},
                      indent=1) + "\n"
