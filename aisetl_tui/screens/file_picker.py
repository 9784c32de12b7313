"""Pick a file or a directory on this machine: type a path, or browse the tree."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Input, Static


class FilePickerScreen(ModalScreen[Path | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="picker.cancel")]

    def __init__(self, question: str, start: Path | None = None) -> None:
        super().__init__()
        self.question = question
        self.start = (start or Path.cwd()).expanduser()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker"):
            yield Static(self.question, classes="question", markup=False)
            yield Input(str(self.start) + "/", id="path")
            yield Static("Enter in the tree picks a file; Enter in the path picks what it "
                         "names (a file or a whole directory)", classes="hint")
            yield DirectoryTree(self.start, id="tree")
            yield Static("", classes="error", id="error", markup=False)

    @on(DirectoryTree.FileSelected)
    @on(DirectoryTree.DirectorySelected)
    def _picked(self, event: DirectoryTree.FileSelected) -> None:
        path_input = self.query_one("#path", Input)
        path_input.value = str(event.path)
        if isinstance(event, DirectoryTree.FileSelected):
            self.dismiss(event.path)

    @on(Input.Submitted, "#path")
    def _submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():  # Path("") is the current directory: never by accident
            self.query_one("#error", Static).update("type the path of a file or a directory")
            return
        path = Path(event.value.strip()).expanduser()
        if not path.exists():
            self.query_one("#error", Static).update(f"{path} does not exist")
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)
