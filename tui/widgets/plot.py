"""A braille line plot: each cell holds 2x4 dots, so an 80-column plot has 160 points across.

It draws bucketed series (min/max per bucket, see `tui.series`): a bucket becomes a vertical
stroke from its minimum to its maximum, joined to its neighbours, so spikes stay visible at any
zoom. The drawn lines are cached and rebuilt only when the data or the size changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from tui.series import BucketSeries

# dot (column, row) inside a cell -> its bit in the braille pattern
_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
PALETTE = ("cyan", "magenta", "yellow", "green", "red", "blue", "bright_white", "bright_cyan")
GUTTER = 9
# Every segment carries a style: Textual's monochrome filter (NO_COLOR) reads each one's colour.
PLAIN = Style()


@dataclass
class PlotLine:
    label: str
    series: BucketSeries
    color: str


def format_tick(value: float, log_y: bool) -> str:
    if log_y:
        value = 10**value
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e5 or magnitude < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4g}"


class CurvePlot(Widget):
    DEFAULT_CSS = """
    CurvePlot { height: 1fr; min-height: 5; }
    """

    def __init__(self, title: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.title = title
        self.metric: str | None = None  # the metric shown (set by the Curves tab)
        self.lines: list[PlotLine] = []
        self.log_y = False
        self.summary = ""
        self._strips: list[Strip] | None = None
        self._drawn_for: tuple[int, int] | None = None

    def set_lines(self, lines: list[PlotLine], log_y: bool = False, summary: str = "") -> None:
        """`summary` (last/min/max) follows the title; the legend of runs follows when it fits."""
        self.lines, self.log_y, self.summary = lines, log_y, summary
        self._strips = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        size = (self.size.width, self.size.height)
        if self._strips is None or self._drawn_for != size:
            self._strips, self._drawn_for = self._draw(*size), size
        return self._strips[y] if y < len(self._strips) else Strip.blank(size[0], PLAIN)

    def _draw(self, width: int, height: int) -> list[Strip]:
        head = [Segment(f" {self.title}", Style(bold=True))]
        if self.summary:
            head.append(Segment(f"  {self.summary}", Style(dim=True)))
        legend: list[Segment] = []
        for line in self.lines:
            legend += [
                Segment("  ", PLAIN),
                Segment("━ ", Style(color=line.color)),
                Segment(line.label, Style(dim=True)),
            ]
        if len(self.lines) > 1 and Strip(head + legend).cell_length <= width:
            head += legend
        strips = [Strip(head).crop_extend(0, width, PLAIN)]
        cols, rows = width - GUTTER, height - 2
        buckets = [(line, line.series.buckets) for line in self.lines if line.series.buckets]
        if cols < 4 or rows < 2 or not buckets:
            message = "no data yet" if cols >= 4 and rows >= 1 else ""
            strips.append(Strip([Segment(" " * GUTTER + message, Style(dim=True))]).crop_extend(0, width, PLAIN))
            return strips
        x0 = min(b[0].x0 for _, b in buckets)
        x1 = max(b[-1].x1 for _, b in buckets)
        y0 = min(min(k.lo for k in b) for _, b in buckets)
        y1 = max(max(k.hi for k in b) for _, b in buckets)
        if not (math.isfinite(y0) and math.isfinite(y1) and math.isfinite(y1 - y0)):
            y0, y1 = -1.0, 1.0
        if y1 - y0 < 1e-12:
            y0, y1 = y0 - 0.5, y1 + 0.5
        dots_w, dots_h = cols * 2, rows * 4
        sx = (dots_w - 1) / (x1 - x0) if x1 > x0 else 0.0
        sy = (dots_h - 1) / (y1 - y0)
        cells: dict[tuple[int, int], list] = {}

        def stroke(px: int, ya: float, yb: float, color: str) -> None:
            top = dots_h - 1 - int(round((max(ya, yb) - y0) * sy))
            bottom = dots_h - 1 - int(round((min(ya, yb) - y0) * sy))
            for py in range(max(top, 0), min(bottom, dots_h - 1) + 1):
                cell = cells.setdefault((px >> 1, py >> 2), [0, color])
                cell[0] |= _BITS[px & 1][py & 3]
                cell[1] = color

        for line, series in buckets:
            prev: tuple[int, float] | None = None
            for b in series:
                pa = int(round((b.x0 - x0) * sx)) if sx else dots_w // 2
                pb = int(round((b.x1 - x0) * sx)) if sx else pa
                if prev is not None:
                    # join the previous bucket's last value to this bucket's first, column by column
                    px_prev, y_prev = prev
                    slope = (b.first - y_prev) / max(pa - px_prev, 1)
                    for px in range(px_prev + 1, pa + 1):
                        step = px - px_prev
                        stroke(px, y_prev + slope * (step - 1), y_prev + slope * step, line.color)
                for px in range(pa, pb + 1):
                    stroke(px, b.lo, b.hi, line.color)
                prev = (pb, b.last)

        labels = {0: format_tick(y1, self.log_y), rows - 1: format_tick(y0, self.log_y)}
        if rows >= 5:
            labels[rows // 2] = format_tick(y0 + (y1 - y0) * (rows - 1 - rows // 2) / (rows - 1), self.log_y)
        axis = Style(dim=True)
        styles = {line.color: Style(color=line.color) for line in self.lines}
        for row in range(rows):
            segments = [Segment(f"{labels.get(row, ''):>{GUTTER - 1}}│", axis)]
            run_text: list[str] = []
            run_color: str | None = None
            for col in range(cols):
                cell = cells.get((col, row))
                char, color = (chr(0x2800 + cell[0]), cell[1]) if cell else (" ", None)
                if color != run_color and run_text:
                    segments.append(Segment("".join(run_text), styles[run_color] if run_color else PLAIN))
                    run_text = []
                run_color = color
                run_text.append(char)
            if run_text:
                segments.append(Segment("".join(run_text), styles[run_color] if run_color else PLAIN))
            strips.append(Strip(segments).crop_extend(0, width, PLAIN))
        strips.append(Strip([Segment(" " * GUTTER + x_axis(x0, x1, cols), axis)]).crop_extend(0, width, PLAIN))
        return strips


def x_axis(x0: float, x1: float, cols: int) -> str:
    """Step ticks at both ends and, where there is room, in the middle."""
    left, right = format_tick(x0, False), format_tick(x1, False)
    line = left.ljust(max(cols - len(right), len(left) + 1)) + right
    middle = format_tick(round((x0 + x1) / 2), False)
    start = cols // 2 - len(middle) // 2
    if x1 - x0 >= 4 and start > len(left) + 1 and start + len(middle) < cols - len(right) - 1:
        line = line[:start] + middle + line[start + len(middle) :]
    return line
