"""ETL init messages (``PUT /v1/etl``): parsing and validation exactly where AIStore validates.

Three shapes arrive, told apart as AIStore's ``UnmarshalInitMsg`` does:

* ``ETLSpecMsg`` — ``runtime: {image, command, env}`` (current);
* ``InitSpecMsg`` — ``spec``: a base64 Kubernetes Pod YAML (deprecated);
* ``InitCodeMsg`` — ``code`` + ``runtime: "python3.Xv2"`` (legacy ``ais etl init code``).

Each becomes an :class:`EtlSpec`: what a target needs to start one transformer.
"""

from __future__ import annotations

import ast
import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import msgspec
import yaml

from ..._goduration import duration_value
from ..._names import etl_name_problem
from .._errors import AISHTTPError, bad_request
from ._limits import LimitError, Limits

HPUSH, HPULL, WS, IO = "hpush://", "hpull://", "ws://", "io://"
COMM_TYPES = (HPUSH, HPULL, WS, IO)
CODE_RUNTIMES = tuple(f"python3.{minor}v2" for minor in range(9, 14))
CLASS_RUNTIME_IMAGE = "aistorage/runtime_python"
DEFAULT_INIT_TIMEOUT = 45.0
DEFAULT_OBJ_TIMEOUT = 10.0
MAX_CHUNK_SIZE = 1024 * 1024
SPEC_PORT = 8000


@dataclass
class EtlSpec:
    """A validated init message, normalized."""

    name: str
    comm: str
    init_timeout: float
    obj_timeout: float
    direct_put: bool
    env: dict[str, str]
    kind: str  # "code" | "image"
    raw: dict[str, Any] = field(repr=False)  # the message as received, for GET /v1/etl/<name>
    # code ETLs
    code: str = ""
    funcs: dict[str, str] = field(default_factory=dict)  # transform, and optionally before/after
    runtime: str = ""
    dependencies: list[str] = field(default_factory=list)
    chunk_size: int = 0
    # image ETLs
    image: str = ""
    command: list[str] = field(default_factory=list)
    container_port: int = SPEC_PORT
    health_path: str = "/health"
    limits: Limits = field(default_factory=Limits)  # the spec's resources.limits

    @property
    def is_class_runtime(self) -> bool:
        return self.image.split(":")[0].removeprefix("docker.io/") == CLASS_RUNTIME_IMAGE


def etl_not_found(name: str) -> AISHTTPError:
    """What AIStore's proxy answers for an ETL it does not know (``p[ID]: etl job NAME ...``)."""
    return AISHTTPError(404, f"etl job {name} does not exist", "ErrNotFound", by_node=True)


def validate_name(name: str) -> str:
    if problem := etl_name_problem(name):
        raise bad_request(problem)
    return name


def parse_init_msg(msg: Any) -> EtlSpec:
    if not isinstance(msg, dict):
        raise bad_request("ETL init message must be a JSON object")
    runtime = msg.get("runtime")
    if isinstance(runtime, dict):
        return _parse_spec_msg(msg, runtime)
    has_code, has_spec = bool(msg.get("code")) or "code" in msg, "spec" in msg
    if has_code and has_spec:
        raise bad_request("ETL init message has both 'code' and 'spec'; send one of them")
    if has_code:
        return _parse_code_msg(msg)
    if has_spec:
        return _parse_pod_spec_msg(msg)
    raise bad_request("ETL init message needs 'runtime' (with an image), 'spec' or 'code'")


def _base(msg: dict, *, code: bool) -> dict[str, Any]:
    name = validate_name(str(msg.get("name", "")))
    comm = str(msg.get("communication") or HPUSH)
    if not comm.endswith("://"):
        comm += "://"
    allowed = (HPUSH, HPULL, IO) if code else (HPUSH, HPULL, WS)
    if comm not in allowed:
        raise bad_request(f'unknown communication type "{comm}" for ETL "{name}" '
                          f"(expected one of {', '.join(allowed)})")
    direct_put = bool(msg.get("support_direct_put", False))
    try:
        init_timeout = duration_value(msg.get("init_timeout"), DEFAULT_INIT_TIMEOUT)
        obj_timeout = duration_value(msg.get("obj_timeout"), DEFAULT_OBJ_TIMEOUT)
    except ValueError as err:
        raise bad_request(f'ETL "{name}": {err}') from None
    return {"name": name, "comm": comm, "init_timeout": init_timeout, "obj_timeout": obj_timeout,
            "direct_put": direct_put, "env": _env(msg.get("env"), name), "raw": msg}


