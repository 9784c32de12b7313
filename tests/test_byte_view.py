"""Objects shown as text or hex: the first screen at once whatever the size, hex paged
through the whole object by range reads, lines as wide as the pane allows."""

from __future__ import annotations

import time

from textual.app import App, ComposeResult

from aisetl_tui.app import AisEtlApp
from aisetl_tui.screens.object_view import ObjectViewScreen
from aisetl_tui.widgets.byte_view import ByteView, bytes_per_line, hex_line, looks_like_text
from backend.local import LocalCluster
from tests.test_app import connected, until


def test_lines_fit_the_width() -> None:
    assert bytes_per_line(80) == 16 and bytes_per_line(78) == 16
    assert bytes_per_line(60) == 8 and bytes_per_line(30) == 4
    assert hex_line(16, b"AB\x00", 4) == "00000010  41 42 00     |AB.|"
    assert looks_like_text(b"hello\n") and not looks_like_text(bytes(range(256)))


class Viewer(App):
    def compose(self) -> ComposeResult:
        yield ByteView(id="v")


async def test_a_narrow_hex_view_does_not_wrap() -> None:
    app = Viewer()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(ByteView)
        view.show(bytes(range(64)), as_hex=True)
        await pilot.pause()
        lines = [view.render_line(y).text.rstrip() for y in range(3)]
        assert lines[0] == "00000000  00 01 02 03  |....|"  # 4 per line at 40 columns
        assert lines[1].startswith("00000004  04 05 06 07")
        await pilot.resize_terminal(100, 10)
        await pilot.pause()
        assert view.render_line(1).text.startswith("00000010  10 11 12")  # 16 per line


async def test_a_large_object_opens_at_once_and_hex_pages_to_its_end(
        cluster: LocalCluster, bucket) -> None:
    size = 8 * 1024 * 1024 + 5
    data = bytes(i % 251 for i in range(size))
    bucket.object("big.bin").get_writer().put_content(data)
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        await connected(pilot, app)
        started = time.perf_counter()
        await app.push_screen(ObjectViewScreen(bucket.name, "big.bin"))
        view = app.screen.query_one("#content", ByteView)
        await until(pilot, lambda: view.line_count > 0, "the first screen")
        opened = time.perf_counter() - started
        assert view.as_hex and view.line_count == -(-size // 16)  # all of it, not 1 MiB
        assert opened < 2.0, f"took {opened:.1f}s to show the first screen"
        assert "8.0 MiB" in str(app.screen.query_one("#caption").render())
        await pilot.press("G")  # the end: fetched by a range read past the first megabyte
        last = view.line_count - 1
        await until(pilot, lambda: f"{last * 16:08x}  " in view.render_line(
            view.size.height - 1).text and "fetching" not in view.render_line(
            view.size.height - 1).text, "the last line's bytes")
        tail = data[last * 16:]
        assert view.render_line(view.size.height - 1).text.startswith(
            hex_line(last * 16, tail, 16)[:30])
