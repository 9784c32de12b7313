"""Pure functions: Kubernetes JSON (dicts) to models, and pod-to-target matching.

The JSON is read as the API server sends it (camelCase keys), not through the client's
generated models, so a change in the client's code generator cannot break it.

Which pods are whose
--------------------
* **Transformer (ETL) pods** carry ``app.kubernetes.io/name=etl`` and are named
  ``<etl>-<lowercase target id>`` (``ext/etl/boot.go``); ``nvidia.com/ais-etl-target`` holds
  the target ID in its original case and ``nvidia.com/ais-etl-node`` the node. A pod belongs
  to ETL ``e`` and target ``t`` only on the *exact* name ``f"{e}-{t.lower()}"``: a prefix test
  would give ``md5-etl`` the pods of ``md5-etl-2``.
* **AIStore proxy and target pods**: the ais-k8s operator labels them
  ``app.kubernetes.io/component`` (legacy: ``component``) ``= proxy | target``; AIStore's own
  dev manifests label them ``type: proxy | target`` (with ``app: ais``, which ETL pods carry
  too, so ``app`` alone selects nothing). Pods without any of these labels fall back to the
  name: a ``-proxy-`` or ``-target-`` segment followed by a StatefulSet ordinal
  (``demo-ais-proxy-0``, ``ais-target-12``). ETL pods are never AIStore pods.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ._models import KubeContainer, KubeEvent, KubePod, PodMetrics, PodRole

ETL_SELECTOR = "app.kubernetes.io/name=etl"
LABEL_ETL_TARGET = "nvidia.com/ais-etl-target"
LABEL_ETL_NODE = "nvidia.com/ais-etl-node"
_COMPONENT_LABELS = ("app.kubernetes.io/component", "component")
_AIS_NAME_RE = re.compile(r"-(proxy|target)-\d+$")


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 timestamp (``2025-06-01T10:00:00Z``, with or without fraction) or None."""
    if not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Python < 3.12 takes at most 6 fraction digits; MicroTime and RFC3339Nano have up to 9.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


# ---- pods -----------------------------------------------------------------------------------


def _container(status: Mapping[str, Any]) -> KubeContainer:
    state = status.get("state") or {}
    last = (status.get("lastState") or {}).get("terminated") or {}
    kind, detail = next(iter(state.items()), ("waiting", {}))
    detail = detail or {}
    return KubeContainer(
        name=status.get("name", ""),
        ready=bool(status.get("ready")),
        restarts=int(status.get("restartCount") or 0),
        state=kind,
        reason=detail.get("reason", ""),
        message=(detail.get("message") or "").strip(),
        exit_code=detail.get("exitCode"),
        last_reason=last.get("reason", ""),
        last_exit_code=last.get("exitCode"),
    )


def _describe(
    obj: Mapping[str, Any], containers: Sequence[KubeContainer], inits: Sequence[KubeContainer]
) -> tuple[str, str]:
    """(reason, message) in kubectl's words: the most telling problem first."""
    status = obj.get("status") or {}
    phase = status.get("phase") or "Unknown"
    if status.get("reason"):  # Evicted, NodeLost, ...
        return status["reason"], (status.get("message") or "").strip()
    for cond in status.get("conditions") or []:
        if (
            cond.get("type") == "PodScheduled"
            and cond.get("status") == "False"
            and cond.get("reason")
        ):
            return cond["reason"], (cond.get("message") or "").strip()
    for c in inits:
        if c.state == "waiting" and c.reason and c.reason != "PodInitializing":
            return f"Init:{c.reason}", _with_last(c)
        if c.state == "terminated" and c.exit_code not in (0, None):
            return f"Init:{c.reason or 'Error'}", c.message
    for c in containers:
        if c.state == "waiting" and c.reason and c.reason != "ContainerCreating":
            return c.reason, _with_last(c)
        if c.state == "terminated" and c.reason and c.reason != "Completed":
            return c.reason, c.message or f"exit code {c.exit_code}"
    for c in containers:
        if c.state == "waiting" and c.reason:
            return c.reason, c.message
    if phase == "Running" and containers and not all(c.ready for c in containers):
        return "NotReady", ""
    return phase, ""


