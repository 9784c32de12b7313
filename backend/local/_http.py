"""HTTP plumbing shared by the proxy and the targets: errors, action messages, responses."""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import aiohttp
import msgspec
from aiohttp import web

from ._auth import redact
from ._errors import AISHTTPError, bad_request

log = logging.getLogger("aisetl.cluster")

T = TypeVar("T")
R = TypeVar("R")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ActMsg(msgspec.Struct, omit_defaults=True):
    """AIStore's ``apc.ActMsg``: the JSON body of most control requests (GETs included)."""

    action: str = ""
    name: str = ""
    value: Any = None


_actmsg_json = msgspec.json.Decoder(ActMsg)
_actmsg_msgpack = msgspec.msgpack.Decoder(ActMsg)


def error_body(request: web.Request, status: int, message: str, tcode: str, node: str) -> str:
    """``cmn.ErrHTTP`` as AIStore encodes it (``tcode`` is omitted when empty), with no ETL
    secret or signature in it (an error may echo a URL)."""
    return json.dumps({
        **({"tcode": tcode} if tcode else {}),
        "message": redact(message),
        "method": request.method,
        "url_path": redact(request.path),
        "remote_addr": request.remote or "",
        "caller": "",
        "node": node,
        "status": status,
    })


def error_response(request: web.Request, status: int, message: str, tcode: str,
                   node: str, headers: dict[str, str] | None = None) -> web.Response:
    body = error_body(request, status, message, tcode, node)
    if request.method == "HEAD":
        return web.Response(status=status, headers={**(headers or {}), "Hdr-Error": body})
    return web.Response(status=status, text=body, content_type="application/json",
                        headers=headers)


def error_middleware(node: str) -> Callable:
    """Turn every failure into AIStore's error JSON; a bad request never takes the node down."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except AISHTTPError as err:
            message = f"{node}: {err.message}" if err.by_node else err.message
            return error_response(request, err.status, message, err.tcode, node, err.headers)
        except web.HTTPException as err:
            if err.status < 400:
                raise
            message = f"{err.reason}: {request.method} {request.path}"
            if err.status == 405:
                message = f"method {request.method} not allowed on {request.path}"
            elif err.status == 404:
                message = f"invalid URL path {request.path!r}"
                return error_response(request, 400, message, "ErrInvalidURLPath", node)
            return error_response(request, err.status, message, "", node)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as err:
            trace = "".join(traceback.format_exception(err))
            log.error("%s %s failed:\n%s", request.method, redact(request.path_qs),
                      redact(trace))
            return error_response(request, 500, f"internal error: {err!r}", "", node)

    return middleware


LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def _is_local(host: str) -> bool:
    """``127.0.0.1``, ``localhost`` or ``[::1]``, with or without a port."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name.lower() in LOCAL_HOSTS


def request_checks(*checks: Callable[[web.Request], None]) -> Callable:
    """One middleware for every check a request must pass before its handler (each raises
    to refuse it). Placed after the error middleware: refusals are said in AIStore's error
    JSON. One layer, not one per check: each layer costs every request."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        for check in checks:
            check(request)
        return await handler(request)

    return middleware


def local_only(request: web.Request) -> None:
    """The embedded cluster answers this machine only: a request must name it by a local
    host (a web page whose name was rebound to 127.0.0.1 does not), and a browser's request
    from any other origin (a cross-site form or fetch) is refused."""
    if not _is_local(request.host):
        raise AISHTTPError(403, f"Host {request.host!r} is not this machine's: the embedded "
                           "cluster answers 127.0.0.1 and localhost only")
    origin = request.headers.get("Origin")
    if origin is not None and not _is_local(origin.split("://", 1)[-1]):
        raise AISHTTPError(403, f"a request from the web origin {origin!r} is refused: the "
                           "embedded cluster takes no cross-site requests")


async def read_actmsg(request: web.Request) -> ActMsg | None:
    """The request's action message (JSON, or msgpack by Content-Type), or None if no body."""
    body = await request.read()
    if not body.strip():
        return None
    is_msgpack = request.content_type == "application/msgpack"
    try:
        return (_actmsg_msgpack if is_msgpack else _actmsg_json).decode(body)
    except (msgspec.DecodeError, RecursionError) as err:
        kind = "msgpack" if is_msgpack else "JSON"
        raise bad_request(f"malformed {kind} action message in request body: "
                          f"{_decode_problem(err)}") from None


def _decode_problem(err: Exception) -> str:
    return "nested too deeply" if isinstance(err, RecursionError) else str(err)


async def read_body(request: web.Request, kind: type[T], what: str) -> T:
    """The request's JSON body as ``kind`` (a message struct, or ``Any``): 400 if it is not
    one, saying what is wrong where."""
    try:
        return msgspec.json.decode(await request.read(), type=kind, strict=False)
    except msgspec.ValidationError as err:
        raise bad_request(f"invalid {what}: {err}") from None
    except (msgspec.DecodeError, RecursionError) as err:
        raise bad_request(f"malformed JSON in {what}: {_decode_problem(err)}") from None


def decode_value(value: Any, kind: type[T], what: str) -> T:
    try:
        return msgspec.convert(value, kind, strict=False)
    except msgspec.ValidationError as err:
        raise bad_request(f"invalid {what}: {err}") from None


def qbool(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1", "yes", "y")


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=msgspec.json.encode(data),
                        content_type="application/json")


def text_response(text: str, status: int = 200) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain")


class Blocking:
    """Runs blocking file-system work on a bounded pool, off the event loop."""

    def __init__(self, workers: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="io")

    async def __call__(self, fn: Callable[..., R], *args: Any) -> R:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class SessionOwner:
    """A node's outgoing HTTP session, opened at start-up and closed at shutdown."""

    _session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "the node has not started"
        return self._session
