"""Validation of bucket and object names, as AIStore's ``cmn/bck.go`` and ``cos.ValidateWname``."""

from __future__ import annotations

from urllib.parse import unquote

from .._names import bucket_name_problem
from ._errors import bad_request


def validate_bucket_name(name: str) -> str:
    if problem := bucket_name_problem(name):
        raise bad_request(problem)
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


def bck_json(bucket: str | None) -> dict:
    """``cmn.Bck`` of an ``ais://`` bucket; an empty one (no provider) for None."""
    return {"name": bucket or "", "provider": "ais" if bucket else "",
            "namespace": {"uuid": "", "name": ""}}
