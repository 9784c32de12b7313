"""ETL in the embedded cluster (AIStore's ``ext/etl``): transformers per target, their
communicators, offline jobs, and the init and transform messages. The nodes' HTTP handlers
use it (``_target_etl.py``, ``_target_xact.py``, ``_proxy_etl.py``); it never imports them."""

from ._comm import TransformError
from ._images import ImageError, ImageRegistry
from ._manager import OBJECT_ROUTE, Route, TargetEtl, TargetEtls
from ._msgs import HPULL, HPUSH, IO, TCBMsg, etl_not_found, parse_init_msg

__all__ = [
    "HPULL",
    "HPUSH",
    "IO",
    "OBJECT_ROUTE",
    "ImageError",
    "ImageRegistry",
    "Route",
    "TCBMsg",
    "TargetEtl",
    "TargetEtls",
    "TransformError",
    "etl_not_found",
    "parse_init_msg",
]
