"""ETL init messages (the body of ``PUT /v1/etl``), built from what the user wrote.

* :func:`code_init_msg` — the legacy ``InitCodeMsg`` (``ais etl init code``);
* :func:`class_init_msg` — the same code as an ``ETLSpecMsg`` for the ``runtime_python`` image
  (``Etl.init_class``), for AIStore 5.0, which has no ``init code``;
* :func:`spec_init_msg` — a Pod YAML (``InitSpecMsg``) or a runtime spec (``ETLSpecMsg``).
"""

from __future__ import annotations

import base64
import re
import sys
import threading
from collections.abc import Sequence
from typing import Any

import yaml

from .._goduration import go_duration
from .._names import etl_name_problem

COMM_TYPES = ("hpush", "hpull", "ws")
CODE_COMM_TYPES = ("hpush", "hpull", "io")
CLASS_IMAGE = "aistorage/runtime_python"
RUNTIME_PORT = 8000  # the container port AIStore gives a runtime spec's pod (``default``)
_PICKLE_LOCK = threading.Lock()  # register_pickle_by_value is process-wide


def parse_pipeline(text: str) -> list[str]:
    """``"etl2, etl3"`` (or ``"etl2 >> etl3"``) → the ETL names of a pipeline's next stages;
    raises ValueError naming a bad one."""
    names = [n.strip() for n in re.split(r",|>>", text) if n.strip()]
    for name in names:
        _check_name(name)
    return names


def pipeline_text(etl: str, pipeline: Sequence[str]) -> str:
    """``etl >> next >> ...``, as the SDK writes a pipeline (and :func:`parse_pipeline` reads
    the part after the first ETL)."""
    return " >> ".join((etl, *pipeline))


def _check_name(name: str) -> None:
    if reason := etl_name_problem(name):
        raise ValueError(reason)


def _comm(comm: str, allowed: Sequence[str]) -> str:
    """``"hpush"`` or ``"hpush://"`` → ``"hpush://"``."""
    bare = comm.strip().removesuffix("://").lower() or "hpush"
    if bare not in allowed:
        raise ValueError(f"unknown communication type {comm!r} "
                         f"(expected one of {', '.join(allowed)})")
    return f"{bare}://"


def _b64(data: str | bytes) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def code_init_msg(name: str, code: str, *, runtime: str = "python3.11v2", comm: str = "hpush",
                  func: str = "transform", dependencies: Sequence[str] = (),
                  init_timeout: str = "5m", obj_timeout: str = "45s",
                  chunk_size: int = 0) -> dict[str, Any]:
    """The legacy ``InitCodeMsg``: ``code`` defines ``func(data) -> bytes``; with ``comm="io"``
    the code is a script that reads stdin and writes stdout."""
    _check_name(name)
    return {
        "name": name,
        "runtime": runtime,
        "communication": _comm(comm, CODE_COMM_TYPES),
        "funcs": {"transform": func},
        "code": _b64(code),
        "dependencies": _b64("\n".join(dependencies)),
        "init_timeout": init_timeout,
        "obj_timeout": obj_timeout,
        "chunk_size": chunk_size,
    }


def _server_base(comm: str) -> type:
    from aistore.sdk.etl.webserver.fastapi_server import FastAPIServer
    from aistore.sdk.etl.webserver.http_multi_threaded_server import HTTPMultiThreadedServer

    return FastAPIServer if comm == "ws://" else HTTPMultiThreadedServer


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-")) + "Server"


def _check_user_function(name: str, code: str, func: str) -> None:
    """Run ``code`` here, in a fresh module, to say now what would fail the transformer (a
    syntax error, no ``func``, an exception). Code that imports something not installed here
    passes: the transformer may have it (its ``PACKAGES``)."""
    from .. import _etl_runtime

    try:
        compile(code, "<code>", "exec")
    except SyntaxError as err:
        raise ValueError(f"the code has a syntax error: {err.msg} (line {err.lineno})") from None
    try:
        _etl_runtime.load_function(code, func, f"aisetl_{name.replace('-', '_')}")
    except ImportError:
        return
    except LookupError as err:
        raise ValueError(str(err)) from None
    except Exception as err:
        raise ValueError(f"running the code failed: {type(err).__name__}: {err}") from None


