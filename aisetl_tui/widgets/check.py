"""A checkbox whose box is empty when unchecked: Textual's shows its X either way, only in
another colour, and on a form's background an unchecked one read as checked."""

from __future__ import annotations

from textual.widgets import Checkbox


class Check(Checkbox):
    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # Textual reads this name
        return "✓" if self.value else " "
