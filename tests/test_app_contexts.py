"""Contexts and promotion: named clusters from contexts.toml (every mistake in it named),
`:ctx` to switch between them with the status line saying which, and an ETL tried on one
cluster promoted to a second embedded cluster on another port, its sample run there side by
side with the run here."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from aisetl_tui.app import AisEtlApp
from aisetl_tui.config import ConfigError
from aisetl_tui.contexts import EMBEDDED, Context, launch_context, load_contexts
from aisetl_tui.screens.buckets import BucketsScreen
from aisetl_tui.screens.contexts import ContextsScreen
from aisetl_tui.screens.dialogs import ConfirmScreen
from aisetl_tui.screens.promoted import PromotedScreen
from aisetl_tui.widgets.status import StatusBar
from backend.ais import AisClient, NotFound
from backend.local import LocalCluster, default_token_path
from tests.test_app import connected, table_rows, until
from tests.test_app_editor import open_editor, run_and_wait

MD5 = (Path(__file__).resolve().parent.parent / "manifests" / "md5" / "code.py").read_text()


def test_contexts_come_from_the_file_and_every_mistake_is_named(tmp_path: Path) -> None:
    path = tmp_path / "contexts.toml"
    assert load_contexts(path) == [Context(EMBEDDED)]
    path.write_text('[contexts.prod]\nendpoint = "http://ais.prod:51080/"\n'
                    'token_file = "~/t.json"\nkube_context = "prod-k8s"\n'
                    '[contexts.lab]\nendpoint = "10.0.0.5:8080"\ntoken = "abc"\n')
    embedded, prod, lab = load_contexts(path)
    assert embedded.embedded and prod.endpoint == "http://ais.prod:51080"
    assert (prod.token_file, prod.kube_context, lab.token_value()) == ("~/t.json", "prod-k8s",
                                                                      "abc")
    contexts = [embedded, prod, lab]
    assert launch_context(contexts, None, None, None) is embedded
    assert launch_context(contexts, "http://10.0.0.5:8080", None, None) is lab
    adhoc = launch_context(contexts, "http://10.1.1.1:51080", "ctx", "ns")
    assert (adhoc.name, adhoc.kube_context, adhoc.kube_namespace) == ("10.1.1.1:51080", "ctx",
                                                                      "ns")
    for text, said in [
        ("[contexts.x]\ntoken = 'a'\n", "endpoint is required"),
        ("[contexts.x]\nendpoint = 'h:1'\ntimeout = 5\n", "unknown key(s) timeout"),
        ("[contexts.x]\nendpoint = 'h:1'\ntoken = 'a'\ntoken_file = 'f'\n", "not both"),
        ("[contexts.x]\nendpoint = ''\n", "endpoint must be non-empty text"),
        ("[contexts.embedded]\nendpoint = 'h:1'\n", "the embedded cluster's own name"),
        ("[clusters.x]\nendpoint = 'h:1'\n", "unknown table(s) clusters"),
        ("[contexts.x\n", "contexts.toml"),
    ]:
        path.write_text(text)
        with pytest.raises(ConfigError, match=r"contexts\.toml") as raised:
            load_contexts(path)
        assert said in str(raised.value), (text, raised.value)


async def promote_to(pilot, app: AisEtlApp, row: int, objects: int,
                     timeout: float = 60) -> tuple[str, list[list[str]]]:
    """``ctrl+o`` in the editor, the context on ``row`` picked and the promotion confirmed:
    the confirmation's question, and the side-by-side rows once all ``objects`` are in."""
    await pilot.press("ctrl+o")
    await until(pilot, lambda: isinstance(app.screen, ContextsScreen)
                and app.screen.query("#contexts"), "the pick")
    app.screen.query_one("#contexts").move_cursor(row=row)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question",
                timeout=timeout)
    question = str(app.screen.query_one(".question", Static).render())
    app.screen.query_one("#ok").press()
    await until(pilot, lambda: isinstance(app.screen, PromotedScreen)
                and app.screen.query("#promoted")
                and len(table_rows(app, "#promoted")) == objects, "the side-by-side run",
                timeout=timeout)
    return question, table_rows(app, "#promoted")


def status_line(app: AisEtlApp) -> str:
    return str(app.screen.query_one(StatusBar).render())


async def test_switch_contexts_and_promote_an_etl_to_a_second_cluster(
        cluster: LocalCluster, tmp_path: Path) -> None:
    second = LocalCluster(tmp_path / "second", targets=2, port=0)
    with second:
        contexts = [Context(EMBEDDED), Context("first", cluster.endpoint),
                    Context("second", second.endpoint, token_file=str(default_token_path()))]
        app = AisEtlApp(endpoint=cluster.endpoint, start="buckets", contexts=contexts)
        async with app.run_test(size=(140, 45)) as pilot:
            await connected(pilot, app)
            here = app.session.client
            assert "first" in status_line(app)
            await here.create_bucket("promo")
            try:
                for i in range(4):
                    await here.put_bytes("promo", f"s{i}", b"sample %d" % i)

                # :ctx lists the contexts, the current one marked; Enter switches
                app.run_command("ctx")
                await until(pilot, lambda: isinstance(app.screen, ContextsScreen)
                            and app.screen.query("#contexts"), "contexts")
                rows = table_rows(app, "#contexts")
                assert [r[0] for r in rows] == [EMBEDDED, "first (current)", "second"]
                assert rows[2][1:3] == [second.endpoint, f"file {default_token_path()}"]
                app.screen.query_one("#contexts").move_cursor(row=2)
                await pilot.press("enter")
                await until(pilot, lambda: app.context.name == "second"
                            and app.status.state == "connected"
                            and app.status.endpoint == second.endpoint, "on the second cluster")
                await until(pilot, lambda: isinstance(app.screen, BucketsScreen)
                            and "promo" not in app.screen.table.rows
                            and "second" in status_line(app), "the second cluster's buckets")
                there = app.session.client
                await there.create_bucket("promo")
                for i in range(4):  # the same sample there, one object changed
                    await there.put_bytes("promo", f"s{i}", b"sample %d" % (i if i else 9))
                app.run_command("ctx nosuch")
                await pilot.pause(0.2)
                assert app.context.name == "second"
                app.run_command("ctx first")
                await until(pilot, lambda: app.status.endpoint == cluster.endpoint
                            and app.status.state == "connected", "back on the first")

                # edit and run here, then promote to the second cluster
                code = tmp_path / "md5.py"
                code.write_text(MD5)
                editor = await open_editor(pilot, app, code, MD5)
                editor.query_one("#etl-name", Input).value = "promo-md5"
                editor.query_one("#bucket", Input).value = "promo"
                await run_and_wait(pilot, editor, 1, 4)
                question, shown = await promote_to(pilot, app, 2, 4)
                assert "Re-create ETL promo-md5 on second" in question
                assert second.endpoint in question and "init code (" in question
                assert '"name": "promo-md5"' in question  # what will be sent
                rows = {r[0]: r for r in shown}
                assert {rows[f"s{i}"][3] for i in (1, 2, 3)} == {"same"}
                assert rows["s0"][3] == "differs"
                summary = str(app.screen.query_one("#promoted-summary", Static).render())
                assert "3 of 4 outputs the same here and there" in summary
            finally:
                for c in (cluster, second):
                    async with AisClient(c.endpoint, token=c.token) as client:
                        with contextlib.suppress(NotFound):
                            await client.delete_etl("promo-md5")
                        with contextlib.suppress(NotFound):
                            await client.destroy_bucket("promo")
