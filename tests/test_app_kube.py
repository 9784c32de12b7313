"""The Pods screen and the Kubernetes screens, driven by keys (Textual's pilot).

AIStore's side is the real embedded cluster (session fixture ``cluster``) with a real code
ETL; Kubernetes' side is the FAKE Kubernetes API server of tests/test_kube.py, reached by the
real ``kubernetes`` client through a generated kubeconfig, holding transformer pods named
``<etl>-<target id lower>`` for the cluster's real target IDs: for what needs a kubelet (pod
logs). Pods, events, watches and the cluster view run against the real API server in
tests/test_real_app_kube.py.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static, TextArea

from aisetl_tui.app import AisEtlApp
from aisetl_tui.log_lines import SOURCE, TEXT
from aisetl_tui.screens.kube_cluster import KubeClusterScreen
from aisetl_tui.screens.kube_describe import KubeDescribeScreen
from aisetl_tui.screens.kube_events import KubeEventsScreen
from aisetl_tui.screens.kube_logs import KubeLogsScreen, PodLog
from aisetl_tui.screens.logs import LogsScreen
from aisetl_tui.screens.pods import PodsScreen
from aisetl_tui.session import NO_KUBECONFIG
from aisetl_tui.widgets.log_view import LogView
from backend.kube import KubeClient
from backend.local import LocalCluster
from tests.conftest import code_msg
from tests.fake_kube import FakeKubeApi
from tests.test_app import AsAnotherCluster, connected, table_rows, until

ECHO = b"def transform(data):\n    return data\n"
RUNNING_TEMPLATE = "md5-etl-tqvt8081"  # Running, ready, on node-a
CRASH_TEMPLATE = "md5-etl-ybnt8082"  # CrashLoopBackOff, last termination OOMKilled


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def add_etl_pod(fake: FakeKubeApi, template: str, etl: str, tid: str) -> str:
    """A copy of a fake pod renamed to ``<etl>-<tid lower>``, with its events."""
    pod: dict[str, Any] = copy.deepcopy(fake.pods[template])
    name = f"{etl}-{tid.lower()}"
    pod["metadata"]["name"] = name
    pod["metadata"]["labels"].update({"nvidia.com/ais-etl-name": name,
                                      "nvidia.com/ais-etl-target": tid})
    fake.set_pod(pod, "ADDED")
    for event in [e for e in fake.events if e["involvedObject"]["name"] == template]:
        event = copy.deepcopy(event)
        event["involvedObject"]["name"] = name
        fake.events.append(event)
    return name


def init_etl(http, etl_cleanup: list[str], name: str) -> None:
    etl_cleanup.append(name)
    resp = http.put("/v1/etl", json=code_msg(name, ECHO))
    assert resp.status_code == 200, resp.text


def rows_of(app: AisEtlApp, etl: str) -> dict[str, dict[str, str]]:
    """The Pods screen's rows of one ETL, by target ID."""
    if not isinstance(app.screen, PodsScreen) or app.screen.table is None:
        return {}
    rows = [dict(zip(columns(app), r, strict=True)) for r in table_rows(app, "#pods")]
    return {r["TARGET"]: r for r in rows if r["ETL"] == etl}


def columns(app: AisEtlApp) -> list[str]:
    table = app.screen.query_one("#pods")
    return [str(c.label) for c in table.columns.values()]


async def open_pods(app: AisEtlApp, pilot, etl: str, crashing_tid: str) -> None:
    """3: the Pods screen, once both of ``etl``'s rows are there, the crashing one's with its
    reason."""
    await connected(pilot, app)
    await pilot.press("3")
    await until(pilot, lambda: len(rows_of(app, etl)) == 2
                and rows_of(app, etl)[crashing_tid].get("REASON"), "the merged rows")


def row_index(app: AisEtlApp, pod: str) -> int:
    return next(i for i, r in enumerate(table_rows(app, "#pods")) if pod in r)


