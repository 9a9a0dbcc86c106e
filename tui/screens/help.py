"""`?`: the keys of the screen underneath, read from its live bindings: the screen's own and the
app's first, the generic keys of Textual's widgets (cursor, paging, copy) after them."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tui.widgets.footer import ESSENTIAL


def _own_actions(node) -> set[str]:
    """Actions bound by rdtui's classes in the node's class tree (not inherited from Textual's)."""
    actions = set()
    for cls in type(node).__mro__:
        if cls.__module__.startswith("textual."):
            continue
        for binding in cls.__dict__.get("BINDINGS", []):
            actions.add(binding.action if isinstance(binding, Binding) else binding[1])
    return actions


def binding_origin(node, action: str, screen: Screen) -> int:
    """0: this app's screens and widgets, 1: the app, 2: Textual's generic widget keys."""
    if node is screen.app:
        return 1
    return 0 if action in _own_actions(node) else 2


def key_rows(screen: Screen) -> list[tuple[str, str]]:
    """(keys, what they do) per action, every key of an action on one line (`q, ^q  Quit`); the
    essential keys first, then the screen's, the app's, and Textual's generic ones last."""
    actions: dict[str, list] = {}  # action -> [origin, description, keys]
    found = [(active.node, active.binding) for active in screen.active_bindings.values()]
    found += [(screen, b) for b in screen.BINDINGS if isinstance(b, Binding)]  # shadowed (enter)
    for node, binding in found:
        if not binding.description or binding.action == "command_palette":
            continue  # the palette has its own line below, with both of its keys
        origin = binding_origin(node, binding.action, screen)
        entry = actions.setdefault(binding.action, [origin, binding.description, []])
        if origin < entry[0]:
            entry[0], entry[1] = origin, binding.description
        display = binding.key_display or screen.app.get_key_display(binding)
        if display not in entry[2]:
            entry[2].append(display)

    def rank(action: str) -> tuple[int, int]:
        essential = ESSENTIAL.index(action) if action in ESSENTIAL else len(ESSENTIAL)
        return (0 if essential < len(ESSENTIAL) else actions[action][0], essential)

    ordered = sorted(actions, key=rank)
    rows = [(", ".join(actions[a][2]), actions[a][1]) for a in ordered]
    generic = next((n for n, a in enumerate(ordered) if actions[a][0] == 2), len(rows))
    rows.insert(generic, (":, ctrl+p", "Command palette: every action, open run…"))
    return rows


def keys_table(screen: Screen) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for keys, description in key_rows(screen):
        table.add_row(Text(keys), Text(description))
    return table


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def __init__(self, beneath: Screen) -> None:
        super().__init__()
        self.beneath = beneath

    def compose(self) -> ComposeResult:
        title = getattr(self.beneath, "HELP_TITLE", type(self.beneath).__name__)
        with VerticalScroll(id="help-box"):
            yield Static(Text(f"{title} — keys", style="bold"), id="help-title")
            yield Static(getattr(self.beneath, "HELP_TEXT", ""), id="help-text", markup=False)
            yield Static(keys_table(self.beneath), id="help-keys")
