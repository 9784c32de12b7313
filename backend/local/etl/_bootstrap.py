"""Runs inside a transformer process: serves one ETL with the SDK's ETL web-server framework.

Modes (``AISETL_MODE``):

* ``class`` — what ``aistorage/runtime_python`` does: unpickle ``ETL_CLASS_PAYLOAD`` (an
  ``ETLServer`` subclass sent by ``Etl.init_class``), instantiate it and serve it;
* ``code`` — a legacy ``init code`` ETL: ``transform(input_bytes)`` from the user's ``code.py``;
* ``io`` — a legacy ``io://`` ETL: run ``code.py`` once per object, object on stdin, result on
  stdout; a non-zero exit is an error whose text is the script's stderr (its traceback).

Every transform error is answered with its real text (not a generic message), so the target
can report ``ETL error: <what went wrong>``.
"""

from __future__ import annotations

import base64
import importlib.util
import inspect
import io
import json
import logging
import os
import socketserver
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from aistore.sdk.etl.webserver.base_etl_server import ETLServer
from aistore.sdk.etl.webserver.http_multi_threaded_server import (
    HTTPMultiThreadedServer,
    ThreadedHTTPServer,
)

from backend._etl_runtime import result_bytes

HOST = "127.0.0.1"

# The SDK's servers log at INFO, where httpx writes a line for every request: one per object
# the FastAPI server puts directly to a target, which costs the transformer CPU and floods its
# log. Its warnings and errors still show.
logging.getLogger("httpx").setLevel(logging.WARNING)
_last_error = threading.local()
_log = logging.getLogger("aisetl.etl")


def _remember_errors(transform: Callable) -> Callable:
    """The error of a transform, kept for its answer, and one log line naming the object
    (the SDK's servers log none for a failing transform: the error workbench finds the
    object's moment in the log by it)."""
    def wrapped(self: ETLServer, data: Any, path: str, etl_args: str) -> bytes:
        try:
            return transform(self, data, path, etl_args)
        except Exception as err:
            _last_error.text = traceback.format_exc()
            _log.error("transforming %s failed: %s", path, f"{type(err).__name__}: {err}")
            raise

    return wrapped


