"""Small text renderings shared by screens: run status colours and sparklines."""

from __future__ import annotations

import math

from rich.text import Text

STATUS_STYLES = {
    "running": "bold cyan",
    "queued": "dim",
    "succeeded": "green",
    "failed": "bold red",
    "lost": "bold red",
    "cancelled": "yellow",
    "corrupt": "bold magenta",
}
_TICKS = "▁▂▃▄▅▆▇█"


def plain(text: str) -> Text:
    """A table cell as the table would make it from a string, minus markup parsing: text read from
    the store ("[/b]" in a gold answer) must never be taken as markup, and parsing costs DataTable
    most of its time per row."""
    return Text(text, no_wrap=True, end="")


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


SPARK_SMOOTHING = 0.6  # the trend of the latest points, not their noise (m11)
MIN_SPAN = 0.5  # the drawn range spans at least half the values' size: noise stays small


def sparkline(values: list[float], width: int = 12) -> str:
    """The trend of the last `width` points: smoothed (EMA over every point given, so the first
    drawn ones are smoothed too) and drawn on a range of at least half the values' size, so a
    small wobble is a small wobble, not the full height."""
    finite = [v for v in values if math.isfinite(v)]  # a diverged run logs inf and nan
    peak = max((abs(v) for v in finite), default=0.0)
    if peak > 1e300:  # near float's limit the differences below overflow to inf (and 0 * inf to nan)
        finite = [v / peak for v in finite]
    smoothed, acc = [], None
    for value in finite:
        acc = value if acc is None else SPARK_SMOOTHING * acc + (1 - SPARK_SMOOTHING) * value
        smoothed.append(acc)
    values = smoothed[-width:]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        return _TICKS[3] * len(values)
    span = max(hi - lo, MIN_SPAN * max(abs(lo), abs(hi)))
    lo = (lo + hi - span) / 2
    hi = lo + span
    scale = (len(_TICKS) - 1) / (hi - lo)
    return "".join(_TICKS[int(round((v - lo) * scale))] for v in values)
