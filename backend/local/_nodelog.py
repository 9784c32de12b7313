"""A node's log, as AIStore gives it (``GET /v1/daemon?what=log``): the file the supervisor
writes the node's output to, by severity (``info``: everything; ``warning``: warnings and
errors; ``error``: errors), from a byte ``offset``, or with ``all`` as a TAR.GZ of the file."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from aiohttp import web

from ._errors import bad_request

SEVERITIES = {"": (), "i": (), "info": (), "w": ("WARNING", "ERROR", "CRITICAL"),
              "warning": ("WARNING", "ERROR", "CRITICAL"), "e": ("ERROR", "CRITICAL"),
              "error": ("ERROR", "CRITICAL")}
MAX_LOG = 16 * 1024 * 1024  # the most one answer gives: the log's end


def log_answer(request: web.Request, path: Path) -> web.Response:
    """The answer to ``what=log`` for the log at ``path``."""
    severity = request.query.get("severity", "").lower()
    if severity not in SEVERITIES:
        raise bad_request(f"invalid log severity {severity!r} (expecting info, warning or "
                          "error)")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""
    if request.query.get("all", "").lower() in ("true", "1", "yes"):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as t:
            info = tarfile.TarInfo(path.name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        return web.Response(body=buf.getvalue(), content_type="application/x-gzip")
    try:
        offset = int(request.query.get("offset") or 0)
    except ValueError:
        raise bad_request(f"invalid log offset {request.query['offset']!r}") from None
    data = data[offset:][-MAX_LOG:]
    if levels := SEVERITIES[severity]:
        data = b"".join(line for line in data.splitlines(keepends=True)
                        if any(f" {level} ".encode() in line for level in levels))
    return web.Response(body=data, content_type="text/plain")
