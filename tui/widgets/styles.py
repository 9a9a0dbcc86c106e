"""Small text renderings shared by screens: run status colours and sparklines."""

from __future__ import annotations

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


def sparkline(values: list[float], width: int = 12) -> str:
    values = values[-width:]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        return _TICKS[3] * len(values)
    scale = (len(_TICKS) - 1) / (hi - lo)
    return "".join(_TICKS[int(round((v - lo) * scale))] for v in values)
