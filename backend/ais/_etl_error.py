"""AIStore's ETL error text (``cmn/err.go`` ``ErrETL``) taken apart into fields.

A failed init, or an inline transform aborted by its pod, comes back as::

    [t[TID],etl="NAME",pod="POD",service="SVC",pod_status="container: C, state: S,
    reason: R, message: M, exitCode: N"] reason

(one line; every part optional: a transformer that crashed after init aborts its ETL with
``[pod="POD",pod_status="..."] reason``, no target; the values are Go ``%q`` strings, and the
pod status is ``k8s.PodStatus.String()``), possibly after a node's own prefix (``p[ID]: ``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_QUOTED = r'"(?:[^"\\]|\\.)*"'
_HEAD = re.compile(rf"\[(?:t\[(?P<tid>[^\]]*)\](?=[,\]]))?(?P<fields>(?:,?\w+={_QUOTED})*)\]\s*")
_FIELD = re.compile(rf"(?P<key>\w+)=(?P<value>{_QUOTED})")
_STATUS_KEYS = ("container", "state", "reason", "message", "exitCode")
MESSAGE_LINES = 6  # of a long status message (a log's tail), the last ones are shown


@dataclass(frozen=True)
class EtlFailure:
    """Where and why an ETL failed, as AIStore reported it ("" where it did not say)."""

    target: str
    etl: str = ""
    pod: str = ""
    service: str = ""
    container: str = ""
    state: str = ""
    reason: str = ""
    message: str = ""
    exit_code: int | None = None
    cause: str = ""  # AIStore's own words after the bracket

    def lines(self) -> list[str]:
        """The failure in words, one fact a line, most telling first."""
        out = [self.cause or "the ETL failed"]
        out.append(", ".join(part for part in (f"target {self.target}" if self.target else "",
                                               f"pod {self.pod}" if self.pod else "") if part))
        if self.state:
            container = f"container {self.container}: " if self.container else "container: "
            detail = ", ".join(part for part in (
                self.state, self.reason, f"exit code {self.exit_code}"
                if self.exit_code not in (None, 0) or self.state == "Terminated" else "")
                if part)
            out.append(container + detail)
        msg = [line for line in self.message.splitlines() if line.strip()]
        if len(msg) > MESSAGE_LINES:  # a log's tail: its end (a traceback's error) matters
            out.append(f"message, its last {MESSAGE_LINES} of {len(msg)} lines:")
            out += msg[-MESSAGE_LINES:]
        elif msg:
            out += [f"message: {msg[0]}", *msg[1:]]
        return out


def _unquote(value: str) -> str:
    """A Go ``%q`` string's text (JSON reads the escapes Go uses for printable text)."""
    try:
        return str(json.loads(value))
    except ValueError:
        return value[1:-1]


def _pod_status(text: str) -> dict[str, str]:
    """``container: C, state: S, reason: R, message: M, exitCode: N`` by key; the message
    may itself hold ", " (only the exit code follows it)."""
    out: dict[str, str] = {}
    rest = text
    for key, nxt in zip(_STATUS_KEYS, (*_STATUS_KEYS[1:], None), strict=True):
        if not rest.startswith(f"{key}: "):
            break
        rest = rest[len(key) + 2:]
        if nxt is None:
            out[key] = rest
            break
        sep = f", {nxt}: "
        value, found, after = rest.rpartition(sep) if key == "message" else rest.partition(sep)
        if not found:
            out[key] = rest
            break
        out[key], rest = value, f"{nxt}: {after}"
    return out


def parse_etl_error(text: str) -> EtlFailure | None:
    """The :class:`EtlFailure` in ``text``, or None if it holds no AIStore ETL error."""
    head = next((m for m in _HEAD.finditer(text) if m["tid"] is not None or m["fields"]), None)
    if head is None:
        return None
    fields = {m["key"]: _unquote(m["value"]) for m in _FIELD.finditer(head["fields"])}
    status = _pod_status(fields.get("pod_status", ""))
    code = status.get("exitCode", "")
    cause = text[head.end():].strip()
    if fields.get("pod_status") and cause.startswith(fields["pod_status"]):
        # a pod watcher's abort repeats the status as its reason; say what it means instead
        more = cause[len(fields["pod_status"]):].strip()
        cause = " ".join(("the transformer's container ended", more)).strip()
    return EtlFailure(
        target=head["tid"] or "", etl=fields.get("etl", ""), pod=fields.get("pod", ""),
        service=fields.get("service", ""), container=status.get("container", ""),
        state=status.get("state", ""), reason=status.get("reason", ""),
        message=status.get("message", ""),
        exit_code=int(code) if code.lstrip("-").isdigit() else None,
        cause=cause,
    )
