"""What runs inside a transformer built by :func:`~backend.ais.class_init_msg`.

This module is pickled *by value* with the ETL class (``cloudpickle.register_pickle_by_value``),
so the transformer needs neither this package nor the user's code installed: only the
``aistore`` SDK, which the ``aistorage/runtime_python`` images have. Keep it self-contained:
standard library imports only, and nothing that refers to the rest of ``backend``.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import types
from collections.abc import Callable
from typing import Any


def load_function(code: str, func: str, module_name: str) -> Callable[..., Any]:
    """Run ``code`` in a fresh module (not in ``sys.modules``) and return its ``func``."""
    module = types.ModuleType(module_name)
    exec(compile(code, f"<{module_name}>", "exec"), module.__dict__)
    fn = module.__dict__.get(func)
    if not callable(fn):
        raise LookupError(f"the code defines no function {func!r}")
    return fn


def result_bytes(result: Any, func: str = "transform") -> bytes:
    """What ``func`` returned, if it is bytes (or bytes-like), or text as UTF-8 (as AIStore's
    FastAPI runtime sends a str); anything else is this object's error, naming the type,
    rather than stored as bytes of something else (``bytes(5)`` is five NULs)."""
    if isinstance(result, bytes | bytearray | memoryview):
        return bytes(result)
    if isinstance(result, str):
        return result.encode()
    raise TypeError(f"{func}() returned {type(result).__name__}, not bytes")


def _read(data: bytes | str) -> bytes:
    """The object's bytes; with ``ETL_DIRECT_FQN`` the server passes a file path instead."""
    if isinstance(data, str):
        with open(data, "rb") as f:
            return f.read()
    return data


class UserTransform:
    """Mixin for an ``ETLServer`` subclass: ``transform`` runs the user's function or script.

    Set as class attributes when the class is built:

    * ``aisetl_code`` + ``aisetl_func`` — the code, compiled when the server starts (as
      ``<aisetl_NAME>``, which tracebacks name) and its function, kept as ``aisetl_fn``; or
    * ``aisetl_script`` — a script run per object: object on stdin, result from stdout.
    """

    aisetl_name: str = "etl"
    aisetl_fn: Callable[..., Any] | None = None
    aisetl_code: str = ""
    aisetl_func: str = "transform"
    aisetl_script: str = ""
    aisetl_timeout: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super(UserTransform, self).__init__(*args, **kwargs)  # noqa: UP008 - pickled by value
        cls = type(self)
        if not cls.aisetl_script and cls.aisetl_fn is None:
            cls.aisetl_fn = load_function(cls.aisetl_code, cls.aisetl_func,
                                          f"aisetl_{cls.aisetl_name.replace('-', '_')}")

    def transform(self, data: bytes | str, path: str, etl_args: str) -> bytes:
        cls = type(self)
        if cls.aisetl_script:
            return run_script(cls.aisetl_script, _read(data), path, etl_args, cls.aisetl_timeout)
        fn = cls.aisetl_fn
        assert fn is not None
        if _takes_context(fn):
            context: dict[str, Any] = {"etl_args": etl_args, "path": path}
            result = fn(_read(data), context)
            return result_bytes(result if result is not None else context.get("result"),
                                cls.aisetl_func)
        return result_bytes(fn(_read(data)), cls.aisetl_func)


def _takes_context(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2


def run_script(script: str, data: bytes, path: str, etl_args: str,
               timeout: float | None) -> bytes:
    """Run ``script`` with this Python: ``data`` on stdin, the result from stdout.

    A non-zero exit raises ``RuntimeError`` with the script's stderr (its traceback).
    """
    env = {**os.environ, "ETL_ARGS": etl_args, "OBJ_PATH": path}
    try:
        done = subprocess.run([sys.executable, "-c", script], input=data, capture_output=True,
                              timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the script did not finish within {timeout:g}s") from None
    if done.returncode != 0:
        stderr = done.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"the script exited with code {done.returncode}:\n{stderr}")
    return done.stdout
