"""The key bar at the bottom of every screen: Textual's Footer, rebuilt only when its keys change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    """Textual's Footer rebuilds itself (a dozen keys, each restyled twice: ~1 ms per key) after
    every focus or screen-stack change, and opening a run makes five such changes in a row, most
    of which leave the keys as they were. Here one rebuild is pending at a time, and it is skipped
    when the keys it would show are the ones on screen."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._rebuild_due = False
        self._shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if self._rebuild_due or not screen.app.app_focus or not (self.is_attached and screen is self.screen):
            return
        self._rebuild_due = True
        self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        self._rebuild_due = False
        # What compose() reads: the active bindings, whether each is enabled, their tooltips.
        keys = tuple((key, binding, enabled, tooltip)
                     for key, (_, binding, enabled, tooltip) in self.screen.active_bindings.items())
        if keys != self._shown:
            self._shown = keys
            await self.recompose()
