"""User configuration: key remapping from ``$XDG_CONFIG_HOME/aisetl-tui/keymap.toml``.

Every binding has an id (for example ``buckets.create``); the file maps ids to keys::

    [keymap]
    "buckets.create" = "n"
    "etls.stop" = "ctrl+s"
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path


class ConfigError(Exception):
    """The configuration file cannot be used; the message says where and why."""


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "aisetl-tui"


def load_keymap(path: Path | None = None) -> dict[str, str]:
    path = path or config_dir() / "keymap.toml"
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: {err}") from None
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in keymap.items()):
        raise ConfigError(f'{path}: [keymap] must map binding ids to keys, e.g. "etls.stop" = "x"')
    return keymap