async def test_pods_merge_kubernetes_with_aistore(cluster: LocalCluster, http,
                                                  etl_cleanup: list[str], fake: FakeKubeApi,
                                                  kube: KubeClient) -> None:
    etl = "kube-echo"
    init_etl(http, etl_cleanup, etl)
    tids = [t.daemon_id for t in cluster.smap.targets]
    running = add_etl_pod(fake, RUNNING_TEMPLATE, etl, tids[0])
    crashing = add_etl_pod(fake, CRASH_TEMPLATE, etl, tids[1])
    fake.logs[running] = [f"{_stamp()} transformer listening on :8000",
                          f"{_stamp()} GET /health 200"]
    fake.endless_logs.add(running)
    usage = copy.deepcopy(fake.metrics["items"][0])  # 250m, 52340Ki, from metrics-server
    usage["metadata"]["name"] = running
    usage["metadata"]["labels"]["nvidia.com/ais-etl-name"] = running
    fake.metrics["items"].append(usage)

    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint, kube=kube)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_pods(app, pilot, etl, tids[1])
        assert columns(app)[:7] == ["ETL", "TARGET", "NODE", "STATE", "REASON", "RESTARTS",
                                    "AGE"]
        assert columns(app)[-1] == "POD"
        # CPU and memory from metrics.k8s.io in the pods' own namespace, and the header says so
        assert columns(app)[-3:-1] == ["CPU·k8s", "MEM·k8s"]
        rows = rows_of(app, etl)
        assert (rows[tids[0]]["CPU·k8s"], rows[tids[0]]["MEM·k8s"]) == ("250m", "51.1 MiB")
        assert (rows[tids[1]]["CPU·k8s"], rows[tids[1]]["MEM·k8s"]) == ("—", "—")
        wanted = ["POD", "NODE", "STATE", "REASON", "RESTARTS"]
        assert [rows[tids[0]][c] for c in wanted] == [running, "node-a", "Running", "", "0"]
        assert [rows[tids[1]][c] for c in wanted] == [crashing, "node-b", "Running",
                                                      "CrashLoopBackOff (OOMKilled)", "7"]
        assert not app.screen.query_one("#kube-note", Static).display

        # the selected pod's message, one line under the table
        table = app.screen.table
        assert table is not None
        table.move_cursor(row=row_index(app, crashing))
        await pilot.pause()
        detail = app.screen.query_one("#pod-detail", Static)
        assert detail.display and "back-off 5m0s restarting" in str(detail.render())

        # e: the pod's events
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, KubeEventsScreen)
                    and app.screen.events is not None, "the events")
        screen = app.screen
        assert isinstance(screen, KubeEventsScreen) and screen.pod == crashing
        assert [e.reason for e in screen.events or []] == [
            "Scheduled", "Pulled", "Created", "Started", "BackOff"]
        await pilot.pause()
        shown = "\n".join(line.text for line in screen.query_one("#events", Static)
                          .render_lines(screen.query_one("#events").region.reset_offset))
        assert "BackOff" in shown and "Back-off restarting failed container" in shown

        # d: the pod described
        await pilot.press("escape", "d")
        await until(pilot, lambda: isinstance(app.screen, KubeDescribeScreen)
                    and "CrashLoopBackOff" in app.screen.text, "the description")
        text = app.screen.query_one("#describe", TextArea).text
        assert f"name: {crashing}" in text and "OOMKilled" in text and "BackOff" in text

        # l on the running pod: its log followed from Kubernetes, in batches
        await pilot.press("escape")
        table.move_cursor(row=row_index(app, running))
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, KubeLogsScreen), "the log screen")
        log = app.screen.query_one(LogView)
        await until(pilot, lambda: any("tick 3" in line[TEXT] for line in log.shown),
                    "the followed log")
        assert "transformer listening on :8000" in log.shown[0][TEXT]

        # leaving the screen stops the follow (a thread that loops on a stop event)
        await pilot.press("escape")
        await until(pilot, lambda: not any(t.name == "kube-stream-stopper:follow"
                                           for t in threading.enumerate()),
                    "the follow to stop", timeout=5)

        # c: the cluster view from the Pods screen
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, KubeClusterScreen)
                    and bool(app.screen.pods), "the cluster view")


