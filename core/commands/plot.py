"""`rdtui plot curves|results|traces [RUN...] [--out FILE]`: figures for the paper through matplotlib
(the optional `plot` extra), as PNG, SVG or PDF.

- curves:  training metrics of the chosen runs overlaid (raw faint, smoothed solid), one panel per stage
           and metric (`--metric sft:loss` for one stage's, `--metric loss` for every stage's)
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
DEFAULT_METRICS = ("sft:loss", "grpo:reward")  # GRPO's loss sits near 0 whatever happens: reward says more
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


def _palette(plt, names: list[str]) -> dict[str, str]:
    """One colour per name, the same in every panel of a figure."""
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {name: cycle[i % len(cycle)] for i, name in enumerate(names)}


def _legend_below(fig, plt, colors: dict[str, str], *, patches: bool, title: str | None = None) -> None:
    """One legend for all panels, under them (savefig's tight box makes room for it)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color=c) if patches else Line2D([], [], color=c, linewidth=1.8) for c in colors.values()]
    fig.legend(
        handles,
        list(colors),
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=min(len(colors), 4),
        fontsize=8,
        frameon=False,
        title=title,
        title_fontsize=8,
    )


def _panels(metrics: list[str]) -> list[tuple[str, str]]:
    """(stage, metric) panels: `sft:loss` names one stage's metric, a bare `loss` every stage's.

    SFT's loss and GRPO's are different quantities: they never share an axis.
    """
    panels = []
    for spec in metrics:
        stage, _, metric = spec.rpartition(":")
        if stage and stage not in TRAINING_STAGES:
            raise UsageError(f"--metric {spec}: the stage before ':' is one of {', '.join(TRAINING_STAGES)}")
        panels += [(s, metric) for s in ([stage] if stage else TRAINING_STAGES)]
    return list(dict.fromkeys(panels))


def plot_curves(plt, store: RunStore, run_ids: list[str], metrics: list[str], weight: float):
    runs = _curve_runs(store, run_ids)
    panels = _panels(metrics)
    series: dict[tuple[str, str], list[tuple[str, list[int], list[float]]]] = {p: [] for p in panels}
    for run in runs:
        records = [r for r in read_jsonl(run.metrics_path) if r.get("stage") in TRAINING_STAGES]
        for stage, metric in panels:
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
                label = f"{run.record.condition} ({run.id[-4:]})"
                series[stage, metric].append((label, list(steps), list(values)))
    panels = [p for p in panels if series[p]]
    if not panels:
        raise UsageError("none of the runs logged those metrics (see metrics.jsonl for names)")
    colors = _palette(plt, list(dict.fromkeys(label for p in panels for label, _, _ in series[p])))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.6), squeeze=False)
    for ax, (stage, metric) in zip(axes[0], panels):
        for label, xs, ys in series[stage, metric]:
            ax.plot(xs, ys, color=colors[label], alpha=0.25, linewidth=0.8)
            ax.plot(xs, smooth(ys, weight), color=colors[label], linewidth=1.6, label=label)
        ax.set_title(f"{stage.upper()} {metric}")
        ax.set_xlabel(f"{stage.upper()} optimizer step")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    smoothing = f"solid: smoothed (EMA weight {weight:g}); faint: raw" if weight else None
    _legend_below(fig, plt, colors, patches=False, title=smoothing)
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


def _row_labels(rows) -> list[str]:
    """Each row's condition; a condition with several rows (runs picked by hand) gets its run id's tail."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.condition] = counts.get(row.condition, 0) + 1
    return [row.condition if counts[row.condition] == 1 else f"{row.condition} ({row.run_id[-4:]})" for row in rows]


def _row_score(row, summaries: dict[str, dict[str, Any]], bench: str, k: str | None):
    """(value, low, high) of one row on one benchmark: the table's accuracy and interval (averaged over
    seeds when the study has several), or pass@k from the run's summary."""
    result = row.benchmarks.get(bench)
    if k is None and result is not None and len(result.ci95) == 2:
        return result.accuracy, result.ci95[0], result.ci95[1]
    return _score(summaries.get(bench, {}), k)


