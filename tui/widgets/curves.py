"""The Curves tab: small multiples, one braille chart per chosen metric, every open run overlaid in
its own colour. The charts fill the terminal in a grid (6 at 80x24, more when taller or wider),
each with the primary run's last, min and max; the rest scroll. Chosen metrics and smoothing are
remembered per user and per kind of run (GRPO, SFT)."""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import SelectionList, Static

from tui.metrics import default_chosen, metric_order, run_kind, title
from tui.series import RunCurves
from tui.widgets.plot import PALETTE, CurvePlot, PlotLine

SMOOTHING = (0.0, 0.6, 0.9, 0.99)
MAX_ZOOM = 8
CHART_WIDTH = 38  # narrowest chart: 9 columns of axis, 29 of dots (58 points across)
CHART_HEIGHT = 6  # title, 4 rows of dots (16 levels), step axis


def grid_shape(count: int, width: int, height: int) -> tuple[int, int]:
    """(columns, chart height) for `count` charts in a width x height area: as many rows as fit
    at the smallest height, sharing the rest of the height; charts beyond that scroll."""
    columns = max(1, min(count, width // CHART_WIDTH))
    rows_needed = max(1, math.ceil(count / columns))
    rows_shown = max(1, min(rows_needed, height // CHART_HEIGHT))
    return columns, max(CHART_HEIGHT, height // rows_shown)


def summary_text(stats: tuple[float, float, float] | None) -> str:
    if stats is None:
        return ""
    last, lo, hi = stats
    return f"{last:.3g}  ↓{lo:.3g} ↑{hi:.3g}"


class ChartArea(VerticalScroll):
    """The scrolling area of the charts; says when its size changes, so the grid is refitted."""

    class Resized(Message):
        pass

    def on_resize(self) -> None:
        self.post_message(self.Resized())


class CurvesPane(Horizontal):
    BINDINGS = [
        Binding("m", "toggle_picker", "Pick metrics"),
        Binding("s", "smoothing", "Smoothing"),
        Binding("y", "log_scale", "Log scale"),
        Binding("plus,equals_sign", "zoom(1)", "Zoom in"),
        Binding("minus", "zoom(-1)", "Zoom out"),
    ]

    # The view: set by the keys (and restored per user); each change redraws through its watcher.
    smoothing_index: reactive[int] = reactive(0, init=False, repaint=False)
    log_y: reactive[bool] = reactive(False, init=False, repaint=False)
    zoom: reactive[int] = reactive(0, init=False, repaint=False)

    def __init__(self, labels: dict[str, str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.labels = labels  # run id -> legend label, primary run first
        self.curves: dict[str, RunCurves] = {run_id: RunCurves() for run_id in labels}
        self.chosen: list[str] = []
        self.user_chose = False
        self.kind: str | None = None  # grpo or sft, once the first metrics are in
        self.dirty = True
        self.smoothing_chosen = False
        self._drawn: dict[int, tuple] = {}  # id(plot) -> what it shows now
        self._shape: tuple[int, int, int] | None = None

    def compose(self) -> ComposeResult:
        yield SelectionList[str](id="curve-picker")
        with ChartArea(id="curve-plots", can_focus=True):
            yield Static("Reading metrics…", classes="pane-status", id="curves-status")
            yield Grid(id="curve-grid")

    @property
    def smoothing(self) -> float:
        return SMOOTHING[self.smoothing_index]

    class CorruptLines(Message):
        """More unreadable lines were skipped in the file these curves come from."""

        def __init__(self, pane: CurvesPane, added: int) -> None:
            super().__init__()
            self.pane = pane
            self.added = added

    # ---- data ----
    @property
    def bad_lines(self) -> int:
        return sum(c.bad_lines for c in self.curves.values())

    def replace(self, run_id: str, curves: RunCurves) -> None:
        before = self.bad_lines
        self.curves[run_id] = curves
        self._changed(before)

    def add(self, run_id: str, records: list[dict], bad_lines: int = 0) -> None:
        before = self.bad_lines
        self.curves[run_id].add_records(records)
        self.curves[run_id].bad_lines += bad_lines
        self._changed(before)

    def _changed(self, bad_before: int) -> None:
        self.dirty = True
        if self.bad_lines > bad_before:
            self.post_message(self.CorruptLines(self, self.bad_lines - bad_before))

    # ---- drawing ----
    def metric_names(self) -> list[str]:
        return metric_order({m for c in self.curves.values() for m in c.metrics})

    def redraw(self) -> None:
        """Called on the tick when data changed and this tab is showing."""
        if not self.dirty:
            return
        self.dirty = False
        names = self.metric_names()
        if names and self.kind is None:
            self._restore(names)
        if not self.user_chose:
            self.chosen = default_chosen(names) if names else []
        self._sync_picker(names)
        self.query_one("#curves-status", Static).update(self._status_text(names))
        grid = self.query_one("#curve-grid", Grid)
        wanted = [m for m in self.chosen if m in names]
        plots = list(grid.query(CurvePlot))
        # Charts are reused in place and given their metric by position: no remounting, no ids
        # made from metric names (which come from the store and may clash once made safe).
        if len(plots) > len(wanted):
            for plot in plots[len(wanted) :]:
                plot.remove()
            plots = plots[: len(wanted)]
        if len(plots) < len(wanted):
            extra = [CurvePlot("") for _ in wanted[len(plots) :]]
            grid.mount_all(extra)
            plots += extra
        for plot, name in zip(plots, wanted):
            if plot.metric != name:
                plot.metric, plot.title = name, title(name)
                self._drawn.pop(id(plot), None)
        self._fit_grid(len(plots))
        for plot in plots:
            self._draw(plot)

    def _fit_grid(self, count: int) -> None:
        box = self.query_one("#curve-plots")
        height = box.size.height - 1 if box.size.height else self.app.size.height - 6
        width = (box.size.width or self.app.size.width) - box.styles.scrollbar_size_vertical
        columns, chart_height = grid_shape(max(count, 1), width, height)
        shape = (columns, chart_height, math.ceil(count / columns))
        if shape != self._shape:
            self._shape = shape
            grid = self.query_one("#curve-grid", Grid)
            grid.styles.grid_size_columns = columns
            grid.styles.grid_rows = str(chart_height)
            # The grid's height stated outright: an auto-height grid is laid out taller than its
            # rows, which showed a needless scrollbar when every chart fits.
            grid.styles.height = max(shape[2], 1) * chart_height

    def on_chart_area_resized(self, event: ChartArea.Resized) -> None:
        """Refit when the chart area changes size: a terminal resize, or the picker shown beside it."""
        event.stop()
        self._shape = None
        # Counted when the refit runs, not now: charts mounted in between must be fitted too
        # (counting here once fitted 11 charts as if there were none: one chart per screen).
        self.call_after_refresh(lambda: self._fit_grid(len(self.query(CurvePlot))))

    def _draw(self, plot: CurvePlot) -> None:
        name = plot.metric
        smoothing = SMOOTHING[self.smoothing_index]
        x_from = self._x_from()
        series = [(run_id, c.metrics[name]) for run_id, c in self.curves.items() if name in c.metrics]
        signature = (smoothing, x_from, self.log_y, tuple((r, s.version) for r, s in series))
        if self._drawn.get(id(plot)) == signature:
            return
        self._drawn[id(plot)] = signature
        run_ids = list(self.labels)
        lines = [
            PlotLine(
                self.labels[run_id],
                s.view(smoothing, x_from, self.log_y),
                PALETTE[run_ids.index(run_id) % len(PALETTE)],
            )
            for run_id, s in series
        ]
        primary = self.curves[run_ids[0]].metrics.get(name)
        plot.set_lines(lines, self.log_y, summary_text(primary.stats() if primary is not None else None))

    def _x_from(self) -> float:
        if self.zoom == 0:
            return 0.0
        xs = [s.xs for c in self.curves.values() for s in c.metrics.values() if len(s)]
        if not xs:
            return 0.0
        lo, hi = min(x[0] for x in xs), max(x[-1] for x in xs)
        return hi - (hi - lo) / (2**self.zoom)

    def _status_text(self, names: list[str]) -> Text:
        if not names:
            return Text("No metrics yet: the run has not logged a step (metrics.jsonl is empty or missing).")
        bad = self.bad_lines
        parts = [
            f"smoothing {SMOOTHING[self.smoothing_index]}",
            "log y" if self.log_y else "linear y",
            f"zoom x{2**self.zoom}" if self.zoom else "all steps",
            "m metrics · s y + -",
        ]
        if bad:
            parts.insert(0, f"{bad} corrupt metrics line{'s' if bad != 1 else ''} skipped")
        if self.log_y:
            hidden = self._non_positive()
            if hidden:
                parts.insert(0, f"{hidden} points ≤ 0 hidden")
        text = Text(" · ".join(parts))
        if len(self.labels) > 1:
            for n, label in enumerate(self.labels.values()):
                text.append("  ━ ", style=PALETTE[n % len(PALETTE)])
                text.append(label)
        return text

    def _non_positive(self) -> int:
        """Points a log scale cannot show, over the charts on screen (m14: said, not silently dropped)."""
        shown = set(self.chosen)
        return sum(
            1 for c in self.curves.values() for name, s in c.metrics.items() if name in shown for y in s.ys if y <= 0
        )

    def _sync_picker(self, names: list[str]) -> None:
        picker = self.query_one(SelectionList)
        have = {picker.get_option_at_index(i).value for i in range(picker.option_count)}
        for name in names:
            if name not in have:
                picker.add_option((Text(name), name, name in self.chosen))
        widest = max((len(n) for n in names), default=20)
        picker.styles.width = min(widest + 8, max(self.app.size.width // 2, 28))

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:
        event.stop()
        if not self.query_one(SelectionList).has_focus:
            return  # options added by the app, not a choice by the user
        self.user_chose = True
        self.chosen = [m for m in self.metric_names() if m in event.selection_list.selected]
        self._remember()
        self.dirty = True
        self.redraw()

    # ---- per-user settings ----
    def _restore(self, names: list[str]) -> None:
        """The chosen metrics and smoothing last used for this kind of run."""
        self.kind = run_kind(names)
        if self.smoothing_chosen:
            self._remember()  # chosen before the first metrics said which kind of run this is
        saved = self.app.settings.get("curves", {}).get(self.kind)
        if not isinstance(saved, dict):
            return
        smoothing = saved.get("smoothing")
        if isinstance(smoothing, (int, float)) and smoothing in SMOOTHING:
            # Restored, not chosen: no watcher (it would save the view back and redraw mid-redraw).
            self.set_reactive(CurvesPane.smoothing_index, SMOOTHING.index(smoothing))
        chosen = saved.get("chosen")
        if isinstance(chosen, list) and all(isinstance(c, str) for c in chosen):
            self.chosen, self.user_chose = list(chosen), True

    def _remember(self) -> None:
        if self.kind is None:
            return
        views = self.app.settings.setdefault("curves", {})
        view = {"smoothing": SMOOTHING[self.smoothing_index]}
        if self.user_chose:
            view["chosen"] = list(self.chosen)
        views[self.kind] = view
        self.app.save_settings()

    # ---- actions ----
    def action_toggle_picker(self) -> None:
        picker = self.query_one(SelectionList)
        picker.toggle_class("shown")
        if picker.has_class("shown"):
            picker.focus()
        else:
            self.query_one("#curve-plots").focus()

    def action_smoothing(self) -> None:
        self.smoothing_chosen = True  # a key pressed before the saved view is restored wins
        self.smoothing_index += 1

    def action_log_scale(self) -> None:
        self.log_y = not self.log_y

    def action_zoom(self, step: int) -> None:
        self.zoom += step

    def validate_smoothing_index(self, index: int) -> int:
        return index % len(SMOOTHING)

    def validate_zoom(self, zoom: int) -> int:
        return min(max(zoom, 0), MAX_ZOOM)

    def watch_smoothing_index(self) -> None:
        self._remember()
        self._changed_settings()

    def watch_log_y(self) -> None:
        self._changed_settings()

    def watch_zoom(self) -> None:
        self._changed_settings()

    def _changed_settings(self) -> None:
        self.dirty = True
        self.redraw()
