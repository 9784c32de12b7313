"""Contexts: the clusters the app knows (the embedded one and those of ``contexts.toml``), the
current one marked; Enter switches to the one highlighted."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from ..contexts import Context, contexts_path
from ..widgets.table import KeyedTable
from ._base import AppScreen


def context_row(context: Context, current: bool) -> list[str | Text]:
    token = ("inline" if context.token else f"file {context.token_file}" if context.token_file
             else "AIStore's usual sources" if not context.embedded else "its own")
    kube = " / ".join(x for x in (context.kube_context, context.kube_namespace) if x) or (
        "-" if context.embedded else "kubeconfig's current")
    name = Text(f"{context.name} (current)", style="bold green") if current else context.name
    return [name, context.endpoint or "this machine", token, kube]


class ContextsScreen(AppScreen):
    TITLE_TEXT = "contexts"
    BINDINGS = [Binding("enter", "choose", "Switch", id="contexts.switch")]

    def __init__(self, contexts: list[Context], current: Context,
                 choose: Callable[[Context], None], verb: str = "Switch to") -> None:
        """``choose`` is called with the context picked (Enter); ``verb`` says what that does
        (the screen serves a switch and the editor's promote)."""
        super().__init__()
        self.contexts, self.current, self.choose, self.verb = contexts, current, choose, verb

    def compose_body(self) -> ComposeResult:
        yield Static(f"{self.verb} the context highlighted: Enter. Contexts other than the "
                     f"embedded cluster come from {contexts_path()}.", id="contexts-hint",
                     markup=False)
        yield KeyedTable(["NAME", "ENDPOINT", "TOKEN", "KUBERNETES"], sort_rows=False,
                         id="contexts")

    def on_mount(self) -> None:
        table = self.query_one("#contexts", KeyedTable)
        table.sync({c.name: context_row(c, c.name == self.current.name) for c in self.contexts})

    def focus_main(self) -> None:
        self.query_one("#contexts", KeyedTable).focus()

    def on_data_table_row_selected(self) -> None:
        self.action_choose()

    def action_choose(self) -> None:
        key = self.query_one("#contexts", KeyedTable).selected_key
        context = next((c for c in self.contexts if c.name == key), None)
        if context is not None:
            self.app.pop_screen()
            self.choose(context)
