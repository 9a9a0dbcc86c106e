"""`rdtui plot curves|results|traces [RUN...] [--out FILE]`: figures for the paper through matplotlib
(the optional `plot` extra), as PNG, SVG or PDF.

- curves:  training metrics of the chosen runs overlaid (raw faint, smoothed solid), one panel per metric
- results: each benchmark's score per condition with its 95% interval (accuracy, or pass@k with --k)
- traces:  the reference study's trace statistics per condition: think length, self-verification
           and backtracking phrases per completion
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from core.errors import UsageError
from core.paths import default_config_path, default_runs_dir
from core.store.jsonl import read_jsonl
from core.store.runstore import TRAINING_STAGES, Run, RunStore

FORMATS = (".png", ".svg", ".pdf")
DEFAULT_METRICS = ("loss", "reward")
TRACE_PANELS = (
    ("mean_think_words", "think length (words)"),
    ("self_verification_per_completion", "self-verification phrases per completion"),
    ("backtracking_per_completion", "backtracking phrases per completion"),
)


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UsageError("rdtui plot needs matplotlib: pip install 'rdtui[plot]' (or pip install matplotlib)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"  # SVG text stays text: editable and searchable in a paper
    return plt


def smooth(values: list[float], weight: float) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average, debiased so it starts at the data."""
    out, last, debias = [], 0.0, 0.0
    for value in values:
        last = weight * last + (1 - weight) * value
        debias = weight * debias + (1 - weight)
        out.append(last / debias)
    return out


def _study():
    from core.config import ConfigError, load_study

    path = default_config_path()
    try:
        return load_study(path) if path.exists() else None
    except ConfigError:
        return None


def _result_rows(store: RunStore, run_ids: list[str]):
    from core.reporting.results import collect_results

    rows = collect_results(store, _study(), runs=run_ids or None)
    rows = [row for row in rows if row.run_id and (not run_ids or row.run_id in {store.get(r).id for r in run_ids})]
    if not rows:
        raise UsageError("no evaluated runs to plot (rdtui results lists them)")
    return rows


def _summaries(store: RunStore, run_id: str) -> dict[str, dict[str, Any]]:
    run = store.get(run_id)
    out = {}
    for path in sorted(run.eval_dir.glob("*.json")) if run.eval_dir.is_dir() else []:
        try:
            out[path.stem] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return out


def _curve_runs(store: RunStore, run_ids: list[str]) -> list[Run]:
    if run_ids:
        return [store.get(r) for r in run_ids]
    latest: dict[str, Run] = {}
    for run in store.list():
        if run.metrics_path.exists():
            latest[run.record.condition] = run  # list() is oldest first: the latest wins
    if not latest:
        raise UsageError("no runs with training metrics to plot")
    return list(latest.values())


def plot_curves(plt, store: RunStore, run_ids: list[str], metrics: list[str], weight: float):
    runs = _curve_runs(store, run_ids)
    series: dict[str, list[tuple[str, list[int], list[float]]]] = {m: [] for m in metrics}
    for run in runs:
        records = [r for r in read_jsonl(run.metrics_path) if r.get("stage") in TRAINING_STAGES]
        for metric in metrics:
            for stage in TRAINING_STAGES:
                points = [
                    (r["step"], r[metric])
                    for r in records
                    if r.get("stage") == stage
                    and isinstance(r.get(metric), (int, float))
                    and isinstance(r.get("step"), int)
                    and math.isfinite(r[metric])
                ]
                if points:
                    steps, values = zip(*points)
                    series[metric].append(
                        (f"{run.record.condition} {stage} ({run.id[-4:]})", list(steps), list(values))
                    )
    metrics = [m for m in metrics if series[m]]
    if not metrics:
        raise UsageError("none of the runs logged those metrics (see metrics.jsonl for names)")
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.8), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for label, xs, ys in series[metric]:
            (line,) = ax.plot(xs, smooth(ys, weight), label=label, linewidth=1.6)
            ax.plot(xs, ys, color=line.get_color(), alpha=0.25, linewidth=0.8)
        ax.set_title(metric)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="best")
    return fig


