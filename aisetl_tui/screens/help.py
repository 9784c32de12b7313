"""Every key of the current screen, and the commands of the command bar."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

MUTATING_COMMANDS = frozenset({"init", "transform"})  # hidden and refused with --readonly
COMMANDS = {
    ":buckets": "buckets (also :b)",
    ":objects <bucket>": "objects of a bucket",
    ":etls": "ETLs (also :e)",
    ":pods [etl]": "transformer pods (also :p)",
    ":jobs": "transform jobs (also :j)",
    ":cluster": "AIStore's proxy and target pods, from Kubernetes",
    ":init code [file]": "init an ETL from Python code",
    ":init spec [file]": "init an ETL from a YAML spec",
    ":transform [bucket]": "start an offline bucket transform",
    ":help": "this help",
    ":quit": "quit (also :q)",
}


def keys_table(screen: Screen) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("KEY", style="cyan", no_wrap=True)
    table.add_column("ACTION")
    table.add_column("ID", style="dim")
    seen: set[str] = set()
    rows = []
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description or binding.description in seen or not active.enabled:
            continue
        seen.add(binding.description)
        rows.append((screen.app.get_key_display(binding), binding.description, binding.id or ""))
    for row in sorted(rows, key=lambda r: not r[2]):  # this app's keys first, then the widgets'
        table.add_row(*row)
    return table


def commands_table(readonly: bool = False) -> Table:
    """The command bar's commands; with ``readonly``, not those that change the cluster."""
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("COMMAND", style="cyan", no_wrap=True)
    table.add_column("")
    for command, text in COMMANDS.items():
        if not (readonly and command[1:].split()[0] in MUTATING_COMMANDS):
            table.add_row(command, text)
    return table


class HelpScreen(Screen[None]):
    """A full screen, not a modal: a dimmed live screen underneath would be re-rendered on
    every update (the job monitor updates every second)."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss_help", "Close", id="help.close")]

    def __init__(self, of: Screen) -> None:
        super().__init__()
        self.of = of

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="help"):
            yield Static("[b]Keys of this screen[/b]  (remap them by ID in keymap.toml)")
            yield Static(keys_table(self.of))
            yield Static("\n[b]Commands[/b] (press [cyan]:[/cyan])")
            yield Static(commands_table(self.app.readonly))  # type: ignore[attr-defined]

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
