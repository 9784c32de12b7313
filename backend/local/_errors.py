"""Errors the embedded cluster answers with, shaped like AIStore's ``cmn.ErrHTTP``.

Messages name buckets as ``ais://bucket`` (and objects as ``ais://bucket/object``) because the
official SDK classifies errors by finding that pattern in the message.
"""

from __future__ import annotations


class AISHTTPError(Exception):
    """An error that becomes an HTTP response with AIStore's error JSON.

    ``by_node``: the message starts with the answering node (``t[ID]: ...``), as AIStore's
    own not-found errors do. ``headers`` go out with it (a 416's ``Content-Range``).
    """

    def __init__(self, status: int, message: str, tcode: str = "", *,
                 by_node: bool = False, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.tcode = tcode
        self.by_node = by_node
        self.headers = headers or {}


def not_supported(what: str) -> AISHTTPError:
    """A 501 for what AIStore does and the embedded cluster does not: never a silent success."""
    return AISHTTPError(501, f"{what} is not supported by the embedded cluster")


def bad_request(message: str) -> AISHTTPError:
    """A 400; like AIStore's plain errors, it carries no tcode."""
    return AISHTTPError(400, message)


def bucket_not_found(bucket: str) -> AISHTTPError:
    return AISHTTPError(404, f'bucket "ais://{bucket}" does not exist', "ErrBckNotFound")


def bucket_exists(bucket: str) -> AISHTTPError:
    return AISHTTPError(409, f'bucket "ais://{bucket}" already exists', "ErrBucketAlreadyExists")


def object_not_found(bucket: str, obj: str) -> AISHTTPError:
    return AISHTTPError(404, f"ais://{bucket}/{obj} does not exist", "ErrNotFound", by_node=True)


def job_not_found(xid: str) -> AISHTTPError:
    return AISHTTPError(404, f"x-[{xid}] does not exist", "ErrNotFound", by_node=True)


def object_conflict(bucket: str, obj: str, reason: str) -> AISHTTPError:
    return AISHTTPError(409, f"cannot write ais://{bucket}/{obj}: {reason}", "ErrConflict")
