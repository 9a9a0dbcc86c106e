"""The Compare tab of several selected runs: their configs as a diff (only the keys that differ,
each value with the layer that set it), their evaluations side by side with the paired difference
against the first run on the problems both evaluated, and samples of the same prompt next to each
other. The curves are overlaid on the Curves tab. Everything is read in a worker thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from core.store.jsonl import read_jsonl
from core.store.runstore import CONFIG_FILE, SAMPLES_FILE
from tui.widgets.styles import plain


@dataclass
class Comparison:
    config: list[tuple[str, list[str]]] = field(default_factory=list)  # key -> "value  (layer)" per run
    config_errors: list[str] = field(default_factory=list)
    evals: list[tuple[str, list[str], list[str]]] = field(default_factory=list)  # bench, pass@1s, differences
    prompt: str | None = None
    completions: list[str] = field(default_factory=list)


def config_diff(snapshots: list[list[tuple[str, str, str]] | None]) -> list[tuple[str, list[str]]]:
    """The keys whose value differs between runs (missing counts as different), with provenance."""
    tables = [{key: (value, source) for key, value, source in rows} if rows is not None else {} for rows in snapshots]
    keys = sorted(set().union(*tables))
    out = []
    for key in keys:
        values = [table.get(key) for table in tables]
        if len({v[0] if v else None for v in values}) > 1:
            out.append((key, [f"{v[0]}  ({v[1]})" if v else "-" for v in values]))
    return out


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}"


def eval_side_by_side(run_dirs: list[Path]) -> list[tuple[str, list[str], list[str]]]:
    """Per benchmark: each run's pass@1, and each later run minus the first on shared problems."""
    from core.evaluation.scores import paired_difference
    from core.reporting.results import read_problem_scores, read_summaries
    from core.store.runstore import Run

    runs = [Run(d) for d in run_dirs]
    summaries = [read_summaries(run) for run in runs]
    out = []
    for bench in sorted(set().union(*summaries)):
        accuracies = [_pct(s[bench].accuracy) if bench in s else "-" for s in summaries]
        first = read_problem_scores(runs[0], bench)
        differences = []
        for run in runs[1:]:
            theirs = read_problem_scores(run, bench)
            shared = sorted(first.keys() & theirs.keys())
            if not shared:
                differences.append("-")
                continue
            diff, low, high = paired_difference([theirs[k] for k in shared], [first[k] for k in shared])
            mark = " *" if low > 0 or high < 0 else ""
            differences.append(f"{diff * 100:+.1f} [{low * 100:+.1f}, {high * 100:+.1f}] n={len(shared)}{mark}")
        out.append((bench, accuracies, differences))
    return out


def shared_prompt(run_dirs: list[Path]) -> tuple[str | None, list[str]]:
    """The latest prompt every run sampled, and each run's latest completion of it."""
    latest: list[dict[str, str]] = []
    for run_dir in run_dirs:
        by_prompt: dict[str, str] = {}
        for record in read_jsonl(run_dir / SAMPLES_FILE):
            prompt = record.get("prompt")
            if isinstance(prompt, str):
                by_prompt[prompt] = str(record.get("completion", ""))
        latest.append(by_prompt)
    if not latest:
        return None, []
    common = [p for p in latest[0] if all(p in other for other in latest[1:])]
    if not common:
        return None, []
    prompt = common[-1]
    return prompt, [other[prompt] for other in latest]


def compare(run_dirs: list[Path]) -> Comparison:
    from tui.widgets.configview import snapshot_rows

    result = Comparison()
    snapshots = []
    for run_dir in run_dirs:
        try:
            snapshots.append(snapshot_rows(run_dir / CONFIG_FILE))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            snapshots.append(None)
            result.config_errors.append(f"{run_dir.name}: {exc}")
    result.config = config_diff(snapshots)
    result.evals = eval_side_by_side(run_dirs)
    result.prompt, result.completions = shared_prompt(run_dirs)
    return result


class ComparePane(VerticalScroll):
    BINDINGS = [Binding("p", "plot", "Plot curves…")]

    class PlotRequested(Message):
        """The user asked for the compared runs' curves as a figure (the screen knows the chosen
        metrics and smoothing)."""

        def __init__(self, run_ids: list[str]) -> None:
            super().__init__()
            self.run_ids = run_ids

    def __init__(self, run_dirs: list[Path], labels: list[str], **kwargs) -> None:
        super().__init__(can_focus=True, **kwargs)
        self.run_dirs = run_dirs
        self.labels = labels
        self.comparison: Comparison | None = None

    def compose(self) -> ComposeResult:
        yield Static("Comparing…", classes="pane-status", id="compare-status")
        yield Static(Text("Config: the keys that differ (value, and the layer that set it)", style="bold"))
        yield DataTable(id="compare-config", cursor_type="row")
        yield Static(
            Text(
                f"Evaluation: pass@1, and each run minus {self.labels[0]} on the same problems "
                "(percentage points, 95% interval; * excludes 0)",
                style="bold",
            )
        )
        yield DataTable(id="compare-eval", cursor_type="row")
        yield Static(Text("Samples: the latest prompt every run sampled", style="bold"))
        yield Static(id="compare-prompt", markup=False)
        yield Horizontal(id="compare-samples")

    def on_mount(self) -> None:
        self.query_one("#compare-config", DataTable).add_columns("key", *self.labels)
        self.query_one("#compare-eval", DataTable).add_columns(
            "benchmark", *self.labels, *(f"{label} − {self.labels[0]}" for label in self.labels[1:])
        )
        self.load()

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        try:
            result = compare(self.run_dirs)
        except Exception as exc:  # noqa: BLE001 - whatever is in the store, the tab says so and the app lives
            self.app.call_from_thread(self._status, f"Cannot compare: {type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._show, result)

    def _status(self, text: str) -> None:
        self.query_one("#compare-status", Static).update(Text(text))

    def action_plot(self) -> None:
        self.post_message(self.PlotRequested([run_dir.name for run_dir in self.run_dirs]))

    def _show(self, result: Comparison) -> None:
        self.comparison = result
        config = self.query_one("#compare-config", DataTable)
        for key, values in result.config:
            config.add_row(plain(key), *(plain(v) for v in values))
        evals = self.query_one("#compare-eval", DataTable)
        for bench, accuracies, differences in result.evals:
            evals.add_row(plain(bench), *(plain(a) for a in accuracies), *(plain(d) for d in differences))
        if result.prompt is None:
            self.query_one("#compare-prompt", Static).update("No prompt was sampled by every run.")
        else:
            self.query_one("#compare-prompt", Static).update(f"prompt: {' '.join(result.prompt.split())[:300]}")
            columns = self.query_one("#compare-samples", Horizontal)
            columns.mount_all(
                Static(Text(f"{label}\n", style="bold") + Text(completion[:2000]), classes="compare-sample")
                for label, completion in zip(self.labels, result.completions)
            )
        notes = [f"{len(result.config)} config key(s) differ", f"{len(result.evals)} benchmark(s)"]
        self._status(" · ".join(notes + result.config_errors))
