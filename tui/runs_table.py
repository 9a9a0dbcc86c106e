"""What the runs table shows: each run's cells, and which columns fit the terminal at what widths.

Column widths come only from the terminal's width and the run records, which arrive with their
rows. Values read later or changing every second (latest, trend, pass@1, ETA) fill columns sized
in advance, so the table keeps its layout once it is on screen, whatever order the data came in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text

from core.store.runstore import RunRecord
from core.store.runview import format_duration, format_progress
from tui.feeds.runs import RunRow
from tui.widgets.styles import plain as cell
from tui.widgets.styles import sparkline, status_text

GUTTER = 1  # blank cells after every column; the table's own cell padding is off
LABELS = {
    "sel": " ",
    "run": "run",
    "condition": "condition",
    "where": "profile/backend",
    "status": "status",
    "stage": "stage",
    "progress": "progress",
    "eta": "ETA",
    "latest": "latest",
    "trend": "trend",
    "pass1": "pass@1",
}
# The widest text of the columns whose content does not depend on the runs: "succeeded", a
# duration ("59m59s"), "reward -0.812" (see format_latest) and a score ("100.0").
FIXED_WIDTHS = {"sel": 1, "status": 9, "eta": 6, "latest": 13, "pass1": 5}
LATEST_WIDTH = FIXED_WIDTHS["latest"]
SELECTED = "●"
_STAMPED = re.compile(r"\d{4}(\d{4}-\d{4,6})-(\w+)")  # 20250615-120000-ab12 after the condition


@dataclass(frozen=True)
class Plan:
    where: bool  # show the profile/backend column
    eta: bool  # show the ETA column
    id_style: str  # "full" 20250615-120000-ab12, "date" 0615-120000-ab12, "tag" ab12
    spark: int  # points in the trend sparkline (0: no trend column)
    stage: bool = True  # show the stage column
    latest: int = LATEST_WIDTH  # width of the latest value (narrower than a metric's name: the value alone)


# Widest first; the first that fits the terminal is used. The least useful columns go first, then
# the run id shrinks (the condition column beside it and the detail screen still name the run).
PLANS = (
    Plan(where=True, eta=True, id_style="full", spark=12),
    Plan(where=False, eta=True, id_style="full", spark=12),
    Plan(where=False, eta=True, id_style="date", spark=12),
    Plan(where=False, eta=False, id_style="date", spark=12),
    Plan(where=False, eta=False, id_style="tag", spark=12),
    Plan(where=False, eta=False, id_style="tag", spark=8),
    Plan(where=False, eta=False, id_style="tag", spark=5),
    # Narrower than about 70 columns: the stage (the run's screen shows it) and the trend go before
    # the score does (a terminal of 60 columns cut pass@1 off).
    Plan(where=False, eta=False, id_style="tag", spark=5, stage=False),
    Plan(where=False, eta=False, id_style="tag", spark=0, stage=False),
    # 60 columns with the study's longest condition name: the latest value without its metric's name.
    Plan(where=False, eta=False, id_style="tag", spark=0, stage=False, latest=7),
)


@dataclass(frozen=True)
class Layout:
    plan: Plan
    columns: tuple[tuple[str, int], ...]  # (column key, width with its gutter), left to right

    @property
    def width(self) -> int:
        return sum(width for _, width in self.columns)


def short_id(record: RunRecord) -> str:
    prefix = f"{record.condition}-"
    return record.id[len(prefix) :] if record.id.startswith(prefix) else record.id


def display_id(record: RunRecord, style: str) -> str:
    return display_ids(record)[style]


def display_ids(record: RunRecord) -> dict[str, str]:
    """The run's id in each id style."""
    short = printable(short_id(record))
    stamped = _STAMPED.fullmatch(short)
    if stamped is None:
        return {"full": short, "date": short, "tag": short}
    return {"full": short, "date": f"{stamped[1]}-{stamped[2]}", "tag": stamped[2]}


