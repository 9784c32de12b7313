"""backend.kube driven through the real ``kubernetes`` client against a FAKE Kubernetes API
server (:class:`tests.fake_kube.FakeKubeApi`), for what the real API server of the real tier
(tests/test_real_kube.py) cannot answer without a kubelet or metrics-server (pod logs,
metrics) or cannot be made to do (hang, an HTTP 410 to a watch request), and for the
configuration."""

from __future__ import annotations

import copy
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from backend.kube import (
    KubeClient,
    KubeConfigError,
    KubeForbidden,
    KubeTimeout,
    KubeUnreachable,
    MetricsUnavailable,
    PodMetrics,
)
from tests.fake_kube import NS, TARGETS, FakeKubeApi


def _run_with_deadline(fn: Any, seconds: float) -> Any:
    """Run ``fn`` in a thread; fail the test (not hang it) if it takes longer."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still running after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box.get("value")


# ---- configuration --------------------------------------------------------------------------


def test_config_from_kubeconfig_context_and_namespace(fake: FakeKubeApi, tmp_path: Path) -> None:
    path = fake.kubeconfig(tmp_path / "kubeconfig")
    with KubeClient(kubeconfig=path) as k:
        assert (k.context, k.namespace, k.host) == ("fake", NS, f"http://127.0.0.1:{fake.port}")
    with KubeClient(kubeconfig=path, context="elsewhere") as k:
        assert k.namespace == "elsewhere"
        assert k.list_pods() == []
    with KubeClient(kubeconfig=path, context="elsewhere", namespace=NS) as k:
        assert k.namespace == NS
        assert len(k.list_pods()) == len(fake.pods)


def test_kubeconfig_env_var(fake: FakeKubeApi, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = fake.kubeconfig(tmp_path / "cfg")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{path}")
    with KubeClient() as k:
        assert k.namespace == NS and k.list_pods()


def test_no_kubeconfig_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "nope"))
    with pytest.raises(KubeConfigError, match="no kubeconfig"):
        KubeClient()
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(KubeConfigError, match=r"\.kube/config not found"):
        KubeClient()


def test_unknown_context_and_bad_file(fake: FakeKubeApi, tmp_path: Path) -> None:
    path = fake.kubeconfig(tmp_path / "kubeconfig")
    with pytest.raises(KubeConfigError, match=r"no context 'prod'.*elsewhere, fake"):
        KubeClient(kubeconfig=path, context="prod")
    bad = tmp_path / "bad"
    bad.write_text("just: text\n")
    with pytest.raises(KubeConfigError):
        KubeClient(kubeconfig=bad)


# ---- logs -----------------------------------------------------------------------------------


def test_logs_tail(kube: KubeClient) -> None:
    lines = kube.logs("md5-etl-tqvt8081", tail_lines=3)
    assert len(lines) == 3
    assert lines[-1] == 'INFO:     10.244.1.6:41004 - "PUT / HTTP/1.1" 200 OK'
    assert len(kube.logs("md5-etl-tqvt8081", tail_lines=100)) == 8


def test_follow_stops_when_asked(kube: KubeClient, fake: FakeKubeApi) -> None:
    fake.endless_logs.add("md5-etl-tqvt8081")
    stop = threading.Event()
    got: list[str] = []

    def consume() -> None:
        for line in kube.follow_logs("md5-etl-tqvt8081", stop=stop, tail_lines=2):
            got.append(line)
            if len(got) == 5:
                stop.set()

    _run_with_deadline(consume, 5)
    assert got[:2] == [
        'INFO:     10.244.1.6:41002 - "PUT / HTTP/1.1" 200 OK',
        'INFO:     10.244.1.6:41004 - "PUT / HTTP/1.1" 200 OK',
    ]
    assert got[2:] == ["tick 1", "tick 2", "tick 3"]


def test_follow_stops_while_waiting_for_a_quiet_pod(kube: KubeClient) -> None:
    stop = threading.Event()
    got: list[str] = []
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    _run_with_deadline(
        lambda: got.extend(kube.follow_logs("md5-etl-tqvt8081", stop=stop, tail_lines=1)), 5)
    assert len(got) == 1
    assert time.monotonic() - started < 3  # stopped at 0.5 s, not at a read timeout


def test_follow_reconnects_when_idle_without_duplicates(kube: KubeClient,
                                                        fake: FakeKubeApi) -> None:
    stop = threading.Event()
    got: list[str] = []
    fake.append_log("md5-etl-tqvt8081", "first")

    def later() -> None:
        time.sleep(1.0)  # > idle_timeout: the client has reconnected by now
        fake.append_log("md5-etl-tqvt8081", "second")
        time.sleep(0.3)
        fake.log_ended.add("md5-etl-tqvt8081")

    threading.Thread(target=later, daemon=True).start()
    _run_with_deadline(lambda: got.extend(kube.follow_logs(
        "md5-etl-tqvt8081", stop=stop, tail_lines=1, idle_timeout=0.4)), 8)
    assert got == ["first", "second"]
    follows = [q for p, q in fake.requests if p.endswith("/log")]
    assert len(follows) >= 2 and "sinceSeconds" in follows[-1]


# ---- watch ----------------------------------------------------------------------------------


def _crash_fixed(fake: FakeKubeApi) -> dict[str, Any]:
    pod = copy.deepcopy(fake.pods["md5-etl-ybnt8082"])
    cs = pod["status"]["containerStatuses"][0]
    cs.update({"ready": True, "state": {"running": {"startedAt": "2025-06-01T10:30:00Z"}}})
    for cond in pod["status"]["conditions"]:
        cond["status"] = "True"
    return pod


def test_watch_relists_after_410_gone_as_a_status(kube: KubeClient, fake: FakeKubeApi) -> None:
    """The real API server sends 410 Gone as an ERROR event in the watch stream
    (tests/test_real_kube.py); an HTTP 410 answer to the watch request is relisted too."""
    gone_as = "status"
    fake.gone_as = gone_as
    stop = threading.Event()
    seen: list[tuple[str, Any]] = []

    def consume() -> None:
        for change in kube.watch_pods(stop=stop, label_selector="app.kubernetes.io/name=etl",
                                      timeout_seconds=5):
            seen.append((change.type, change))
            syncs = [c for t, c in seen if t == "SYNC"]
            if len(syncs) == 1 and len(seen) == 1:
                # first: a normal change arrives on the watch
                fake.set_pod(_crash_fixed(fake))
            elif change.type == "MODIFIED":
                # then history is compacted and the pod changes again: 410 Gone
                fake.expire()
                gone = copy.deepcopy(fake.pods["md5-etl-mxkt8083"])
                gone["metadata"]["labels"]["app.kubernetes.io/name"] = "etl"
                fake.set_pod(gone, "DELETED")
            elif len(syncs) == 2:
                stop.set()

    _run_with_deadline(consume, 10)
    assert fake.gone_sent == [gone_as]
    types = [t for t, _ in seen]
    assert types[0] == "SYNC" and types[1] == "MODIFIED" and types[-1] == "SYNC"
    first, last = seen[0][1], seen[-1][1]
    assert len(first.pods) == 5
    modified = seen[1][1].pod
    assert (modified.name, modified.reason, modified.ready) == ("md5-etl-ybnt8082", "Running",
                                                                True)
    names = {p.name for p in last.pods}
    assert "md5-etl-mxkt8083" not in names and len(names) == 4  # the current state
    assert next(p for p in last.pods if p.name == "md5-etl-ybnt8082").ready
    watches = [q for p, q in fake.requests if p.endswith("/pods") and "watch" in q]
    assert all(q["timeoutSeconds"] == ["5"] and q["resourceVersion"] for q in watches)


# ---- failures -------------------------------------------------------------------------------


def test_silent_server_times_out(fake: FakeKubeApi, tmp_path: Path) -> None:
    fake.hang = True
    with KubeClient(kubeconfig=fake.kubeconfig(tmp_path / "k"), timeout=1) as k:
        started = time.monotonic()
        with pytest.raises(KubeTimeout, match="did not answer in time"):
            _run_with_deadline(k.list_pods, 5)
        assert time.monotonic() - started < 4  # the 1 s timeout, not a hang
        stop = threading.Event()
        with pytest.raises(KubeTimeout):
            _run_with_deadline(lambda: next(iter(k.watch_pods(stop=stop))), 5)


def test_refused_connection(tmp_path: Path) -> None:
    server = FakeKubeApi()
    path = server.kubeconfig(tmp_path / "k")
    server.stop()  # never started: the port is closed now
    with KubeClient(kubeconfig=path, timeout=1) as k, pytest.raises(KubeUnreachable,
                                                                     match="cannot reach"):
        _run_with_deadline(k.list_pods, 5)


def test_failures_log_nothing_to_the_terminal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    server = FakeKubeApi()
    path = server.kubeconfig(tmp_path / "k")
    server.stop()
    caplog.set_level("DEBUG")
    with KubeClient(kubeconfig=path, timeout=1) as k:
        for _ in range(3):
            with pytest.raises(KubeUnreachable):
                k.list_pods()
    assert not [r for r in caplog.records if r.name.startswith("urllib3")]
    out, err = capfd.readouterr()
    assert "Retrying" not in out + err and "urllib3" not in out + err


def test_forbidden_names_the_verb_and_resource(kube: KubeClient, fake: FakeKubeApi) -> None:
    fake.forbidden = {("list", "pods"), ("get", "pods/log"), ("list", "events")}
    with pytest.raises(KubeForbidden) as info:
        kube.etl_pods("md5-etl", TARGETS)
    assert str(info.value).startswith(
        "forbidden: cannot list pods in namespace ais (RBAC verb list on pods)")
    assert (info.value.verb, info.value.resource, info.value.namespace) == ("list", "pods", NS)
    assert "system:serviceaccount:ais:aisetl-tui" in info.value.detail
    with pytest.raises(KubeForbidden, match=r"RBAC verb get on pods/log"):
        kube.logs("md5-etl-tqvt8081")
    with pytest.raises(KubeForbidden, match=r"RBAC verb list on events"):
        kube.pod_events("md5-etl-tqvt8081")


# ---- metrics --------------------------------------------------------------------------------


def test_metrics(kube: KubeClient) -> None:
    usage = kube.pod_metrics()
    assert isinstance(usage, dict)
    assert usage["md5-etl-tqvt8081"] == PodMetrics("md5-etl-tqvt8081", 0.25, 52340 * 1024, 10.52)
    assert usage["md5-etl-2-tqvt8081"].cpu_cores == pytest.approx(0.003)
    assert usage["demo-ais-target-0"].memory_bytes == 2 * 2**30
    etl_only = kube.pod_metrics("app.kubernetes.io/name=etl")
    assert isinstance(etl_only, dict) and set(etl_only) == {"md5-etl-tqvt8081",
                                                           "md5-etl-2-tqvt8081"}


def test_no_metrics_server(kube: KubeClient, fake: FakeKubeApi) -> None:
    fake.metrics_status = 404
    usage = kube.pod_metrics()
    assert isinstance(usage, MetricsUnavailable)
    assert usage.reason == "no metrics server"


def test_metrics_forbidden(kube: KubeClient, fake: FakeKubeApi) -> None:
    fake.metrics_status = 403
    usage = kube.pod_metrics()
    assert isinstance(usage, MetricsUnavailable)
    assert usage.reason == "forbidden"
    assert "RBAC verb list on pods.metrics.k8s.io" in usage.detail


# ---- threads and start-up -------------------------------------------------------------------


def test_concurrent_calls_from_threads(kube: KubeClient) -> None:
    results: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(5):
            n = len(kube.list_pods()) + len(kube.pod_events("md5-etl-ybnt8082"))
            with lock:
                results.append(n)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results == [10 + 5] * 40


def test_import_is_lazy() -> None:
    import subprocess
    import sys

    code = "import sys, backend.kube; print('kubernetes' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parent.parent, check=True)
    assert out.stdout.strip() == "False"
