"""Where each target's transformer is while an ETL initializes, in words: from its Kubernetes
pod and the pod's events, or from what the cluster's health answer says (the embedded cluster
reports its own stages there). Pure functions: no I/O, no widgets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from backend.ais import EtlPod
from backend.kube import KubeEvent, KubePod

EVENTS_SHOWN = 3
# kubectl's one-word reasons, as a person would say where the pod is
WAITING = {
    "ContainerCreating": "creating its container",
    "PodInitializing": "running its init containers",
    "Pending": "pending",
}
FAILING = {
    "ErrImagePull": "cannot pull its image",
    "ImagePullBackOff": "cannot pull its image (retrying)",
    "InvalidImageName": "its image name is invalid",
    "CrashLoopBackOff": "its container keeps crashing",
    "CreateContainerConfigError": "its container cannot be configured",
    "Error": "its container failed",
    "OOMKilled": "its container ran out of memory",
    "Unschedulable": "cannot be scheduled",
}


@dataclass(frozen=True)
class InitStep:
    """One target's transformer: ``stage`` in a few words, ``detail`` the sentence behind
    it, ``events`` the latest things that happened to it, oldest first."""

    target: str
    stage: str
    detail: str = ""
    events: tuple[str, ...] = ()
    ready: bool = False
    failing: bool = False


def kube_step(target: str, pod: KubePod | None, events: Sequence[KubeEvent]) -> InitStep:
    """From the pod AIStore created for ``target`` (None: not yet) and its events."""
    shown = tuple(f"{e.reason}: {e.message}" for e in events[-EVENTS_SHOWN:])
    if pod is None:
        return InitStep(target, "no pod yet", "the target has not created it", shown)
    main = next((c for c in pod.containers if not c.name.startswith("istio")), None)
    reason = (main.reason if main is not None and main.reason else pod.reason)
    message = (main.message if main is not None and main.message else pod.message)
    if reason in FAILING:
        return InitStep(target, FAILING[reason], message or reason, shown, failing=True)
    if not pod.node:
        return InitStep(target, "created, not scheduled yet", message, shown)
    if pod.ready:
        return InitStep(target, "ready", f"on {pod.node}", shown, ready=True)
    if main is not None and main.state == "running":
        return InitStep(target, "running, not ready yet",
                        "its readiness probe has not passed", shown)
    if main is not None and main.state == "terminated":
        return InitStep(target, f"exited with code {main.exit_code}", message, shown,
                        failing=True)
    pulling = any(e.reason == "Pulling" for e in events) and not any(
        e.reason in ("Pulled", "Created", "Started") for e in events)
    if pulling:
        return InitStep(target, "pulling its image", f"scheduled on {pod.node}", shown)
    return InitStep(target, WAITING.get(reason, reason.lower() or "starting"),
                    f"scheduled on {pod.node}", shown)


def ais_step(target: str, pod: EtlPod | None) -> InitStep:
    """From the cluster's health answer for ``target`` (None: it has nothing to say yet)."""
    if pod is None:
        return InitStep(target, "waiting for the target")
    if pod.health == "Running":
        return InitStep(target, "ready", pod.detail, pod.events[-EVENTS_SHOWN:], ready=True)
    failing = pod.health in ("Failed", "Aborted")
    return InitStep(target, pod.detail or pod.health.lower() or "starting", "",
                    pod.events[-EVENTS_SHOWN:], failing=failing)
