"""The merged log view holding 100,000 lines while following, measured in a real terminal.

Run with ``python -m bench.logs``. A small app holds one log view (the one the Logs screens
use) of 4 sources, loads 100,000 lines, then keeps following: 1,000 new lines a second, in
batches every 0.1 s, as a busy ETL's transformers would write them (the oldest let go at the
bound). Measured, in tmux (keys with ``send-keys``, the pane read with ``capture-pane``):

1. **Memory**: the app's RSS with 100,000 lines held, less its RSS before any line. Target
   under 100 MB.
2. **Key → screen while following**: ``/`` opens the search box and Enter closes it (empty),
   each timed until the pane shows the change. Target p99 under 50 ms. (Not Esc: a terminal
   app waits about 0.1 s after a lone Esc to tell it from the start of a key's escape
   sequence.) ``t`` (every line's time shown, or not: all 100,000 measured again) is printed
   for reference, and so is the app's CPU while it follows.
3. **The floor**: the same keys, measured the same way, in a Textual app that holds nothing but
   a screen of text and the same search box: what this machine, Textual and tmux take with no
   log view at all.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from datetime import datetime

import psutil
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from aisetl_tui.widgets.log_view import LogView
from bench._table import p99, print_results
from bench.app import Terminal

HELD = 100_000
SOURCES = 4
PER_TICK = 100  # lines every 0.1 s
SEARCH_HINT = "search (a regular expression"


def lines(start: int, count: int, source: int) -> list[str]:
    now = datetime.now().strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    return [f"{now} - CodeServer - INFO - transforming /images/train/img-{n:07}.jpg: "
            f"{n % 977} ms, {n * 37 % 100_000} bytes"
            for n in range(start + source, start + count, SOURCES)]


class FeedApp(App):
    """One log view: 100,000 lines, then more every 0.1 s."""

    def compose(self) -> ComposeResult:
        yield LogView(sources="target", id="view")

    def on_mount(self) -> None:
        gc.freeze()  # as the app does once its first screen is up
        self.base_rss = psutil.Process().memory_info().rss
        self.fed = 0
        view = self.query_one(LogView)
        for start in range(0, HELD, 10_000):
            self._feed(view, start, 10_000)
        view.show_added()  # (lines added moments apart are shown together, a moment later)
        self.fed = HELD
        view.focus()
        self.set_interval(0.1, lambda: self._feed(view, self.fed, PER_TICK))
        self.call_after_refresh(self._say_memory)

    def _feed(self, view: LogView, start: int, count: int) -> None:
        view.add([(f"t{s}", lines(start, count, s)) for s in range(SOURCES)])
        self.fed = start + count

    def _say_memory(self) -> None:
        grown = (psutil.Process().memory_info().rss - self.base_rss) / 2**20
        # gone before the keys are measured: a toast over the lines is not what a logs
        # screen has, and it costs each frame's drawing
        self.notify(f"held {len(self.query_one(LogView).shown):,} lines, +{grown:.0f} MB",
                    timeout=3)


class FloorApp(App):
    """A screen of text and the log view's search box, opened with ``/``, closed with Enter."""

    CSS = """
    #text { height: 1fr; }
    #search { display: none; height: 1; border: none; padding: 0 1; }
    """
    BINDINGS = [Binding("slash", "search", "Search", id="floor.search")]

    def compose(self) -> ComposeResult:
        text = Static("\n".join(lines(0, 160, 0)), id="text")
        text.can_focus = True
        yield text
        yield Input(placeholder=SEARCH_HINT, id="search")

    def on_mount(self) -> None:
        self.query_one("#text").focus()
        self.call_after_refresh(gc.freeze)  # as the app does once its first screen is up

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.display = True
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        self.query_one("#text").focus()


def search_keys(term: Terminal, presses: int) -> list[float]:
    """Seconds from each key to the screen showing it: ``/`` then Enter, ``presses`` times."""
    keys = []
    for _ in range(presses):
        start = term.keys("/")
        keys.append(term.wait(lambda s: SEARCH_HINT in s) - start)
        time.sleep(0.05)
        start = term.keys("Enter")  # (an empty search: closed, nothing searched)
        keys.append(term.wait(lambda s: SEARCH_HINT not in s) - start)
        time.sleep(0.05)
    return keys


def measure_floor(presses: int) -> list[float]:
    term = Terminal(f"{sys.executable} -m bench.logs --floor-app", size=(120, 40))
    try:
        term.wait(lambda s: "img-0000000" in s, timeout=60)
        return search_keys(term, presses)
    finally:
        term.close()


def measure(presses: int) -> dict:
    term = Terminal(f"{sys.executable} -m bench.logs --feed-app", size=(120, 40))
    try:
        shown = term.wait(lambda s: "held 100,000 lines" in s, timeout=120)
        grown = float(term.screen().split("held 100,000 lines, +")[1].split(" MB")[0])
        app = term.app_process()
        time.sleep(1)  # following for a while
        before, clock = sum(app.cpu_times()[:2]), time.perf_counter()
        time.sleep(3)
        cpu = (sum(app.cpu_times()[:2]) - before) / (time.perf_counter() - clock)
        held_rss = app.memory_info().rss / 2**20
        term.wait(lambda s: "held 100,000 lines" not in s)  # (the toast went)
        keys, toggles = search_keys(term, presses), []
        for i in range(6):
            start = term.keys("t")
            on = i % 2 == 0
            toggles.append(term.wait(lambda s, on=on: ("t: times" in s) == on) - start)
            time.sleep(0.1)
    finally:
        term.close()
    return {"grown_mb": grown, "rss_mb": held_rss, "keys": keys, "toggles": toggles,
            "load_s": shown - term.started, "cpu": cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presses", type=int, default=50)
    parser.add_argument("--feed-app", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--floor-app", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.feed_app or args.floor_app:
        (FeedApp() if args.feed_app else FloorApp()).run()
        return 0
    result = measure(args.presses)
    floor = sorted(k * 1000 for k in measure_floor(args.presses))
    keys = sorted(k * 1000 for k in result["keys"])
    toggles = sorted(t * 1000 for t in result["toggles"])
    print(f"loaded and drawn in {result['load_s']:.1f} s; app RSS {result['rss_mb']:.0f} MB; "
          f"CPU while following {result['cpu']:.0%} of a core; t (all lines measured again): "
          f"p50 {statistics.median(toggles):.0f} ms, max {toggles[-1]:.0f} ms")
    rows = [("memory for 100,000 lines held (RSS growth)", f"{result['grown_mb']:.0f} MB",
             "< 100 MB", result["grown_mb"] < 100),
            (f"key → screen while following ({len(keys)} keys, p50 "
             f"{statistics.median(keys):.1f} ms)", f"p99 {p99(keys):.1f} ms", "< 50 ms",
             p99(keys) < 50),
            (f"the floor: the same keys, no log view (p50 {statistics.median(floor):.1f} ms)",
             f"p99 {p99(floor):.1f} ms", "", None)]
    print_results(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
