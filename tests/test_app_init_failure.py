"""A failed init, said in fields as AIStore reports it (cmn.ErrETL): where, the container's
state, reason and exit code, and the log's last lines; the embedded cluster answers in the
same shape."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static

from aisetl_tui.app import AisEtlApp
from backend.ais import parse_etl_error
from backend.local import LocalCluster
from tests.conftest import code_msg
from tests.test_app import connected, open_init_form, until

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
        form = await open_init_form(pilot, app, "code", code)
        form.query_one("#name", Input).value = "crash-form"
        await pilot.press("ctrl+s")
        error = form.query_one("#form-error", Static)
        await until(pilot, lambda: "Terminated" in str(error.render()), "the failure",
                    timeout=60)
        lines = str(error.render()).splitlines()
        assert lines[0].startswith("ETL crash-form failed to start: crash-form-")
        assert lines[1].startswith("target ") and ", pod crash-form-" in lines[1]
        assert lines[2].startswith("container crash-form: Terminated, Error, exit code ")
        assert any("No module named 'no_such_module_here'" in line for line in lines[3:])
