"""The embedded AIStore-compatible cluster: a proxy and N targets on 127.0.0.1, and the
images its transformers run."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._auth import default_token_path, read_token
    from ._cluster import (
        DEFAULT_PORT,
        ClusterError,
        LocalCluster,
        RunInfo,
        default_data_dir,
        find_running,
        healthy,
        process_alive,
        start_in_background,
    )
    from .etl import ImageError, ImageRegistry

# Loaded on first use: every transformer and sandbox is a module of this package, and must not
# pay for the cluster's HTTP machinery (a quarter of a second) at each start.
_LAZY = {
    **dict.fromkeys(("default_token_path", "read_token"), "._auth"),
    **dict.fromkeys(("DEFAULT_PORT", "ClusterError", "LocalCluster", "RunInfo",
                     "default_data_dir", "find_running", "healthy", "process_alive",
                     "start_in_background"), "._cluster"),
    **dict.fromkeys(("ImageError", "ImageRegistry"), ".etl"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name], __name__), name)


def confinement_gaps() -> list[str]:
    """What of a pod's confinement transformers do not get on this machine, in words."""
    from .etl._confinement import confinement_gaps as gaps  # (tries a sandbox: not at import)

    return gaps()


__all__ = [
    "DEFAULT_PORT",
    "ClusterError",
    "ImageError",
    "ImageRegistry",
    "LocalCluster",
    "RunInfo",
    "confinement_gaps",
    "default_data_dir",
    "default_token_path",
    "find_running",
    "healthy",
    "process_alive",
    "read_token",
    "start_in_background",
]
