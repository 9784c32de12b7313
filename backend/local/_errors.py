"""Errors the embedded cluster answers with, shaped like AIStore's ``cmn.ErrHTTP``.

Messages name buckets as ``ais://bucket`` (and objects as ``ais://bucket/object``) because the
official SDK classifies errors by finding that pattern in the message.
"""

from __future__ import annotations


class AISHTTPError(Exception):
    """An error that becomes an HTTP response with AIStore's error JSON."""

    def __init__(self, status: int, message: str, tcode: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.tcode = tcode


def bad_request(message: str) -> AISHTTPError:
    return AISHTTPError(400, message, "ErrBadRequest")


def bucket_not_found(bucket: str) -> AISHTTPError:
    return AISHTTPError(404, f'bucket "ais://{bucket}" does not exist', "ErrBckNotFound")


def bucket_exists(bucket: str) -> AISHTTPError:
    return AISHTTPError(409, f'bucket "ais://{bucket}" already exists', "ErrBckAlreadyExists")


def object_not_found(bucket: str, obj: str) -> AISHTTPError:
    return AISHTTPError(404, f"object ais://{bucket}/{obj} does not exist", "ErrObjNotFound")


def object_conflict(bucket: str, obj: str, reason: str) -> AISHTTPError:
    return AISHTTPError(409, f"cannot write ais://{bucket}/{obj}: {reason}", "ErrConflict")
