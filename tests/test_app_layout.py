"""The app at 80x24: the footer keeps Help and Quit, the status line keeps the node counts,
toasts leave the command bar free, numbers are right-aligned, counts agree in number."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Input
from textual.widgets._toast import Toast

from aisetl_tui.app import AisEtlApp
from aisetl_tui.rates import plural
from aisetl_tui.widgets.footer import KeysFooter
from aisetl_tui.widgets.status import ClusterStatus, status_text
from backend.local import LocalCluster
from tests.test_app import connected, until


def footer_text(app: AisEtlApp) -> str:
    footer = app.screen.query_one(KeysFooter)
    return " ".join(f"{k.key_display} {k.description}" for k in footer.children
                    if hasattr(k, "key_display"))


async def test_80_columns_keep_help_quit_and_the_node_counts(cluster: LocalCluster,
                                                              client) -> None:
    client.bucket("layout-bucket").create(exist_ok=True)
    try:
        app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await connected(pilot, app)
            for tab in ("1", "2"):  # the buckets' and the ETLs' keys overflow 80 columns
                await pilot.press(tab)
                await pilot.pause(0.3)
                shown = footer_text(app)
                assert "? Help" in shown and "q Quit" in shown, shown
            await pilot.press("1")
            await until(pilot, lambda: app.screen.table.total >= 1, "a bucket")
            app.run_command("objects layout-bucket")  # a long title
            await until(pilot, lambda: app.screen.title_text() == "ais://layout-bucket",
                        "the objects")
            status = str(app.screen.query_one("StatusBar").render())
            assert status.rstrip().endswith("1 proxy · 2 targets"), status
            await pilot.press("colon")
            await pilot.pause()
            app.notify("something happened, said in a sentence")
            await pilot.pause(0.5)
            bar = app.screen.query_one(Input).region
            toasts = [t.region for t in app.screen.query(Toast)]
            assert toasts and not any(t.overlaps(bar) for t in toasts)
    finally:
        client.bucket("layout-bucket").delete(missing_ok=True)


async def test_numbers_are_right_aligned(cluster: LocalCluster, bucket) -> None:
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(100, 24)) as pilot:
        await connected(pilot, app)
        await until(pilot, lambda: app.screen.table.total >= 1, "the buckets")
        row = app.screen.table.get_row(bucket.name)
        assert isinstance(row[1], Text) and row[1].justify == "right"  # OBJECTS
        assert row[2].justify == "right" and row[0].justify == "left"  # SIZE, not NAME


def test_counts_agree_in_number() -> None:
    assert plural(1, "object") == "1 object" and plural(2, "object") == "2 objects"
    assert plural(1_000, "file") == "1,000 files" and plural(1, "proxy", "proxies") == "1 proxy"
    narrow = status_text(ClusterStatus("http://127.0.0.1:51080", False, 1, 2, "connected"),
                         "a-long-screen-title", width=60)
    assert narrow.plain.endswith("127.0.0.1:51080 · 1p 2t") and narrow.cell_len <= 60