def _check_ws(base: dict) -> None:
    if base["comm"] == WS and not base["direct_put"]:
        raise bad_request(f'ETL "{base["name"]}": ws:// communication is not supported without '
                          "direct put; set support_direct_put")


def _env(env: Any, name: str) -> dict[str, str]:
    if env in (None, []):
        return {}
    if not isinstance(env, list) or not all(isinstance(e, dict) and "name" in e for e in env):
        raise bad_request(f'ETL "{name}": env must be a list of {{"name": ..., "value": ...}}')
    return {str(e["name"]): str(e.get("value", "")) for e in env}


def _parse_spec_msg(msg: dict, runtime: dict) -> EtlSpec:
    base = _base(msg, code=False)
    _check_ws(base)
    image = runtime.get("image")
    if not image or not isinstance(image, str):
        raise bad_request(f'ETL "{base["name"]}": runtime.image is required')
    command = runtime.get("command") or []
    if isinstance(command, str):
        command = command.split()
    if not isinstance(command, list):
        raise bad_request(f'ETL "{base["name"]}": runtime.command must be a list of strings')
    base["env"].update(_env(runtime.get("env"), base["name"]))
    return EtlSpec(**base, kind="image", image=image, command=[str(c) for c in command],
                   limits=_limits(msg.get("resources"), base["name"]))


def _limits(resources: Any, name: str) -> Limits:
    try:
        return Limits.from_resources(resources)
    except LimitError as err:
        raise bad_request(f'ETL "{name}": {err}') from None


def _b64(msg: dict, key: str, name: str) -> bytes:
    value = msg.get(key) or ""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise bad_request(f'ETL "{name}": "{key}" is not valid base64') from None


class _HttpGet(msgspec.Struct):
    path: str = ""
    port: str | int = ""


class _Probe(msgspec.Struct):
    httpGet: _HttpGet | None = None


class _Port(msgspec.Struct):
    name: str = ""
    containerPort: int = 0


class _Container(msgspec.Struct):
    """The part of a Kubernetes container the embedded cluster reads (the rest it ignores,
    as it runs no container)."""

    image: str = ""
    ports: list[_Port] = msgspec.field(default_factory=list)
    command: list[str | int | float] = msgspec.field(default_factory=list)
    args: list[str | int | float] = msgspec.field(default_factory=list)
    readinessProbe: _Probe | None = None
    env: Any = None  # checked by _env, which says what is wrong in AIStore's terms
    resources: Any = None  # checked by Limits


class _Affinity(msgspec.Struct):
    nodeAffinity: Any = None
    podAntiAffinity: Any = None


class _PodSpec(msgspec.Struct):
    containers: list[_Container] = msgspec.field(default_factory=list)
    affinity: _Affinity | None = None


class _Meta(msgspec.Struct):
    annotations: dict[str, str | bool | int] = msgspec.field(default_factory=dict)


class _Pod(msgspec.Struct):
    spec: _PodSpec
    metadata: _Meta | None = None