def etl_class_payload(name: str, code: str, *, comm: str = "hpush", func: str = "transform",
                      io_script: bool = False, obj_timeout: str = "45s") -> str:
    """``ETL_CLASS_PAYLOAD``: base64 of the cloudpickled ``ETLServer`` subclass."""
    import cloudpickle

    from .. import _etl_runtime

    comm = _comm(comm, COMM_TYPES)
    attrs: dict[str, Any] = {"aisetl_name": name, "__module__": f"aisetl_{name}"}
    if io_script:
        try:
            compile(code, "<script>", "exec")
        except SyntaxError as err:
            raise ValueError(f"the script has a syntax error: {err.msg} (line {err.lineno})"
                             ) from None
        attrs.update(aisetl_script=code, aisetl_timeout=go_duration(obj_timeout) or None)
    else:
        _check_user_function(name, code, func)
        # The code goes as text, compiled in the transformer: a pickled function's frames
        # would all say "<dynamic-code>", and its tracebacks could not point at the line.
        attrs.update(aisetl_code=code, aisetl_func=func)
    cls = type(_class_name(name), (_etl_runtime.UserTransform, _server_base(comm)), attrs)
    with _PICKLE_LOCK:
        cloudpickle.register_pickle_by_value(_etl_runtime)
        try:
            data = cloudpickle.dumps(cls)
        except Exception as err:
            raise ValueError(f"cannot serialize the ETL class: {type(err).__name__}: {err}"
                             ) from None
        finally:
            cloudpickle.unregister_pickle_by_value(_etl_runtime)
    return base64.b64encode(data).decode()


def class_init_msg(name: str, code: str, *, comm: str = "hpush", func: str = "transform",
                   io_script: bool = False, dependencies: Sequence[str] = (),
                   init_timeout: str = "5m", obj_timeout: str = "45s") -> dict[str, Any]:
    """An ``ETLSpecMsg`` for ``aistorage/runtime_python`` that runs ``code`` the way
    :func:`code_init_msg` would: ``func(data)`` per object, or with ``io_script`` the code as a
    script (object on stdin, result on stdout). ``dependencies`` become ``PACKAGES``.

    The code runs once here, to serialize its function with the class (call this off the event
    loop if the code is slow to import); if it imports something not installed here, the
    transformer runs it instead, when it starts. Raises ``ValueError`` with a readable reason.
    """
    _check_name(name)
    communication = _comm(comm, COMM_TYPES)
    go_duration(obj_timeout)
    payload = etl_class_payload(name, code, comm=communication, func=func, io_script=io_script,
                                obj_timeout=obj_timeout)
    return _runtime_msg(name, payload, communication, dependencies, init_timeout, obj_timeout)


def _runtime_msg(name: str, payload: str, communication: str, dependencies: Sequence[str],
                 init_timeout: str, obj_timeout: str) -> dict[str, Any]:
    """The runtime spec that carries a serialized ``ETLServer`` class, for this Python."""
    env = [{"name": "ETL_CLASS_PAYLOAD", "value": payload}]
    if dependencies:
        env.append({"name": "PACKAGES", "value": ",".join(d.strip() for d in dependencies)})
    major, minor = sys.version_info[:2]
    return {
        "name": name,
        "communication": communication,
        "init_timeout": init_timeout,
        "obj_timeout": obj_timeout,
        "support_direct_put": True,
        "runtime": {"image": f"{CLASS_IMAGE}:{major}.{minor}", "env": env},
    }


def server_init_msg(name: str, code: str, *, comm: str = "hpush", dependencies: Sequence[str] = (),
                    init_timeout: str = "5m", obj_timeout: str = "45s") -> dict[str, Any]:
    """An ``ETLSpecMsg`` for ``aistorage/runtime_python`` whose ``ETL_CLASS_PAYLOAD`` is the
    ``ETLServer`` subclass ``code`` defines, as the SDK's ``init_class`` sends it. The code runs
    here, once, to serialize the class. Raises ``ValueError`` with a readable reason."""
    from aistore.sdk.etl.webserver.base_etl_server import ETLServer
    from aistore.sdk.etl.webserver.fastapi_server import FastAPIServer

    _check_name(name)
    communication = _comm(comm, COMM_TYPES)
    go_duration(obj_timeout)
    module = f"aisetl_{name.replace('-', '_')}"
    try:
        namespace: dict[str, Any] = {"__name__": module}
        exec(compile(code, f"<{module}>", "exec"), namespace)
    except SyntaxError as err:
        raise ValueError(f"the code has a syntax error: {err.msg} (line {err.lineno})") from None
    except Exception as err:
        raise ValueError(f"running the code failed: {type(err).__name__}: {err}") from None
    classes = [v for v in namespace.values() if isinstance(v, type) and issubclass(v, ETLServer)
               and v.__module__ == module]
    if len(classes) != 1:
        found = ", ".join(c.__name__ for c in classes) or "none"
        raise ValueError(f"the code must define exactly one ETLServer subclass (found {found})")
    if communication == "ws://" and not issubclass(classes[0], FastAPIServer):
        raise ValueError(f"ws:// needs a FastAPIServer; {classes[0].__name__} is not one")
    import cloudpickle

    try:
        payload = base64.b64encode(cloudpickle.dumps(classes[0])).decode()
    except Exception as err:
        raise ValueError(f"cannot serialize {classes[0].__name__}: {type(err).__name__}: {err}"
                         ) from None
    return _runtime_msg(name, payload, communication, dependencies, init_timeout, obj_timeout)


