"""Small modal dialogs: confirm (Cancel focused, as k9s learned), a validated prompt, and a
text to read whole."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, question: str, confirm: str = "OK") -> None:
        super().__init__()
        self.question, self.confirm_label = question, confirm

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            with VerticalScroll(classes="question-scroll"):  # (the buttons stay in view)
                yield Static(self.question, classes="question")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.confirm_label, id="ok", variant="error")
            yield Static(f"Tab: to {self.confirm_label} · Enter: the one focused · Esc: cancel",
                         classes="text-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "ok")

    def action_cancel(self) -> None:
        self.dismiss(False)


class PromptScreen(ModalScreen[str | None]):
    """One line of input; ``validate`` returns an error message or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, question: str, value: str = "", placeholder: str = "",
                 validate: Callable[[str], str | None] | None = None) -> None:
        super().__init__()
        self.question, self.value, self.placeholder = question, value, placeholder
        self.validate = validate

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="question", markup=False)
            yield Input(self.value, placeholder=self.placeholder, id="answer")
            yield Static("", classes="error", id="error", markup=False)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        problem = self.validate(value) if self.validate else None
        if problem:
            self.query_one("#error", Static).update(problem)
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextScreen(ModalScreen[None]):
    """A text too long for its place (an error's whole traceback), to read and scroll; Esc
    closes it."""

    BINDINGS = [Binding("escape", "close", "Close", id="dialog.close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_line, self.text = title, text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog text-dialog"):
            yield Static(self.title_line, classes="question", markup=False)
            with VerticalScroll(classes="text-scroll"):
                yield Static(self.text, markup=False, id="text")
            yield Static("↑↓ PgUp PgDn: scroll · Esc: close", classes="text-hint")

    def on_mount(self) -> None:
        self.query_one(".text-scroll", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
