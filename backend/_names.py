"""AIStore's rules for bucket and ETL names, which the client checks before sending and the
embedded cluster enforces as AIStore does: one text of each rule for both."""

from __future__ import annotations

import re

MAX_BUCKET_NAME = 64
_BUCKET_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_ETL_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def bucket_name_problem(name: str) -> str | None:
    """None if ``name`` is a valid bucket name, else why not (``cmn.Bck.ValidateName``)."""
    if not name:
        return "bucket name is empty"
    if len(name) > MAX_BUCKET_NAME:
        return f'bucket name "{name}" is too long (max {MAX_BUCKET_NAME} characters)'
    if not _BUCKET_RE.match(name) or ".." in name or name.startswith("."):
        return (f'bucket name "{name}" is invalid: may only contain letters, numbers, dashes '
                "(-), underscores (_), and dots (.), must not start with a dot or contain '..'")
    return None


def etl_name_problem(name: str) -> str | None:
    """None if ``name`` is a valid ETL name, else why not (a Kubernetes pod name's rule, as
    AIStore and its SDK check it)."""
    if not 6 <= len(name) <= 32:
        return f"ETL name {name!r} must be 6 to 32 characters long (it has {len(name)})"
    if not _ETL_NAME_RE.match(name):
        return (f"ETL name {name!r} may contain only lowercase letters, digits and '-', and must "
                "start and end with a letter or digit")
    return None
