"""What of AIStore's API the embedded cluster does not do, refused with a 501 that names it
(AIStore's error shape), so a request is never accepted and silently ignored: user code that
"works" here would fail on the real cluster otherwise.

Query parameters are AIStore's (``api/apc/query.go``), list flags its ``LsoMsg`` bits
(``api/apc/lsmsg.go``). Parameters AIStore itself ignores where they do not apply are not
listed: only those that ask for something this cluster would not do.
"""

from __future__ import annotations

from aiohttp import web

from ._errors import not_supported
from ._http import Handler

UNSUPPORTED_QUERY = {
    "append_type": "appending to an object (append_type, append_handle)",
    "append_handle": "appending to an object (append_type, append_handle)",
    "archpath": "reading a file out of an archive (archpath)",
    "archregx": "reading files out of an archive by regex (archregx)",
    "archmode": "reading files out of an archive (archmode)",
    "archmime": "reading an archive of a given type (archmime)",
    "uploads": "multipart upload (uploads)",
    "uploadId": "multipart upload (uploadId)",
    "partNumber": "multipart upload (partNumber)",
    "mountpath_label": "mountpath labels (mountpath_label)",
    "original_url": "objects from an HTTP(S) origin (original_url)",
    "skip_vc": "skipping version checks of remote objects (skip_vc)",
}

BY_PRESENCE = {"uploads"}

LS_ARCH_DIR = 1 << 3
LS_DIFF = 1 << 12
LS_NBI = 1 << 15
UNSUPPORTED_LIST_FLAGS = {
    LS_ARCH_DIR: "listing the contents of archives (flag arch-dir)",
    LS_DIFF: "listing differences with the remote bucket (flag diff)",
    LS_NBI: "listing from a bucket inventory (flag nbi)",
}


def refuse_unsupported_list_flags(flags: int) -> None:
    for bit, what in UNSUPPORTED_LIST_FLAGS.items():
        if flags & bit:
            raise not_supported(what)


@web.middleware
async def refuse_unsupported_query(request: web.Request, handler: Handler
                                   ) -> web.StreamResponse:
    """Placed after the error middleware: the refusal is said in AIStore's error JSON."""
    for name, value in request.query.items():
        # empty is "not asked" (the SDK sends archpath="" with no archive), except for a
        # parameter whose presence is the question (S3's ``?uploads``)
        if (what := UNSUPPORTED_QUERY.get(name)) is not None and (value or name in BY_PRESENCE):
            raise not_supported(f"{what}, as in {request.method} {request.path}")
    return await handler(request)
