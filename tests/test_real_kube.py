"""backend.kube against a REAL kube-apiserver (tests/peers), with pods, services and events
shaped exactly as AIStore, the scheduler and a kubelet create them (tests/peers/kubelet.py)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from backend.kube import (
    KubeClient,
    KubeError,
    KubeForbidden,
    KubeNotFound,
    KubeUnauthorized,
    MetricsUnavailable,
    PodChange,
)
from tests.conftest import REPO, wait_for
from tests.peers.kube_server import KubeApiServer
from tests.peers.kubelet import NS, Kubelet, ais_pod, etl_pod, etl_service, node

pytestmark = pytest.mark.real

IMAGE = "aistorage/transformer_md5:latest"
TARGETS = ["TqVt8081", "yBnt8082"]


@pytest.fixture(scope="module")
def kubelet(real_kube: KubeApiServer) -> Iterator[Kubelet]:
    api = real_kube.api()
    kubelet = Kubelet(api)
    for name in ("node-a", "node-b"):
        if name not in {n.metadata.name for n in kubelet.v1.list_node().items}:
            kubelet.create(node(name))
    yield kubelet
    api.close()


@pytest.fixture
def kube(real_kube: KubeApiServer, tmp_path: Path) -> Iterator[KubeClient]:
    path = real_kube.kubeconfig(tmp_path / "kubeconfig", namespace=NS)
    with KubeClient(kubeconfig=path, timeout=5) as client:
        yield client


def new_etl(kubelet: Kubelet) -> tuple[str, list[str]]:
    """A fresh ETL name whose pods a target created on node-a and node-b (Pending)."""
    etl = f"etl-{secrets.token_hex(3)}"
    pods = []
    for tid, where in zip(TARGETS, ("node-a", "node-b"), strict=True):
        pod = etl_pod(etl, tid, where, image=IMAGE)
        kubelet.create(pod, etl_service(pod))
        pods.append(pod["metadata"]["name"])
    return etl, pods


def test_pods_as_aistore_creates_them(kube: KubeClient, kubelet: Kubelet) -> None:
    etl, (pod_a, pod_b) = new_etl(kubelet)
    other, _ = new_etl(kubelet)
    kubelet.bind(pod_a, "node-a")
    kubelet.running(pod_a, etl, IMAGE, ready=True)

    pods = kube.etl_pods(etl, [*TARGETS, "Zzzt9999"])
    assert {t: p.name if p else None for t, p in pods.items()} == {
        TARGETS[0]: pod_a, TARGETS[1]: pod_b, "Zzzt9999": None}
    running = pods[TARGETS[0]]
    assert running is not None
    assert (running.etl, running.target_id, running.role, running.namespace) == (
        etl, TARGETS[0], "etl", NS)
    assert (running.phase, running.ready, running.reason, running.node) == (
        "Running", True, "Running", "node-a")
    assert running.host_ip == "127.0.0.1" and running.age_seconds is not None
    pending = pods[TARGETS[1]]
    assert pending is not None and pending.phase == "Pending" and not pending.ready
    # every ETL's transformer pods, and never another ETL's by a shared prefix
    both = {(p.etl, p.target_id) for p in kube.transformer_pods(TARGETS)}
    assert {(etl, TARGETS[0]), (other, TARGETS[1])} <= both


def test_states_users_meet(kube: KubeClient, kubelet: Kubelet) -> None:
    etl, (pod_a, pod_b) = new_etl(kubelet)
    kubelet.unschedulable(pod_a, "0/2 nodes are available: 2 Insufficient memory.")
    kubelet.bind(pod_b, "node-b")
    kubelet.image_pull_backoff(pod_b, etl, "aistorage/transformer_md5:nope")
    pods = kube.etl_pods(etl, TARGETS)
    a, b = pods[TARGETS[0]], pods[TARGETS[1]]
    assert a is not None and b is not None
    assert (a.phase, a.reason) == ("Pending", "Unschedulable")
    assert a.message == "0/2 nodes are available: 2 Insufficient memory."
    assert (b.phase, b.reason, b.node) == ("Pending", "ImagePullBackOff", "node-b")
    assert 'Back-off pulling image "aistorage/transformer_md5:nope"' in b.message

    kubelet.running(pod_b, etl, IMAGE, ready=False)
    b = kube.get_pod(pod_b)
    assert (b.phase, b.reason, b.ready) == ("Running", "NotReady", False)

    kubelet.crash_loop(pod_b, etl, IMAGE, restarts=4, exit_code=137, reason="OOMKilled")
    b = kube.get_pod(pod_b)
    assert (b.reason, b.restarts, b.containers[0].last_reason) == (
        "CrashLoopBackOff", 4, "OOMKilled")
    assert "last termination: OOMKilled (exit code 137)" in b.message

    kubelet.terminated(pod_b, etl, IMAGE, exit_code=137, reason="OOMKilled")
    b = kube.get_pod(pod_b)
    assert (b.phase, b.reason, b.containers[0].exit_code) == ("Failed", "OOMKilled", 137)


def test_events_by_pod_name(kube: KubeClient, kubelet: Kubelet) -> None:
    etl, (pod_a, pod_b) = new_etl(kubelet)
    kubelet.bind(pod_a, "node-a")
    kubelet.crash_loop(pod_a, etl, IMAGE, restarts=3, exit_code=1)
    kubelet.unschedulable(pod_b, "0/2 nodes are available.")
    events = kube.pod_events(pod_a)
    assert [e.reason for e in events] == ["Scheduled", "BackOff"]
    assert events[0].source == "default-scheduler"
    assert (events[1].type, events[1].count, events[1].source) == ("Warning", 3, "kubelet")
    assert [e.reason for e in kube.pod_events(pod_b)] == ["FailedScheduling"]
    assert kube.pod_events(f"{etl}-nosuchpod") == []


def test_ais_own_pods_by_type_label(kube: KubeClient, kubelet: Kubelet) -> None:
    names = [f"ais-proxy-{secrets.token_hex(2)}", f"ais-target-{secrets.token_hex(2)}"]
    kubelet.create(ais_pod(names[0], "proxy", "node-a"), ais_pod(names[1], "target", "node-b"))
    roles = {p.name: p.role for p in kube.ais_pods()}
    assert roles.get(names[0]) == "proxy" and roles.get(names[1]) == "target"
    # ETL pods carry app=ais too, and are never AIStore's own
    assert all(not n.startswith("etl-") for n in roles)


def test_get_missing_pod_is_not_found(kube: KubeClient) -> None:
    with pytest.raises(KubeNotFound, match='pods "nope" not found'):
        kube.get_pod("nope")


def test_bad_token_is_unauthorized(real_kube: KubeApiServer, tmp_path: Path) -> None:
    path = real_kube.kubeconfig(tmp_path / "kubeconfig", token="wrong", namespace=NS)
    with KubeClient(kubeconfig=path) as k, pytest.raises(KubeUnauthorized, match="unauthorized"):
        k.list_pods()


def test_watch_stops_while_quiet(kube: KubeClient) -> None:
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    changes = list(kube.watch_pods(stop=stop, label_selector="app=nothing-here",
                                   timeout_seconds=30))
    assert [c.type for c in changes] == ["SYNC"]
    assert time.monotonic() - started < 3  # stopped at 0.5 s, not at the 30 s watch timeout


def _watch(kube: KubeClient, stop: threading.Event, seen: list[PodChange]) -> threading.Thread:
    def run() -> None:
        for change in kube.watch_etl_pods(stop=stop, timeout_seconds=5):
            seen.append(change)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_watch_sees_a_crash_and_the_target_deleting_the_pod(kube: KubeClient,
                                                           kubelet: Kubelet) -> None:
    stop, seen = threading.Event(), []
    thread = _watch(kube, stop, seen)
    try:
        wait_for(lambda: seen and seen[0].type == "SYNC", 10, "the first list")
        etl, (pod_a, _) = new_etl(kubelet)
        kubelet.bind(pod_a, "node-a")
        kubelet.terminated(pod_a, etl, IMAGE, exit_code=1, reason="Error", message="boom")
        kubelet.delete(pod_a)
        wait_for(lambda: any(c.type == "DELETED" and c.pod.name == pod_a for c in seen), 10,
                 "the DELETED event")
        mine = [c for c in seen if c.pod is not None and c.pod.name == pod_a]
        assert mine[0].type == "ADDED"
        assert any(c.pod.reason == "Error" and c.pod.phase == "Failed" for c in mine)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_watch_relists_after_410_gone(kube: KubeClient, kubelet: Kubelet,
                                      real_kube: KubeApiServer) -> None:
    """An expired resourceVersion: the real server answers 410 Gone, the client relists."""
    stop, seen = threading.Event(), []
    blocker = threading.Event()

    def run() -> None:
        for change in kube.watch_etl_pods(stop=stop, timeout_seconds=1):
            seen.append(change)
            if len(seen) == 1:
                blocker.wait(30)  # hold the first list's resourceVersion while it expires

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: seen, 10, "the first list")
        _, pods = new_etl(kubelet)
        for i in range(3):
            kubelet.unschedulable(pods[0], f"try {i}")
        real_kube.compact_etcd()
        blocker.set()
        wait_for(lambda: sum(c.type == "SYNC" for c in seen) >= 2, 20, "a relist")
        relist = [c for c in seen if c.type == "SYNC"][-1]
        assert {p.name for p in relist.pods} >= set(pods)
    finally:
        blocker.set()
        stop.set()
        thread.join(5)


# ---- RBAC: manifests/rbac applied for real -------------------------------------------------


@pytest.fixture(scope="module")
def app_token(real_kube: KubeApiServer) -> str:
    """A token of the aisetl-tui ServiceAccount, after applying manifests/rbac for real."""
    from kubernetes import client

    docs = yaml.safe_load_all((REPO / "manifests/rbac/aisetl-tui-rbac.yaml").read_text())
    real_kube.kubectl_apply(*[d for d in docs if d])
    with real_kube.api() as api:
        request = client.CoreV1Api(api).create_namespaced_service_account_token(
            "aisetl-tui", NS, {"spec": {"audiences": ["https://kubernetes.default.svc"],
                                        "expirationSeconds": 3600}})
    return request.status.token


def test_rbac_grants_every_call_the_app_makes(real_kube: KubeApiServer, kubelet: Kubelet,
                                              app_token: str, tmp_path: Path) -> None:
    etl, (pod_a, _) = new_etl(kubelet)
    kubelet.crash_loop(pod_a, etl, IMAGE, restarts=1, exit_code=1)
    path = real_kube.kubeconfig(tmp_path / "sa", token=app_token, namespace=NS,
                                user="aisetl-tui")
    with KubeClient(kubeconfig=path, timeout=5) as kube:
        assert kube.etl_pods(etl, TARGETS)[TARGETS[0]] is not None
        assert kube.get_pod(pod_a).reason == "CrashLoopBackOff"
        assert kube.get_pod_raw(pod_a)["metadata"]["name"] == pod_a
        assert [e.reason for e in kube.pod_events(pod_a)] == ["BackOff"]
        assert kube.ais_pods() is not None
        stop = threading.Event()
        changes = kube.watch_etl_pods(stop=stop, timeout_seconds=1)
        assert next(changes).type == "SYNC"
        kubelet.running(pod_a, etl, IMAGE, ready=True)  # the watch itself is granted too
        assert next(changes).type == "MODIFIED"
        stop.set()
        changes.close()
        # pods/log is granted: the API server goes on to the pod's kubelet (none runs here:
        # whatever it answers, it is not a refusal)
        try:
            kube.logs(pod_a)
        except KubeError as err:
            assert not isinstance(err, KubeForbidden), err
        # metrics.k8s.io is granted; no metrics server runs here, so it is unavailable, not
        # forbidden
        usage = kube.pod_metrics()
        assert isinstance(usage, MetricsUnavailable) and usage.reason == "no metrics server"


def test_rbac_refuses_what_it_does_not_grant(real_kube: KubeApiServer, app_token: str,
                                             tmp_path: Path) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    outside = real_kube.kubeconfig(tmp_path / "sa", token=app_token, namespace="default",
                                   user="aisetl-tui")
    with KubeClient(kubeconfig=outside, timeout=5) as kube, \
            pytest.raises(KubeForbidden, match="cannot list pods in namespace default"):
        kube.list_pods()
    with real_kube.api(app_token) as api:
        v1 = client.CoreV1Api(api)
        for call in (lambda: v1.list_namespaced_secret(NS),
                     lambda: v1.delete_namespaced_pod("any", NS),
                     lambda: v1.create_namespaced_pod(NS, etl_pod("x-etl", "T1", "node-a"))):
            with pytest.raises(ApiException) as err:
                call()
            assert err.value.status == 403


# ---- finding the ETL pods' namespace ---------------------------------------------------------


def test_finds_the_etl_pods_namespace(real_kube: KubeApiServer, kubelet: Kubelet,
                                      app_token: str, tmp_path: Path) -> None:
    """AIStore runs in `ais` (K8S_NS); a default context says `default`."""
    new_etl(kubelet)  # ETL pods in `ais`
    admin = real_kube.kubeconfig(tmp_path / "admin")  # context namespace: default
    with KubeClient(kubeconfig=admin, timeout=5) as kube:
        assert kube.namespace == "default"
        assert kube.find_etl_namespace()
        assert (kube.namespace, kube.namespace_how) == ("ais", "found by its ETL pods' labels")
    with KubeClient(kubeconfig=admin, namespace="default", timeout=5) as kube:
        assert kube.find_etl_namespace() and kube.namespace == "default"  # given: kept

    # the Role alone: no cluster-wide list; the context's namespace is not granted; then ais
    sa = real_kube.kubeconfig(tmp_path / "sa", token=app_token, user="aisetl-tui")
    with KubeClient(kubeconfig=sa, timeout=5) as kube:
        assert kube.find_etl_namespace() and kube.namespace == "ais"
        assert kube.namespace_how == "found by its ETL pods' labels"

    # with the optional ClusterRole: found cluster-wide
    docs = yaml.safe_load_all(
        (REPO / "manifests/rbac/optional/aisetl-tui-find-etl-pods.yaml").read_text())
    real_kube.kubectl_apply(*[d for d in docs if d])
    with KubeClient(kubeconfig=sa, timeout=5) as kube:
        wait_for(kube.find_etl_namespace, 10, "the ClusterRole to take effect")
        assert kube.namespace == "ais"


def test_says_where_it_looked_when_no_etl_pods_are_found(real_kube: KubeApiServer,
                                                         tmp_path: Path) -> None:
    """A user who may list pods in their own namespace only, where there are none."""
    from kubernetes import client

    ns, meta = "team-ns", {"name": "reader", "namespace": "team-ns"}
    real_kube.kubectl_apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
         "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
         "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": ns}]})
    with real_kube.api() as api:
        token = client.CoreV1Api(api).create_namespaced_service_account_token(
            "reader", ns, {"spec": {"audiences": ["https://kubernetes.default.svc"]}}
        ).status.token
    path = real_kube.kubeconfig(tmp_path / "k", token=token, namespace=ns, user="reader")
    with KubeClient(kubeconfig=path, timeout=5) as kube:
        assert not kube.find_etl_namespace()
        assert kube.namespace == ns and kube.etl_pods_found is False
        assert kube.namespace_how == ("no ETL pods found in all namespaces (not allowed to list "
                                      "them), team-ns, ais (forbidden)")
