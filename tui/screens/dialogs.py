"""Small modal dialogs: a yes/no confirmation and a scrollable text (diffs, completions)."""

from __future__ import annotations

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class ConfirmScreen(ModalScreen[bool]):
    """`y` confirms, `n`/`esc` declines, and `enter` gives the default: No unless the caller says
    the action is harmless (k9s's habit: a cancel is never confirmed by a reflex enter)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
        Binding("enter", "default", "Default answer"),
    ]

    def __init__(self, question: str, detail: RenderableType = "", *, default: bool = False) -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.question, id="confirm-question", markup=False)
            if self.detail:
                with VerticalScroll(id="confirm-detail"):
                    yield Static(self.detail, markup=False)
            keys = "y / enter: yes     n / esc: no" if self.default else "y: yes     n / esc / enter: no"
            yield Static(keys, id="confirm-keys")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    def action_default(self) -> None:
        self.dismiss(self.default)


class TextScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close")]

    def __init__(self, title: str, body: RenderableType) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(id="text-box"):
            yield Static(self.title_text, id="text-title", markup=False)
            with VerticalScroll(id="text-body"):
                yield Static(self.body, markup=False)


class PathScreen(ModalScreen[str | None]):
    """One line to type a file path into, prefilled; enter accepts, esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, value: str) -> None:
        super().__init__()
        self.question = question
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.question, markup=False)
            yield Input(self.value, id="path-input")
            yield Static("enter: accept     esc: cancel", id="confirm-keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