def _yaml_error(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"the YAML does not parse: {where}{problem}"


def spec_init_msg(name: str, yaml_text: str, *, comm: str | None = None,
                  init_timeout: str | None = None,
                  obj_timeout: str | None = None) -> dict[str, Any]:
    """The init message for a Pod YAML (``kind: Pod`` → ``InitSpecMsg``) or a runtime spec
    (``runtime: {image: ...}`` → ``ETLSpecMsg``).

    Arguments that are given override the YAML; otherwise a runtime spec keeps its own values
    and a Pod uses its ``communication_type``/``wait_timeout`` annotations (as the CLI does),
    then the defaults (hpush, 5m, 45s). Raises ``ValueError`` with a readable reason.
    """
    try:
        doc = yaml.safe_load(yaml_text)
    except yaml.YAMLError as err:
        raise ValueError(_yaml_error(err)) from None
    if not isinstance(doc, dict):
        raise ValueError("the YAML must be a Kubernetes Pod (kind: Pod) or an ETL runtime spec "
                         "(with runtime: {image: ...})")
    if doc.get("kind") == "Pod":
        if not isinstance(doc.get("spec"), dict):
            raise ValueError("the Pod has no spec (spec: {containers: [...]})")
        _check_name(name)
        annotations = (doc.get("metadata") or {}).get("annotations") or {}
        return {
            "name": name,
            "communication": _comm(comm or str(annotations.get("communication_type") or ""),
                                   COMM_TYPES),
            "init_timeout": init_timeout or str(annotations.get("wait_timeout") or "5m"),
            "obj_timeout": obj_timeout or "45s",
            "spec": _b64(yaml_text),
        }
    if "runtime" in doc:
        runtime = doc["runtime"]
        if not isinstance(runtime, dict) or not runtime.get("image"):
            raise ValueError("the runtime spec needs runtime.image (runtime: {image: ...})")
        msg = dict(doc)
        msg["name"] = name or str(doc.get("name") or "")
        _check_name(msg["name"])
        msg["communication"] = _comm(comm or str(doc.get("communication") or ""), COMM_TYPES)
        msg["init_timeout"] = init_timeout or str(doc.get("init_timeout") or "5m")
        msg["obj_timeout"] = obj_timeout or str(doc.get("obj_timeout") or "45s")
        return msg
    kind = doc.get("kind")
    raise ValueError(
        (f"kind: {kind} is not supported; " if kind else "")
        + "the YAML must be a Kubernetes Pod (kind: Pod) or an ETL runtime spec "
        "(with runtime: {image: ...})"
    )


def runtime_spec_for_pod(yaml_text: str) -> str | None:
    """For a Pod YAML (AIStore's InitSpecMsg, deprecated in 5.0 and gone in 5.1), the same
    ETL as a runtime spec (ETLSpecMsg): its one container's image, command and env, and the
    Pod's communication annotation. None when ``yaml_text`` is not such a Pod."""
    try:
        doc = yaml.safe_load(yaml_text)
    except yaml.YAMLError:
        return None
    if not isinstance(doc, dict) or doc.get("kind") != "Pod":
        return None
    containers = (doc.get("spec") or {}).get("containers") or []
    if len(containers) != 1 or not isinstance(containers[0], dict):
        return None
    container = containers[0]
    runtime: dict[str, Any] = {"image": container.get("image", "")}
    command = [*(container.get("command") or []), *(container.get("args") or [])]
    if command:
        runtime["command"] = command
    env = [{"name": e["name"], "value": str(e.get("value", ""))}
           for e in container.get("env") or () if isinstance(e, dict) and "name" in e
           and "valueFrom" not in e]
    if env:
        runtime["env"] = env
    annotations = (doc.get("metadata") or {}).get("annotations") or {}
    spec: dict[str, Any] = {"name": (doc.get("metadata") or {}).get("name", "")}
    if comm := annotations.get("communication_type"):
        spec["communication"] = comm
    spec["runtime"] = runtime
    text = yaml.safe_dump(spec, sort_keys=False)
    port = next((p.get("containerPort") for p in container.get("ports") or ()
                 if isinstance(p, dict) and p.get("name") == "default"), None)
    if port not in (None, RUNTIME_PORT):
        text = (f"# AIStore runs a runtime spec's container with port {RUNTIME_PORT} as "
                f"`default`: this Pod's listens on {port}, so its command must change to "
                f"listen on {RUNTIME_PORT}\n") + text
    return text
