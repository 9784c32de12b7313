"""The ``:`` command bar, with completion (→ or Tab accepts the suggestion)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input

from .commands import completions


class CommandBar(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="command.cancel"),
                Binding("tab", "complete", "Complete", show=False, id="command.complete")]

    def compose(self) -> ComposeResult:
        yield Input(placeholder="command (buckets, etls, pods, jobs, init code …)",
                    suggester=SuggestFromList(completions(), case_sensitive=False), id="command")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip().lstrip(":"))

    def action_complete(self) -> None:
        command = self.query_one(Input)
        if command.cursor_at_end:
            command.action_cursor_right()  # at the end: accepts the suggestion, if any

    def action_cancel(self) -> None:
        self.dismiss(None)
