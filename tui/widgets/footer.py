"""The key bar at the bottom of every screen: Textual's Footer with the essential keys first (open,
back, help, quit: a newcomer finds them at 80 columns), rebuilt only when its keys change."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.dom import NoScreen
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

ESSENTIAL = ("open", "app.back", "back", "help", "quit", "results")


def shown_keys(screen: Screen) -> list[tuple[Binding, bool, str]]:
    """(binding, enabled, tooltip) of each action shown in the key bar, essentials first.

    A key of the screen's own that a focused widget shadows with a hidden binding of its own
    (the runs table's enter, which opens the run through the table's row selection) is still
    listed under the screen's meaning; not one the focused widget takes as text (the letters
    typed in a filter box), nor one the screen refuses where the focus is now (check_action)."""
    found: dict[str, tuple[Binding, bool, str]] = {}
    active = screen.active_bindings
    for _, binding, enabled, tooltip in active.values():
        if binding.show and binding.action not in found:
            found[binding.action] = (binding, enabled, tooltip)
    for binding in screen.BINDINGS:
        if isinstance(binding, Binding) and binding.show and binding.action not in found:
            shadowed = any(key.strip() in active for key in binding.key.split(","))
            if shadowed and screen.check_action(binding.action, ()) is not False:
                found[binding.action] = (binding, True, "")
    essential = [found.pop(action) for action in ESSENTIAL if action in found]
    return essential + list(found.values())


class KeysFooter(Footer):
    """Textual's Footer rebuilds itself (a dozen keys, each restyled twice: ~1 ms per key) after
    every focus or screen-stack change, and opening a run makes five such changes in a row, most
    of which leave the keys as they were. Here one rebuild is pending at a time, and it is skipped
    when the keys it would show are the ones on screen."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._rebuild_due = False
        self._shown: tuple | None = None

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        keys = shown_keys(self.screen)
        self.styles.grid_size_columns = len(keys)
        for binding, enabled, tooltip in keys:
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if self._rebuild_due or not screen.app.app_focus or not (self.is_attached and screen is self.screen):
            return
        self._rebuild_due = True
        self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        self._rebuild_due = False
        try:
            bindings = self.screen.active_bindings
        except NoScreen:
            return  # its screen was closed before the rebuild came round (a run opened and closed at once)
        # What compose() reads: the active bindings, whether each is enabled, their tooltips.
        keys = tuple((key, binding, enabled, tooltip) for key, (_, binding, enabled, tooltip) in bindings.items())
        if keys != self._shown:
            self._shown = keys
            await self.recompose()
