"""Small modal dialogs: a yes/no confirmation, a scrollable text (diffs, completions), a file path
(exports, figures)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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


def choose_output_file(
    app, question: str, default: Path, suffixes: tuple[str, ...], write: Callable[[Path], None]
) -> None:
    """Ask where to write a file (prefilled with `default`), refuse a suffix not in `suffixes`, ask
    before replacing a file that exists (enter: No), then `write(absolute path)`: exports and
    figures alike never overwrite silently and always name the full path."""

    def chosen(answer: str | None) -> None:
        if not answer:
            return
        path = Path(answer).expanduser().resolve()
        if path.suffix.lower() not in suffixes:
            app.notify(
                f"{path}: name a {', '.join(suffixes[:-1])} or {suffixes[-1]} file.", severity="error", markup=False
            )
            return
        if path.exists():
            app.push_screen(ConfirmScreen(f"{path} exists. Replace it?"), lambda yes: yes and write(path))
            return
        write(path)

    app.push_screen(PathScreen(question, str(default)), chosen)
