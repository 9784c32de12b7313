"""The status line at the top of a form."""

from __future__ import annotations

from textual.widgets import Static

from ..markup import escape


class FormStatus(Static):
    """What went wrong, or what is under way, under a form's title; hidden when empty. It
    scrolls itself into view when it changes: on a short terminal a long form scrolls."""

    DEFAULT_CLASSES = "error"

    def on_mount(self) -> None:
        self.display = False

    def error(self, message: str) -> None:
        """Show ``message`` (plain text, not markup) as an error; empty clears the line."""
        self.show(f"[red]{escape(message)}[/]" if message else "")

    def show(self, markup: str) -> None:
        self.update(markup)
        self.display = bool(markup)
        if markup:
            self.scroll_visible(animate=False)
