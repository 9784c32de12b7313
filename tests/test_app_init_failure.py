"""A failed init, said in fields as AIStore reports it (cmn.ErrETL): where, the container's
state, reason and exit code, and the log's last lines; the embedded cluster answers in the
same shape."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from aisetl_tui.app import AisEtlApp
from backend.ais import EtlFailure, parse_etl_error
from backend.local import LocalCluster
from tests.conftest import code_msg, spec_msg
from tests.test_app import AsAnotherCluster, connected, submit_init_form, until
from tests.test_etl_tutorial import tutorial_server_with

CRASHING = b"import no_such_module_here\n\ndef transform(data):\n    return data\n"


def test_the_embedded_cluster_reports_a_crashed_start_as_aistore_does(
        cluster: LocalCluster, http, etl_cleanup: list[str]) -> None:
    etl_cleanup.append("crash-etl")
    resp = http.put("/v1/etl", json=code_msg("crash-etl", CRASHING))
    assert resp.status_code == 400
    failure = parse_etl_error(resp.json()["message"])
    assert failure is not None
    assert failure.target in {t.daemon_id for t in cluster.smap.targets}
    assert (failure.etl, failure.pod) == ("crash-etl", f"crash-etl-{failure.target.lower()}")
    assert (failure.container, failure.state, failure.reason) == ("crash-etl", "Terminated",
                                                                  "Error")
    assert failure.exit_code not in (None, 0)
    assert "No module named 'no_such_module_here'" in failure.message
    assert failure.cause.startswith("ETL crash-etl failed to start: ")


async def test_the_init_form_shows_the_failure_in_fields(cluster: LocalCluster, tmp_dir: Path,
                                                         etl_cleanup: list[str]) -> None:
    code = tmp_dir / "crash.py"
    code.write_bytes(CRASHING)
    etl_cleanup.append("crash-form")
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        form = await submit_init_form(pilot, app, "code", code, "crash-form")
        error = form.query_one("#form-error", Static)
        await until(pilot, lambda: "Terminated" in str(error.render()), "the failure",
                    timeout=60)
        lines = str(error.render()).splitlines()
        assert lines[0].startswith("ETL crash-form failed to start: crash-form-")
        assert lines[1].startswith("target ") and ", pod crash-form-" in lines[1]
        assert lines[2].startswith("container crash-form: Terminated, Error, exit code ")
        assert any("No module named 'no_such_module_here'" in line for line in lines[3:])


SLOW_START = (b"import time\nprint('loading the model', flush=True)\ntime.sleep(4)\n\n"
              b"def transform(data):\n    return data\n")


async def test_the_init_form_shows_each_targets_transformer_as_it_starts(
        cluster: LocalCluster, tmp_dir: Path, etl_cleanup: list[str]) -> None:
    """PUT /v1/etl blocks until every transformer is ready: meanwhile the form says, per
    target, where its transformer is (the embedded cluster reports its stages as a pod's),
    with the latest lines of its log."""
    code = tmp_dir / "slow_start.py"
    code.write_bytes(SLOW_START)
    etl_cleanup.append("slow-start")
    app = AsAnotherCluster(start="buckets", endpoint=cluster.endpoint)  # (a runtime spec)
    async with app.run_test(size=(140, 40)) as pilot:
        await connected(pilot, app)
        form = await submit_init_form(pilot, app, "code", code, "slow-start")
        steps = form.query_one("#init-steps", Static)
        await until(pilot, lambda: str(steps.render()).count(
            "waiting for its health check to answer") == 2, "both transformers starting",
            timeout=30)
        text = str(steps.render())
        assert text.startswith("Initializing slow-start")
        for target in cluster.smap.targets:
            assert f"t[{target.daemon_id}] started (pid " in text
        assert "    note: NUM_WORKERS=" in text  # its log, as it comes
        await until(pilot, lambda: app.screen is not form, "the init done", timeout=60)


async def test_etl_details_say_a_failed_init_in_fields(cluster: LocalCluster, http,
                                                       etl_cleanup: list[str]) -> None:
    from aisetl_tui.screens.etl_details import EtlDetailsScreen

    etl_cleanup.append("crash-details")
    assert http.put("/v1/etl", json=code_msg("crash-details", CRASHING)).status_code == 400
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await app.push_screen(EtlDetailsScreen("crash-details"))
        stage = app.screen.query_one("#stage", Static)
        await until(pilot, lambda: "Aborted" in str(stage.render()), "the details")
        lines = str(stage.render()).splitlines()
        assert lines[1].startswith("ETL crash-details failed to start: ")
        assert lines[2].startswith("target ") and ", pod crash-details-" in lines[2]
        assert lines[3].startswith("container crash-details: Terminated, Error, exit code ")


async def test_the_pods_screen_says_why_a_failed_etl_failed_on_its_target(
        cluster: LocalCluster, http, etl_cleanup: list[str]) -> None:
    etl_cleanup.append("crash-pods")
    resp = http.put("/v1/etl", json=code_msg("crash-pods", CRASHING))
    failure = parse_etl_error(resp.json()["message"])
    assert failure is not None
    shown, text = await failed_pods_detail(cluster, "crash-pods")
    assert shown.target == failure.target
    assert text.startswith("ETL crash-pods failed to start: ")
    assert f"target {failure.target}, pod crash-pods-" in text
    assert "container crash-pods: Terminated, Error, exit code " in text


async def failed_pods_detail(cluster: LocalCluster, etl: str) -> tuple[EtlFailure, str]:
    """The Pods screen's failure of ``etl`` (of 2 targets), and its detail line with the
    failing target's row selected."""
    from aisetl_tui.screens.pods import PodsScreen

    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(160, 40)) as pilot:
        await connected(pilot, app)
        await app.push_screen(PodsScreen(only=etl))
        screen = app.screen
        await until(pilot, lambda: screen.table is not None and screen.table.row_count == 2
                    and screen._failures.get(etl) is not None, "the rows and the failure")
        failure = screen._failures[etl]
        keys = [str(screen.table.get_row_at(i)[1]) for i in range(2)]
        screen.table.move_cursor(row=keys.index(failure.target))
        detail = screen.query_one("#pod-detail", Static)
        await until(pilot, lambda: detail.display, "the detail line")
        return failure, str(detail.render())


async def test_the_pods_screen_says_a_pod_went_over_its_memory(
        cluster: LocalCluster, http, bucket, tmp_dir: Path, etl_cleanup: list[str]) -> None:
    """As Kubernetes would: OOMKilled, exit code 137, on the target whose pod it was."""
    etl_cleanup.append("oom-pods")
    hog = "S.do_PUT = lambda self: (bytearray(b'x') * (512 * 2**20), self.do_POST())\n"
    pod = tutorial_server_with(cluster, tmp_dir, "oom", hog).replace(
        "      readinessProbe:",
        "      resources:\n        limits:\n          memory: 64Mi\n      readinessProbe:")
    assert http.put("/v1/etl", json=spec_msg("oom-pods", pod)).status_code == 200
    bucket.object("o").get_writer().put_content(b"x")
    assert http.get(f"/v1/objects/{bucket.name}/o",
                    params={"etl_name": "oom-pods"}).status_code >= 400
    _failure, text = await failed_pods_detail(cluster, "oom-pods")
    assert "container oom-pods: Terminated, OOMKilled, exit code 137" in text
