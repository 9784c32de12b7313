"""An ETL's logs in the app: every target's transformer merged by time, searchable."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App, ComposeResult
from textual.widgets import Input, Static

from aisetl_tui.app import AisEtlApp
from aisetl_tui.log_lines import NOTE, SOURCE, TEXT
from aisetl_tui.screens.dialogs import PromptScreen
from aisetl_tui.screens.help import HelpScreen, keys_table
from aisetl_tui.screens.logs import LogsScreen
from aisetl_tui.widgets.log_view import CURRENT, MATCH, LogView
from backend.local import LocalCluster
from tests.conftest import code_msg
from tests.test_app import connected, until
from tests.test_app_help import as_text

# each object processed is one timestamped line in its target's transformer log
STAMPING = b"""
import datetime, sys

def transform(data):
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    print(f"{now} saw {data.decode()}", flush=True)
    if data.startswith(b"bad"):
        print("  detail of a bad one", flush=True)
    return data
"""


def styles_of(view: LogView, index: int) -> set[str]:
    """The styles of shown line ``index`` as the view draws it."""
    return {str(span.style) for span in view.text_of(index).spans}


def drawn_styles(view: LogView, index: int) -> set[str]:
    """The styles of shown line ``index`` as drawn, wrapped."""
    return {str(segment.style) for row in view.lines_view._wrapped_rows(index)
            for segment in row if segment.style}


class LogHost(App):
    """One log view of targets' lines and nothing else; ``opening`` is done to it as the
    app mounts."""

    def __init__(self, opening: Callable[[LogView], None] | None = None) -> None:
        super().__init__()
        self.opening = opening

    def compose(self) -> ComposeResult:
        yield LogView(sources="target", id="logs")

    def on_mount(self) -> None:
        if self.opening is not None:
            self.opening(self.query_one(LogView))


async def test_logs_merge_targets_by_time_and_search(cluster: LocalCluster, client, http,
                                                     etl_cleanup, tmp_path) -> None:
    etl_cleanup.append("stamping")
    assert http.put("/v1/etl", json=code_msg("stamping", STAMPING, comm="hpush://")) \
        .status_code == 200
    bucket = client.bucket("logs-app")
    bucket.create(exist_ok=True)
    names = [f"obj-{i:02}" for i in range(12)]
    for name in names:
        body = b"bad " + name.encode() if name.endswith(("3", "7")) else name.encode()
        bucket.object(name).get_writer().put_content(body)
    owners = set()
    for name in names:  # one at a time, so the lines' times order the objects
        resp = http.get(f"/v1/objects/logs-app/{name}", params={"etl_name": "stamping"},
                        follow_redirects=False)
        owners.add(resp.headers["location"].split("/v1/")[0])
        http.get(f"/v1/objects/logs-app/{name}", params={"etl_name": "stamping"})
    assert len(owners) == 2  # both targets logged

    app = AisEtlApp(start="etls", endpoint=cluster.endpoint)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot, app)
            app.push_screen(LogsScreen("stamping"))
            await until(pilot, lambda: isinstance(app.screen, LogsScreen)
                        and app.screen.query(LogView), "the logs")
            view = app.screen.query_one(LogView)
            await until(pilot, lambda: sum(" saw " in ln[TEXT] for ln in view.shown) == 12,
                        "every target's lines")
            saw = [ln for ln in view.shown if " saw " in ln[TEXT]]
            # merged by time: the objects in the order they were transformed, whichever
            # target did it; each line prefixed by its target
            assert [ln[TEXT].rsplit(" ", 1)[1] for ln in saw] == names
            assert len({ln[SOURCE] for ln in saw}) == 2
            assert view.plain_of(view.shown.index(saw[0])).startswith(f"[{saw[0][SOURCE]}] ")
            # an untimed line stays under its own target's line
            detail = next(i for i, ln in enumerate(view.shown) if "detail" in ln[TEXT])
            assert "saw bad" in view.shown[detail - 1][TEXT]
            assert view.shown[detail][SOURCE] == view.shown[detail - 1][SOURCE]

            # / opens the search box; Esc closes it and stays on the logs
            await pilot.press("slash")
            box = view.query_one("#log-search")
            assert box.display and box.has_focus
            await pilot.press("x", "escape")
            assert isinstance(app.screen, LogsScreen) and not box.display
            assert view.pattern is None

            # / search: highlighted, counted, the last match current; n and N walk them
            await pilot.press("slash", "backspace")
            await pilot.press(*"saw bad")
            await pilot.press("enter")
            await until(pilot, lambda: len(view.matches) == 2, "the matches")
            assert view.current == 1
            assert CURRENT in styles_of(view, view.matches[1])
            assert MATCH in styles_of(view, view.matches[0])
            state = str(view.query_one("#log-state").render())
            assert state.startswith("/saw bad: 2 of 2 matching (n/N next/previous"), state
            assert "of 2 targets · paused" in state  # on a match: the view stays there
            await pilot.press("n")
            assert view.current == 0 and CURRENT in styles_of(view, view.matches[0])
            await pilot.press("N")
            assert view.current == 1

            # m: only the matching lines; again: all
            await pilot.press("m")
            assert [ln[TEXT].split(" saw ")[1] for ln in view.shown] == ["bad obj-03",
                                                                        "bad obj-07"]
            # ctrl+s saves what is shown (here only the matches) to a new file it asks for
            saved = tmp_path / "bad-ones.log"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, PromptScreen), "the prompt")
            assert app.screen.query_one(Input).value.endswith(".log")  # a default name
            app.screen.query_one(Input).value = str(saved)
            await pilot.press("enter")
            await until(pilot, saved.exists, "the saved log")
            lines = saved.read_text().splitlines()
            assert [ln.split(" saw ")[1] for ln in lines] == ["bad obj-03", "bad obj-07"]
            assert all(ln.startswith("[") for ln in lines)  # each with its target
            await pilot.press("ctrl+s")  # the same name again: refused, nothing overwritten
            await until(pilot, lambda: isinstance(app.screen, PromptScreen), "the prompt")
            app.screen.query_one(Input).value = str(saved)
            await pilot.press("enter")
            assert "exists: name a new file" in str(app.screen.query_one("#error").render())
            await pilot.press("escape")
            await pilot.press("m")
            assert len(view.shown) > 12

            # w wraps, t shows each line's time; the current match stays current
            await pilot.press("w")
            assert view.current == 1 and CURRENT in styles_of(view, view.matches[1])
            assert view.lines_view.wrap and "wrap" in str(view.query_one("#log-state").render())
            # wrapped lines drawn anew when the current match moves on
            assert CURRENT in drawn_styles(view, view.matches[1])
            await pilot.press("n")
            assert CURRENT not in drawn_styles(view, view.matches[1])
            assert CURRENT in drawn_styles(view, view.matches[view.current])
            await pilot.press("t")
            first = view.plain_of(view.shown.index(saw[0]))
            assert first[:12].count(":") == 2 and first[12:].startswith(f" [{saw[0][SOURCE]}]")
            # every line measured as drawn: its length, and the rows it wraps to
            lines_view, plain = view.lines_view, [view.plain_of(i) for i in range(len(view.shown))]
            assert view.lengths_of(0, len(plain)) == [len(p) for p in plain]
            width = lines_view.scrollable_content_region.width
            assert [lines_view.row_of(i + 1) - lines_view.row_of(i) for i in range(len(plain))] \
                == [max(1, -(-len(p) // width)) for p in plain]

            # ? lists the log's keys
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
            assert "Keys of the log" in [str(s.render()).strip()
                                         for s in app.screen.query(Static)]
            text = as_text(keys_table(app.screen_stack[-2], view))
            for key_id in ("log.search", "log.next", "log.only_matches", "log.wrap",
                           "log.timestamps", "log.since", "log.save"):
                assert key_id in text, key_id
    finally:
        bucket.delete(missing_ok=True)


async def test_s_shows_only_the_last_minutes() -> None:
    """``s`` cycles through the last 1m, 5m, 15m, 1h and all again; the app's own notes
    stay, and the state line says the window."""
    from datetime import datetime, timedelta

    def stamp(ago: timedelta) -> str:
        return (datetime.now() - ago).strftime("%Y-%m-%d %H:%M:%S,000")

    app = LogHost()
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(LogView)
        view.add([("T1", [f"{stamp(timedelta(minutes=10))} ten minutes ago",
                          f"{stamp(timedelta(seconds=30))} half a minute ago"])])
        view.note("the stream ended")
        view.focus()
        await pilot.pause()
        windows = []
        for _ in range(5):
            await pilot.press("s")
            state = str(view.query_one("#log-state").render())
            windows.append((state.split("since ")[1].split(" ")[0] if "since" in state
                            else "all", sum(not ln[NOTE] for ln in view.shown)))
        assert windows == [("1m", 1), ("5m", 1), ("15m", 2), ("1h", 2), ("all", 2)]
        assert any(ln[NOTE] for ln in view.shown)


async def test_searching_draws_no_line_again_unless_the_search_changes_them() -> None:
    """``/`` moves the focus to the search box and Enter back: the lines look the same with
    or without focus, so neither draws them again (a screen of them took most of a key's
    time while following); a search that highlights draws them, and so does its end."""
    app = LogHost()
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(LogView)
        view.add([("T1", [f"line {n}" for n in range(200)])])
        view.focus()
        await pilot.pause()
        drawn: list[int] = []
        lines = view.lines_view
        render_line = lines.render_line
        lines.render_line = lambda y: drawn.append(y) or render_line(y)
        for key in ("slash", "enter", "slash", "escape"):
            await pilot.press(key)
            await pilot.pause()
        assert drawn == []
        assert lines.has_focus
        await pilot.press("slash", "1", "9", "9", "enter")
        await pilot.pause()
        assert len(drawn) >= 18  # (a screen of lines, the matches highlighted)
        drawn.clear()
        await pilot.press("slash", "backspace", "backspace", "backspace", "enter")
        await pilot.pause()
        assert len(drawn) >= 18 and view.pattern is None


async def test_a_match_past_the_right_edge_is_scrolled_into_view() -> None:
    """At 80 columns a target's prefix and a logger's time leave the end of most lines out of
    view: the current match is scrolled to, and back when the next one is at the start."""
    app = LogHost()
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.query_one(LogView)
        view.add([("T1", ["2026-12-02 00:00:00,500 needle near the start " + "x" * 100,
                          "2026-12-02 00:00:01,000 - Demo - ERROR - " + "y" * 80 + " needle"])])
        view.focus()
        await pilot.pause()
        await pilot.press("slash", *"needle", "enter")
        await pilot.pause()
        lines, width = view.lines_view, view.lines_view.scrollable_content_region.width

        def in_view(index: int) -> bool:
            text = view.plain_of(index)
            start = text.index("needle")
            x = lines.scroll_offset.x
            return x <= start and start + len("needle") <= x + width

        assert view.current == 1 and in_view(1) and lines.scroll_offset.x > 0
        await pilot.press("n")  # (round to the first: at the start of its line)
        await pilot.pause()
        assert view.current == 0 and in_view(0) and lines.scroll_offset.x == 0


async def test_the_current_match_stays_itself_when_the_lines_shown_change() -> None:
    """``s`` narrows the lines to a window, and a clear empties them: the match shown stays the
    current one while it is there, else the next one, and the count says so ("901 of 24
    matching" was seen)."""
    from datetime import datetime, timedelta

    def stamp(ago: timedelta) -> str:
        return (datetime.now() - ago).strftime("%Y-%m-%d %H:%M:%S,000")

    app = LogHost()
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(LogView)
        view.add([("T1", [f"{stamp(timedelta(minutes=30 - n))} hit {n}" for n in range(10)]
                   + [f"{stamp(timedelta(seconds=30))} hit recent"])])
        view.focus()
        await pilot.pause()
        await pilot.press("slash", *"hit", "enter", "N", "N")  # (the 9th of 11)
        await pilot.pause()

        def state() -> str:
            return str(view.query_one("#log-state").render())

        current = view.shown[view.matches[view.current]]
        assert "/hit: 9 of 11 matching" in state() and current[TEXT].endswith("hit 8")
        await pilot.press("s")  # (the last minute: only the recent one)
        await pilot.pause()
        assert "/hit: 1 of 1 matching" in state() and "of 1 target ·" in state()
        for _ in range(4):  # (5m, 15m, 1h, all: the one shown stays current)
            await pilot.press("s")
        await pilot.pause()
        assert "/hit: 11 of 11 matching" in state()
        await pilot.press("N", "N")
        view.clear()  # (the logs screens' ``c``)
        await pilot.pause()
        assert "/hit: 0 matching" in state() and " of 0 matching" not in state()
        assert "0 lines of 0 targets" in state()


async def test_a_search_made_as_the_view_opens_shows_its_match() -> None:
    """The workbench's ``l`` opens the logs searched for an object before the view was laid
    out: the match must still be scrolled to (it stayed at the top: "2 of 2 matching" with
    neither in view)."""
    def opening(view: LogView) -> None:
        view.add([("T1", [f"2026-12-02 00:{n // 60:02}:{n % 60:02},000 line {n}"
                          for n in range(300)])])
        view.search("line 200$")

    app = LogHost(opening)
    async with app.run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        view = app.query_one(LogView)
        lines = view.lines_view
        assert view.matches == [200] and view.current == 0
        top = lines.scroll_offset.y
        assert top <= 200 < top + lines.size.height


async def test_esc_ends_a_search_before_it_leaves() -> None:
    """As with every filter of the app: the first Esc ends the search (and only-matches with
    it), the next one goes back."""
    app = LogHost()
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(LogView)
        view.add([("T1", [f"line {n}" for n in range(30)])])
        view.focus()
        await pilot.pause()
        await pilot.press("slash", *"line 1", "enter", "m")
        await pilot.pause()
        assert len(view.shown) == 11 and view.only_matches
        await pilot.press("escape")
        await pilot.pause()
        assert view.pattern is None and not view.only_matches and len(view.shown) == 30
        assert view.check_action("end_search", ()) is False  # (the next Esc: the screen's)


async def test_at_80_columns_the_state_line_keeps_the_modes() -> None:
    """The search's key hint, then the end of a long pattern, give way: the modes on (wrap,
    the since-window) must show, and the line fits."""
    from aisetl_tui.log_lines import mention_pattern

    app = LogHost()
    async with app.run_test(size=(80, 12)) as pilot:
        view = app.query_one(LogView)
        view.add([("T1", [f"transforming data/obj-{n:05}.txt" for n in range(50)])])
        view.focus()
        view.search(mention_pattern("data/obj-00047.txt"))
        await pilot.press("w", "s")
        await pilot.pause()
        state = str(view.query_one("#log-state").render())
        assert len(state) <= 80 and "1 of 1 matching" in state, state
        assert state.endswith("paused · since 1m (s) · wrap") and "…" in state, state
        assert "n/N next" not in state