async def test_pods_without_kubeconfig_show_aistores_view(
        cluster: LocalCluster, http, etl_cleanup: list[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    etl = "nokube-echo"
    init_etl(http, etl_cleanup, etl)
    tids = {t.daemon_id for t in cluster.smap.targets}

    app = AsAnotherCluster(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await pilot.press("3")
        await until(pilot, lambda: set(rows_of(app, etl)) == tids, "AIStore's rows")
        note = app.screen.query_one("#kube-note", Static)
        assert note.display and str(note.render()) == NO_KUBECONFIG
        assert columns(app)[:6] == ["ETL", "TARGET", "NODE", "STATE", "RESTARTS", "AGE"]
        assert columns(app)[-1] == "POD"  # last: what matters fits 80 columns
        assert all(r["STATE"] == "Running" for r in rows_of(app, etl).values())
        assert app.session.kube is None and app.session.kube_note == NO_KUBECONFIG

        # no Kubernetes: no events, describe or cluster keys; l shows AIStore's logs
        shown = {b.binding.key for b in app.screen.active_bindings.values() if b.enabled}
        assert "l" in shown and not {"e", "d", "c"} & shown
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LogsScreen), "AIStore's logs")


async def test_embedded_cluster_never_asks_kubernetes(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("Kubernetes was asked")

    app = AisEtlApp(start="buckets")  # no endpoint: the embedded cluster
    monkeypatch.setattr("backend.kube._client.load", boom)
    assert not app.session.kube_possible
    assert await app.session.kube_client() is None and app.session.kube_note == ""
    remote = AisEtlApp(start="buckets", endpoint="http://x", kube=None)
    assert await remote.session.kube_client() is None


async def test_many_open_log_follows_do_not_starve_other_blocking_calls(
        cluster: LocalCluster, fake: FakeKubeApi, kube: KubeClient) -> None:
    pod = add_etl_pod(fake, RUNNING_TEMPLATE, "kube-many", cluster.smap.targets[0].daemon_id)
    fake.logs[pod] = [f"{_stamp()} transformer listening on :8000"]
    fake.endless_logs.add(pod)

    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint, kube=kube)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        for _ in range(12):  # log screens stacked up: each keeps following underneath
            await app.push_screen(KubeLogsScreen(kube, [PodLog(pod, pod)]))
        await until(pilot, lambda: sum(t.name == "kube-stream-stopper:follow"
                                       for t in threading.enumerate()) >= 12, "12 follows")
        # the Kubernetes polls and the cluster start run on the same pool of threads
        assert await asyncio.wait_for(asyncio.to_thread(lambda: "done"), 5) == "done"


async def test_logs_name_the_container_and_switch_to_another(
        cluster: LocalCluster, fake: FakeKubeApi, kube: KubeClient) -> None:
    pod = add_etl_pod(fake, RUNNING_TEMPLATE, "kube-ctr", cluster.smap.targets[0].daemon_id)
    fake.logs[pod] = [f"{_stamp()} transformer listening on :8000"]
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint, kube=kube)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await app.push_screen(KubeLogsScreen(kube, [PodLog(pod, pod, ("istio-proxy",
                                                                      "kube-ctr"), "kube-ctr")]))
        await until(pilot, lambda: any(q.get("container") == ["kube-ctr"]
                                       for p, q in fake.requests if p.endswith("/log")),
                    "the ETL container's log")
        assert str(app.screen.query_one("StatusBar").render()).startswith(
            f"logs {pod} · kube-ctr")
        await pilot.press("o")
        await until(pilot, lambda: any(q.get("container") == ["istio-proxy"]
                                       for p, q in fake.requests if p.endswith("/log")),
                    "the other container's log")
        assert str(app.screen.query_one("StatusBar").render()).startswith(
            f"logs {pod} · istio-proxy")


