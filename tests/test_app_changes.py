"""Changes of the cluster from the screens, through one flow: ask, change, say so in a toast
(or say what failed), and show the cluster as it is now."""

from __future__ import annotations

from textual.widgets import DataTable, Input

from aisetl_tui.app import AisEtlApp
from aisetl_tui.screens.buckets import BucketsScreen
from aisetl_tui.screens.objects import ObjectsScreen
from backend.local import LocalCluster
from tests.test_app import connected, table_rows, until


def toasts(app: AisEtlApp) -> list[str]:
    return [n.message for n in app._notifications]


async def confirm(pilot) -> None:
    await pilot.pause()
    await pilot.press("tab", "enter")  # past Cancel, which has the focus, to the action


def select(app: AisEtlApp, table_id: str, key: str) -> None:
    table = app.screen.query_one(table_id, DataTable)
    table.move_cursor(row=[r[0] for r in table_rows(app, table_id)].index(key))


async def test_create_destroy_and_delete_say_what_they_did_and_what_failed(
        cluster: LocalCluster, http) -> None:
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        names = lambda: [r[0] for r in table_rows(app, "#buckets")]  # noqa: E731
        await pilot.press("c")
        await pilot.pause()
        app.screen.query_one(Input).value = "flow-bucket"
        await pilot.press("enter")
        await until(pilot, lambda: "flow-bucket" in names(), "the new bucket listed")
        assert "created ais://flow-bucket" in toasts(app)

        # an object, deleted from the Objects screen
        http.put("/v1/objects/flow-bucket/a.txt", content=b"a").raise_for_status()
        select(app, "#buckets", "flow-bucket")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ObjectsScreen)
                    and app.screen.query("#objects")  # composed: its table exists
                    and [r[0] for r in table_rows(app, "#objects")] == ["a.txt"], "the object")
        await pilot.press("ctrl+d")
        await confirm(pilot)
        await until(pilot, lambda: not table_rows(app, "#objects"), "the object gone")
        assert "deleted ais://flow-bucket/a.txt" in toasts(app)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, BucketsScreen), "the buckets")

        # destroyed behind the app's back: the error in words, and the list as it is now
        select(app, "#buckets", "flow-bucket")
        http.request("DELETE", "/v1/buckets/flow-bucket",
                     json={"action": "destroy-bck"}).raise_for_status()
        await pilot.press("ctrl+d")
        await confirm(pilot)
        await until(pilot, lambda: "flow-bucket" not in names(), "the list refreshed")
        failed = [m for m in toasts(app) if "flow-bucket" in m and "not" in m]
        assert failed and "destroyed ais://flow-bucket" not in toasts(app), toasts(app)

        # asked and declined: nothing changes, nothing is said
        http.post("/v1/buckets/kept-bucket", json={"action": "create-bck"}).raise_for_status()
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "kept-bucket" in names(), "another bucket")
        select(app, "#buckets", "kept-bucket")
        before = (names(), len(toasts(app)))
        await pilot.press("ctrl+d")
        await pilot.pause()
        await pilot.press("enter")  # Cancel has the focus
        await pilot.pause(0.5)
        assert (names(), len(toasts(app))) == before
    http.request("DELETE", "/v1/buckets/kept-bucket",
                 json={"action": "destroy-bck"}).raise_for_status()
