"""? lists this screen's keys (Enter's action too, though the table has the focus), then
the keys of every screen, then the commands with their arguments; no widget internals."""

from __future__ import annotations

import io

from aistore.sdk.bucket import Bucket
from rich.console import Console
from rich.table import Table
from textual.widgets import Static

from aisetl_tui.app import AisEtlApp
from aisetl_tui.screens.help import HelpScreen, commands_table, keys_table
from backend.local import LocalCluster
from tests.test_app import connected, until


def as_text(table: Table) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text()


async def test_help_lists_this_screens_keys_then_every_screens(cluster: LocalCluster,
                                                               bucket: Bucket) -> None:
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(120, 60)) as pilot:
        await connected(pilot, app)
        await until(pilot, lambda: app.screen.table.total >= 1, "a bucket")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        under = app.screen_stack[-2]
        heading = str(app.screen.query(Static).first().render())
        assert heading.startswith("Keys of this screen: buckets (")
        this, table, every, commands = (as_text(t) for t in (
            keys_table(under, under), keys_table(under, under.table),
            keys_table(under, app), commands_table()))
        rest = every + commands
        text = this + table + rest
        # the table's k9s keys, with their IDs
        for action, binding_id in (("Down", "table.down"), ("First row", "table.first"),
                                   ("Sort", "table.sort"), ("Copy name", "table.copy")):
            assert binding_id in table and action in table, binding_id
        assert "Keys of the table" in [str(s.render()).strip()
                                       for s in app.screen.query(Static)]
        assert "app.last_tab" in every
        for key, action, binding_id in (("enter", "Open", "buckets.open"),
                                        ("c", "Create", "buckets.create"),
                                        ("t", "Transform", "buckets.transform")):
            assert binding_id in this and action in this, key
        assert "app.quit" in rest and "Quit" in rest and "app.quit" not in this
        assert ":pods [etl]" in rest and ":init code [file]" in rest  # with their arguments
        for internal in ("Cursor left", "Copy selected text", "Scroll"):
            assert internal not in text
