"""ETL in the embedded cluster (AIStore's ``ext/etl``): transformers per target, their
communicators, offline jobs, and the init and transform messages. The nodes' HTTP handlers
(``_target_etl.py``, ``_target_xact.py``, ``_proxy_etl.py``) use its modules; it never imports
them. Only the images are exported here: the app's start must not load the cluster's HTTP
machinery."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._images import ImageError, ImageRegistry


def __getattr__(name: str) -> Any:
    """The images, loaded on first use (a transformer, a module of this package, needs none)."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module("._images", __name__), name)


__all__ = ["ImageError", "ImageRegistry"]
