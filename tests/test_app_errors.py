"""The error workbench, through the keys: a job's failures grouped, the log at one object,
a retry of just the failed objects into the same destination (a child job of the first),
and the errors exported."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import httpx
from textual.widgets import Input, Static

from aisetl_tui.app import AisEtlApp
from aisetl_tui.log_lines import TEXT, mention_pattern
from aisetl_tui.screens.dialogs import ConfirmScreen, PromptScreen, TextScreen
from aisetl_tui.screens.errors import ErrorsScreen
from aisetl_tui.screens.job_monitor import JobMonitorScreen
from aisetl_tui.screens.logs import LogsScreen
from backend.local import LocalCluster
from tests.conftest import auth_headers, code_msg
from tests.test_app import connected, table_rows, until


async def export_to(pilot, app: AisEtlApp, path: Path) -> None:
    """``x``, the file named in its prompt, and the file written."""
    await pilot.press("x")
    await until(pilot, lambda: isinstance(app.screen, PromptScreen), "the prompt")
    app.screen.query_one("#answer", Input).value = str(path)
    await pilot.press("enter")
    await until(pilot, path.exists, f"{path} written")


PICKY = (b"import sys\n\ndef transform(data):\n"
         b"    if data.startswith(b'bad'):\n"
         b"        print('refusing', data.decode(), file=sys.stderr, flush=True)\n"
         b"        raise ValueError(f'cannot take {len(data)} bad bytes')\n"
         b"    if data.startswith(b'huge'):\n"
         b"        raise MemoryError('too big')\n"
         b"    return data.upper()\n")


async def test_the_workbench_groups_retries_only_the_failures_and_exports(tmp_dir: Path,
                                                                          monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_dir))  # the export's default place
    with LocalCluster(tmp_dir / "cluster", targets=2, port=0) as cluster, \
            httpx.Client(base_url=cluster.endpoint, timeout=60, follow_redirects=True,
                         headers=auth_headers()) as http:
        http.post("/v1/buckets/src", json={"action": "create-bck"}).raise_for_status()
        for i in range(40):
            body = b"bad-%d" % i if i % 5 == 0 else b"huge" if i == 7 else b"ok-%d" % i
            http.put(f"/v1/objects/src/o{i:02}", content=body).raise_for_status()
        assert http.put("/v1/etl", json=code_msg("picky-etl", PICKY, comm="hpush://")
                        ).status_code == 200
        app = AisEtlApp(endpoint=cluster.endpoint, start="buckets")
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot, app)
            client = app.session.client
            xid = await client.start_bucket_transform("src", "dst", "picky-etl",
                                                      continue_on_error=True)
            app.session.remember_job(xid, "picky-etl", "src", "dst",
                                     options={"continue_on_error": True, "prefix": ""})
            app.push_screen(JobMonitorScreen(xid))
            await until(pilot, lambda: app.screen.finished, "the job to end", timeout=60)
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, ErrorsScreen)
                        and len(table_rows(app, "#groups")) == 2, "the error groups")
            groups = table_rows(app, "#groups")
            assert [(r[0], r[3]) for r in groups] == [
                ("8", "ValueError: cannot take <n> bad bytes"), ("1", "MemoryError: too big")]
            await until(pilot, lambda: all(r[2].startswith("t[")  # placed: their targets
                                           for r in table_rows(app, "#groups")), "targets")
            await until(pilot, lambda: len(table_rows(app, "#objects")) == 8, "its objects")
            assert sorted(r[0] for r in table_rows(app, "#objects")) == \
                [f"o{i:02}" for i in range(0, 40, 5)]

            # a filter: only its groups, and the objects of the one highlighted now
            await pilot.press("slash", *"Memory")
            await until(pilot, lambda: len(table_rows(app, "#groups")) == 1, "the filter")
            assert [r[0] for r in table_rows(app, "#objects")] == ["o07"]
            caption = str(app.screen.query_one("#caption").render())
            assert "9 errors on 9 objects in 2 groups (1 shown: /Memory)" in caption, caption
            await pilot.press("enter", "escape")  # (applied, then cleared)
            await until(pilot, lambda: len(table_rows(app, "#groups")) == 2, "all again")
            assert [r[3] for r in table_rows(app, "#groups")] == [  # (in their order)
                "ValueError: cannot take <n> bad bytes", "MemoryError: too big"]
            await pilot.press("up")  # (from the group highlighted, the MemoryError's)
            await until(pilot, lambda: len(table_rows(app, "#objects")) == 8, "its objects")

            # the log at the highlighted object: the transformer's line about it, found
            await pilot.press("enter", "down")  # into the objects, to the second one
            chosen = app.screen.error.obj_name.removeprefix("ais://src/")
            assert app.screen.object_table.has_focus and chosen == table_rows(app, "#objects")[1][0]
            await pilot.press("l")
            await until(pilot, lambda: isinstance(app.screen, LogsScreen)
                        and app.screen.log_view.matches, "the log searched for the object")
            log = app.screen.log_view
            assert log.pattern.pattern == mention_pattern(chosen)
            shown = [line[TEXT] for line in log.shown]
            assert any(f"transforming /src/{chosen} failed: ValueError" in t for t in shown)
            await pilot.pause()
            top, height = log.lines_view.scroll_offset.y, log.lines_view.size.height
            assert top <= log.row_of(log.matches[log.current]) < top + height  # in view
            await pilot.press("escape", "escape")  # (the search ends, then back where it
            # was: in the objects)
            await until(pilot, lambda: isinstance(app.screen, ErrorsScreen), "back")
            assert app.screen.object_table.has_focus
            await pilot.press("v")  # the whole error, to scroll
            await until(pilot, lambda: isinstance(app.screen, TextScreen), "the whole error")
            assert str(app.screen.query_one("#text", Static).render()) == \
                next(e.message for e in app.screen_stack[-2].errors
                     if e.obj_name == f"ais://src/{chosen}")
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, ErrorsScreen), "back again")

            # the failed objects become good; retry them all, and only them
            for i in [*range(0, 40, 5), 7]:
                http.put(f"/v1/objects/src/o{i:02}", content=b"fixed").raise_for_status()
            await until(pilot, lambda: isinstance(app.screen, ErrorsScreen), "back")
            await pilot.press("f")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            await pilot.click("#ok")
            await until(pilot, lambda: isinstance(app.screen, JobMonitorScreen)
                        and app.screen.xid != xid, "the retry's monitor")
            retry = app.screen.xid
            assert app.session.jobs[retry].parent == xid
            await until(pilot, lambda: app.screen.finished, "the retry to end", timeout=60)
            snaps = await client.job_snaps(retry)
            assert snaps[0].kind == "etl-listrange"
            assert sum(s.processed[0] for s in snaps) == 9  # the nine failures, nothing else
            listed = await client.list_objects("dst", props="name")
            assert len(listed.entries) == 40
            fixed = await client.get_object("dst", "o05")
            assert fixed == b"FIXED"

            # back from the retry to the first job's errors: export them all, as CSV
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, ErrorsScreen), "its errors")
            target = tmp_dir / "errors.csv"
            await export_to(pilot, app, target)
            rows = list(csv.DictReader(target.open()))
            assert len(rows) == 9 and {r["object"] for r in rows} >= {"ais://src/o07"}


async def test_the_workbench_says_how_many_failures_aistore_did_not_list(tmp_dir: Path) -> None:
    """AIStore lists at most 128 of a job's errors per target; each target's snapshot counts
    them all: the workbench and its retry say how many the list leaves out."""
    with LocalCluster(tmp_dir / "cluster", targets=2, port=0) as cluster, \
            httpx.Client(base_url=cluster.endpoint, timeout=60, follow_redirects=True,
                         headers=auth_headers()) as http:
        http.post("/v1/buckets/src", json={"action": "create-bck"}).raise_for_status()
        for i in range(400):
            http.put(f"/v1/objects/src/o{i:03}", content=b"bad").raise_for_status()
        assert http.put("/v1/etl", json=code_msg("picky-etl", PICKY, comm="hpush://")
                        ).status_code == 200
        app = AisEtlApp(endpoint=cluster.endpoint, start="buckets")
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot, app)
            xid = await app.session.client.start_bucket_transform("src", "dst", "picky-etl",
                                                                  continue_on_error=True)
            app.session.remember_job(xid, "picky-etl", "src", "dst",
                                     options={"continue_on_error": True})
            app.push_screen(JobMonitorScreen(xid))
            await until(pilot, lambda: app.screen.finished, "the job to end", timeout=90)
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, ErrorsScreen)
                        and app.screen.errors, "the errors")
            caption = str(app.screen.query_one("#caption").render())
            assert "400 objects failed and 256 are listed" in caption, caption
            assert "leaves 144" in caption
            exported = tmp_dir / "errors.json"
            await export_to(pilot, app, exported)
            about = json.loads(exported.read_text())
            assert (about["job"], about["etl"], about["src"], about["failed"],
                    about["listed"], len(about["errors"])) == (xid, "picky-etl", "src", 400,
                                                               256, 256)
            await pilot.press("f")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            assert "leaves 144" in str(app.screen.question)
            shown = str(app.screen.query_one(".question").render())  # (no markup of names)
            assert all(f"t[{t.daemon_id}]" in shown for t in cluster.smap.targets), shown

            # a second retry while the first's job idles: AIStore adds it to that job
            await pilot.click("#ok")
            await until(pilot, lambda: isinstance(app.screen, JobMonitorScreen)
                        and app.screen.xid != xid, "the retry's monitor")
            retry = app.screen.xid
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, ErrorsScreen), "the workbench")
            await pilot.press("f")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            await pilot.click("#ok")
            await until(pilot, lambda: any(f"added the 256 objects to job {retry}" in n.message
                                           for n in app._notifications), "the join said")
            assert app.session.jobs[retry].parent == xid