def _score(summary: dict[str, Any], k: str | None) -> tuple[float, float, float] | None:
    if k is None:
        low, high = summary.get("ci95", [None, None])
        value = summary.get("accuracy")
    else:
        entry = (summary.get("pass@k") or {}).get(k)
        if not isinstance(entry, dict):
            return None
        value = entry.get("value")
        low, high = entry.get("ci95") or [value, value]
    if not (isinstance(value, (int, float)) and isinstance(low, (int, float)) and isinstance(high, (int, float))):
        return None
    return value, low, high


def plot_results(plt, store: RunStore, run_ids: list[str], k: str | None):
    rows = _result_rows(store, run_ids)
    summaries = {row.run_id: _summaries(store, row.run_id) for row in rows}
    benches = list(dict.fromkeys(b for row in rows for b in summaries[row.run_id]))
    fig, axes = plt.subplots(
        1, len(benches), figsize=(max(4.5, 1.1 * len(rows) + 1.5) * len(benches), 4.2), squeeze=False
    )
    for ax, bench in zip(axes[0], benches):
        names: list[str] = []
        values: list[float] = []
        errors: list[list[float]] = [[], []]
        for row in rows:
            score = _score(summaries[row.run_id].get(bench, {}), k)
            if score is None:
                continue
            value, low, high = score
            names.append(row.condition)
            values.append(100 * value)
            errors[0].append(100 * max(value - low, 0))
            errors[1].append(100 * max(high - value, 0))
        ax.bar(range(len(names)), values, yerr=errors, capsize=4, color="#4c72b0")
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.set_ylim(0, 100)
        ax.set_ylabel(f"{'accuracy' if k is None else f'pass@{k}'} (%), 95% interval")
        ax.set_title(bench)
        ax.grid(axis="y", alpha=0.3)
    return fig


def plot_traces(plt, store: RunStore, run_ids: list[str]):
    rows = _result_rows(store, run_ids)
    summaries = {row.run_id: _summaries(store, row.run_id) for row in rows}
    benches = list(dict.fromkeys(b for row in rows for b in summaries[row.run_id]))
    fig, axes = plt.subplots(1, len(TRACE_PANELS), figsize=(5 * len(TRACE_PANELS), 4.2), squeeze=False)
    width = 0.8 / max(len(benches), 1)
    for ax, (key, title) in zip(axes[0], TRACE_PANELS):
        for i, bench in enumerate(benches):
            values = []
            for row in rows:
                value = (summaries[row.run_id].get(bench, {}).get("trace") or {}).get(key)
                values.append(value if isinstance(value, (int, float)) else 0.0)
            ax.bar([x + i * width for x in range(len(rows))], values, width=width, label=bench)
        ax.set_xticks(
            [x + width * (len(benches) - 1) / 2 for x in range(len(rows))],
            [row.condition for row in rows],
            rotation=30,
            ha="right",
            fontsize=8,
        )
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    return fig


def main(args) -> int:
    out = Path(args.out or f"plots/{args.kind}.png")
    if out.suffix.lower() not in FORMATS:
        raise UsageError(f"--out {out}: the format comes from the suffix: {', '.join(FORMATS)}")
    if not 0 <= args.smooth < 1:
        raise UsageError(f"--smooth {args.smooth}: must be in [0, 1)")
    plt = _pyplot()
    store = RunStore(default_runs_dir(args.runs_dir))
    if args.kind == "curves":
        fig = plot_curves(plt, store, args.runs, args.metric or list(DEFAULT_METRICS), args.smooth)
    elif args.kind == "results":
        fig = plot_results(plt, store, args.runs, args.k)
    else:
        fig = plot_traces(plt, store, args.runs)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp{out.suffix}")
    fig.savefig(tmp, dpi=150)  # written whole, then renamed: no half-written figure
    plt.close(fig)
    tmp.replace(out)
    print(out)
    return 0