def _with_last(c: KubeContainer) -> str:
    if c.last_reason:
        last = f"last termination: {c.last_reason} (exit code {c.last_exit_code})"
        return f"{c.message}; {last}" if c.message else last
    return c.message


def _role(labels: Mapping[str, str], name: str) -> PodRole:
    if labels.get("app.kubernetes.io/name") == "etl":
        return "etl"
    if labels.get("app") == "ais" and labels.get("type") in ("proxy", "target"):
        return labels["type"]  # type: ignore[return-value]
    for key in _COMPONENT_LABELS:
        if labels.get(key) in ("proxy", "target"):
            return labels[key]  # type: ignore[return-value]
    if any(key in labels for key in _COMPONENT_LABELS):
        return ""
    m = _AIS_NAME_RE.search(name)
    return m.group(1) if m else ""  # type: ignore[return-value]


_SIDECARS = ("istio-proxy", "linkerd-proxy", "vault-agent", "envoy")


def main_container(pod: KubePod) -> str | None:
    """The container whose log matters: the ETL's own (AIStore names it after the ETL), else
    the first that is not an injected sidecar. None for a pod with no containers."""
    names = [c.name for c in pod.containers]
    if pod.etl and pod.etl in names:
        return pod.etl
    return next((n for n in names if n not in _SIDECARS), names[0] if names else None)


def split_etl_pod_name(name: str, target_id: str) -> str:
    """The ETL name of transformer pod ``name`` of target ``target_id`` ("" if it is not one)."""
    suffix = f"-{target_id.lower()}"
    if target_id and name.endswith(suffix) and len(name) > len(suffix):
        return name[: -len(suffix)]
    return ""


