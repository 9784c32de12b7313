"""The footer of the current keys: it fits its width, keeping Help and Quit, and is rebuilt
only when the keys it shows, or its width, change."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # not exported by textual.widgets

KeysShown = tuple[tuple[str, str, str, bool, str], ...]
ALWAYS = ("app.help", "app.quit")  # shown however narrow: the way to everything else
DROP_FIRST = ("app.command",)  # dropped before the screen's own keys (the help names it)
PALETTE_WIDTH = 12  # "▏^p palette"


def keys_shown(screen: Screen) -> KeysShown:
    """What the footer shows for ``screen``: key, description, action, enabled, tooltip."""
    return tuple((binding.key, binding.description, binding.action, enabled, tooltip)
                 for _node, binding, enabled, tooltip in screen.active_bindings.values()
                 if binding.show)


def key_width(key_display: str, description: str) -> int:
    """Cells a FooterKey takes: `` key description `` (padding either side of the key)."""
    return len(key_display) + len(description) + 3


def fitting(keys: list[tuple[Binding, str]], width: int) -> list[tuple[Binding, str]]:
    """The keys (binding, key display) that fit ``width``, in their order: first
    :data:`DROP_FIRST` go, then the screen's last keys, never :data:`ALWAYS`."""
    kept = list(keys)

    def used() -> int:
        return sum(key_width(shown, b.description) for b, shown in kept)

    droppable = [k for k in kept if k[0].id in DROP_FIRST] + [
        k for k in reversed(kept) if k[0].id not in ALWAYS and k[0].id not in DROP_FIRST]
    while used() > width and droppable:
        kept.remove(droppable.pop(0))
    return kept


class KeysFooter(Footer):
    """Textual's footer recomposes all its keys on every bindings refresh, and the tables ask
    for one on each cursor move (the keys depend on the row); a recompose costs tens of
    milliseconds, so this footer skips the refreshes that change nothing it shows. On a
    narrow terminal it shows the keys that fit, Help and Quit always."""

    _shown: tuple[KeysShown, int] | None = None

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        width = self.app.size.width
        keys: dict[str, tuple[Binding, bool, str]] = {}  # by action: one key for each
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show:
                keys.setdefault(binding.action, (binding, enabled, tooltip))
        shown = [(b, self.app.get_key_display(b)) for b, _e, _t in keys.values()]
        palette = sum(key_width(d, b.description) for b, d in shown) + PALETTE_WIDTH <= width
        kept = dict(fitting(shown, width - (PALETTE_WIDTH if palette else 0)))
        self.styles.grid_size_columns = len(kept) + palette
        for binding, enabled, tooltip in keys.values():
            if binding in kept:
                yield FooterKey(binding.key, kept[binding], binding.description,
                                binding.action, disabled=not enabled,
                                tooltip=tooltip).data_bind(compact=Footer.compact)
        if palette:
            yield from self._palette_key()

    def _palette_key(self) -> ComposeResult:
        try:
            _node, binding, enabled, _tip = self.screen.active_bindings[
                self.app.COMMAND_PALETTE_BINDING]
        except KeyError:
            return
        yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description,
                        binding.action, classes="-command-palette", disabled=not enabled,
                        tooltip=binding.tooltip or binding.description)

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    def on_resize(self) -> None:
        self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if not self.is_attached:
            return
        try:
            shown = (keys_shown(self.screen), self.app.size.width)
        except NoMatches:  # the screen is being torn down: its table went before the footer
            return
        if shown != self._shown:
            self._shown = shown
            await self.recompose()
