"""The overview, the first screen: the cluster's nodes, the ETLs with their pods ready and
inline errors, running jobs with progress and rate, the latest errors."""

from __future__ import annotations

import io

import httpx
from rich.console import Console
from textual.widgets import Static

from aisetl_tui.app import AisEtlApp
from aisetl_tui.screens.overview import OverviewScreen
from backend.local import LocalCluster
from tests.conftest import auth_headers, code_msg
from tests.test_app import connected, until

SLOW = (b"import time\n\ndef transform(data):\n    if data == b'bad':\n"
        b"        raise ValueError('cannot take bad input')\n    time.sleep(0.05)\n"
        b"    return data\n")


async def test_overview_shows_nodes_etls_running_jobs_and_errors(tmp_dir) -> None:
    with LocalCluster(tmp_dir / "cluster", targets=2, port=0) as cluster, \
            httpx.Client(base_url=cluster.endpoint, timeout=60, follow_redirects=True,
                         headers=auth_headers()) as http:
        http.post("/v1/buckets/src", json={"action": "create-bck"}).raise_for_status()
        for i in range(300):
            http.put(f"/v1/objects/src/o{i:03}", content=b"x").raise_for_status()
        http.put("/v1/objects/src/bad", content=b"bad").raise_for_status()
        # hpush: the target carries the inline transform, and keeps its errors
        http.put("/v1/etl", json=code_msg("slow-etl", SLOW, comm="hpush://")).raise_for_status()
        assert http.get("/v1/objects/src/bad", params={"etl_name": "slow-etl"}).status_code \
            >= 400  # an inline error the ETL keeps
        xid = http.post("/v1/buckets/src", params={"bck_to": "ais/@#/dst/"},
                        json={"action": "etl-bck",
                              "value": {"id": "slow-etl", "num-workers": 1,
                                        "coer": True}}).text
        app = AisEtlApp(endpoint=cluster.endpoint)  # the default first screen
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot, app)
            assert isinstance(app.screen, OverviewScreen)

            def panel(name: str) -> str:
                console = Console(width=120, record=True, file=io.StringIO())
                console.print(app.screen.query_one(f"#ov-{name}", Static).content)
                return console.export_text()

            await until(pilot, lambda: "Cluster · 1 proxy, 2 targets" in panel("cluster")
                        and all(f"t[{t.daemon_id}]" in panel("cluster")
                                for t in cluster.smap.targets), "the nodes")
            await until(pilot, lambda: "slow-etl" in panel("etls") and "2/2" in panel("etls"),
                        "the ETL with its two pods ready")
            await until(pilot, lambda: xid in panel("jobs") and "ais://src => ais://dst"
                        in panel("jobs") and "%" in panel("jobs"), "the running job")

            def rate() -> int:
                row = next((line for line in panel("jobs").splitlines() if xid in line), "")
                return int(row.split("%")[1].split()[0].replace(",", "")) if "%" in row else 0

            await until(pilot, lambda: rate() > 0, "a rate, measured between two polls")
            await until(pilot, lambda: "ETL slow-etl: 1 inline error — ValueError: cannot "
                        "take bad input" in panel("errors"), "the error")
            await pilot.press("1")
            await pilot.press("0")
            await until(pilot, lambda: isinstance(app.screen, OverviewScreen), "0: back")
