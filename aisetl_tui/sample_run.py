"""A transform tried on a sample of objects: which objects, what each gave, and how a run
differs from the one before. Pure functions and plain data, no widgets and no I/O."""

from __future__ import annotations

import hashlib
import io
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

from .widgets.byte_view import looks_like_text

if TYPE_CHECKING:
    from .etl_code import Kind

PREVIEW_BYTES = 4096  # of each output, kept for its preview
Pick = Literal["first", "random"]
Change = Literal["new error", "still failing", "changed", "fixed", "same", "new"]
CHANGES: tuple[Change, ...] = get_args(Change)  # (in the order a summary gives them)
_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+)', re.MULTILINE)


@dataclass(frozen=True)
class SampleSpec:
    """Which objects to try: the first ``count`` (by name) or ``count`` at random, of those
    under ``prefix`` in ``bucket``."""

    bucket: str
    count: int = 8
    pick: Pick = "first"
    prefix: str = ""

    def describe(self) -> str:
        where = f"ais://{self.bucket}/{self.prefix}" + ("*" if self.prefix else "")
        return f"{self.pick} {self.count} of {where}"


def pick_names(names: Sequence[str], spec: SampleSpec, seed: int = 0) -> list[str]:
    """The sample's object names out of ``names`` (those listed under its prefix), in name
    order. A random pick depends only on ``seed`` and the names, so runs compare."""
    if spec.pick == "first":
        return sorted(names)[:spec.count]
    chosen = random.Random(seed).sample(sorted(names), min(spec.count, len(names)))
    return sorted(chosen)


@dataclass(frozen=True)
class SampleResult:
    """What the transform made of one object: its output's size, digest and first bytes,
    or its error."""

    name: str
    in_size: int
    latency: float  # seconds
    out_size: int = 0
    digest: str = ""  # of the whole output
    head: bytes = b""  # the output's first PREVIEW_BYTES
    error: str = ""  # the whole error text (a traceback, when the transformer sent one)
    log: str = ""  # the transformer's log at this object, when the error has no traceback

    @property
    def ok(self) -> bool:
        return not self.error


def result_of(name: str, in_size: int, latency: float, output: bytes) -> SampleResult:
    return SampleResult(name, in_size, latency, len(output), hashlib.sha256(output).hexdigest(),
                        output[:PREVIEW_BYTES])


@dataclass
class SampleRun:
    """One ``ctrl+r``: the code it ran, the sample, and each object's result."""

    number: int
    code: str
    spec: SampleSpec
    replaced: str = ""  # what the re-init replaced, in words ("" for nothing)
    kind: Kind = "function"  # of the code
    results: dict[str, SampleResult] = field(default_factory=dict)

    def latencies(self) -> list[float]:
        return sorted(r.latency for r in self.results.values() if r.ok)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results.values() if not r.ok)


def latency_text(seconds: float | None, sign: bool = False) -> str:
    """``12.3 ms`` (``+1.2 ms`` with ``sign``: a difference); ``-`` for none."""
    if seconds is None:
        return "-"
    return f"{seconds * 1000:+.1f} ms" if sign else f"{seconds * 1000:.1f} ms"


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` (0 to 1) percentile of sorted ``values`` by nearest rank; None for none."""
    if not values:
        return None
    return values[max(0, min(len(values), math.ceil(q * len(values))) - 1)]


def change(before: SampleResult | None, now: SampleResult) -> Change:
    """How an object's result changed since the run before."""
    if before is None:
        return "new"
    if not now.ok:
        return "still failing" if not before.ok else "new error"
    if not before.ok:
        return "fixed"
    return "same" if before.digest == now.digest else "changed"


@dataclass(frozen=True)
class Comparison:
    """A run against the one before it, on the objects both tried."""

    changes: dict[str, Change]
    p50_delta: float | None  # seconds, this run's p50 less the previous one's
    p95_delta: float | None

    def counts(self) -> dict[Change, int]:
        """How many of each change, the ones to look at first."""
        counts = {what: sum(1 for c in self.changes.values() if c == what) for what in CHANGES}
        return {what: n for what, n in counts.items() if n}


def compare(before: SampleRun | None, now: SampleRun) -> Comparison:
    previous = before.results if before else {}
    changes = {name: change(previous.get(name), result) for name, result in now.results.items()}
    if before is None:
        return Comparison(changes, None, None)
    deltas = []
    for q in (0.5, 0.95):
        mine, theirs = percentile(now.latencies(), q), percentile(before.latencies(), q)
        deltas.append(None if mine is None or theirs is None else mine - theirs)
    return Comparison(changes, *deltas)


def user_code_line(message: str, dynamic_is_user: bool = False) -> int | None:
    """The line of the user's code a traceback ends in: its last frame in the ETL's code
    (``code.py`` where the transformer keeps an ``init code`` ETL, ``<aisetl_…>`` for a
    function sent in a class; with ``dynamic_is_user``, ``<dynamic-code>``: an
    ``ETLServer`` class of the user's, pickled, has no file name). None when the traceback
    names no such frame."""
    frames = [(path, int(line)) for path, line in _FRAME.findall(message)
              if path.rsplit("/", 1)[-1] == "code.py" or path.startswith("<aisetl_")
              or (dynamic_is_user and path == "<dynamic-code>")]
    return frames[-1][1] if frames else None


def failing_line(result: SampleResult, dynamic_is_user: bool = False) -> int | None:
    """The line of the user's code a failed object stopped at, from its error or, when that
    has no traceback, from its transformer's log."""
    return (user_code_line(result.error, dynamic_is_user)
            or user_code_line(result.log, dynamic_is_user))


def log_at(log: str, needle: str, before: int = 20, after: int = 3) -> str:
    """What ``log`` says about one object: from the first line naming ``needle`` (its name as
    the transformer sees it) within ``before`` lines of the last one, to ``after`` lines past
    that last one (a traceback sits between, or just after); "" when no line names it."""
    lines = log.splitlines()
    found = [i for i, line in enumerate(lines) if needle in line]
    if not found:
        return ""
    first = next(i for i in found if i >= found[-1] - before)
    return "\n".join(lines[first:found[-1] + after + 1])


def describe_output(head: bytes, size: int) -> tuple[str, bool]:
    """(what the output is, in words; whether to show it as hex)."""
    if image := _image(head):
        return image, True
    if looks_like_text(head):
        return f"text, {size:,} bytes", False
    return f"binary, {size:,} bytes", True


def _image(head: bytes) -> str:
    """``"PNG image 640x480 (RGB)"`` for an image Pillow can identify from its first bytes,
    else ""."""
    from PIL import Image, UnidentifiedImageError  # (only once an output is shown)

    try:
        with Image.open(io.BytesIO(head)) as image:
            return f"{image.format} image {image.width}x{image.height} ({image.mode})"
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return ""
