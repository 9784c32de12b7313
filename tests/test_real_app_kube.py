"""The Pods and Cluster screens against a REAL kube-apiserver (tests/peers): AIStore's side is
the embedded cluster with a real code ETL; Kubernetes holds that ETL's transformer pods shaped
as AIStore creates them, for the cluster's real target IDs, with status and events written as
the scheduler and a kubelet write them (tests/peers/kubelet.py)."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static, TextArea

from aisetl_tui.app import AisEtlApp
from aisetl_tui.screens.kube_cluster import KubeClusterScreen
from aisetl_tui.screens.kube_describe import KubeDescribeScreen
from aisetl_tui.screens.kube_events import KubeEventsScreen
from aisetl_tui.screens.pods import PodsScreen
from backend.kube import KubeClient
from backend.local import LocalCluster
from tests.peers.kube_server import KubeApiServer
from tests.peers.kubelet import NS, Kubelet, ais_pod, etl_pod, etl_service, node
from tests.test_app import connected, table_rows, until
from tests.test_app_kube import columns, init_etl, open_pods, row_index, rows_of

pytestmark = pytest.mark.real

IMAGE = "aistorage/runtime_python:3.11"


@pytest.fixture(scope="module")
def kubelet(real_kube: KubeApiServer) -> Iterator[Kubelet]:
    with real_kube.api() as api:
        kubelet = Kubelet(api)
        existing = {n.metadata.name for n in kubelet.v1.list_node().items}
        for name in ("node-a", "node-b"):
            if name not in existing:
                kubelet.create(node(name))
        yield kubelet


@pytest.fixture
def kube(real_kube: KubeApiServer, tmp_path: Path) -> Iterator[KubeClient]:
    """A default context (namespace `default`): the app has to find the ETL pods in `ais`."""
    path = real_kube.kubeconfig(tmp_path / "kubeconfig")
    with KubeClient(kubeconfig=path, timeout=5) as client:
        yield client


def create_pods(kubelet: Kubelet, etl: str, tids: list[str]) -> list[str]:
    """What each target does on init: its pod and Service, then the scheduler's binding."""
    names = []
    for tid, where in zip(tids, ("node-a", "node-b"), strict=False):
        pod = etl_pod(etl, tid, where, image=IMAGE)
        kubelet.create(pod, etl_service(pod))
        kubelet.bind(pod["metadata"]["name"], where)
        names.append(pod["metadata"]["name"])
    return names


async def test_pods_from_a_real_api_server(cluster: LocalCluster, http, etl_cleanup: list[str],
                                           kubelet: Kubelet, kube: KubeClient) -> None:
    etl = f"real-{secrets.token_hex(3)}"
    init_etl(http, etl_cleanup, etl)
    tids = [t.daemon_id for t in cluster.smap.targets]
    running, crashing = create_pods(kubelet, etl, tids)
    kubelet.running(running, etl, IMAGE, ready=True)
    kubelet.crash_loop(crashing, etl, IMAGE, restarts=7, exit_code=137, reason="OOMKilled")
    proxy, target = f"ais-proxy-{secrets.token_hex(2)}", f"ais-target-{secrets.token_hex(2)}"
    kubelet.create(ais_pod(proxy, "proxy", "node-a"), ais_pod(target, "target", "node-b"))

    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint, kube=kube)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_pods(app, pilot, etl, tids[1])
        rows = rows_of(app, etl)
        wanted = ["POD", "NODE", "STATE", "REASON", "RESTARTS"]
        assert [rows[tids[0]][c] for c in wanted] == [running, "node-a", "Running", "", "0"]
        assert kube.namespace == NS
        assert str(app.screen.query_one("StatusBar").render()).startswith(
            f"pods · namespace {NS}")
        assert not app.screen.query_one("#kube-note", Static).display
        assert [rows[tids[1]][c] for c in wanted] == [crashing, "node-b", "Running",
                                                      "CrashLoopBackOff (OOMKilled)", "7"]
        assert columns(app)[-1] == "POD"
        # no metrics server here: AIStore's figures (the embedded cluster's), and the header says
        assert columns(app)[-3:-1] == ["CPU·ais", "MEM·ais"]
        table = app.screen.table
        assert table is not None
        table.move_cursor(row=row_index(app, crashing))
        await pilot.pause()
        detail = str(app.screen.query_one("#pod-detail", Static).render())
        assert "back-off 40s restarting failed container" in detail

        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, KubeEventsScreen)
                    and app.screen.events is not None, "the events")
        assert [e.reason for e in app.screen.events or []] == ["Scheduled", "BackOff"]

        await pilot.press("escape", "d")
        await until(pilot, lambda: isinstance(app.screen, KubeDescribeScreen)
                    and "CrashLoopBackOff" in app.screen.text, "the description")
        text = app.screen.query_one("#describe", TextArea).text
        assert f"name: {crashing}" in text and "nvidia.com/ais-etl-target" in text

        await pilot.press("escape", "c")  # AIStore's own pods, by their `type` label
        await until(pilot, lambda: isinstance(app.screen, KubeClusterScreen)
                    and bool(app.screen.pods), "the cluster view")
        rows = {r[0]: r for r in table_rows(app, "#ais-pods")}
        assert rows[proxy][1] == "proxy" and rows[target][1] == "target"
        assert not any(name.startswith(etl) for name in rows)


