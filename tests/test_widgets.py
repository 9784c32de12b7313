"""The app's own widgets, each in a minimal app driven by Textual's pilot."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from aisetl_tui.widgets.footer import KeysFooter
from aisetl_tui.widgets.form_status import FormStatus
from aisetl_tui.widgets.live_table import Column, LiveTable
from aisetl_tui.widgets.table import KeyedTable


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield LiveTable([Column("NAME"), Column("COUNT", "right")], id="t")

    def on_mount(self) -> None:
        self.query_one(LiveTable).styles.height = 5  # a header and 4 rows in view
        self.query_one(LiveTable).focus()


async def test_live_table_shows_rows_moves_its_cursor_and_scrolls() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(LiveTable)
        table.sync({f"k{i}": (f"row{i}", f"{i * 1000:,}") for i in range(10)})
        await pilot.pause()
        assert table.row_count == 10 and table.selected_key == "k0"
        lines = [table.render_line(y).text for y in range(5)]
        assert lines[0].split() == ["NAME", "COUNT", "1-4", "of", "10"]
        assert lines[1].startswith(" row0 ") and lines[1].rstrip().endswith("     0")
        assert lines[2].rstrip().endswith(" 1,000")  # numbers right-aligned in their column

        await pilot.press("down", "down", "down", "down")
        assert table.selected_key == "k4"
        assert table.render_line(4).text.startswith(" row4")  # scrolled to keep it in view
        assert "2-5 of 10" in table.render_line(0).text
        await pilot.press("end")
        assert table.selected_key == "k9"
        await pilot.press("home")
        assert table.selected_key == "k0" and table.render_line(1).text.startswith(" row0")

        await pilot.press("end")
        table.sync({"a": ("a", "1"), "b": ("b", "22222222")})  # fewer rows: cursor follows
        await pilot.pause()
        assert table.selected_key == "b"
        assert "of" not in table.render_line(0).text  # everything fits
        assert table.render_line(2).text.rstrip().endswith("22222222")  # the column grew


class WideApp(App):
    def compose(self) -> ComposeResult:
        yield LiveTable([Column("NAME"), Column("DETAIL", drop=2), Column("RATE", drop=1),
                         Column("STATE")], id="t")


async def test_live_table_drops_the_most_droppable_columns_when_narrow() -> None:
    app = WideApp()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(LiveTable)
        table.sync({"a": ("node-a", "x" * 30, "1,234.5", "running")})
        await pilot.pause()
        assert table.render_line(0).text.split() == ["NAME", "DETAIL", "RATE", "STATE"]
        await pilot.resize_terminal(40, 10)
        await pilot.pause()
        assert table.render_line(0).text.split() == ["NAME", "RATE", "STATE"]
        assert table.render_line(1).text.split() == ["node-a", "1,234.5", "running"]
        await pilot.resize_terminal(20, 10)
        await pilot.pause()
        assert table.render_line(0).text.split() == ["NAME", "STATE"]


class KeyedApp(App):
    def compose(self) -> ComposeResult:
        yield KeyedTable(["NAME", "STAGE"], id="t")

    def on_mount(self) -> None:
        self.query_one(KeyedTable).styles.height = 5  # fixed: new rows do not resize it


async def test_keyed_table_rows_painted_before_their_columns_were_measured_show_whole() -> None:
    app = KeyedApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(KeyedTable)
        assert table.render_line(0).text.split() == ["NAME", "STAGE"]  # header painted empty
        table.sync({"a": ("transformer-md5", "Running")})
        assert table.render_line(1).text.split() == ["tran", "Runni"]  # painted before measured
        await pilot.pause()  # the table measures its columns when idle
        assert table.render_line(1).text.split() == ["transformer-md5", "Running"]
        assert table.render_line(0).text.index("STAGE") == len(" transformer-md5  ")


class KeysScreen(Screen):
    BINDINGS = [Binding("x", "x", "Do X", id="x")]
    allow_x = True

    def compose(self) -> ComposeResult:
        yield KeysFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.allow_x if action == "x" else True

    def action_x(self) -> None:
        pass


async def test_footer_rebuilds_only_when_the_keys_it_shows_change() -> None:
    app = App()
    async with app.run_test(size=(60, 5)) as pilot:
        screen = KeysScreen()
        await app.push_screen(screen)
        await pilot.pause()
        footer = screen.query_one(KeysFooter)
        assert "Do X" in str([k.description for k in footer.query("FooterKey")])
        before = footer.query_one("FooterKey")

        for _ in range(5):  # what a table does on every cursor move
            screen.refresh_bindings()
        await pilot.pause()
        assert footer.query_one("FooterKey") is before  # nothing changed: not rebuilt

        screen.allow_x = False
        screen.refresh_bindings()
        await pilot.pause()
        assert "Do X" not in str([k.description for k in footer.query("FooterKey")])


class StatusApp(App):
    def compose(self) -> ComposeResult:
        yield FormStatus(id="s")


async def test_form_status_shows_error_text_as_written() -> None:
    app = StatusApp()
    async with app.run_test(size=(60, 6)) as pilot:
        status = app.query_one(FormStatus)
        status.error("ETL error: [Errno 2] No such file: '/x/[red]'")
        await pilot.pause()
        assert str(status.render()) == "ETL error: [Errno 2] No such file: '/x/[red]'"
        status.error("")
        assert str(status.render()) == ""


async def test_a_live_tables_columns_that_fit_are_settled_before_values_widen() -> None:
    """Room kept for a column's values: at 34 columns, READ goes at once, not when its
    values grow wide enough to push it out (it showed at 7 % of a job and went at 31 %)."""
    from aisetl_tui.widgets.live_table import Column

    class ReservedApp(App):
        def compose(self) -> ComposeResult:
            yield LiveTable([Column("NAME", width=8), Column("READ", "right", drop=1, width=10),
                             Column("STATE", width=12)], id="t")

    app = ReservedApp()
    async with app.run_test(size=(34, 10)) as pilot:
        table = app.query_one(LiveTable)
        heads = []
        for read in ("1 B", "~999.9 KiB"):
            table.sync({"a": ("node-a", read, "running")})
            await pilot.pause()
            heads.append(table.render_line(0).text.split())
        assert heads == [["NAME", "STATE"], ["NAME", "STATE"]]
