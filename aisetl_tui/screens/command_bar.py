"""The ``:`` command bar, with completion (→ or Tab accepts the suggestion)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input

WORDS = ["buckets", "objects ", "etls", "pods", "jobs", "cluster", "init code ", "init spec ",
         "transform", "help", "quit"]


class CommandBar(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="command.cancel"),
                Binding("tab", "complete", "Complete", show=False, id="command.complete")]

    def compose(self) -> ComposeResult:
        yield Input(placeholder="command (buckets, etls, pods, jobs, init code …)",
                    suggester=SuggestFromList(WORDS, case_sensitive=False), id="command")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip().lstrip(":"))

    def action_complete(self) -> None:
        command = self.query_one(Input)
        if command._suggestion:
            command.value = command._suggestion
            command.cursor_position = len(command.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