async def test_pod_changes_as_they_happen(cluster: LocalCluster, http, etl_cleanup: list[str],
                                          kubelet: Kubelet, kube: KubeClient,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PodsScreen, "INTERVAL", 600.0)  # only the watch can show a change
    etl = f"real-{secrets.token_hex(3)}"
    init_etl(http, etl_cleanup, etl)
    tid = cluster.smap.targets[0].daemon_id
    (name,) = create_pods(kubelet, etl, [tid])
    kubelet.running(name, etl, IMAGE, ready=True)
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint, kube=kube)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await pilot.press("3")
        await until(pilot, lambda: rows_of(app, etl).get(tid, {}).get("STATE") == "Running",
                    "the pod")
        kubelet.running(name, etl, IMAGE, ready=True, restarts=4,
                        last={"exitCode": 1, "reason": "Error"})
        await until(pilot, lambda: rows_of(app, etl)[tid]["RESTARTS"] == "4", "the restart",
                    timeout=10)
        # the container dies; its target deletes the pod at once: the row keeps its last state
        kubelet.terminated(name, etl, IMAGE, exit_code=1, reason="Error",
                           message="ValueError: boom", restarts=4)
        kubelet.event(name, "BackOff", "Back-off restarting failed container", kind="Warning")
        kubelet.delete(name)
        await until(pilot, lambda: rows_of(app, etl)[tid]["STATE"] == "Deleted", "the deletion",
                    timeout=10)
        row = rows_of(app, etl)[tid]
        assert row["REASON"].startswith("Error · gone ") and row["RESTARTS"] == "4"
        table = app.screen.table
        assert table is not None
        table.move_cursor(row=row_index(app, name))
        await pilot.pause()
        detail = str(app.screen.query_one("#pod-detail", Static).render())
        assert detail.startswith(f"{name}: deleted ") and "last Failed" in detail
        assert f"container {etl} terminated (Error, exit code 1): ValueError: boom" in detail
        await pilot.press("e")  # its events outlive it
        await until(pilot, lambda: isinstance(app.screen, KubeEventsScreen)
                    and app.screen.events is not None, "the events")
        assert "BackOff" in [e.reason for e in app.screen.events or []]
        await pilot.press("escape")
        await pilot.press("1")  # leaving the screen ends the watch
        await until(pilot, lambda: not any(t.name == "kube-stream-stopper:watch"
                                           for t in threading.enumerate()),
                    "the watch to stop", timeout=10)
        await pilot.press("3")  # and coming back watches again
        await until(pilot, lambda: isinstance(app.screen, PodsScreen), "the pods screen")
        await pilot.pause(0.5)  # its one poll (of the next 600 s) done
        assert rows_of(app, etl)[tid]["STATE"] == "Deleted"  # still there
        (name,) = create_pods(kubelet, etl, [tid])  # a re-init's new pod
        kubelet.running(name, etl, IMAGE, ready=True, restarts=2,
                        last={"exitCode": 1, "reason": "Error"})
        await until(pilot, lambda: rows_of(app, etl)[tid]["RESTARTS"] == "2", "the pod back",
                    timeout=10)


def test_an_init_watched_through_the_real_api_server(kube: KubeClient,
                                                     kubelet: Kubelet) -> None:
    """What the init form says of each target while the ETL initializes, from the pods and
    events as the scheduler and a kubelet write them."""
    from aisetl_tui.screens.etl_init import kube_steps

    etl, tids = f"init-{secrets.token_hex(3)}", ["TqVt8081", "yBnt8082", "Zzzt9999"]
    pods = []
    for tid, where in zip(tids[:2], ("node-a", "node-b"), strict=True):
        pod = etl_pod(etl, tid, where, image=IMAGE)
        kubelet.create(pod, etl_service(pod))
        pods.append(pod["metadata"]["name"])
    kube.find_etl_namespace()
    kubelet.unschedulable(pods[0], "0/2 nodes are available: 2 Insufficient memory.")
    kubelet.bind(pods[1], "node-b")
    kubelet.event(pods[1], "Pulling", f'Pulling image "{IMAGE}"')
    steps = {s.target: s for s in kube_steps(kube, etl, tids)}
    assert steps["TqVt8081"].stage == "cannot be scheduled"
    assert "Insufficient memory" in steps["TqVt8081"].detail and steps["TqVt8081"].failing
    assert steps["yBnt8082"].stage == "pulling its image"
    assert steps["yBnt8082"].events[-1] == f'Pulling: Pulling image "{IMAGE}"'
    assert steps["Zzzt9999"].stage == "no pod yet"  # its target has not created one

    kubelet.image_pull_backoff(pods[1], etl, IMAGE)
    step = {s.target: s for s in kube_steps(kube, etl, tids)}["yBnt8082"]
    assert step.stage == "cannot pull its image (retrying)" and step.failing
    assert step.detail == f'Back-off pulling image "{IMAGE}"'

    kubelet.running(pods[1], etl, IMAGE, ready=False)
    step = {s.target: s for s in kube_steps(kube, etl, tids)}["yBnt8082"]
    assert step.stage == "running, not ready yet" and "Readiness probe failed" in step.events[-1]
    kubelet.running(pods[1], etl, IMAGE, ready=True)
    assert {s.target: s for s in kube_steps(kube, etl, tids)}["yBnt8082"].ready

    kubelet.crash_loop(pods[1], etl, IMAGE, restarts=3, exit_code=1)
    step = {s.target: s for s in kube_steps(kube, etl, tids)}["yBnt8082"]
    assert step.stage == "its container keeps crashing" and step.failing