def _parse_pod_spec_msg(msg: dict) -> EtlSpec:
    name = validate_name(str(msg.get("name", "")))
    try:
        raw = yaml.safe_load(_b64(msg, "spec", name).decode())
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise bad_request(f'ETL "{name}": pod spec is not valid YAML: {err}') from None
    if not isinstance(raw, dict) or not isinstance(raw.get("spec"), dict):
        raise bad_request(f'ETL "{name}": pod spec must be a Kubernetes Pod with a "spec"')
    try:
        pod = msgspec.convert(raw, _Pod, strict=False)
    except msgspec.ValidationError as err:
        raise bad_request(f'ETL "{name}": invalid pod spec: {err}') from None
    annotations = pod.metadata.annotations if pod.metadata else {}
    msg = dict(msg)
    if "support_direct_put" in annotations:
        msg["support_direct_put"] = str(annotations["support_direct_put"]).lower() == "true"
    base = _base(msg, code=False)
    _check_ws(base)
    if len(pod.spec.containers) != 1:
        raise bad_request(f'ETL "{name}": pod spec must have exactly one container, '
                          f"found {len(pod.spec.containers)}")
    container = pod.spec.containers[0]
    if len(container.ports) != 1 or container.ports[0].name != "default":
        raise bad_request(f'ETL "{name}": the container must declare exactly one port, '
                          'named "default" (ports: [{name: default, containerPort: ...}])')
    probe = container.readinessProbe.httpGet if container.readinessProbe else None
    if probe is None or not probe.path or probe.port != "default":
        raise bad_request(
            f'ETL "{name}": the container needs a readinessProbe with httpGet on port "default" '
            "and a path, e.g. readinessProbe: {httpGet: {path: /health, port: default}}"
        )
    affinity = pod.spec.affinity
    if affinity is not None and (affinity.nodeAffinity or affinity.podAntiAffinity):
        raise bad_request(f'ETL "{name}": pod spec must not set node affinity or anti-affinity '
                          "(AIStore places each transformer next to its target)")
    base["env"].update(_env(container.env, name))
    return EtlSpec(**base, kind="image", image=container.image,
                   command=[str(c) for c in container.command + container.args],
                   container_port=container.ports[0].containerPort or SPEC_PORT,
                   health_path=probe.path, limits=_limits(container.resources, name))


def _parse_code_msg(msg: dict) -> EtlSpec:
    base = _base(msg, code=True)
    name = base["name"]
    runtime = str(msg.get("runtime", ""))
    if runtime not in CODE_RUNTIMES:
        raise bad_request(f'ETL "{name}": unknown runtime "{runtime}" '
                          f"(expected one of {', '.join(CODE_RUNTIMES)})")
    code_bytes = _b64(msg, "code", name)
    if not code_bytes.strip():
        raise bad_request(f'ETL "{name}": code is empty')
    try:
        code = code_bytes.decode()
        tree = ast.parse(code, filename="code.py")
    except UnicodeDecodeError:
        raise bad_request(f'ETL "{name}": code is not UTF-8 text') from None
    except SyntaxError as err:
        raise bad_request(
            f'ETL "{name}": code has a syntax error: {err.msg} (code.py, line {err.lineno})'
        ) from None
    raw_funcs = msg.get("funcs") or msg.get("Funcs") or {}
    if not isinstance(raw_funcs, dict):
        raise bad_request(f'ETL "{name}": funcs must be an object like {{"transform": "name"}}')
    funcs = {k.lower(): str(v) for k, v in raw_funcs.items() if v}
    if base["comm"] != IO:
        if not funcs.get("transform"):
            raise bad_request(f'ETL "{name}": funcs.transform (the function name) is required')
        defined = _top_level_names(tree)
        for role, func in funcs.items():
            if func not in defined:
                raise bad_request(f'ETL "{name}": code defines no top-level function "{func}" '
                                  f"(funcs.{role})")
    chunk_size = int(msg.get("chunk_size") or 0)
    if not 0 <= chunk_size <= MAX_CHUNK_SIZE:
        raise bad_request(f'ETL "{name}": chunk_size must be between 0 and {MAX_CHUNK_SIZE}')
    deps = _b64(msg, "dependencies", name).decode(errors="replace")
    dependencies = [line.strip() for line in deps.splitlines()
                    if line.strip() and not line.strip().startswith("#")]
    return EtlSpec(**base, kind="code", code=code, funcs=funcs, runtime=runtime,
                   dependencies=dependencies, chunk_size=chunk_size)


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names
