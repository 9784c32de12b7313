"""The footer of the current keys, rebuilt only when the keys it shows change."""

from __future__ import annotations

from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer

KeysShown = tuple[tuple[str, str, str, bool, str], ...]


def keys_shown(screen: Screen) -> KeysShown:
    """What the footer shows for ``screen``: key, description, action, enabled, tooltip."""
    return tuple((binding.key, binding.description, binding.action, enabled, tooltip)
                 for _node, binding, enabled, tooltip in screen.active_bindings.values()
                 if binding.show)


class KeysFooter(Footer):
    """Textual's footer recomposes all its keys on every bindings refresh, and the tables ask
    for one on each cursor move (the keys depend on the row); a recompose costs tens of
    milliseconds, so this footer skips the refreshes that change nothing it shows."""

    _shown: KeysShown | None = None

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if not self.is_attached:
            return
        try:
            shown = keys_shown(self.screen)
        except NoMatches:  # the screen is being torn down: its table went before the footer
            return
        if shown != self._shown:
            self._shown = shown
            await self.recompose()
