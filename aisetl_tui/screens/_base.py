"""What every screen shares: the status line, the footer, a filter, and polling that never
overlaps, re-arms only after it finishes, and stops while the screen is not visible."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.messages import Prune
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

from backend.ais import AisClient, AisError

from ..session import Connected, UsesSession
from ..widgets.footer import KeysFooter
from ..widgets.log_view import LogView
from ..widgets.status import StatusBar
from ..widgets.table import KeyedTable
from .dialogs import ConfirmScreen, PromptScreen

if TYPE_CHECKING:
    from textual.worker_manager import WorkerManager



class EndsWorkersFirst:
    """For screens whose workers touch their widgets: when the screen is removed (popped, or
    the app quitting), its workers end first. Textual cancels them only once the widgets are
    gone, and a request finishing in between would find none and crash the app."""

    if TYPE_CHECKING:
        workers: WorkerManager  # a mixin of Screen (not a subclass: that would change the CSS)

    def on_prune(self, event: Prune) -> None:
        self.workers.cancel_node(self)  # type: ignore[arg-type]


def _new_file_problem(text: str) -> str | None:
    """Why a new file cannot be written at ``text`` (an existing one is never replaced), or
    None."""
    if not text:
        return "a file name is needed"
    path = Path(text).expanduser()
    if path.exists():
        return f"{path} exists: name a new file"
    if not path.parent.exists():
        return f"{path.parent} does not exist"
    if not path.parent.is_dir():
        return f"{path.parent} is not a directory"
    return None


class AppScreen(EndsWorkersFirst, UsesSession, Screen):
    """A full screen with the status line on top and the footer of its keys at the bottom."""

    TITLE_TEXT: ClassVar[str] = ""
    AUTO_FOCUS = None  # focus_main() decides; the hidden filter must never take the keys
    MUTATING: ClassVar[frozenset[str]] = frozenset()  # actions hidden with --readonly
    _problem: tuple[str, str] = ("", "")  # what the problem line shows, and its style
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "back", "Back", id="back"),
    ]

    @property
    def client(self) -> AisClient | None:
        return self.session.client

    def compose(self) -> ComposeResult:
        yield StatusBar(self.title_text())
        with Vertical(id="body"):
            yield from self.compose_body()
        yield Static("", id="problem")
        yield Input(placeholder="filter (Enter to apply, Esc to clear)", id="filter",
                    disabled=True)
        yield KeysFooter()

    def on_screen_resume(self) -> None:
        """Back on this screen: the focus where it was (the objects of the workbench, not its
        groups), or on the main widget the first time or if that one is hidden now."""
        focused = self.focused
        if focused is None or not focused.display or focused.id == "filter":
            self.focus_main()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def title_text(self) -> str:
        return self.TITLE_TEXT

    def retitle(self) -> None:
        """Show :meth:`title_text` again, after what it says has changed."""
        self.query_one(StatusBar).set_title(self.title_text())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in self.MUTATING and self.session.readonly)

    def action_back(self) -> None:
        """Esc: close the filter (and clear it), clear an applied one, or go back."""
        filter_input = self.query_one("#filter", Input)
        if filter_input.display or filter_input.value:
            self._close_filter(clear=True)
        elif len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    # --- changes of the cluster -------------------------------------------------------------

    def change(self, what: Callable[[AisClient], Awaitable[object]], done: str,
               confirm: tuple[str, str] | None = None) -> None:
        """Change the cluster, as every screen does: ask first (``confirm``: the question, in
        markup, and its button), then in a worker ``what`` with the client, a toast saying
        ``done`` or what failed, and :meth:`after_change`."""
        async def run() -> None:
            client = self.client
            if client is None:
                return
            try:
                await what(client)
                self.notify(done)
            except AisError as err:
                self.notify(str(err), severity="error", timeout=10)
            self.after_change()

        if confirm is None:
            self.run_worker(run, group="mutate")
        else:
            self.app.push_screen(ConfirmScreen(*confirm),
                                 lambda ok: self.run_worker(run, group="mutate") if ok else None)

    def after_change(self) -> None:
        """Show the cluster as it is after a change made here; polled screens poll now."""

    # --- saving to a file -------------------------------------------------------------------

    def save_as(self, question: str, name: str, render: Callable[[Path], str],
                what: str) -> None:
        """Ask for a new file (``name`` in the home directory offered, stamped with the
        time), then write ``render(path)`` there in a thread (rendering included: it may be
        10,000 errors); a toast says where ``what`` went, or why it could not."""
        stem, dot, suffix = name.rpartition(".")
        default = Path.home() / f"{stem}-{datetime.now():%Y%m%d-%H%M%S}{dot}{suffix}"
        self.app.push_screen(
            PromptScreen(question, str(default), validate=_new_file_problem),
            lambda answer: self.run_worker(
                lambda: self._write_new_file(Path(answer).expanduser(), render, what),
                thread=True, group="save") if answer else None)

    def _write_new_file(self, path: Path, render: Callable[[Path], str], what: str) -> None:
        try:
            with open(path, "x") as f:  # never over an existing file
                f.write(render(path))
        except OSError as err:
            self.app.call_from_thread(self.notify, f"could not save {what}: {err}",
                                      severity="error", timeout=10)
            return
        self.app.call_from_thread(self.notify, f"saved {what} to {path}")

    @on(LogView.SaveAsked)
    def _save_log(self, event: LogView.SaveAsked) -> None:
        lines = event.lines
        self.save_as(f"Save the {len(lines):,} lines shown to:",
                     f"aisetl-{self.TITLE_TEXT or 'log'}.log".replace(" ", "-"),
                     lambda _path: "".join(line + "\n" for line in lines),
                     f"{len(lines):,} lines")

    # --- problems ---------------------------------------------------------------------------

    @property
    def problem(self) -> str:
        return self._problem[0]

    def show_problem(self, message: str, style: str = "red") -> None:
        """One line over the screen's data, in ``style``; ``message`` is plain text, not
        markup (errors quote object names and paths, which may hold "[")."""
        if (message, style) == self._problem:
            return  # unchanged: no repaint, no relayout
        self._problem = (message, style)
        problem = self.query_one("#problem", Static)
        problem.update(Text(message, style=style))
        problem.display = bool(message)

    # --- filter -----------------------------------------------------------------------------

    def action_filter(self) -> None:
        filter_input = self.query_one("#filter", Input)
        filter_input.disabled = False
        filter_input.display = True
        filter_input.focus()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.apply_filter(event.value)
        self._close_filter(clear=False)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.apply_filter(event.value)

    def _close_filter(self, clear: bool) -> None:
        filter_input = self.query_one("#filter", Input)
        if clear:
            filter_input.value = ""
            self.apply_filter("")
        filter_input.display = False
        filter_input.disabled = True
        self.focus_main()

    def apply_filter(self, text: str) -> None:
        """Screens with a table filter it; the default does nothing."""

    def focus_main(self) -> None:
        """Give the keys to the screen's main widget."""