class _Handler(HTTPMultiThreadedServer.RequestHandler):
    """HTTP/1.1 with keep-alive (one connection per target worker instead of one per object),
    and errors answered with the transform's own error text."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # kept-alive small replies must not wait for delayed ACKs
    _has_length = False

    def send_response(self, code: int, message: str | None = None) -> None:
        self._has_length = False
        super().send_response(code, message)

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "content-length":
            self._has_length = True
        super().send_header(keyword, value)

    def end_headers(self) -> None:
        if not self._has_length:  # a streamed body ends when the connection closes
            super().send_header("Connection", "close")
            self.close_connection = True
        super().end_headers()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        text = getattr(_last_error, "text", None) if code >= 500 else None
        _last_error.text = None
        body = (text or message or explain or "error").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _LocalServer(HTTPMultiThreadedServer):
    RequestHandler = _Handler


def _load_module(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("code", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["code"] = module
    spec.loader.exec_module(module)
    return module


def code_server(path: str, names: dict[str, str], chunk_size: int) -> type[ETLServer]:
    """The legacy python runtime's contract: ``transform(data)``, or ``transform(data, context)``
    with optional ``before(context)`` / ``after(context)``; with ``chunk_size`` the object
    arrives in chunks and the result is ``context["result"]`` (or what ``after`` returns)."""
    module = _load_module(path)
    func = getattr(module, names["transform"])
    before = getattr(module, names["before"]) if names.get("before") else None
    after = getattr(module, names["after"]) if names.get("after") else None
    takes_context = len(inspect.signature(func).parameters) >= 2
    if (chunk_size or before or after) and not takes_context:
        raise SystemExit(f"{names['transform']}() must take (data, context) when chunk_size, "
                         "before or after is used")

    class CodeServer(_LocalServer):
        @_remember_errors
        def transform(self, data: bytes | str, path: str, etl_args: str) -> bytes:
            context: dict[str, Any] = {"etl_args": etl_args}
            if before:
                before(context)
            if chunk_size:
                with open(data, "rb") if isinstance(data, str) else io.BytesIO(data) as f:
                    while chunk := f.read(chunk_size):
                        func(chunk, context)
            else:
                context["result"] = func(data, context) if takes_context else func(data)
            if after:
                context["result"] = after(context)
            return result_bytes(context.get("result"), names["after"] if after
                                else names["transform"])

    return CodeServer


def _fail(text: str) -> None:
    _last_error.text = text
    raise RuntimeError(text)


def io_server(path: str, timeout: float | None) -> type[ETLServer]:
    class IoServer(_LocalServer):
        def transform(self, data: bytes, path_: str, etl_args: str) -> bytes:
            env = {**os.environ, "ETL_ARGS": etl_args, "OBJ_PATH": path_}
            try:
                done = subprocess.run([sys.executable, path], input=data, capture_output=True,
                                      timeout=timeout, env=env, check=False)
            except subprocess.TimeoutExpired:
                _fail(f"io:// script did not finish within {timeout:g}s")
            sys.stderr.buffer.write(done.stderr)
            if done.returncode != 0:
                _fail(f"io:// script exited with code {done.returncode}:\n"
                      + done.stderr.decode(errors="replace"))
            return done.stdout

    return IoServer


def class_server() -> type[ETLServer]:
    payload = os.environ.get("ETL_CLASS_PAYLOAD", "")
    if not payload:
        raise SystemExit("ETL_CLASS_PAYLOAD is not set")
    import cloudpickle

    try:
        cls = cloudpickle.loads(base64.b64decode(payload))
    except Exception as err:
        raise SystemExit(f"Failed to deserialize ETL_CLASS_PAYLOAD: {err!r}") from err
    if not isinstance(cls, type) or not issubclass(cls, ETLServer):
        raise SystemExit(f"ETL_CLASS_PAYLOAD holds {cls!r}, not an ETLServer subclass")
    if issubclass(cls, HTTPMultiThreadedServer):  # give it our error reporting too
        attrs: dict[str, Any] = {"RequestHandler": _Handler}
        if cls.transform is not ETLServer.transform:
            attrs["transform"] = _remember_errors(cls.transform)
        cls = type(cls.__name__, (cls,), attrs)
    return cls


def _quiet_resets(self: ThreadedHTTPServer, request: Any, client_address: Any) -> None:
    """A peer closing a kept-alive connection is normal, not a traceback for the log."""
    if not isinstance(sys.exc_info()[1], ConnectionError):
        socketserver.BaseServer.handle_error(self, request, client_address)


def _subclass_of(cls: type, module: str, name: str) -> bool:
    """Whether ``cls`` derives from the SDK's server ``name``; FastAPI and Flask are imported
    only by a class that uses them (each costs a transformer's start a tenth of a second or
    more)."""
    loaded = sys.modules.get(f"aistore.sdk.etl.webserver.{module}")
    return loaded is not None and issubclass(cls, getattr(loaded, name))


def serve(cls: type[ETLServer], port: int) -> None:
    # Keep-alive connections must not hold up a stop: don't wait for their threads.
    ThreadedHTTPServer.daemon_threads = True
    ThreadedHTTPServer.block_on_close = False
    ThreadedHTTPServer.handle_error = _quiet_resets
    if _subclass_of(cls, "fastapi_server", "FastAPIServer"):
        import uvicorn

        # NUM_WORKERS processes, as the runtime image runs them: FastAPIServer transforms
        # HTTP requests on its event loop, so one process serves one object at a time.
        uvicorn.run("backend.local.etl._bootstrap:fastapi_app", factory=True,
                    workers=int(os.environ.get("NUM_WORKERS") or 1),
                    host=HOST, port=port, log_level="warning", access_log=False,
                    ws_max_size=16 * 1024**3, ws_ping_interval=None, ws_ping_timeout=None)
        return
    server = cls()
    server.host, server.port = HOST, port
    if _subclass_of(cls, "flask_server", "FlaskServer"):
        server.app.run(host=HOST, port=port, threaded=True)
    else:
        server.start()


def fastapi_app() -> Any:
    """The app of each uvicorn worker process: the class from the payload, instantiated."""
    return class_server()().app


def main() -> None:
    mode = os.environ["AISETL_MODE"]
    port = int(os.environ["AISETL_PORT"])
    code = os.environ.get("AISETL_CODE", "")
    if mode == "class":
        cls = class_server()
    elif mode == "code":
        names = json.loads(os.environ["AISETL_FUNCS"])
        cls = code_server(code, names, int(os.environ.get("AISETL_CHUNK_SIZE", "0")))
    elif mode == "io":
        timeout = float(os.environ.get("AISETL_OBJ_TIMEOUT", "0")) or None
        cls = io_server(code, timeout)
    else:
        raise SystemExit(f"unknown AISETL_MODE {mode!r}")
    serve(cls, port)


if __name__ == "__main__":
    main()
