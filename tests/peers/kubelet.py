"""Set the scene on the real API server as AIStore, the scheduler and a kubelet would.

No kubelet or scheduler runs in the test bed, so what they would write is written here,
through the same API calls and subresources they use:

* :func:`etl_pod` / :func:`etl_service`: a transformer pod and its NodePort Service exactly
  as a target creates them (``ext/etl/api.go ParsePodSpec``, ``ext/etl/boot.go``: name
  ``<etl>-<lowercase target id>``, labels, the required node affinity, the readiness probe,
  ``TerminationMessagePolicy: FallbackToLogsOnError``, env ``AIS_TARGET_URL``).
* :class:`Kubelet`: binds pods to nodes (``pods/binding``, the scheduler's call), writes pod
  status (``pods/status``, a kubelet's call) for each state users meet, and posts the events
  each of them emits.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

NS = "ais"
LABEL_NODE = "nvidia.com/ais-etl-node"
LABEL_TARGET = "nvidia.com/ais-etl-target"
LABEL_NAME = "nvidia.com/ais-etl-name"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def etl_pod(etl: str, target_id: str, node: str, *, image: str = "aistorage/transformer_md5:latest",
            target_url: str = "http://127.0.0.1:9080") -> dict[str, Any]:
    """The pod a target creates for ``etl`` from a runtime spec, as a dict."""
    name = f"{etl}-{target_id.lower()}"
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": NS,
            "labels": {
                "app": "ais", LABEL_NAME: name, LABEL_NODE: node, LABEL_TARGET: target_id,
                "app.kubernetes.io/name": "etl", "app.kubernetes.io/component": "server",
            },
        },
        "spec": {
            "containers": [{
                "name": etl, "image": image, "imagePullPolicy": "Always",
                "ports": [{"name": "default", "containerPort": 8000}],
                "readinessProbe": {"httpGet": {"path": "/health", "port": "default"},
                                   "timeoutSeconds": 5, "periodSeconds": 10},
                "env": [{"name": "AIS_TARGET_URL", "value": f"{target_url}/v1/etl/_objects"},
                        {"name": "direct_put", "value": "true"}],
                "terminationMessagePolicy": "FallbackToLogsOnError",
            }],
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}},
        },
    }


def etl_service(pod: dict[str, Any]) -> dict[str, Any]:
    """The NodePort Service a target creates beside its transformer pod."""
    name = pod["metadata"]["name"]
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": NS, "labels": {
            "app": "ais", LABEL_NAME: name, "app.kubernetes.io/name": "etl",
            "app.kubernetes.io/component": "server"}},
        "spec": {"type": "NodePort", "ports": [{"port": 8000}],
                 "selector": {LABEL_NAME: name, "app": "ais"}},
    }


def ais_pod(name: str, role: str, node: str) -> dict[str, Any]:
    """An AIStore proxy or target pod as AIStore's dev manifests label it."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "ais", "type": role}},
        "spec": {"containers": [{"name": "aisnode", "image": "aistorage/aisnode:v4.0"}],
                 "nodeName": node},
    }


def node(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}}


def _cond(kind: str, status: bool, reason: str = "", message: str = "") -> dict[str, Any]:
    cond = {"type": kind, "status": "True" if status else "False",
            "lastTransitionTime": now(), "lastProbeTime": None}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