SKIP = object()  # load(): nothing to render yet; ask again at the next interval
STOP = object()  # load(): nothing to render, and asking again will not change that


class PollingScreen(AppScreen):
    """Fetches on a timer while visible. One fetch at a time (an exclusive worker), the next
    one scheduled only when the previous has finished; ``INTERVAL`` 0 fetches once."""

    INTERVAL: ClassVar[float] = 3.0
    ERRORS: ClassVar[tuple[type[Exception], ...]] = (AisError,)
    ERROR_PREFIX: ClassVar[str] = ""
    _timer: Timer | None = None

    def on_screen_resume(self) -> None:  # Textual also calls AppScreen's: no super()
        self.refresh_now()

    def on_connected(self, _message: Connected) -> None:
        self.refresh_now()

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def refresh_now(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.run_worker(self._poll, exclusive=True, group="poll")

    def action_refresh(self) -> None:
        self.refresh_now()

    def after_change(self) -> None:
        self.refresh_now()

    async def _poll(self) -> None:
        # A cancelled poll (replaced by a newer one, or its screen removed) arms no timer.
        try:
            data = await self.load()
        except self.ERRORS as err:
            self.poll_failed(err)
        else:
            if data is STOP:
                return
            if data is not SKIP:
                self.show_problem("")
                self.render_data(data)
        if self.is_current and self.INTERVAL > 0:
            self._timer = self.set_timer(self.INTERVAL, self.refresh_now)

    def poll_failed(self, err: Exception) -> None:
        """A poll failed: say why (the data shown stays as it was)."""
        self.show_problem(f"{self.ERROR_PREFIX}{err}")

    async def load(self) -> Any:
        """The data to render, or :data:`SKIP` / :data:`STOP`."""
        client = self.client
        if client is None:
            return SKIP
        return await self.fetch(client)

    async def fetch(self, client: AisClient) -> Any:
        raise NotImplementedError

    def render_data(self, data: Any) -> None:
        raise NotImplementedError


class TableScreen(PollingScreen):
    """A polled screen around one keyed table: focus, filter and row-dependent keys."""

    TABLE_ID: ClassVar[str] = ""
    # While the table has no rows at all: what is missing, and (action, what it does) for the
    # keys that make some.
    EMPTY: ClassVar[tuple[str, tuple[tuple[str, str], ...]]] = ("", ())

    @property
    def table(self) -> KeyedTable:
        return self.query_one(f"#{self.TABLE_ID}", KeyedTable)

    def hint_if_empty(self) -> None:
        """A dimmed hint on the problem line, for a first run; ``render_data`` calls it. The
        keys are the ones bound now (a keymap may change them; --readonly hides them)."""
        what, actions = self.EMPTY
        if not what or self.table.has_rows or not self.is_current:
            return  # (the bindings asked of a screen not shown are the shown one's)
        bound = {b.action: self.app.get_key_display(b)
                 for _node, b, enabled, _tip in self.active_bindings.values() if enabled}
        keys = [f"{bound[action]} {does}" for action, does in actions if action in bound]
        self.show_problem(f"{what}: {', '.join(keys)}" if keys else what, "dim")

    def focus_main(self) -> None:
        self.table.focus()

    def apply_filter(self, text: str) -> None:
        self.table.set_filter(text)

    def title_text(self) -> str:
        """``buckets (11)``, or with a filter applied ``buckets (3 of 11) /md5``."""
        tables = self.query(f"#{self.TABLE_ID}")
        if not tables:  # composing: no table yet
            return super().title_text()
        table = tables.first(KeyedTable)
        order = f" {table.sort_text}" if table.sort_text else ""
        if table.filter_text:
            return (f"{super().title_text()} ({table.shown:,} of {table.total:,}) "
                    f"/{table.filter_text}{order}")
        return f"{super().title_text()} ({table.total:,}){order}"

    def on_keyed_table_synced(self) -> None:
        self.retitle()

    def on_data_table_row_highlighted(self) -> None:
        self.refresh_bindings()  # which keys make sense depends on the row
