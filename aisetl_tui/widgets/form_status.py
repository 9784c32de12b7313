"""The status line under a form's buttons."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static


class FormStatus(Static):
    """One line under a form's buttons: what went wrong, or what is under way. It scrolls
    itself into view when it changes, since on a short terminal a long form hides its end."""

    DEFAULT_CLASSES = "error"

    def error(self, message: str) -> None:
        """Show ``message`` (plain text, not markup) as an error; empty clears the line."""
        self.show(f"[red]{escape(message)}[/]" if message else "")

    def show(self, markup: str) -> None:
        self.update(markup)
        if markup:
            self.scroll_visible(animate=False)
