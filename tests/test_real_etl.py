"""REAL AIStore ETL: aisnode built with the `etl` tag, running "in" a real Kubernetes API server.

The nodes are AIStore 5.0's own aisnode with ETL built in, each with the environment and the
service account a pod of AIStore gets (tests/peers/aisnode.py). On init each target creates
its transformer's Pod and NodePort Service on the real API server and waits for the pod to be
Ready, exactly as on a real cluster. What a scheduler and a kubelet would do for those pods is
done by the node agent (tests/peers/node_agent.py): it binds them, runs their container as a
process on this machine (the embedded cluster's image → command mapping), writes their status
and serves their logs through the API server. The app then runs the tutorial against it.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Label

from aisetl_tui.app import AisEtlApp
from aisetl_tui.log_lines import TEXT
from aisetl_tui.screens.buckets import BucketsScreen
from aisetl_tui.screens.etl_details import EtlDetailsScreen
from aisetl_tui.screens.etl_init import InitCodeScreen
from aisetl_tui.screens.inline import InlineTransformScreen
from aisetl_tui.screens.job_monitor import JobMonitorScreen
from aisetl_tui.screens.kube_logs import KubeLogsScreen
from aisetl_tui.screens.offline import OfflineFormScreen
from aisetl_tui.screens.pods import PodsScreen
from aisetl_tui.widgets.byte_view import ByteView
from aisetl_tui.widgets.log_view import LogView
from backend.ais import AisClient, class_init_msg, parse_etl_error
from backend.kube import KubeClient
from backend.local import LocalCluster
from tests.conftest import MANIFESTS
from tests.peers.aisnode import AisCluster
from tests.peers.build import AISNODE_ETL, KUBE_APISERVER
from tests.peers.fixtures import require
from tests.peers.kube_server import KubeApiServer
from tests.peers.kubelet import LABEL_NAME, LABEL_NODE, LABEL_TARGET, NS
from tests.peers.node_agent import NodeAgent
from tests.test_app import SHARD_MD5, connected, table_rows, until
from tests.test_app_contexts import promote_to
from tests.test_app_editor import open_editor, run_and_wait
from tests.test_real_differential import Step, differences, run_corpus

pytestmark = pytest.mark.real

CODE = MANIFESTS / "md5" / "code.py"


class RealEtlBed:
    """The API server, aisnode with ETL as its pods, and the node agent."""

    def __init__(self, tmp: Path) -> None:
        self.kube = KubeApiServer().start()
        self.ais: AisCluster | None = None
        self.agent: NodeAgent | None = None
        try:
            self.ais = AisCluster(targets=2, binary=AISNODE_ETL.path, kube=self.kube).start()
            self.api = self.kube.api()
            self.agent = NodeAgent(self.api, self.ais.dir / "agent").start()
            self.kubeconfig = self.kube.kubeconfig(tmp / "kubeconfig")
        except BaseException:
            self.stop()
            raise

    def v1(self):
        from kubernetes import client

        return client.CoreV1Api(self.api)

    def etl_pods(self, etl: str) -> list:
        return [p for p in self.v1().list_namespaced_pod(NS).items
                if p.metadata.name.startswith(f"{etl}-")]

    def stop(self) -> None:
        if self.agent is not None:
            self.agent.stop()
        if self.ais is not None:
            self.ais.stop()
        self.kube.stop()


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealEtlBed]:
    require(KUBE_APISERVER, AISNODE_ETL, etcd=True)
    bed = RealEtlBed(tmp_path_factory.mktemp("real-etl"))
    try:
        yield bed
    finally:
        bed.stop()


@pytest.fixture
async def ais(bed: RealEtlBed) -> AsyncIterator[AisClient]:
    async with AisClient(bed.ais.endpoint, timeout=60) as client:
        yield client


@pytest.fixture
async def bucket(ais: AisClient) -> AsyncIterator[str]:
    name = f"real-{secrets.token_hex(4)}"
    await ais.create_bucket(name)
    await ais.put_bytes(name, "shard.in", b"some text :)\n")
    yield name
    await ais.destroy_bucket(name)


async def test_tutorial_on_real_aistore_etl(bed: RealEtlBed, ais: AisClient, bucket: str) -> None:
    etl = f"md5-{secrets.token_hex(3)}"
    await ais.init_etl(class_init_msg(etl, CODE.read_text()))
    try:
        # the target created each pod and Service as on a real cluster; the agent ran them
        tids = bed.ais.target_ids()
        pods = {p.metadata.name: p for p in bed.etl_pods(etl)}
        assert set(pods) == {f"{etl}-{t.lower()}" for t in tids}
        for tid in tids:
            pod = pods[f"{etl}-{tid.lower()}"]
            assert pod.metadata.labels[LABEL_TARGET] == tid
            assert pod.metadata.labels[LABEL_NAME] == pod.metadata.name
            assert pod.spec.node_name == pod.metadata.labels[LABEL_NODE]  # bound by affinity
            assert pod.status.phase == "Running"
            svc = bed.v1().read_namespaced_service(pod.metadata.name, NS)
            assert svc.spec.type == "NodePort" and svc.spec.ports[0].node_port
        assert [(e.name, e.stage) for e in await ais.list_etls()] == [(etl, "Running")]

        # inline: the tutorial's md5
        assert (await ais.transform_object(bucket, "shard.in", etl)) == SHARD_MD5.encode()

        # offline: every object into a new bucket, each its md5
        for i in range(10):
            await ais.put_bytes(bucket, f"obj-{i}", f"payload {i}".encode())
        dst = f"{bucket}-md5"
        xid = await ais.start_bucket_transform(bucket, dst, etl)
        for _ in range(300):
            status = await ais.job_status(xid)
            if not status.running:
                break
            await asyncio.sleep(0.2)
        assert not status.running and not status.aborted and not status.err, status
        for i in range(10):
            want = hashlib.md5(f"payload {i}".encode()).hexdigest().encode()
            assert await ais.get_object(dst, f"obj-{i}") == want
        await ais.destroy_bucket(dst)

        # logs: AIStore asks the API server, which asks the pod's kubelet
        logs = await ais.etl_logs(etl)
        assert sorted(entry.target_id for entry in logs) == tids
        assert all("server running at 127.0.0.1" in entry.text for entry in logs), logs
        procs = [bed.agent.pods[name].proc for name in pods]
    finally:
        await ais.delete_etl(etl)
    # gone: the target deleted its pod and Service; the agent ended the processes
    await _eventually(lambda: not bed.etl_pods(etl), "the pods deleted")
    assert not [s for s in bed.v1().list_namespaced_service(NS).items
                if s.metadata.name.startswith(f"{etl}-")]
    await _eventually(lambda: all(p.poll() is not None for p in procs), "the processes ended")


async def test_a_crashed_transformer_aborts_the_etl(bed: RealEtlBed, ais: AisClient,
                                                    bucket: str) -> None:
    etl = f"crash-{secrets.token_hex(3)}"
    await ais.init_etl(class_init_msg(etl, CODE.read_text()))
    try:
        victim = bed.etl_pods(etl)[0].metadata.name
        bed.agent.pods[victim].proc.send_signal(signal.SIGKILL)
        # the kubelet reports the container terminated; AIStore's pod watcher aborts the ETL
        # and deletes its pods
        await _eventually(lambda: not bed.etl_pods(etl), "the pods deleted")
        for _ in range(100):
            if [e.stage for e in await ais.list_etls() if e.name == etl] == ["Aborted"]:
                break
            await asyncio.sleep(0.2)
        assert [e.stage for e in await ais.list_etls() if e.name == etl] == ["Aborted"]
        # AIStore's targets forget it: the details come from the list and the inline job
        details = await ais.etl_details(etl)
        assert details.stage == "Aborted" and details.init_msg == {}
        failure = parse_etl_error(details.reason)
        assert failure is not None and (failure.pod, failure.exit_code) == (victim, 137)

        # and the app says so in fields, not "does not exist"
        app = AisEtlApp(start="etls", endpoint=bed.ais.endpoint, kube=None)
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot, app)
            await until(pilot, lambda: any(r[0] == etl and r[1] == "Aborted"
                                           for r in table_rows(app, "#etls")), "the ETL row")
            _move_to(app, "#etls", etl)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, EtlDetailsScreen)
                        and "exit code 137" in str(app.screen.query_one("#stage").render()),
                        "the details")
            shown = str(app.screen.query_one("#stage").render())
            assert f"pod {victim}" in shown and "does not exist" not in shown, shown
    finally:
        await ais.delete_etl(etl)


async def _eventually(predicate, what: str, timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.2)):
        if predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def test_tutorial_through_the_app_on_real_aistore_etl(bed: RealEtlBed, ais: AisClient,
                                                            bucket: str) -> None:
    """Init from code (the class payload: AIStore 5.0 has no `init code`), inline md5, an
    offline job in the monitor, the pods from the API server, stop: all through the keys."""
    etl = f"app-{secrets.token_hex(3)}"
    with KubeClient(kubeconfig=bed.kubeconfig, timeout=10) as kube:
        app = AisEtlApp(start="buckets", endpoint=bed.ais.endpoint, kube=kube)
        try:
            async with app.run_test(size=(120, 40)) as pilot:
                await connected(pilot, app)
                await _open_bucket(pilot, app, bucket)
                await pilot.press("colon")
                await pilot.pause()
                app.screen.query_one(Input).value = f"init code {CODE}"
                await pilot.press("enter")
                await until(pilot, lambda: isinstance(app.screen, InitCodeScreen), "the form")
                app.screen.query_one("#name", Input).value = etl
                await pilot.press("ctrl+s")
                await until(pilot, lambda: not isinstance(app.screen, InitCodeScreen),
                            "init to finish", timeout=60)
                assert [(e.name, e.stage) for e in await ais.list_etls()] == [(etl, "Running")]

                await pilot.press("i")
                await until(pilot, lambda: isinstance(app.screen, InlineTransformScreen)
                            and app.screen.query_one("#output", ByteView).text == SHARD_MD5,
                            "the inline transform", timeout=30)

                await pilot.press("escape", "escape")
                await until(pilot, lambda: isinstance(app.screen, BucketsScreen), "buckets")
                _move_to(app, "#buckets", bucket)
                await pilot.press("t")
                await until(pilot, lambda: isinstance(app.screen, OfflineFormScreen)
                            and app.screen.query_one("#dst", Input).value, "the form")
                app.screen.query_one("#dst", Input).value = f"{bucket}-out"
                await pilot.press("ctrl+s")
                await until(pilot, lambda: isinstance(app.screen, JobMonitorScreen)
                            and app.screen.finished, "the job to finish", timeout=60)
                text = str(app.screen.query_one("#overall-text", Label).render())
                assert text.startswith("finished in ") and " · 1 / 1 object" in text, text
                assert await ais.get_object(f"{bucket}-out", "shard.in") == SHARD_MD5.encode()

                # the transformer pods, as the real API server has them
                app.run_command(f"pods {etl}")
                await until(pilot, lambda: isinstance(app.screen, PodsScreen)
                            and app.screen.table is not None
                            and app.screen.table.row_count == 2, "its pods", timeout=30)
                await until(pilot, lambda: all("Running" in str(app.screen.table.get_row_at(i))
                                               for i in range(2)), "pods running")
                # l: the pod's log followed through the API server from its node's kubelet
                await pilot.press("l")
                await until(pilot, lambda: isinstance(app.screen, KubeLogsScreen), "the logs")
                log = app.screen.query_one(LogView)
                await until(pilot, lambda: any("server running at 127.0.0.1" in line[TEXT]
                                               for line in log.shown), "the followed log")
                await pilot.press("escape")

                # stop it from the ETLs tab
                await pilot.press("escape", "2")
                await until(pilot, lambda: any(r[0] == etl for r in table_rows(app, "#etls")),
                            "the ETL row")
                _move_to(app, "#etls", etl)
                await pilot.press("s")
                await pilot.pause()
                await pilot.press("tab", "enter")
                await until(pilot, lambda: any(r[0] == etl and r[1] == "Stopped"
                                               for r in table_rows(app, "#etls")), "the stop",
                            timeout=30)
            assert not bed.etl_pods(etl)
        finally:
            await ais.delete_etl(etl)
            await ais.destroy_bucket(f"{bucket}-out")


def _move_to(app: AisEtlApp, selector: str, name: str) -> None:
    table = app.screen.query_one(selector, DataTable)
    table.move_cursor(row=next(i for i, r in enumerate(table_rows(app, selector))
                               if r[0] == name))


async def _open_bucket(pilot, app: AisEtlApp, bucket: str) -> None:
    await until(pilot, lambda: any(r[0] == bucket for r in table_rows(app, "#buckets")),
                "the bucket")
    _move_to(app, "#buckets", bucket)
    await pilot.press("enter")
    await until(pilot, lambda: len(app.screen.query("#objects")) and table_rows(app, "#objects"),
                "its objects")




# ---- differential: the ETL API of the embedded cluster against real AIStore ETL ----------

def etl_corpus(init_msg: dict) -> list[Step]:
    """ETL requests in the order a user makes them; ``{b}`` a bucket, ``{e}`` the ETL."""
    obj = "/v1/objects/{b}"
    act = lambda action, value=None: {"action": action, "name": "", "value": value}  # noqa: E731
    return [
        Step("create bucket", "POST", "/v1/buckets/{b}", {"provider": "ais"}, act("create-bck")),
        Step("put shard.in", "PUT", obj + "/shard.in", {"provider": "ais"},
             data=b"some text :)\n"),
        Step("list with none", "GET", "/v1/etl", only_id="{e}"),
        Step("details of a missing ETL", "GET", "/v1/etl/{e}"),
        Step("init", "PUT", "/v1/etl", body=init_msg),
        Step("init again", "PUT", "/v1/etl", body=init_msg),
        Step("list", "GET", "/v1/etl", only_id="{e}"),
        Step("details", "GET", "/v1/etl/{e}"),
        Step("health", "GET", "/v1/etl/{e}/health"),
        Step("inline", "GET", obj + "/shard.in", {"provider": "ais", "etl_name": "{e}"}),
        Step("inline of a missing object", "GET", obj + "/nope",
             {"provider": "ais", "etl_name": "{e}"}),
        Step("inline with a missing ETL", "GET", obj + "/shard.in",
             {"provider": "ais", "etl_name": "nosuch-etl"}),
        Step("offline", "POST", "/v1/buckets/{b}", {"provider": "ais", "bck_to": "ais/@#/{c}/"},
             act("etl-bck", {"id": "{e}"}), wait=True),
        Step("its output", "GET", "/v1/objects/{c}/shard.in", {"provider": "ais"}),
        Step("stop", "POST", "/v1/etl/{e}/stop"),
        Step("list stopped", "GET", "/v1/etl", only_id="{e}"),
        Step("inline when stopped", "GET", obj + "/shard.in",
             {"provider": "ais", "etl_name": "{e}"}),
        Step("details when stopped", "GET", "/v1/etl/{e}"),
        Step("health when stopped", "GET", "/v1/etl/{e}/health"),
        Step("stop again", "POST", "/v1/etl/{e}/stop"),
        Step("start", "POST", "/v1/etl/{e}/start"),
        Step("list started", "GET", "/v1/etl", only_id="{e}"),
        Step("delete", "DELETE", "/v1/etl/{e}"),
        Step("delete again", "DELETE", "/v1/etl/{e}"),
        Step("list deleted", "GET", "/v1/etl", only_id="{e}"),
        Step("destroy output", "DELETE", "/v1/buckets/{c}", {"provider": "ais"},
             act("destroy-bck")),
        Step("destroy bucket", "DELETE", "/v1/buckets/{b}", {"provider": "ais"},
             act("destroy-bck")),
    ]


# step name → why the embedded cluster may answer otherwise than AIStore with ETL there
_KEEPS_STOPPED = ("AIStore's targets forget an ETL once it is stopped or aborted and answer 404; "
                  "the embedded cluster keeps its details (init message, stage, reason) and "
                  "its transformers' health so the app can say what happened; the client "
                  "reads either (test_a_crashed_transformer_aborts_the_etl, above)")
ETL_ALLOWED: dict[str, str] = {
    "details": "the embedded cluster adds the ETL's stage and, for an aborted one, why (AIStore "
               "says it only in the list and in the inline job's error); clients ignore extra "
               "fields",
    "health": "the embedded cluster adds each transformer's pid, start time and restarts (it "
              "runs no pods Kubernetes could be asked about); clients treat them as optional",
    "details when stopped": _KEEPS_STOPPED,
    "health when stopped": _KEEPS_STOPPED,
}


def test_embedded_etl_api_answers_as_aistore(cluster: LocalCluster, bed: RealEtlBed) -> None:
    names = {"b": f"diff-{secrets.token_hex(4)}", "c": f"diff-{secrets.token_hex(4)}",
             "e": f"diff-{secrets.token_hex(3)}"}
    steps = etl_corpus(class_init_msg(names["e"], CODE.read_text()))
    ours = run_corpus(cluster.endpoint, names, steps)
    theirs = run_corpus(bed.ais.endpoint, names, steps)
    assert not (found := differences(ours, theirs, ETL_ALLOWED)), "\n".join(found)


PICKY = '''import hashlib


def transform(data):
    if data.startswith(b"bad"):
        raise ValueError("refusing " + data.decode())
    return hashlib.md5(data).hexdigest().encode()
'''


async def test_the_editor_runs_a_sample_on_real_aistore_etl(bed: RealEtlBed, ais: AisClient,
                                                           bucket: str, tmp_path: Path) -> None:
    """The developer's loop against real AIStore: the code goes as a runtime spec (5.0 has no
    `init code`), each sample object is transformed inline by real transformer pods, and a
    failing object shows its error and the line it failed at."""
    await ais.put_bytes(bucket, "zz.bad", b"bad input")
    code = tmp_path / "picky.py"
    code.write_text(PICKY)
    etl = f"ed-{secrets.token_hex(3)}"
    app = AisEtlApp(start="buckets", endpoint=bed.ais.endpoint, kube=None)
    try:
        async with app.run_test(size=(140, 45)) as pilot:
            await connected(pilot, app)
            screen = await open_editor(pilot, app, code, PICKY)
            screen.query_one("#etl-name", Input).value = etl
            screen.query_one("#bucket", Input).value = bucket
            await run_and_wait(pilot, screen, 1, 2, timeout=120)
            results = screen.runs[-1].results
            assert results["shard.in"].head == SHARD_MD5.encode()
            bad = results["zz.bad"]
            assert not bad.ok and "refusing bad input" in bad.error + bad.log, bad
            await until(pilot, lambda: screen.code.selection.start[0] == 5,
                        "the failing line selected")  # line 6: the raise
            sent = (await ais.etl_details(etl)).init_msg
            assert "runtime" in sent and "code" not in sent  # the runtime spec
    finally:
        for name in [e.name for e in await ais.list_etls() if e.name == etl]:
            await ais.delete_etl(name)


async def test_promote_from_the_embedded_cluster_to_real_aistore(
        bed: RealEtlBed, ais: AisClient, bucket: str, cluster: LocalCluster,
        tmp_path: Path) -> None:
    """The step to production: an ETL tried on the embedded cluster, promoted to real AIStore
    as the runtime spec it takes there, and the same sample run there, side by side."""
    from aisetl_tui.contexts import EMBEDDED, Context

    code = tmp_path / "md5.py"
    code.write_text(CODE.read_text())
    etl = f"promo-{secrets.token_hex(3)}"
    contexts = [Context(EMBEDDED), Context("here", cluster.endpoint),
                Context("real", bed.ais.endpoint)]
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint, contexts=contexts)
    try:
        async with app.run_test(size=(140, 45)) as pilot:
            await connected(pilot, app)
            here = app.session.client
            await here.create_bucket(bucket)  # the same bucket and object as on real AIStore
            await here.put_bytes(bucket, "shard.in", b"some text :)\n")
            editor = await open_editor(pilot, app, code, CODE.read_text())
            editor.query_one("#etl-name", Input).value = etl
            editor.query_one("#bucket", Input).value = bucket
            await run_and_wait(pilot, editor, 1, 1)
            question, rows = await promote_to(pilot, app, 2, 1, timeout=120)
            assert f"on real ({bed.ais.endpoint})" in question
            assert "as a runtime spec (aistorage/runtime_python" in question
            assert rows[0][3] == "same"
            assert (await ais.etl_details(etl)).stage in ("", "Running")
            assert await ais.transform_object(bucket, "shard.in", etl) == SHARD_MD5.encode()
    finally:
        for name in [e.name for e in await ais.list_etls() if e.name == etl]:
            await ais.delete_etl(name)
        async with AisClient(cluster.endpoint, token=cluster.token) as mine:
            for name in [e.name for e in await mine.list_etls() if e.name == etl]:
                await mine.delete_etl(name)
            await mine.destroy_bucket(bucket)
