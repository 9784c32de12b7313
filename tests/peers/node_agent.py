"""A node agent for the real API server: runs the transformer pods AIStore's targets create.

No container runtime runs here, so no kubelet. An aisnode built with ETL creates, for each
ETL, a NodePort Service and a Pod on the real API server and waits for the pod to be Ready
(``ext/etl/boot.go``). For those pods this agent does what the scheduler and a kubelet
would: it binds each to the node its affinity names, runs its container as a process on this
machine the way the embedded cluster does (image → command, ``backend.local.etl``), listening
on 127.0.0.1 at the Service's nodePort (where the target dials ``hostIP:nodePort``), probes its
readiness, writes its status and events, and ends the process when the pod is deleted or
reports how it ended when the process exits. It serves the containers' logs as a kubelet
does (:mod:`tests.peers.container_logs`), so pod logs come through the real API server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from backend.local.etl._images import ImageRegistry
from backend.local.etl._launch import prepare
from backend.local.etl._msgs import parse_init_msg
from backend.local.etl._pod import owner_env_kept

from .container_logs import ContainerLog, LogServer
from .kubelet import NS, Kubelet, _cond, now

ETL_PODS = "app.kubernetes.io/name=etl"
HOST_IP = "127.0.0.1"


@dataclass
class RunningPod:
    name: str
    container: str
    image: str
    log: ContainerLog
    proc: subprocess.Popen | None = None
    deleted: threading.Event = field(default_factory=threading.Event)


class NodeAgent:
    """Scheduler and kubelet for the ETL pods of namespace ``ais`` on the real API server."""

    def __init__(self, api: Any, workdir: Path) -> None:
        from kubernetes import client

        self.kubelet = Kubelet(api)
        self.v1 = client.CoreV1Api(api)
        self.dir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.pods: dict[str, RunningPod] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._watcher = threading.Thread(target=self._watch, name="node-agent", daemon=True)
        self.logs = LogServer(workdir, self._container_log)

    def start(self) -> NodeAgent:
        """Serve logs, say so in every Node's status (as each node's kubelet would), watch."""
        self.logs.start()
        for node in self.v1.list_node().items:
            self.v1.patch_node_status(node.metadata.name, {"status": {
                "addresses": [{"type": "InternalIP", "address": HOST_IP},
                              {"type": "Hostname", "address": node.metadata.name}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": self.logs.port}},
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                "message": "node agent is posting ready status",
                                "lastHeartbeatTime": now(), "lastTransitionTime": now()}]}})
        self._watcher.start()
        return self

    def stop(self) -> None:
        """End every transformer process (by pid) and the watch."""
        self._stop.set()
        with self._lock:
            pods = list(self.pods.values())
        for pod in pods:
            pod.deleted.set()
            _end(pod.proc)
        self._watcher.join(10)
        self.logs.stop()

    def log_of(self, pod: str) -> str:
        with self._lock:
            running = self.pods.get(pod)
        return running.log.text() if running else ""

    def _container_log(self, pod: str, container: str) -> ContainerLog | None:
        with self._lock:
            running = self.pods.get(pod)
        return running.log if running and running.container == container else None

    # ---- the watch --------------------------------------------------------------------------

    def _watch(self) -> None:
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        version = ""
        while not self._stop.is_set():
            try:
                if not version:
                    listing = self.v1.list_namespaced_pod(NS, label_selector=ETL_PODS)
                    version = listing.metadata.resource_version
                    for pod in listing.items:
                        self._seen(self.v1.api_client.sanitize_for_serialization(pod), "ADDED")
                stream = watch.Watch().stream(
                    self.v1.list_namespaced_pod, NS, label_selector=ETL_PODS,
                    resource_version=version, timeout_seconds=1, _preload_content=False)
                for event in stream:
                    obj = event["raw_object"]
                    version = obj["metadata"].get("resourceVersion", version)
                    self._seen(obj, event["type"])
            except ApiException as err:
                if err.status == 410:  # expired: list again
                    version = ""
                    continue
                raise

    def _seen(self, pod: dict[str, Any], kind: str) -> None:
        name = pod["metadata"]["name"]
        gone = kind == "DELETED" or pod["metadata"].get("deletionTimestamp")
        new = None
        with self._lock:
            running = self.pods.get(name)
            if gone and running is not None:
                running.deleted.set()  # no process starts after this
                del self.pods[name]
            elif not gone and running is None and not pod["spec"].get("nodeName"):
                container = pod["spec"]["containers"][0]
                (self.dir / name).mkdir(parents=True, exist_ok=True)
                new = RunningPod(name, container["name"], container["image"],
                                 ContainerLog(self.dir / name / "log"))
                self.pods[name] = new
        if gone and running is not None:
            _end(running.proc)  # outside the lock: it may wait seconds for the exit
        if new is not None:
            threading.Thread(target=self._run, args=(new, pod), name=f"pod-{name}",
                             daemon=True).start()

    # ---- one pod ----------------------------------------------------------------------------

    def _run(self, pod: RunningPod, spec: dict[str, Any]) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self._bind(pod, spec)
            port = self._node_port(pod.name)
            launch = self._prepare(pod, spec, port)
            self.kubelet.event(pod.name, "Pulled", f'Container image "{pod.image}" already '
                               "present on machine")
            with self._lock:
                if pod.deleted.is_set():
                    return
                pod.proc = subprocess.Popen(
                    launch.argv, env={**owner_env_kept(), **launch.env}, cwd=launch.cwd,
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, start_new_session=True)
            threading.Thread(target=pod.log.copy_from, args=(pod.proc.stdout,), daemon=True,
                             name=f"log-{pod.name}").start()
            self.kubelet.event(pod.name, "Created", f"Created container {pod.container}")
            self.kubelet.event(pod.name, "Started", f"Started container {pod.container}")
            self._status_running(pod, ready=False)
            self._probe(pod, f"http://{HOST_IP}:{port}{launch.health_path}")
            code = pod.proc.wait()
            pod.log.ended.wait(5)
            if not pod.deleted.is_set():  # a signal's death reads as 128 + its number
                self._status_ended(pod, code if code >= 0 else 128 - code)
        except ApiException as err:
            if err.status != 404 or not pod.deleted.is_set():  # 404: the target deleted it
                raise
        except _StartError as err:
            self._status_ended(pod, 128, reason="StartError", message=str(err))

    def _bind(self, pod: RunningPod, spec: dict[str, Any]) -> None:
        terms = spec["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        node = terms[0]["matchExpressions"][0]["values"][0]
        self.kubelet.bind(pod.name, node)

    def _node_port(self, name: str, timeout: float = 10) -> int:
        """The nodePort of the pod's Service (a target creates it just before the pod)."""
        from kubernetes.client.exceptions import ApiException

        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.v1.read_namespaced_service(name, NS).spec.ports[0].node_port
            except ApiException as err:
                if err.status != 404 or time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def _prepare(self, pod: RunningPod, spec: dict[str, Any], port: int) -> Any:
        """What the container runs here, as the embedded cluster maps images to commands."""
        container = spec["spec"]["containers"][0]
        env = container.get("env") or []
        msg = {"name": pod.container, "communication": "hpush://",
               "runtime": {"image": pod.image, "command": container.get("command") or [],
                           "env": env}}
        target_url = next((e["value"] for e in env if e["name"] == "AIS_TARGET_URL"), "")
        notes: list[str] = []
        try:
            return asyncio.run(prepare(parse_init_msg(msg), self.dir / pod.name / "work",
                                       target_url, notes, ImageRegistry(self.dir), 1, port))
        except Exception as err:  # a StartError, whatever the cause, as a kubelet says
            raise _StartError(str(err)) from err

    def _probe(self, pod: RunningPod, url: str) -> None:
        """Readiness: GET the probe's path until it answers 200 or the process ends."""
        while not pod.deleted.is_set() and pod.proc.poll() is None:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    self._status_running(pod, ready=True)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)

    def _status_running(self, pod: RunningPod, *, ready: bool) -> None:
        self.kubelet.status(pod.name, {
            "phase": "Running", "hostIP": HOST_IP, "podIP": HOST_IP, "startTime": now(),
            "conditions": [_cond("PodScheduled", True), _cond("Initialized", True),
                           _cond("ContainersReady", ready), _cond("Ready", ready)],
            "containerStatuses": [{
                "name": pod.container, "image": pod.image, "imageID": "", "ready": ready,
                "restartCount": 0, "started": True, "state": {"running": {"startedAt": now()}}}]})

    def _status_ended(self, pod: RunningPod, code: int, *, reason: str = "",
                      message: str = "") -> None:
        """The container ended: the pod failed (restartPolicy of a transformer is Always, but
        the target deletes a pod whose container terminated, so no restart is shown)."""
        if not message:  # TerminationMessagePolicy FallbackToLogsOnError: the log's tail
            message = "\n".join(self.log_of(pod.name).splitlines()[-20:])
        self.kubelet.status(pod.name, {
            "phase": "Failed", "hostIP": HOST_IP, "startTime": now(),
            "conditions": [_cond("PodScheduled", True), _cond("Ready", False)],
            "containerStatuses": [{
                "name": pod.container, "image": pod.image, "imageID": "", "ready": False,
                "restartCount": 0, "started": False,
                "state": {"terminated": {"exitCode": code, "reason": reason or _reason(code),
                                         "message": message, "startedAt": now(),
                                         "finishedAt": now()}}}]})


class _StartError(Exception):
    """The container could not be started here (its command or runtime is missing)."""


def _reason(code: int) -> str:
    return "Completed" if code == 0 else "Error"


def _end(proc: subprocess.Popen | None) -> None:
    """End a transformer's process group, as a kubelet stops a container."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    except ProcessLookupError:
        pass
