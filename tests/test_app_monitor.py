"""The job monitor as a dashboard, on a real embedded cluster: what each node read and wrote,
its share of the source as a bar, the errors grouped by what they say."""

from __future__ import annotations

from textual.widgets import Label, Static

from aisetl_tui.app import AisEtlApp
from aisetl_tui.screens.job_monitor import JobMonitorScreen
from aisetl_tui.widgets.live_table import LiveTable
from backend.local import LocalCluster
from tests.conftest import code_msg
from tests.test_app import connected, until

PICKY = (b"def transform(data):\n"
         b"    if data.startswith(b'9'):\n"
         b"        raise ValueError(f'bad first byte in {len(data)} bytes')\n"
         b"    return data[:4]\n")


async def test_monitor_reads_writes_and_groups_errors(cluster: LocalCluster, http, client,
                                                      bucket) -> None:
    for i in range(40):  # 1,000 bytes each; the four starting with "9" fail
        bucket.object(f"o{i:02}").get_writer().put_content(str(i % 10).encode() * 1000)
    assert http.put("/v1/etl", json=code_msg("app-picky", PICKY)).status_code == 200
    dst = f"{bucket.name}-picky"
    try:
        xid = http.post(f"/v1/buckets/{bucket.name}", params={"bck_to": f"ais/@#/{dst}/"},
                        json={"action": "etl-bck",
                              "value": {"id": "app-picky", "coer": True}}).text
        app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
        async with app.run_test(size=(160, 48)) as pilot:
            await connected(pilot, app)
            await app.push_screen(JobMonitorScreen(xid))
            screen = app.screen
            await until(pilot, lambda: screen.finished and screen.view.shares is not None
                        and "errors: 4 of 1 kind" in str(
                            screen.query_one("#errors", Static).render()),
                        "the job done, its source listed and its errors grouped")
            text = str(screen.query_one("#overall-text", Label).render())
            # 40 done, 4 of them failed; 40 read, 1,000 bytes each (exact: all listed, all
            # done); 36 written, 4 bytes each
            assert text.startswith("finished in "), text
            assert " · 40 / 40 objects (4 failed) · read 39.1 KiB · wrote 144 B\n" in text
            errors = str(screen.query_one("#errors", Static).render()).splitlines()
            assert errors[1].split()[:1] == ["4"]
            assert "ValueError: bad first byte in <n> bytes" in errors[1]
            assert "e.g. ais://" in errors[1]
            rows = [[str(c) for c in r] for r in screen.query_one("#nodes", LiveTable).rows]
            by_node = rows[:-1]
            # each node's bar is its own share of the source; together they are all of it
            assert sum(int(r[2]) for r in by_node) == 40
            assert all(r[1].endswith("100%") for r in by_node)
            assert rows[-1][1].endswith("100%") and rows[-1][4] == "39.1 KiB"
    finally:
        http.delete("/v1/etl/app-picky")
        client.bucket(dst).delete(missing_ok=True)
