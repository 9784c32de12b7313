"""The exception tree: every failure of :class:`~backend.ais.AisClient` is an :class:`AisError`.

::

    AisError                  base; ``str(e)`` is one readable line, ``e.message`` the full text
    ├── ConnectionFailed      the cluster (or a node it redirected to) cannot be reached
    ├── ReadOnly              a request that would change the cluster, refused by --readonly
    └── ApiError              an error answer (``status``, ``message``, ``tcode``)
        ├── Unauthorized      401: no AuthN token, or an invalid or expired one; said in words
        ├── Forbidden         403: the token lacks a permission; said in words
        ├── NotFound          404
        ├── AlreadyExists     409
        └── EtlNotBuilt       501: an aisnode built without ETL (no ``etl`` build tag)
"""

from __future__ import annotations

import json
from collections.abc import Mapping

MAX_MESSAGE = 500


def _one_line(text: str) -> str:
    """The first line of ``text``; for multi-line text (a traceback) also its last line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    if len(lines) == 1:
        return lines[0]
    return f"{lines[0]} … {lines[-1]}"


class AisError(Exception):
    """Base of every error raised by the AIStore client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return _one_line(self.message) or type(self).__name__


class ConnectionFailed(AisError):
    """The endpoint is unreachable: connection refused, timed out, or dropped."""


class ReadOnly(AisError):
    """The client is read-only and the request would change the cluster: it was not sent."""


class ApiError(AisError):
    """An error answer from AIStore, parsed from its error JSON (``cmn.ErrHTTP``)."""

    def __init__(self, status: int, message: str, tcode: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.tcode = tcode

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r})"


class Unauthorized(ApiError):
    """401 from a cluster with AuthN on: no token was sent, or it is invalid or expired."""

    def __init__(self, status: int, message: str, tcode: str = "", *,
                 token_sent: bool = False) -> None:
        why = ("the token sent was refused (invalid, revoked or expired): log in again with "
               "`ais auth login`" if token_sent else
               "no token was sent: log in with `ais auth login`, or set AIS_AUTHN_TOKEN or "
               "AIS_AUTHN_TOKEN_FILE")
        super().__init__(status, f"this cluster requires an AuthN token, and {why}; "
                         f"AIStore said: {message}", tcode)


class Forbidden(ApiError):
    """403: the token is valid, but its user's roles lack the permission the request needs."""

    def __init__(self, status: int, message: str, tcode: str = "", *,
                 request: str = "") -> None:
        what = f" ({request})" if request else ""
        super().__init__(status, f"permission denied{what}: your AuthN user's roles do not "
                         "allow it; an AuthN admin can grant it (`ais auth update role`); "
                         f"AIStore said: {message}", tcode)


class NotFound(ApiError):
    """404: no such bucket, object, ETL or job."""


class AlreadyExists(ApiError):
    """409: the bucket or ETL already exists."""


class EtlNotBuilt(ApiError):
    """501 from an AIStore built without ETL (``ext/etl/runtime_off.go``); said in words."""

    def __init__(self, status: int, message: str, tcode: str = "") -> None:
        super().__init__(status, "this AIStore cluster was built without ETL (its aisnode lacks "
                         "the `etl` build tag): ETLs cannot be listed, started or run on it; "
                         f"AIStore said: {message}", tcode)


def _clip(text: str) -> str:
    """At most ~500 characters of a plain-text error; its start and its end (where a
    traceback says what went wrong) survive."""
    if len(text) <= MAX_MESSAGE:
        return text
    return f"{text[:200].rstrip()}\n…\n{text[-(MAX_MESSAGE - 200):].lstrip()}"


def api_error(status: int, body: bytes, headers: Mapping[str, str], reason: str = "", *,
              token_sent: bool = False, request: str = "") -> ApiError:
    """The :class:`ApiError` for an error response to ``request`` (``METHOD path``).

    AIStore puts its error JSON in the body, or in the ``Hdr-Error`` header for HEAD requests;
    a transformer may answer with plain text, which becomes the message as is.
    """
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        text = headers.get("Hdr-Error", "").strip()
    message, tcode = _clip(text), ""
    try:
        info = json.loads(text) if text.startswith("{") else None
    except ValueError:
        info = None
    if isinstance(info, dict) and isinstance(info.get("message"), str):
        message, tcode = info["message"], str(info.get("tcode") or "")
    message = message.strip() or f"HTTP {status} {reason}".strip()
    if status == 401:
        return Unauthorized(status, message, tcode, token_sent=token_sent)
    if status == 403:
        return Forbidden(status, message, tcode, request=request)
    cls = {404: NotFound, 409: AlreadyExists}.get(status, ApiError)
    if status == 501 and "without ETL support" in message:
        cls = EtlNotBuilt
    return cls(status, message, tcode)
