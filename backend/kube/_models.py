"""Immutable snapshots of Kubernetes objects, as the UI needs them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

PodRole = Literal["etl", "proxy", "target", ""]
ChangeType = Literal["SYNC", "ADDED", "MODIFIED", "DELETED"]


@dataclass(frozen=True, slots=True)
class KubeContainer:
    """One container of a pod; ``state`` is ``running``, ``waiting`` or ``terminated``."""

    name: str
    ready: bool
    restarts: int
    state: str
    reason: str = ""
    message: str = ""
    exit_code: int | None = None
    last_reason: str = ""  # lastState.terminated.reason, e.g. "OOMKilled"
    last_exit_code: int | None = None


@dataclass(frozen=True, slots=True)
class KubePod:
    """A pod as ``kubectl get pods -o wide`` shows it, plus why it is unhealthy.

    ``reason`` is the one word kubectl prints in STATUS (``Running``, ``CrashLoopBackOff``,
    ``ImagePullBackOff``, ``OOMKilled``, ``Unschedulable``, ``Terminating`` ...) and
    ``message`` the sentence behind it. ``cause`` and ``cause_message`` are the same but
    for a pod being deleted, whose reason is ``Terminating``: then they say what it was
    before (the crash that had its target delete it). ``etl`` and ``target_id`` are set for
    AIStore transformer pods; ``role`` says what AIStore thinks of the pod.
    """

    name: str
    namespace: str
    phase: str
    ready: bool
    restarts: int
    created: datetime | None
    node: str
    ip: str
    reason: str
    message: str = ""
    cause: str = ""
    cause_message: str = ""
    host_ip: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    containers: tuple[KubeContainer, ...] = ()
    etl: str = ""
    target_id: str = ""
    role: PodRole = ""
    resource_version: str = ""

    @property
    def age_seconds(self) -> float | None:
        """Seconds since the pod was created (``None`` if unknown)."""
        if self.created is None:
            return None
        return max(0.0, time.time() - self.created.timestamp())

    @property
    def ready_count(self) -> tuple[int, int]:
        """(ready containers, all containers), kubectl's READY column."""
        return sum(c.ready for c in self.containers), len(self.containers)


@dataclass(frozen=True, slots=True)
class KubeEvent:
    """A Kubernetes Event about a pod (``type`` is ``Normal`` or ``Warning``)."""

    type: str
    reason: str
    message: str
    count: int
    last_seen: datetime | None
    source: str = ""


@dataclass(frozen=True, slots=True)
class PodMetrics:
    """CPU and memory of one pod, summed over its containers (from metrics.k8s.io)."""

    name: str
    cpu_cores: float
    memory_bytes: int
    window_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class MetricsUnavailable:
    """Why there are no metrics: ``"no metrics server"``, ``"forbidden"``, ``"unavailable"``.

    ``detail`` is a readable sentence for a tooltip or the status line.
    """

    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PodChange:
    """One step of :meth:`KubeClient.watch_pods`.

    ``SYNC`` carries the full current list in ``pods`` (the first step, and again after
    every relist, e.g. on 410 Gone); the other types carry one ``pod``.
    """

    type: ChangeType
    pod: KubePod | None = None
    pods: tuple[KubePod, ...] = ()
