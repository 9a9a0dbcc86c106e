"""The Curves tab: one braille plot per chosen metric, every open run overlaid in its own colour."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import SelectionList, Static

from tui.series import RunCurves
from tui.widgets.plot import PALETTE, CurvePlot, PlotLine

# Known metrics first, in the order a researcher looks at them; anything else follows by name.
PREFERRED = ["reward", "reward_std", "frac_reward_zero_std", "loss", "completion_length",
             "mean_token_accuracy", "kl", "learning_rate", "grad_norm", "entropy"]
DEFAULT_CHOSEN = ("reward", "loss")
SMOOTHING = (0.0, 0.6, 0.9, 0.99)
MAX_ZOOM = 8


def metric_order(names: set[str]) -> list[str]:
    def key(name: str) -> tuple[int, int, str]:
        if name in PREFERRED:
            return (0, PREFERRED.index(name), name)
        if name.startswith("rewards/"):
            return (0, 0, name)      # per reward function: right after the total reward
        return (1, 0, name)
    return sorted(names, key=key)


class CurvesPane(Horizontal):
    BINDINGS = [
        Binding("m", "toggle_picker", "Pick metrics"),
        Binding("s", "smoothing", "Smoothing"),
        Binding("y", "log_scale", "Log scale"),
        Binding("plus,equals_sign", "zoom(1)", "Zoom in"),
        Binding("minus", "zoom(-1)", "Zoom out"),
    ]

    def __init__(self, labels: dict[str, str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.labels = labels                         # run id -> legend label, primary run first
        self.curves: dict[str, RunCurves] = {run_id: RunCurves() for run_id in labels}
        self.chosen: list[str] = []
        self.user_chose = False
        self.smoothing_index = 0
        self.log_y = False
        self.zoom = 0
        self.dirty = True
        self._drawn: dict[str, tuple] = {}

    def compose(self) -> ComposeResult:
        yield SelectionList[str](id="curve-picker")
        with VerticalScroll(id="curve-plots", can_focus=True):
            yield Static("Reading metrics…", classes="pane-status", id="curves-status")

    # ---- data ----
    def replace(self, run_id: str, curves: RunCurves) -> None:
        self.curves[run_id] = curves
        self.dirty = True

    def add(self, run_id: str, records: list[dict]) -> None:
        self.curves[run_id].add_records(records)
        self.dirty = True

    # ---- drawing ----
    def metric_names(self) -> list[str]:
        return metric_order({m for c in self.curves.values() for m in c.metrics})

    def redraw(self) -> None:
        """Called on the tick when data changed and this tab is showing."""
        if not self.dirty:
            return
        self.dirty = False
        names = self.metric_names()
        self._sync_picker(names)
        if not self.user_chose:
            chosen = [m for m in names if m in DEFAULT_CHOSEN or m.startswith("rewards/")]
            self.chosen = chosen or names[:2]
        status = self.query_one("#curves-status", Static)
        status.update(self._status_text(names))
        box = self.query_one("#curve-plots")
        plots = {p.id: p for p in box.query(CurvePlot)}
        wanted = {f"plot-{_safe_id(m)}": m for m in self.chosen if m in names}
        for plot_id, plot in plots.items():
            if plot_id not in wanted:
                plot.remove()
                self._drawn.pop(plot_id, None)
        for plot_id, name in wanted.items():
            plot = plots.get(plot_id)
            if plot is None:
                plot = CurvePlot(name, id=plot_id)
                box.mount(plot)
            self._draw(name, plot)

    def _draw(self, name: str, plot: CurvePlot) -> None:
        smoothing = SMOOTHING[self.smoothing_index]
        x_from = self._x_from()
        series = [(run_id, c.metrics[name]) for run_id, c in self.curves.items() if name in c.metrics]
        signature = (smoothing, x_from, self.log_y, tuple((r, s.version) for r, s in series))
        if self._drawn.get(plot.id) == signature:
            return
        self._drawn[plot.id] = signature
        run_ids = list(self.labels)
        lines = [PlotLine(self.labels[run_id], s.view(smoothing, x_from, self.log_y),
                          PALETTE[run_ids.index(run_id) % len(PALETTE)]) for run_id, s in series]
        plot.set_lines(lines, self.log_y)

    def _x_from(self) -> float:
        if self.zoom == 0:
            return 0.0
        xs = [s.xs for c in self.curves.values() for s in c.metrics.values() if len(s)]
        if not xs:
            return 0.0
        lo, hi = min(x[0] for x in xs), max(x[-1] for x in xs)
        return hi - (hi - lo) / (2 ** self.zoom)

    def _status_text(self, names: list[str]) -> str:
        if not names:
            return "No metrics yet: the run has not logged a step (metrics.jsonl is empty or missing)."
        bad = sum(c.bad_lines for c in self.curves.values())
        parts = [f"smoothing {SMOOTHING[self.smoothing_index]}", "log y" if self.log_y else "linear y",
                 f"zoom x{2 ** self.zoom}" if self.zoom else "all steps", "m: metrics  s y + -"]
        if bad:
            parts.insert(0, f"{bad} corrupt metrics line{'s' if bad != 1 else ''} skipped")
        return " · ".join(parts)

    def _sync_picker(self, names: list[str]) -> None:
        picker = self.query_one(SelectionList)
        have = {picker.get_option_at_index(i).value for i in range(picker.option_count)}
        for name in names:
            if name not in have:
                picker.add_option((name, name, name in self.chosen or
                                   (not self.user_chose and (name in DEFAULT_CHOSEN or name.startswith("rewards/")))))

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:
        event.stop()
        if not self.query_one(SelectionList).has_focus:
            return      # options added by the app, not a choice by the user
        self.user_chose = True
        self.chosen = [m for m in self.metric_names() if m in event.selection_list.selected]
        self.dirty = True
        self.redraw()

    # ---- actions ----
    def action_toggle_picker(self) -> None:
        picker = self.query_one(SelectionList)
        picker.toggle_class("shown")
        if picker.has_class("shown"):
            picker.focus()
        else:
            self.query_one("#curve-plots").focus()

    def action_smoothing(self) -> None:
        self.smoothing_index = (self.smoothing_index + 1) % len(SMOOTHING)
        self._changed_settings()

    def action_log_scale(self) -> None:
        self.log_y = not self.log_y
        self._changed_settings()

    def action_zoom(self, step: int) -> None:
        self.zoom = min(max(self.zoom + step, 0), MAX_ZOOM)
        self._changed_settings()

    def _changed_settings(self) -> None:
        self.dirty = True
        self.redraw()


def _safe_id(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