async def test_a_pod_seen_ending_keeps_its_last_log_lines_after_it_is_deleted(
        cluster: LocalCluster, http, etl_cleanup: list[str], fake: FakeKubeApi,
        kube: KubeClient) -> None:
    """AIStore deletes a transformer pod as soon as its container ends: the Pods screen reads
    the log when it sees the end, and the deleted pod's row opens those lines."""
    from aisetl_tui.screens.kube_logs import SavedLogScreen

    etl = "kube-ending"
    init_etl(http, etl_cleanup, etl)
    tids = [t.daemon_id for t in cluster.smap.targets]
    add_etl_pod(fake, RUNNING_TEMPLATE, etl, tids[0])
    crashing = add_etl_pod(fake, RUNNING_TEMPLATE, etl, tids[1])
    fake.logs[crashing] = [f"{_stamp()} loading model", f"{_stamp()} MemoryError: model.bin"]
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint, kube=kube)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await pilot.press("3")
        await until(pilot, lambda: rows_of(app, etl).get(tids[1], {}).get("POD") == crashing,
                    "the pods")
        ended: dict[str, Any] = copy.deepcopy(fake.pods[crashing])
        ended["status"]["phase"] = "Failed"
        ended["status"]["containerStatuses"][0]["ready"] = False
        ended["status"]["containerStatuses"][0]["state"] = {"terminated": {
            "exitCode": 137, "reason": "OOMKilled", "startedAt": _stamp(),
            "finishedAt": _stamp()}}
        fake.set_pod(ended)  # the container ends...
        screen = app.screen
        await until(pilot, lambda: crashing in screen._last_logs, "its log read at its end")
        fake.set_pod(ended, "DELETED")  # ...and its target deletes the pod
        await until(pilot, lambda: "gone" in rows_of(app, etl).get(tids[1], {}).get(
            "REASON", ""), "the gone row")
        screen.table.move_cursor(row=row_index(app, crashing))
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, SavedLogScreen), "its saved log")
        log = app.screen.query_one(LogView)
        await until(pilot, lambda: any("MemoryError: model.bin" in line[TEXT]
                                       for line in log.shown), "its last lines")
        assert "when it was seen ending" in log.shown[0][TEXT]


async def test_an_etls_logs_follow_every_pod_from_kubernetes_merged_by_time(
        cluster: LocalCluster, http, etl_cleanup: list[str], fake: FakeKubeApi,
        kube: KubeClient) -> None:
    """`l` on an ETL, with Kubernetes: every transformer pod's log followed at once, its lines
    placed by Kubernetes' timestamps and prefixed by their target."""
    etl = "kube-merged"
    init_etl(http, etl_cleanup, etl)
    tids = sorted(t.daemon_id for t in cluster.smap.targets)
    pods = {t: add_etl_pod(fake, RUNNING_TEMPLATE, etl, t) for t in tids}
    base = datetime.now(UTC) - timedelta(seconds=30)

    def at(second: int) -> str:
        return (base + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"

    fake.logs[pods[tids[0]]] = [f"{at(1)} one", f"{at(3)} three"]
    fake.logs[pods[tids[1]]] = [f"{at(2)} two", f"{at(4)} four"]
    app = AisEtlApp(start="etls", endpoint=cluster.endpoint, kube=kube)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await until(pilot, lambda: etl in app.screen.table.rows, "the ETL listed")
        app.screen.table.move_cursor(row=app.screen.table.get_row_index(etl))
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, KubeLogsScreen)
                    and app.screen.query("#logs"), "the logs")
        view = app.screen.log_view
        await until(pilot, lambda: len(view.shown) >= 4, "both pods' lines")
        assert [(ln[SOURCE], ln[TEXT]) for ln in view.shown] == [
            (tids[0], "one"), (tids[1], "two"), (tids[0], "three"), (tids[1], "four")]
        assert str(app.screen.query_one("StatusBar").render()).startswith(
            f"logs {etl} · 2 pods")
        assert {tuple(q.get("follow", [])) for p, q in fake.requests
                if p.endswith("/log")} == {("true",)}  # followed, not read once
