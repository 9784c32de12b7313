"""Every key of the current screen, and the commands of the command bar."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import DataTable, Static

from ..session import UsesSession
from ..widgets.live_table import LiveTable
from ..widgets.log_view import LogView
from .commands import visible


def keys_table(screen: Screen, owner: DOMNode) -> Table:
    """The keys of ``owner`` (the screen, the app, or the screen's table), each with its ID
    for keymap.toml. Only this app's bindings (those with an ID): a widget's own from
    Textual (cursor left, copy selected text) are the same in every app."""
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("KEY", style="cyan", no_wrap=True)
    table.add_column("ACTION")
    table.add_column("ID", style="dim")
    # Each owner's own bindings (keymap applied), not the active ones: a table's Enter would
    # hide the screen's Enter (Open, View...) from active_bindings. Textual has no public
    # accessor for a node's own bindings map.
    rows: dict[str, tuple[list[str], str]] = {}  # ID -> its keys (g and Home), its action
    for bindings in owner._bindings.key_to_bindings.values():
        for binding in bindings:
            if binding.id and owner.check_action(binding.action, ()) is not False:
                keys, _ = rows.setdefault(binding.id, ([], binding.description))
                keys.append(screen.app.get_key_display(binding))
    for binding_id, (keys, action) in rows.items():
        table.add_row(" ".join(dict.fromkeys(keys)), action, binding_id)
    return table


def screen_name(screen: Screen) -> str:
    title = getattr(screen, "title_text", None)
    return title() if callable(title) else type(screen).__name__


def commands_table(readonly: bool = False) -> Table:
    """The command bar's commands; with ``readonly``, not those that change the cluster."""
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("COMMAND", style="cyan", no_wrap=True)
    table.add_column("")
    for command in visible(readonly):
        table.add_row(Text(command.usage), command.shown_help)  # "[etl]" is no markup tag
    return table


class HelpScreen(UsesSession, Screen[None]):
    """A full screen, not a modal: a dimmed live screen underneath would be re-rendered on
    every update (the job monitor updates every second)."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss_help", "Close", id="help.close")]

    def __init__(self, of: Screen) -> None:
        super().__init__()
        self.of = of

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="help"):
            yield Static(Text.assemble(("Keys of this screen: ", "bold"),
                                       (screen_name(self.of), "bold cyan"),
                                       "  (remap them by ID in keymap.toml)"))
            yield Static(keys_table(self.of, self.of))
            table = self.of.focused
            if isinstance(table, DataTable | LiveTable):
                yield Static("\n[b]Keys of the table[/b]")
                yield Static(keys_table(self.of, table))
            log = next((n for n in table.ancestors_with_self if isinstance(n, LogView)),
                       None) if table is not None else None
            if log is not None:
                yield Static("\n[b]Keys of the log[/b]")
                yield Static(keys_table(self.of, log))
            yield Static("\n[b]Keys of every screen[/b]")
            yield Static(keys_table(self.of, self.app))
            yield Static("\n[b]Commands[/b] (press [cyan]:[/cyan])")
            yield Static(commands_table(self.session.readonly))

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
