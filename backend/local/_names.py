"""Validation of bucket and object names, as AIStore's ``cmn/bck.go`` and ``cos.ValidateWname``."""

from __future__ import annotations

import re
from urllib.parse import unquote

from ._errors import bad_request

_BUCKET_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
MAX_BUCKET_NAME = 64
MAX_NAME_COMPONENT = 255  # bytes, the file system's limit for one path component


def validate_bucket_name(name: str) -> str:
    if not name:
        raise bad_request("bucket name is empty")
    if len(name) > MAX_BUCKET_NAME:
        raise bad_request(f'bucket name "{name}" is too long (max {MAX_BUCKET_NAME} characters)')
    if not _BUCKET_RE.match(name) or ".." in name or name.startswith("."):
        raise bad_request(
            f'bucket name "{name}" is invalid: may only contain letters, numbers, dashes (-), '
            "underscores (_), and dots (.), must not start with a dot or contain '..'"
        )
    return name


def validate_object_name(bucket: str, name: str) -> str:
    def invalid(reason: str) -> Exception:
        return bad_request(f'invalid object name "ais://{bucket}/{name}": {reason}')

    if not name:
        raise invalid("empty")
    if "\x00" in name:
        raise invalid("contains a NUL character")
    if name.startswith("/"):
        raise invalid("absolute path")
    if name.endswith("/"):
        raise invalid("trailing '/'")
    if name.startswith("~/"):
        raise invalid("leading '~/'")
    for part in name.split("/"):
        if part in ("", ".", ".."):
            raise invalid("empty, '.' or '..' path component")
        if len(part.encode()) > MAX_NAME_COMPONENT:
            raise invalid(f"a path component is longer than {MAX_NAME_COMPONENT} bytes")
    return name


def object_path_names(raw_path: str) -> tuple[str, str]:
    """Validated (bucket, object) of ``/v1/objects/<bucket>/<object>``, from the raw path.

    The raw path, not the router's normalized one, so that ``a/../b`` is refused rather than
    silently stored as ``b``.
    """
    path = raw_path.split("?", 1)[0].removeprefix("/v1/objects/")
    bucket, _, obj = path.partition("/")
    bucket = validate_bucket_name(unquote(bucket))
    return bucket, validate_object_name(bucket, unquote(obj))


def parse_uname(uname: str) -> tuple[str, str]:
    """``ais/@#/bucket/object`` (an AIStore uname) → (bucket, object)."""
    parts = uname.split("/", 3)
    if len(parts) != 4 or parts[0] not in ("ais", "") or parts[1] != "@#":
        raise bad_request(f"invalid object uname {uname!r}: expected ais/@#/<bucket>/<object>")
    return parts[2], parts[3]


def base36(n: int) -> str:
    """``n`` in base 36 (digits, then lowercase letters), as Go's ``strconv.FormatInt(n, 36)``."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"
