"""`?`: the keys of the screen underneath, read from its live bindings."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def keys_table(screen: Screen) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    seen = set()
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description or (binding.action, binding.description) in seen:
            continue
        seen.add((binding.action, binding.description))
        table.add_row(binding.key_display or screen.app.get_key_display(binding), binding.description)
    table.add_row(":  ctrl+p", "command palette (every action)")
    return table


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def __init__(self, beneath: Screen) -> None:
        super().__init__()
        self.beneath = beneath

    def compose(self) -> ComposeResult:
        title = getattr(self.beneath, "HELP_TITLE", type(self.beneath).__name__)
        with VerticalScroll(id="help-box"):
            yield Static(f"[b]{title}[/b] — keys", id="help-title")
            yield Static(keys_table(self.beneath), id="help-keys")
            yield Static(getattr(self.beneath, "HELP_TEXT", ""), id="help-text")
