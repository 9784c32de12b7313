"""Python code for an ETL: what kind of transform it is, what is wrong with it before it is
sent, and the init message that carries it. Pure functions, except :func:`missing_imports`,
which asks this Python's import system (run it in a thread)."""

from __future__ import annotations

import ast
import base64
import binascii
import importlib.util
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from backend.ais import class_init_msg, code_init_msg, server_init_msg

Kind = Literal["function", "server", "script"]
KIND_TEXT: dict[Kind, str] = {
    "function": "transform(bytes) function",
    "server": "ETLServer class",
    "script": "io:// script (stdin → stdout)",
}
SERVER_BASES = {"ETLServer", "FastAPIServer", "FlaskServer", "HTTPMultiThreadedServer"}


def code_kind(code: str, func: str = "transform") -> Kind:
    """An ``ETLServer`` subclass, a top-level ``func``, else a script (stdin → stdout). Code
    that does not parse counts as a function (the usual case) until it does."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return "function"
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(_base_name(b) in SERVER_BASES
                                                  for b in node.bases):
            return "server"
    if any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == func
           for n in tree.body):
        return "function"
    return "script"


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


@dataclass(frozen=True)
class CodeProblem:
    """What is wrong with the code, and the line it is on (0 when it is not about a line)."""

    message: str
    line: int = 0

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


def code_problem(code: str, func: str, io_script: bool) -> CodeProblem | None:
    """What is wrong with the code, as AIStore would say it, or None."""
    if not code.strip():
        return CodeProblem("the code is empty")
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        return CodeProblem(f"syntax error: {err.msg}", err.lineno or 0)
    if io_script:
        return None
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    if func not in defined:
        return CodeProblem(f'the code defines no top-level function "{func}"')
    return None


def missing_imports(code: str, dependencies: Sequence[str]) -> list[CodeProblem]:
    """The modules the code imports that this Python cannot find and that are not among the
    ETL's ``dependencies`` (which the transformer installs): on the embedded cluster, whose
    transformers run on this Python, each would fail the init. Blocking (the import system
    searches ``sys.path``)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    declared = {_dist_name(d) for d in dependencies}
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if _dist_name(top) in declared or _found(top):
                continue
            problems.append(CodeProblem(f"no module named {top!r} here: install it, or list "
                                        "it under dependencies", node.lineno))
    return problems


def _dist_name(name: str) -> str:
    """``Pillow>=10`` → ``pillow``: a requirement's name, compared loosely."""
    return re.split(r"[<>=!~;\[ ]", name.strip(), maxsplit=1)[0].lower().replace("-", "_")


def _found(module: str) -> bool:
    if module in sys.builtin_module_names:
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def source_of(init_msg: dict[str, Any]) -> str | None:
    """The Python code an ETL was initialized with (an ``init code`` message carries it), or
    None (a spec, or a serialized class, carries no source)."""
    return _text(init_msg.get("code"))


def dependencies_of(init_msg: dict[str, Any]) -> tuple[str, ...]:
    """The packages an ``init code`` message asks the transformer to install."""
    text = _text(init_msg.get("dependencies")) or ""
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _text(value: object) -> str | None:
    """A field of an ``init code`` message: base64 of text (or, from some versions, the
    text itself); None when empty."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return value


@dataclass(frozen=True)
class CodeOptions:
    """How to init code: its communication (``hpush``, ``hpull``, ``ws``, or ``io`` for a
    script), function, dependencies, runtime and timeouts."""

    comm: str = "hpush"
    func: str = "transform"
    dependencies: tuple[str, ...] = ()
    runtime: str = f"python3.{sys.version_info.minor}v2"
    init_timeout: str = "5m"
    obj_timeout: str = "45s"


def code_msg(name: str, code: str, kind: Kind, options: CodeOptions,
             init_code: bool) -> dict[str, Any]:
    """The init message for ``code``: ``init code`` where the cluster has it (``init_code``)
    and the communication allows, else a runtime spec carrying the code as a serialized
    ``ETLServer`` class, as the SDK's ``init_class`` does. Raises ``ValueError`` with the
    reason (a :class:`CodeProblem`'s text for bad code). May run the code (to serialize it):
    call it off the event loop."""
    io_script = kind == "script"
    if kind != "server" and (problem := code_problem(code, options.func, io_script)):
        raise ValueError(str(problem))
    comm = options.comm
    common = {"init_timeout": options.init_timeout, "obj_timeout": options.obj_timeout,
              "dependencies": list(options.dependencies)}
    if kind == "server":
        return server_init_msg(name, code, comm=comm, **common)
    if init_code and comm != "ws":
        return code_init_msg(name, code, runtime=options.runtime,
                             comm="io" if io_script else comm, func=options.func, **common)
    return class_init_msg(name, code, comm="hpush" if comm == "io" else comm,
                          func=options.func, io_script=io_script, **common)
