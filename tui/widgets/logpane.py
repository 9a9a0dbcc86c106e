"""The Log tab: the log view with its status line and the search/filter prompt."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from tui.logsource import MAX_LINE_CHARS, LogChunk
from tui.widgets.logview import LogView


class LogPane(Vertical):
    BINDINGS = [
        Binding("f", "follow", "Follow"),
        Binding("w", "wrap", "Wrap"),
        Binding("slash", "prompt('search')", "Search"),
        Binding("ampersand", "prompt('filter')", "Filter lines"),
        Binding("n", "next_match(1)", "Next match"),
        Binding("N", "next_match(-1)", "Previous match"),
        Binding("g", "top", "Top (older lines)"),
        Binding("G", "bottom", "Bottom and follow"),
        Binding("escape", "close_prompt", "Close prompt", show=False),
    ]

    def __init__(self, request_older, **kwargs) -> None:
        super().__init__(**kwargs)
        self.request_older = request_older
        self.prompt_kind = ""
        self.notes: set[str] = set()
        self.missing = False
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static("Reading the log…", classes="pane-status", id="log-status")
        yield LogView(id="log-view")
        yield Input(id="log-prompt", classes="bottom-input")

    def on_mount(self) -> None:
        self.query_one("#log-prompt").display = False

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def apply(self, chunk: LogChunk) -> None:
        self.missing = chunk.missing
        if chunk.invalid_utf8:
            self.notes.add("bytes that are not UTF-8 are shown as �")
        if chunk.long_lines:
            self.notes.add(f"lines over {MAX_LINE_CHARS:,} characters are cut for display")
        if chunk.reset:
            self.view.set_lines(chunk.lines)
        else:
            self.view.append_lines(chunk.lines)
        self.loaded = True
        self.update_status()

    def apply_older(self, chunk: LogChunk) -> None:
        if chunk.invalid_utf8:
            self.notes.add("bytes that are not UTF-8 are shown as �")
        self.view.prepend_lines(chunk.lines)
        self.update_status()

    def update_status(self) -> None:
        view = self.view
        parts = []
        if self.missing:
            parts.append("log.txt is missing")
        parts.append("following" if view.follow else "paused (f follows)")
        shown = (
            f"{view.shown_count:,} of {len(view.lines):,} lines" if view.filter_text else f"{len(view.lines):,} lines"
        )
        parts.append(shown)
        if view.filter_text:
            parts.append(f"filter {view.filter_text!r}")
        if view.search_text:
            found = f"{view.match_index + 1}/{len(view.matches)}" if view.matches else "no match"
            parts.append(f"search {view.search_text!r}: {found}")
        if view.wrap:
            parts.append("wrap")
        parts.extend(sorted(self.notes))
        self.query_one("#log-status", Static).update(" · ".join(parts))

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "close_prompt":
            return self.query_one("#log-prompt").display  # otherwise esc goes back
        return True

    def on_log_view_reached_top(self) -> None:
        self.request_older()

    # ---- actions ----
    def action_follow(self) -> None:
        view = self.view
        view.follow = not view.follow
        if view.follow:
            view.scroll_end(animate=False, immediate=True, x_axis=False)
        self.update_status()

    def action_wrap(self) -> None:
        self.view.set_wrap(not self.view.wrap)
        self.update_status()

    def action_prompt(self, kind: str) -> None:
        self.prompt_kind = kind
        box = self.query_one("#log-prompt", Input)
        box.placeholder = (
            "search the loaded lines (n / N step through matches)"
            if kind == "search"
            else "show only lines containing… (empty shows all)"
        )
        # Prefilled and selected (m13): typing replaces it, backspace then enter clears it.
        box.value = self.view.search_text if kind == "search" else self.view.filter_text
        box.display = True
        box.focus()
        box.select_all()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.prompt_kind == "search":
            self.view.search(event.value)
        else:
            self.view.set_filter(event.value)
        self.action_close_prompt()

    def action_close_prompt(self) -> None:
        box = self.query_one("#log-prompt", Input)
        if box.display:
            box.display = False
            self.view.focus()
        self.update_status()

    def action_next_match(self, direction: int) -> None:
        self.view.next_match(direction)
        self.update_status()

    def action_top(self) -> None:
        self.view.follow = False
        self.view.scroll_home(animate=False, immediate=True)
        self.request_older()
        self.update_status()

    def action_bottom(self) -> None:
        self.view.follow = True  # back at the end, keep up with new lines
        self.view.scroll_end(animate=False, immediate=True, x_axis=False)
        self.update_status()
