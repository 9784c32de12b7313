"""ETL in the embedded cluster: transformers per target, inline and offline transforms."""

from ._images import ImageError, ImageRegistry

__all__ = ["ImageError", "ImageRegistry"]
