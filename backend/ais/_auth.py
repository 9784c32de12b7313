"""Where an AuthN token comes from, in the order the AIStore CLI looks."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

TOKEN_ENV = "AIS_AUTHN_TOKEN"
TOKEN_FILE_ENV = "AIS_AUTHN_TOKEN_FILE"
DEFAULT_TOKEN_FILE = Path(".config") / "ais" / "cli" / "auth.token"


def read_token_file(path: Path) -> str | None:
    """The token in ``path``: JSON ``{"token": ...}`` (what ``ais auth login`` writes), or the
    raw token text; None if the file is missing, unreadable or empty."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return None
        token = data.get("token") if isinstance(data, dict) else None
        return (token.strip() or None) if isinstance(token, str) else None
    return text or None


def load_token(env: Mapping[str, str] = os.environ, home: Path | None = None) -> str | None:
    """The AuthN token to send as ``Authorization: Bearer``, or None.

    1. ``AIS_AUTHN_TOKEN``: the raw JWT;
    2. ``AIS_AUTHN_TOKEN_FILE``: a file with ``{"token": ...}`` or the raw token;
    3. ``~/.config/ais/cli/auth.token`` (written by ``ais auth login``).

    A source that is unset, unreadable or empty is skipped.
    """
    if token := env.get(TOKEN_ENV, "").strip():
        return token
    if (path := env.get(TOKEN_FILE_ENV, "").strip()) and (
        token := read_token_file(Path(path).expanduser())
    ):
        return token
    return read_token_file((home if home is not None else Path.home()) / DEFAULT_TOKEN_FILE)