def pod_from_dict(obj: Mapping[str, Any]) -> KubePod:
    """A :class:`KubePod` from a Pod object as the API server sends it."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    labels = dict(meta.get("labels") or {})
    name = meta.get("name", "")
    containers = tuple(_container(s) for s in status.get("containerStatuses") or [])
    if not containers:  # not started yet: list the spec's containers as waiting
        containers = tuple(
            KubeContainer(name=c.get("name", ""), ready=False, restarts=0, state="waiting")
            for c in spec.get("containers") or []
        )
    inits = tuple(_container(s) for s in status.get("initContainerStatuses") or [])
    cause, cause_message = _describe(obj, containers, inits)
    reason, message = cause, cause_message
    if meta.get("deletionTimestamp"):
        reason, message = "Terminating", ""
    role = _role(labels, name)
    target_id = labels.get(LABEL_ETL_TARGET, "") if role == "etl" else ""
    return KubePod(
        name=name,
        namespace=meta.get("namespace", ""),
        phase=status.get("phase") or "Unknown",
        ready=any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions") or []
        ),
        restarts=sum(c.restarts for c in containers),
        created=parse_time(meta.get("creationTimestamp")),
        node=spec.get("nodeName") or labels.get(LABEL_ETL_NODE, ""),
        ip=status.get("podIP") or "",
        host_ip=status.get("hostIP") or "",
        reason=reason,
        message=message,
        cause=cause,
        cause_message=cause_message,
        labels=labels,
        containers=containers,
        etl=split_etl_pod_name(name, target_id),
        target_id=target_id,
        role=role,
        resource_version=meta.get("resourceVersion", ""),
    )


def _with_target(pod: KubePod, etl: str, target_id: str) -> KubePod:
    from dataclasses import replace

    return replace(pod, etl=etl, target_id=target_id, role="etl")


def match_etl_pods(
    pods: Iterable[KubePod], etl: str, target_ids: Iterable[str]
) -> dict[str, KubePod | None]:
    """Each target's transformer pod for ETL ``etl``: exact name ``<etl>-<tid.lower()>``.

    Every target ID is a key, in the given order; the value is None when that target has
    no pod. Pods of other ETLs that share the prefix (``md5-etl-2-...``) never match.
    """
    by_name = {p.name: p for p in pods}
    out: dict[str, KubePod | None] = {}
    for tid in target_ids:
        pod = by_name.get(f"{etl}-{tid.lower()}")
        out[tid] = _with_target(pod, etl, tid) if pod is not None else None
    return out


def match_transformer_pods(
    pods: Iterable[KubePod], target_ids: Iterable[str]
) -> list[KubePod]:
    """ETL pods that belong to one of ``target_ids``, with ``etl`` and ``target_id`` filled in.

    The target comes from the ``nvidia.com/ais-etl-target`` label when it is one of the given
    IDs, otherwise from the longest ID whose lowercase is the name's suffix.
    """
    ids = sorted(set(target_ids), key=len, reverse=True)
    out = []
    for pod in pods:
        if pod.role != "etl":
            continue
        label_tid = pod.labels.get(LABEL_ETL_TARGET, "")
        candidates = [label_tid] if label_tid in ids else ids
        for tid in candidates:
            etl = split_etl_pod_name(pod.name, tid)
            if etl:
                out.append(_with_target(pod, etl, tid))
                break
    return out


# ---- events and metrics ---------------------------------------------------------------------


def _event_last_seen(obj: Mapping[str, Any]) -> datetime | None:
    """When a core/v1 Event was last seen (old or new style timestamps)."""
    return parse_time(
        (obj.get("series") or {}).get("lastObservedTime")
        or obj.get("lastTimestamp")
        or obj.get("eventTime")
        or obj.get("firstTimestamp")
        or (obj.get("metadata") or {}).get("creationTimestamp")
    )


def event_from_dict(obj: Mapping[str, Any]) -> KubeEvent:
    """A :class:`KubeEvent` from a core/v1 Event (old or new style timestamps)."""
    series = obj.get("series") or {}
    source = obj.get("source") or {}
    return KubeEvent(
        type=obj.get("type") or "Normal",
        reason=obj.get("reason") or "",
        message=(obj.get("message") or "").strip(),
        count=int(series.get("count") or obj.get("count") or 1),
        last_seen=_event_last_seen(obj),
        source=obj.get("reportingComponent") or source.get("component") or "",
    )


def event_order(obj: Mapping[str, Any]) -> tuple[float, int]:
    """Sort key of a core/v1 Event: when last seen, then the order the server stored them.

    Timestamps have one-second resolution, so events of the same second (Scheduled, then
    Pulling) are put in the order of their resourceVersion, the storage's revision.
    """
    seen = _event_last_seen(obj)
    version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
    return (seen.timestamp() if seen else 0.0, int(version) if version.isdigit() else 0)


def _quantity(value: Any) -> float:
    from decimal import Decimal, InvalidOperation

    text = str(value or "0").strip()
    binary = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
    decimal = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
               "P": 1e15, "E": 1e18}
    mult = 1.0
    if text[-2:] in binary:
        text, mult = text[:-2], binary[text[-2:]]
    elif text[-1:] in decimal:
        text, mult = text[:-1], decimal[text[-1:]]
    try:
        return float(Decimal(text)) * mult
    except (InvalidOperation, ValueError):
        return 0.0


def metrics_from_dict(obj: Mapping[str, Any]) -> PodMetrics:
    """A :class:`PodMetrics` from one metrics.k8s.io PodMetrics item."""
    cpu = mem = 0.0
    for c in obj.get("containers") or []:
        usage = c.get("usage") or {}
        cpu += _quantity(usage.get("cpu"))
        mem += _quantity(usage.get("memory"))
    window = obj.get("window")
    return PodMetrics(
        name=(obj.get("metadata") or {}).get("name", ""),
        cpu_cores=cpu,
        memory_bytes=int(mem),
        window_seconds=_duration(window) if window else None,
    )


def _duration(text: str) -> float | None:
    """A Go duration such as ``10.5s`` or ``1m0s`` in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    parts = re.findall(r"([\d.]+)(h|ms|us|µs|ns|m|s)", text)
    if not parts:
        return None
    return sum(float(n) * units[u] for n, u in parts)
