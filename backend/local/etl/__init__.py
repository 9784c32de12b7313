"""ETL in the embedded cluster (AIStore's ``ext/etl``): transformers per target, their
communicators, offline jobs, and the init and transform messages. The nodes' HTTP handlers
(``_target_etl.py``, ``_target_xact.py``, ``_proxy_etl.py``) use its modules; it never imports
them. Only the images are exported here: the app's start must not load the cluster's HTTP
machinery."""

from ._images import ImageError, ImageRegistry

__all__ = ["ImageError", "ImageRegistry"]