def plot_results(plt, store: RunStore, run_ids: list[str], k: str | None):
    rows = _result_rows(store, run_ids)
    summaries = {row.run_id: _summaries(store, row.run_id) for row in rows}
    benches = list(dict.fromkeys(b for row in rows for b in summaries[row.run_id]))
    labels = _row_labels(rows)
    colors = _palette(plt, labels)
    fig, axes = plt.subplots(
        1, len(benches), figsize=(max(3.6, 0.55 * len(rows) + 1.4) * len(benches), 3.8), squeeze=False
    )
    metric = "accuracy" if k is None else f"pass@{k}"
    for index, (ax, bench) in enumerate(zip(axes[0], benches)):
        n = None
        for x, (row, label) in enumerate(zip(rows, labels)):
            score = _row_score(row, summaries[row.run_id], bench, k)
            if score is None:
                continue
            value, low, high = (100 * v for v in score)
            ax.bar(x, value, color=colors[label], width=0.75)
            ax.errorbar(x, value, yerr=[[max(value - low, 0)], [max(high - value, 0)]], color="black", capsize=3)
            ax.annotate(
                f"{value:.1f}",
                (x, max(high, value)),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7,
            )
            n = n or (row.benchmarks[bench].n if bench in row.benchmarks else None)
        ax.set_xticks(range(len(rows)), [])
        ax.set_ylim(0, 105)
        ax.set_title(bench if n is None else f"{bench} (n = {n})", fontsize=10)
        if index == 0:
            ax.set_ylabel(f"{metric} (%), 95% interval")
        ax.grid(axis="y", alpha=0.3)
    _legend_below(fig, plt, colors, patches=True)
    return fig


def plot_traces(plt, store: RunStore, run_ids: list[str]):
    rows = _result_rows(store, run_ids)
    summaries = {row.run_id: _summaries(store, row.run_id) for row in rows}
    benches = list(dict.fromkeys(b for row in rows for b in summaries[row.run_id]))
    labels = _row_labels(rows)
    colors = _palette(plt, benches)
    fig, axes = plt.subplots(
        1, len(TRACE_PANELS), figsize=(max(4.2, 0.6 * len(rows) + 1.5) * len(TRACE_PANELS), 3.8), squeeze=False
    )
    width = 0.8 / max(len(benches), 1)
    for ax, (key, title) in zip(axes[0], TRACE_PANELS):
        highest = 0.0
        for i, bench in enumerate(benches):
            values = []
            for row in rows:
                value = (summaries[row.run_id].get(bench, {}).get("trace") or {}).get(key)
                values.append(value if isinstance(value, (int, float)) else 0.0)
            highest = max([highest, *values])
            ax.bar([x + i * width for x in range(len(rows))], values, width=width, color=colors[bench])
        ax.set_xticks([x + width * (len(benches) - 1) / 2 for x in range(len(rows))], labels, rotation=30, ha="right")
        ax.tick_params(axis="x", labelsize=8)
        ax.set_title(title, fontsize=10)
        if highest == 0:  # none found anywhere: say so rather than draw an empty, centred-on-zero axis
            ax.set_ylim(0, 1)
            ax.text(0.5, 0.5, "none in any completion", transform=ax.transAxes, ha="center", color="0.4")
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", alpha=0.3)
    _legend_below(fig, plt, colors, patches=True, title="benchmark")
    return fig


def write_figure(
    kind: str,
    store: RunStore,
    run_ids: list[str],
    out: Path,
    *,
    metrics: list[str] | None = None,
    smooth: float = 0.0,
    k: str | None = None,
) -> Path:
    """Draw one figure (curves, results or traces) and write it whole to `out`, its format from the
    suffix: what `rdtui plot` and the app's plot key call. UsageError (with the reason) when the
    suffix is not a format, matplotlib is missing, or there is nothing to plot."""
    if out.suffix.lower() not in FORMATS:
        raise UsageError(f"{out}: the format comes from the suffix: {', '.join(FORMATS)}")
    plt = _pyplot()
    if kind == "curves":
        fig = plot_curves(plt, store, run_ids, metrics or list(DEFAULT_METRICS), smooth)
    elif kind == "results":
        fig = plot_results(plt, store, run_ids, k)
    else:
        fig = plot_traces(plt, store, run_ids)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp{out.suffix}")
    # Written whole, then renamed: no half-written figure. The tight box takes in the legend below.
    fig.savefig(tmp, dpi=150, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(out)
    return out


def main(args) -> int:
    out = Path(args.out or f"plots/{args.kind}.png")
    if out.suffix.lower() not in FORMATS:
        raise UsageError(f"--out {out}: the format comes from the suffix: {', '.join(FORMATS)}")
    if not 0 <= args.smooth < 1:
        raise UsageError(f"--smooth {args.smooth}: must be in [0, 1)")
    store = RunStore(default_runs_dir(args.runs_dir))
    print(write_figure(args.kind, store, args.runs, out, metrics=args.metric, smooth=args.smooth, k=args.k))
    return 0
