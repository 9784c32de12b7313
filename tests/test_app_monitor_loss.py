"""The job monitor when the cluster goes away mid-job: it says so, freezes its numbers and
drops Abort; when the cluster is back without the job (it restarted), it says the job was
lost, in words."""

from __future__ import annotations

from pathlib import Path

import httpx
from textual.widgets import Label

from aisetl_tui.app import AisEtlApp
from aisetl_tui.screens.job_monitor import JobMonitorScreen
from backend.local import LocalCluster
from tests.conftest import auth_headers, code_msg
from tests.test_app import connected, until

SLOW = b"import time\n\ndef transform(data):\n    time.sleep(0.2)\n    return data\n"


async def test_monitor_through_a_cluster_restart(tmp_dir: Path) -> None:
    data = tmp_dir / "cluster"
    first = LocalCluster(data, targets=1, port=0)
    endpoint = first.start()
    port = int(endpoint.rsplit(":", 1)[1])
    second: LocalCluster | None = None
    try:
        with httpx.Client(base_url=endpoint, timeout=120, follow_redirects=True,
                          headers=auth_headers()) as http:
            http.post("/v1/buckets/src", json={"action": "create-bck"}).raise_for_status()
            for i in range(200):
                http.put(f"/v1/objects/src/o{i:03d}", content=b"x" * 100).raise_for_status()
            http.put("/v1/etl", json=code_msg("slow-etl", SLOW)).raise_for_status()
            xid = http.post("/v1/buckets/src", params={"bck_to": "ais/@#/dst/"},
                            json={"action": "etl-bck", "value": {"id": "slow-etl",
                                                                 "num-workers": 1}}).text
        app = AisEtlApp(start="buckets", endpoint=endpoint)
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot, app)
            await app.push_screen(JobMonitorScreen(xid))
            screen = app.screen

            def overall() -> str:
                return str(screen.query_one("#overall-text", Label).render())

            await until(pilot, lambda: overall().startswith("running") and "ETA" in overall(),
                        "the job running")
            assert screen.check_action("abort", ()) is not False
            first.stop()
            await until(pilot, lambda: overall().startswith("unreachable"), "the loss",
                        timeout=15)
            assert "rates and ETA frozen until the cluster answers" in overall()
            assert "last seen: " in overall() and " of 200 objects" in overall()
            assert screen.check_action("abort", ()) is False  # nothing to abort it with
            second = LocalCluster(data, targets=1, port=port)
            second.start()
            await until(pilot, lambda: overall().startswith("lost"), "what became of it",
                        timeout=30)
            assert f"the cluster no longer knows job {xid}: it restarted since" in overall()
            assert screen.check_action("abort", ()) is False
    finally:
        first.stop()
        if second is not None:
            second.stop()
