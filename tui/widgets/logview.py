"""A log viewer that renders only the rows on screen: follow, search, filter and wrap.

Lines arrive in batches (see `tui.feeds.log.LogFeed`); the view keeps up to MAX_LINES of them, and
each repaint costs the visible rows only, whatever the file size.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

MAX_LINES = 100_000
MATCH = Style(reverse=True)
CURRENT = Style(reverse=True, bold=True, underline=True)


class LogView(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    LogView { height: 1fr; }
    """

    class ReachedTop(Message):
        """The user scrolled to the first loaded line: time to read older ones."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lines: list[str] = []
        self.follow = True
        self.wrap = False
        self.filter_text = ""
        self.search_text = ""
        self.matches: list[int] = []  # row numbers (in the shown rows) that contain the search
        self.match_index = -1
        self._shown: list[int] = []  # line numbers that pass the filter
        self._rows: list[tuple[int, int, int]] = []  # (line, start, end) of each displayed row
        self._widest = 0
        self._rows_width = 0

    # ---- content ----
    def set_lines(self, lines: list[str]) -> None:
        self.lines = lines[-MAX_LINES:]
        self._rebuild()
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def append_lines(self, lines: list[str]) -> None:
        if not lines:
            return
        at_end = self.is_vertical_scroll_end or self.max_scroll_y == 0
        overflow = len(self.lines) + len(lines) - MAX_LINES
        if overflow > 0:
            self.lines = self.lines[overflow:] + lines
            self._rebuild()
        else:
            first = len(self.lines)
            self.lines.extend(lines)
            self._extend(range(first, len(self.lines)))
        if self.follow and at_end:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def prepend_lines(self, lines: list[str]) -> int:
        """Older lines above the loaded ones; the rows on screen stay where they are."""
        room = MAX_LINES - len(self.lines)
        lines = lines[-room:] if room > 0 else []
        if not lines:
            return 0
        rows_before = len(self._rows)
        self.lines = lines + self.lines
        self._rebuild()
        self.scroll_to(y=self.scroll_y + len(self._rows) - rows_before, animate=False, immediate=True)
        return len(lines)

    # ---- settings ----
    def set_wrap(self, wrap: bool) -> None:
        self.wrap = wrap
        self._rebuild()

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._rebuild()
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def search(self, text: str) -> None:
        self.search_text = text
        self._find_matches()
        self.match_index = len(self.matches) - 1 if self.matches else -1  # newest match first
        self._show_match()

    def next_match(self, direction: int) -> None:
        if not self.matches:
            return
        self.match_index = (self.match_index + direction) % len(self.matches)
        self._show_match()

    def _show_match(self) -> None:
        if self.match_index >= 0:
            self.follow = False
            row = self.matches[self.match_index]
            self.scroll_to(y=max(0, row - self.size.height // 2), animate=False, immediate=True)
        self.refresh()

    # ---- layout ----
    def _passes(self, line: str) -> bool:
        return not self.filter_text or self.filter_text.lower() in line.lower()

    def _rebuild(self) -> None:
        self._shown, self._rows, self._widest = [], [], 0
        self._rows_width = self._wrap_width()
        self._extend(range(len(self.lines)))

    def _wrap_width(self) -> int:
        return max(self.scrollable_content_region.width, 10)

    def _extend(self, numbers: range) -> None:
        width = self._rows_width
        for n in numbers:
            line = self.lines[n]
            if not self._passes(line):
                continue
            self._shown.append(n)
            if self.wrap and len(line) > width:
                self._rows.extend((n, s, min(s + width, len(line))) for s in range(0, len(line), width))
            else:
                self._rows.append((n, 0, len(line)))
                self._widest = max(self._widest, len(line))
        if self.search_text:
            self._find_matches()
        self.virtual_size = Size(self._rows_width if self.wrap else self._widest, len(self._rows))
        self.refresh()

    def _find_matches(self) -> None:
        needle = self.search_text.lower()
        self.matches = (
            [i for i, (n, s, e) in enumerate(self._rows) if needle in self.lines[n][s:e].lower()] if needle else []
        )
        self.match_index = min(self.match_index, len(self.matches) - 1)
        if self.matches and self.match_index < 0:
            self.match_index = len(self.matches) - 1  # matches again (a filter cleared): the newest (m13)

    def on_resize(self) -> None:
        if self.wrap and self._wrap_width() != self._rows_width:
            self._rebuild()
        if self.follow:
            # a hidden tab has no size: the first real layout is where "at the tail" is known
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    # ---- rendering ----
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if index >= len(self._rows):
            return Strip.blank(width, self.rich_style)
        n, start, end = self._rows[index]
        text = Text(self.lines[n][start:end], no_wrap=True, end="")
        if self.search_text:
            current = 0 <= self.match_index < len(self.matches) and self.matches[self.match_index] == index
            text.highlight_words([self.search_text], CURRENT if current else MATCH, case_sensitive=False)
        strip = Strip(text.render(self.app.console), text.cell_len)
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    @property
    def shown_count(self) -> int:
        return len(self._shown)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new <= 0 < old:
            self.post_message(self.ReachedTop())
