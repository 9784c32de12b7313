"""The tables of the main screens: the title counts the rows and names an applied filter; Esc
on the table clears the filter before it goes back."""

from __future__ import annotations

from aisetl_tui.app import AisEtlApp
from backend.local import LocalCluster
from tests.test_app import connected, until


async def test_an_applied_filter_shows_in_the_title_and_esc_clears_it(
        cluster: LocalCluster, client) -> None:
    names = [f"flt-{w}-bucket" for w in ("alpha", "beta", "gamma")]
    for name in names:
        client.bucket(name).create(exist_ok=True)
    try:
        app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
        async with app.run_test(size=(120, 30)) as pilot:
            await connected(pilot, app)

            def title() -> str:
                return str(app.screen.query_one("StatusBar").render())

            await until(pilot, lambda: app.screen.table.total >= 3, "the buckets")
            total = app.screen.table.total
            assert title().startswith(f"buckets ({total})")
            await pilot.press("slash")
            await pilot.press(*"beta")
            await pilot.press("enter")
            await until(pilot, lambda: title().startswith(f"buckets (1 of {total}) /beta"),
                        "the filter in the title")
            await pilot.press("escape")  # on the table: clears the filter, stays here
            await until(pilot, lambda: title().startswith(f"buckets ({total})"), "no filter")
            assert app.screen.table.shown == total and len(app.screen_stack) == 1
    finally:
        for name in names:
            client.bucket(name).delete(missing_ok=True)


async def test_objects_command_says_what_is_wrong(cluster: LocalCluster) -> None:
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(120, 30)) as pilot:
        await connected(pilot, app)
        base = app.screen
        app.run_command("objects")
        app.run_command("objects ais://no-such-bucket-here")
        messages = lambda: [n.message for n in app._notifications]  # noqa: E731
        await until(pilot, lambda: "no bucket ais://no-such-bucket-here (:buckets lists them)"
                    in messages(), "the missing bucket named")
        assert ":objects needs a bucket: :objects <bucket>" in messages()
        assert not any("unknown command" in m for m in messages())
        assert app.screen is base  # no Objects screen offering Upload into nothing


async def test_tab_keys_show_the_tab_list_and_minus_goes_back_to_the_last_tab(
        cluster: LocalCluster, client) -> None:
    """After opening a bucket's objects and an object from the Buckets tab, ``2`` then ``1``
    lands on the bucket list, not on the object opened before; Esc there goes nowhere; ``-``
    returns to the tab shown before. A form's keys stay the form's."""
    from aisetl_tui.screens.buckets import BucketsScreen
    from aisetl_tui.screens.etls import EtlsScreen
    from aisetl_tui.screens.object_view import ObjectViewScreen
    from aisetl_tui.screens.objects import ObjectsScreen

    bucket = client.bucket("tabs-bucket")
    bucket.create(exist_ok=True)
    bucket.object("one").get_writer().put_content(b"1")
    try:
        app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
        async with app.run_test(size=(120, 30)) as pilot:
            await connected(pilot, app)
            app.run_command("objects tabs-bucket")
            await until(pilot, lambda: isinstance(app.screen, ObjectsScreen)
                        and app.screen.query("#objects")  # composed: its table exists
                        and app.screen.table.row_count == 1, "the objects")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ObjectViewScreen), "the object")
            await pilot.press("2")
            await until(pilot, lambda: isinstance(app.screen, EtlsScreen), "the ETLs tab")
            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, BucketsScreen), "the bucket list")
            assert len(app.screen_stack) == 1  # the object and its bucket are closed
            await pilot.press("minus")
            await until(pilot, lambda: isinstance(app.screen, EtlsScreen), "back to ETLs")
            await pilot.press("minus")
            await until(pilot, lambda: isinstance(app.screen, BucketsScreen), "and back")
            await pilot.press("c")  # the create-bucket prompt: "1" and "-" are typed into it
            await pilot.press("1", "minus")
            await pilot.pause()
            assert app.screen.query_one("Input").value == "1-"
            prompt = app.screen
            prompt.set_focus(None)  # off the field: a tab key still does not close it
            await pilot.press("2", "minus")
            await pilot.pause()
            assert app.screen is prompt and prompt.query_one("Input").value == "1-"
    finally:
        bucket.delete(missing_ok=True)


async def test_every_table_moves_sorts_and_copies_k9s_style(cluster: LocalCluster,
                                                            client) -> None:
    """j/k/g/G move the cursor; S sorts by the next column (sizes by value, not as text)
    and R reverses, as the title says; Y copies the row's name."""
    sizes = {"sortb-a": 900, "sortb-b": 20_000, "sortb-c": 2_000}
    for name, size in sizes.items():
        client.bucket(name).create(exist_ok=True)
        client.bucket(name).object("o").get_writer().put_content(b"x" * size)
    try:
        app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
        async with app.run_test(size=(120, 30)) as pilot:
            await connected(pilot, app)
            table = app.screen.table
            await until(pilot, lambda: table.total >= 3, "the buckets")
            await pilot.press("slash", *"sortb", "enter")

            def names() -> list[str]:
                return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]

            def title() -> str:
                return str(app.screen.query_one("StatusBar").render())

            await until(pilot, lambda: names() == ["sortb-a", "sortb-b", "sortb-c"]
                        and all(str(table.get_row_at(i)[2]) != "—" for i in range(3)),
                        "the three buckets with their sizes")
            await pilot.press("G")
            assert table.cursor_row == 2
            await pilot.press("k")
            assert table.cursor_row == 1
            await pilot.press("g")
            assert table.cursor_row == 0
            await pilot.press("j")
            assert table.cursor_row == 1
            await pilot.press("S", "S", "S")  # the third column: SIZE
            await until(pilot, lambda: names() == ["sortb-a", "sortb-c", "sortb-b"],
                        "sorted by size (900 B < 2.0 KiB < 19.5 KiB), not as text")
            assert "/sortb ↑SIZE" in title()
            await pilot.press("R")
            await until(pilot, lambda: names() == ["sortb-b", "sortb-c", "sortb-a"],
                        "reversed")
            assert "↓SIZE" in title()
            await pilot.press("g", "Y")
            assert app.clipboard == "sortb-b"
    finally:
        for name in sizes:
            client.bucket(name).delete(missing_ok=True)


async def test_deleting_a_running_etl_says_it_is_running(cluster: LocalCluster, http,
                                                          etl_cleanup: list[str]) -> None:
    from aisetl_tui.screens.dialogs import ConfirmScreen
    from tests.conftest import code_msg

    etl_cleanup.append("del-running")
    code = b"def transform(data):\n    return data\n"
    assert http.put("/v1/etl", json=code_msg("del-running", code)).status_code == 200
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(120, 30)) as pilot:
        await connected(pilot, app)
        await pilot.press("2")
        await until(pilot, lambda: "del-running" in getattr(app.screen, "etls", {}), "the ETL")
        table = app.screen.table
        table.move_cursor(row=[str(table.get_row_at(i)[0])
                               for i in range(table.row_count)].index("del-running"))
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        question = str(app.screen.query_one(".question").render())
        assert "Delete ETL del-running? It is running" in question
        await pilot.press("escape")