class Kubelet:
    """Writes what the scheduler and a kubelet would write for pods of namespace ``ais``."""

    def __init__(self, api: Any) -> None:
        from kubernetes import client

        self.v1 = client.CoreV1Api(api)

    def create(self, *objs: dict[str, Any]) -> None:
        for obj in objs:
            kind = obj["kind"]
            if kind == "Pod":
                self.v1.create_namespaced_pod(NS, obj)
            elif kind == "Service":
                self.v1.create_namespaced_service(NS, obj)
            elif kind == "Node":
                self.v1.create_node(obj)
            else:
                raise ValueError(kind)

    def bind(self, pod: str, node: str) -> None:
        """The scheduler's binding of ``pod`` to ``node``."""
        body = {"apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": pod, "namespace": NS},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        # the generated client cannot parse a Binding answer; the call is what matters
        self.v1.create_namespaced_binding(NS, body, _preload_content=False)
        self.event(pod, "Scheduled", f"Successfully assigned {NS}/{pod} to {node}",
                   source="default-scheduler")

    def status(self, pod: str, status: dict[str, Any]) -> None:
        """Replace the pod's status, as a kubelet does through ``pods/status``."""
        self.v1.patch_namespaced_pod_status(pod, NS, {"status": status})

    def event(self, pod: str, reason: str, message: str, *, kind: str = "Normal",
              source: str = "kubelet", count: int = 1) -> None:
        stamp = now()
        self.v1.create_namespaced_event(NS, {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{pod}.{uuid.uuid4().hex[:16]}", "namespace": NS},
            "involvedObject": {"kind": "Pod", "name": pod, "namespace": NS, "apiVersion": "v1"},
            "reason": reason, "message": message, "type": kind, "count": count,
            "source": {"component": source}, "firstTimestamp": stamp, "lastTimestamp": stamp,
            "reportingComponent": source,
        })

    def delete(self, pod: str) -> None:
        """What a target does on abort or stop: delete the pod at once, and its Service."""
        from kubernetes.client.exceptions import ApiException

        self.v1.delete_namespaced_pod(pod, NS, grace_period_seconds=0)
        try:
            self.v1.delete_namespaced_service(pod, NS)
        except ApiException as err:
            if err.status != 404:
                raise

    # ---- the states users meet ------------------------------------------------------------

    def unschedulable(self, pod: str, message: str) -> None:
        self.status(pod, {"phase": "Pending", "conditions": [
            _cond("PodScheduled", False, "Unschedulable", message)]})
        self.event(pod, "FailedScheduling", message, kind="Warning", source="default-scheduler")

    def image_pull_backoff(self, pod: str, container: str, image: str) -> None:
        message = f'Back-off pulling image "{image}"'
        self.status(pod, {"phase": "Pending", "conditions": [_cond("PodScheduled", True)],
                          "containerStatuses": [{
                              "name": container, "image": image, "imageID": "", "ready": False,
                              "restartCount": 0, "started": False,
                              "state": {"waiting": {"reason": "ImagePullBackOff",
                                                    "message": message}}}]})
        self.event(pod, "Failed", f'Failed to pull image "{image}": not found', kind="Warning")
        self.event(pod, "BackOff", message, kind="Warning")

    def running(self, pod: str, container: str, image: str, *, ready: bool,
                restarts: int = 0, last: dict[str, Any] | None = None) -> None:
        status = {
            "name": container, "image": image, "imageID": f"{image}@sha256:0", "ready": ready,
            "restartCount": restarts, "started": True,
            "state": {"running": {"startedAt": now()}},
        }
        if last:
            status["lastState"] = {"terminated": last}
        self.status(pod, {
            "phase": "Running", "hostIP": "127.0.0.1", "podIP": "10.1.0.7", "startTime": now(),
            "conditions": [_cond("PodScheduled", True), _cond("Initialized", True),
                           _cond("ContainersReady", ready), _cond("Ready", ready)],
            "containerStatuses": [status]})
        if not ready:
            self.event(pod, "Unhealthy", "Readiness probe failed: Get \"http://10.1.0.7:8000/"
                       "health\": dial tcp 10.1.0.7:8000: connect: connection refused",
                       kind="Warning")

    def crash_loop(self, pod: str, container: str, image: str, *, restarts: int,
                   exit_code: int, reason: str = "Error", message: str = "") -> None:
        last = {"exitCode": exit_code, "reason": reason, "message": message,
                "startedAt": now(), "finishedAt": now()}
        self.status(pod, {
            "phase": "Running", "hostIP": "127.0.0.1", "startTime": now(),
            "conditions": [_cond("PodScheduled", True), _cond("Ready", False)],
            "containerStatuses": [{
                "name": container, "image": image, "imageID": "", "ready": False,
                "restartCount": restarts, "started": False, "lastState": {"terminated": last},
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message":
                          f"back-off 40s restarting failed container={container} pod={pod}"}}}]})
        self.event(pod, "BackOff", "Back-off restarting failed container", kind="Warning",
                   count=restarts)

    def terminated(self, pod: str, container: str, image: str, *, exit_code: int,
                   reason: str, message: str = "", restarts: int = 0) -> None:
        """The container ended and the pod failed (OOMKilled, Error)."""
        self.status(pod, {
            "phase": "Failed", "hostIP": "127.0.0.1", "startTime": now(),
            "conditions": [_cond("PodScheduled", True), _cond("Ready", False)],
            "containerStatuses": [{
                "name": container, "image": image, "imageID": "", "ready": False,
                "restartCount": restarts, "started": False,
                "state": {"terminated": {"exitCode": exit_code, "reason": reason,
                                         "message": message, "startedAt": now(),
                                         "finishedAt": now()}}}]})