def format_score(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.1f}" if value <= 1 else f"{value:.1f}"


def format_latest(metric: str | None, value: float | None, width: int = LATEST_WIDTH) -> str:
    """`reward 0.8123`, with fewer digits where needed to stay within `width`, and the value alone
    where even one digit after the metric's name would not fit."""
    if metric is None or value is None:
        return "-"
    for prefix in (f"{metric} ", ""):
        for digits in (4, 3, 2, 1):
            text = f"{prefix}{value:.{digits}g}"
            if len(text) <= width:
                return text
    return text


def printable(text: str) -> str:
    """Text from the store as one line: a tab or control character in a folder name or run.json
    field is shown as '?' (drawn by the terminal, it pushed the columns after it)."""
    return text if text.isprintable() else "".join(ch if ch.isprintable() else "?" for ch in text)


def record_cells(record: RunRecord, status: str) -> dict[str, str]:
    """The cells that come from run.json alone (and the status the feed derived): as `rdtui ls`
    shows them (core.store.runview), without its date formatting and status derivation, which
    were most of the time spent on a thousand rows."""
    progress = record.progress or {}
    return {
        **named_cells(record),
        "progress": format_progress(progress),
        "eta": format_duration(progress.get("eta_s")) if status == "running" else "-",
    }


def named_cells(record: RunRecord) -> dict[str, str]:
    """The condition, profile/backend and stage cells: the columns sized by their widest run."""
    return {
        "condition": printable(record.condition),
        "where": printable(f"{record.profile}/{record.backend}"),
        "stage": printable(str(record.stage or (record.progress or {}).get("stage") or "-")),
    }


def row_cells(row: RunRow, plan: Plan, selected: bool) -> dict[str, Text]:
    """Every column's cell for one run, keyed by column key (the layout picks which are shown)."""
    record = row.record
    texts = {
        "sel": SELECTED if selected else " ",
        "run": display_id(record, plan.id_style),
        **record_cells(record, row.status),
        "latest": format_latest(row.metric, row.latest, plan.latest),
        "trend": sparkline(row.spark, plan.spark),
        "pass1": format_score(row.pass1),
    }
    cells = {key: cell(text) for key, text in texts.items()}
    cells["status"] = status_text(row.status)
    return cells


def _progress_room(record: RunRecord) -> int:
    """Width of the progress cell once the run reaches its total, so the column never grows."""
    progress = record.progress or {}
    current = len(format_progress(progress))
    total = progress.get("total")
    return max(current, len(format_progress({"step": total, "total": total}))) if total else current


def measure(records: Iterable[RunRecord]) -> dict[str, int]:
    """The widest content of each column the records decide (the run id's by id style)."""
    records = list(records)
    texts = [named_cells(r) for r in records]
    measured = dict(FIXED_WIDTHS)
    for key in ("condition", "where", "stage"):
        measured[key] = max((cell_len(t[key]) for t in texts), default=0)  # cells: CJK and emoji take 2
    measured["progress"] = max((_progress_room(r) for r in records), default=0)
    ids = [display_ids(r) for r in records]
    for style in {plan.id_style for plan in PLANS}:
        measured[f"run:{style}"] = max((cell_len(i[style]) for i in ids), default=0)
    return measured


def plan_layout(width: int, measured: dict[str, int]) -> Layout:
    """The widest plan whose columns fit in `width` cells (the narrowest one when none fits), for
    content `measure`d from the runs (measured once per change of the runs, not per resize)."""
    layout = None
    for plan in PLANS:
        content = {**measured, "trend": plan.spark, "latest": plan.latest, "run": measured[f"run:{plan.id_style}"]}
        hidden = {"where": not plan.where, "eta": not plan.eta, "stage": not plan.stage, "trend": not plan.spark}
        keys = [key for key in LABELS if not hidden.get(key)]
        layout = Layout(plan, tuple((key, max(len(LABELS[key]), content[key]) + GUTTER) for key in keys))
        if layout.width <= width:
            break
    return layout
