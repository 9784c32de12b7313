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
        app = AisEtlApp(endpoint=cluster.endpoint)
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
    app = AisEtlApp(endpoint=cluster.endpoint)
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
