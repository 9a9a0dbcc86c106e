"""The study's results table: one row per condition, from the run store's evaluation summaries.

Light on purpose: the app imports this module, so it reads JSON and the runs' config snapshots and
nothing heavier. `collect_results` picks each condition's run (the latest finished run with
evaluation results, or the one the caller names), and `render_results` prints the rows as a
plain table, Markdown, CSV or JSON.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from core.errors import RdtuiError
from core.evaluation.scores import mean_interval, paired_difference
from core.reporting.textable import format_table
from core.store.jsonl import read_jsonl
from core.store.runstore import TRAINING_STAGES, Run, RunStore

FORMATS = ("table", "md", "csv", "json")
PAIRED_HEADING = "Paired differences on the same problems (A - B, percentage points, 95% interval; * excludes 0)"
ADHOC_CONDITION = "model_eval"  # `rdtui eval MODEL` runs of a model other than the study's base


@dataclass
class BenchmarkResult:
    n: int
    correct: int
    accuracy: float
    ci95: list[float]
    samples: int
    pass_at_k: dict[str, float]
    maj_at_k: dict[str, float]
    mean_completion_tokens: float | None
    share_truncated: float | None
    share_think_closed: float | None
    complete: bool
    # With several seeds (`study.seeds`): accuracy per seed, and their mean with a 95% t interval.
    seed_accuracies: dict[str, float] = field(default_factory=dict)
    seed_mean: float | None = None
    seed_ci95: list[float] | None = None

    @classmethod
    def from_summary(cls, s: dict[str, Any]) -> BenchmarkResult:
        problem = summary_problem(s)
        if problem:
            raise ValueError(problem)
        return cls(
            n=s["n_problems"],
            correct=s["correct"],
            accuracy=s["accuracy"],
            ci95=list(s["ci95"]),
            samples=s["samples"],
            pass_at_k={k: v["value"] for k, v in s["pass@k"].items()},
            maj_at_k={k: v["value"] for k, v in s["maj@k"].items()},
            mean_completion_tokens=s.get("mean_completion_tokens"),
            share_truncated=s.get("share_truncated"),
            share_think_closed=s.get("share_think_closed"),
            complete=bool(s.get("complete")),
        )


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def summary_problem(s: Any) -> str | None:
    """Why an eval summary (eval/<bench>.json) cannot be shown (None when it can): a foreign or
    damaged file is skipped instead of breaking the table for every run."""
    if not isinstance(s, dict):
        return "not an object"
    for key in ("n_problems", "correct", "samples"):
        if not isinstance(s.get(key), int) or isinstance(s.get(key), bool) or s[key] < 0:
            return f"{key} must be a non-negative integer"
    if not _number(s.get("accuracy")):
        return "accuracy must be a number"
    ci = s.get("ci95")
    if not isinstance(ci, list) or len(ci) != 2 or not all(_number(v) for v in ci):
        return "ci95 must be two numbers"
    for key in ("pass@k", "maj@k"):
        table = s.get(key)
        if not isinstance(table, dict) or not all(
            isinstance(k, str) and k.isdigit() and isinstance(v, dict) and _number(v.get("value"))
            for k, v in table.items()
        ):
            return f"{key} must map each k to {{value: number}}"
    for key in ("mean_completion_tokens", "share_truncated", "share_think_closed"):
        if s.get(key) is not None and not _number(s[key]):
            return f"{key} must be a number"
    return None


@dataclass
class ResultRow:
    condition: str
    description: str = ""
    run_id: str | None = None
    status: str | None = None
    model: str | None = None
    training_data: list[str] = field(default_factory=list)
    training_size: int | None = None
    training_time_s: float | None = None
    benchmarks: dict[str, BenchmarkResult] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=list)  # study.seed of each run averaged in (one: no average)
    # Against every other condition, per benchmark: the paired difference on the problems both evaluated.
    paired: dict[str, dict[str, PairedDifference]] = field(default_factory=dict)
    # Per benchmark, problem key -> score (share of correct samples); what the paired test compares.
    problem_scores: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["problem_scores"]
        return data


@dataclass
class PairedDifference:
    """accuracy(row) - accuracy(other) on the `n` problems both evaluated, with its 95% interval."""

    n: int
    difference: float
    ci95: list[float]

    @property
    def significant(self) -> bool:
        return self.ci95[0] > 0 or self.ci95[1] < 0


def read_problem_scores(run: Run, benchmark: str) -> dict[str, float]:
    """Problem key (id and prompt hash, so only the same problems pair up) -> share of correct samples,
    from the evaluation journal. Damaged or foreign lines are skipped."""
    from core.evaluation.journal import read_journal

    _header, results = read_journal(run.eval_dir / f"{benchmark}.jsonl")
    return {f"{r.id}:{r.prompt_hash}": sum(r.correct) / len(r.correct) for r in results if r.correct}


def add_paired_differences(rows: list[ResultRow]) -> None:
    """Fill each row's `paired` against every other row that evaluated the same problems."""
    for row in rows:
        row.paired = {}
        for other in rows:
            if other is row:
                continue
            for bench, mine in row.problem_scores.items():
                theirs = other.problem_scores.get(bench) or {}
                shared = sorted(mine.keys() & theirs.keys())
                if not shared:
                    continue
                diff, low, high = paired_difference([mine[k] for k in shared], [theirs[k] for k in shared])
                row.paired.setdefault(other.condition, {})[bench] = PairedDifference(len(shared), diff, [low, high])


def read_summaries(run: Run) -> dict[str, BenchmarkResult]:
    out = {}
    for path in sorted(run.eval_dir.glob("*.json")) if run.eval_dir.is_dir() else []:
        try:
            out[path.stem] = BenchmarkResult.from_summary(json.loads(path.read_bytes()))
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            continue  # a summary from another version or a foreign file: not a result
    return out


def training_seconds(run: Run) -> float | None:
    """Wall time of the training stages, from the first to the last logged step of each."""
    spans: dict[str, list[float]] = {}
    for record in read_jsonl(run.metrics_path):
        stage, t = record.get("stage"), record.get("t")
        if stage in TRAINING_STAGES and isinstance(t, (int, float)):
            span = spans.setdefault(stage, [t, t])
            span[0], span[1] = min(span[0], t), max(span[1], t)
    return round(sum(end - start for start, end in spans.values()), 1) if spans else None


def _row(run: Run, summaries: dict[str, BenchmarkResult]) -> ResultRow:
    record = run.record
    row = ResultRow(
        condition=record.condition,
        description=record.description or "",
        run_id=run.id,
        status=record.effective_status,
        model=record.extra.get("model"),
        benchmarks=summaries,
        training_time_s=training_seconds(run),
        problem_scores={bench: read_problem_scores(run, bench) for bench in summaries},
    )
    try:
        cfg = run.config()
    except RdtuiError:
        return row
    # Benchmarks in the config's order, then any evaluated by hand beyond it.
    order = [b for b in cfg.evaluation.benchmarks if b in summaries] + [
        b for b in summaries if b not in cfg.evaluation.benchmarks
    ]
    row.benchmarks = {b: summaries[b] for b in order}
    row.description = row.description or cfg.condition.description
    row.model = row.model or cfg.model.name
    datasets = [
        getattr(cfg, stage).dataset
        for stage in TRAINING_STAGES
        if stage in cfg.condition.stages and getattr(cfg, stage) is not None and getattr(cfg, stage).dataset
    ]
    row.training_data = datasets
    sizes = [spec.limit or spec.size for spec in (cfg.datasets.get(d) for d in datasets) if spec is not None]
    row.training_size = sum(sizes) if sizes and all(sizes) else None
    return row


def _group(run: Run) -> str:
    record = run.record
    if record.condition == ADHOC_CONDITION:
        return f"{ADHOC_CONDITION}:{record.extra.get('model') or run.id}"
    return record.condition


def _seed(run: Run) -> int | None:
    try:
        return run.config().study.seed
    except RdtuiError:
        return None


def collect_results(store: RunStore, study=None, runs: list[str] | None = None) -> list[ResultRow]:
    """One row per condition: the study's conditions in order (rows without results included), then
    conditions found only in the store. `runs` names runs to use for their conditions.

    A condition run under several seeds (`study.seeds`) gets the latest run of each seed: its row
    shows the mean accuracy across seeds with a 95% interval, and pairs per-problem scores averaged
    over the seeds."""
    chosen: dict[str, dict[int | None, tuple[Run, dict[str, BenchmarkResult]]]] = {}
    for run in store.list():
        if run.record.effective_status != "succeeded":
            continue
        summaries = read_summaries(run)
        if summaries:
            # list() is oldest first: the latest run of each seed wins
            chosen.setdefault(_group(run), {})[_seed(run)] = (run, summaries)
    for run_id in runs or []:
        run = store.get(run_id)
        summaries = read_summaries(run)
        if not summaries:
            raise RdtuiError(f"run {run.id} has no evaluation results (eval/*.json)")
        chosen[_group(run)] = {_seed(run): (run, summaries)}
    order = list(study.conditions) if study is not None else []
    order += sorted(k for k in chosen if k not in order)
    rows = []
    for key in order:
        if key in chosen:
            rows.append(_seeded_row(chosen[key]))
        else:
            description = (study.section("conditions").get(key) or {}).get("description", "") if study else ""
            rows.append(ResultRow(condition=key, description=description))
    add_paired_differences(rows)
    return rows


def _seeded_row(by_seed: dict[int | None, tuple[Run, dict[str, BenchmarkResult]]]) -> ResultRow:
    """The latest run's row; with several seeds, accuracy averaged across them."""
    latest = max(by_seed.values(), key=lambda item: item[0].record.created_at or 0)
    row = _row(*latest)
    if len(by_seed) < 2:
        return row
    rows = {seed: _row(*item) for seed, item in by_seed.items()}
    row.seeds = sorted(seed for seed in rows if seed is not None)
    for bench, result in row.benchmarks.items():
        accuracies = {str(seed): r.benchmarks[bench].accuracy for seed, r in rows.items() if bench in r.benchmarks}
        mean, low, high = mean_interval(list(accuracies.values()))
        result.seed_accuracies, result.seed_mean, result.seed_ci95 = accuracies, mean, [low, high]
        # Per problem: the score averaged over the seeds that evaluated it.
        per_problem: dict[str, list[float]] = {}
        for r in rows.values():
            for key, score in r.problem_scores.get(bench, {}).items():
                per_problem.setdefault(key, []).append(score)
        row.problem_scores[bench] = {key: sum(v) / len(v) for key, v in per_problem.items()}
    return row


def _benchmark_names(rows: list[ResultRow]) -> list[str]:
    return list(dict.fromkeys(name for row in rows for name in row.benchmarks))


def _extra_ks(rows: list[ResultRow], bench: str) -> list[str]:
    ks = {k for row in rows if bench in row.benchmarks for k in row.benchmarks[bench].pass_at_k if k != "1"}
    return sorted(ks, key=int)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def results_table(rows: list[ResultRow]) -> tuple[list[dict[str, str]], list[str]]:
    """The one results table (cells by column, columns) that `rdtui results`, the Markdown export and
    the app's Results screen show: accuracy [95% interval] (N) per benchmark, then pass@k, maj@k."""
    columns = ["condition", "run"]
    benches = _benchmark_names(rows)
    for bench in benches:
        columns.append(bench)
        columns += [f"{bench} {m}@{k}" for k in _extra_ks(rows, bench) for m in ("pass", "maj")]
    out = []
    for row in rows:
        cells = {"condition": row.condition, "run": row.run_id or "-"}
        for bench in benches:
            result = row.benchmarks.get(bench)
            if result is None:
                continue
            partial = "" if result.complete else " partial"
            if result.seed_mean is not None and result.seed_ci95 is not None:
                low, high = result.seed_ci95
                cells[bench] = (
                    f"{_pct(result.seed_mean)} [{_pct(low)}, {_pct(high)}] "
                    f"(N={result.n}, {len(result.seed_accuracies)} seeds{partial})"
                )
                continue
            cells[bench] = (
                f"{_pct(result.accuracy)} [{_pct(result.ci95[0])}, {_pct(result.ci95[1])}] (N={result.n}{partial})"
            )
            for k in _extra_ks(rows, bench):
                cells[f"{bench} pass@{k}"] = _pct(result.pass_at_k.get(k))
                cells[f"{bench} maj@{k}"] = _pct(result.maj_at_k.get(k))
        out.append(cells)
    return out, columns


def _markdown(cells: list[dict[str, str]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(c.get(col, "-").replace("|", "\\|") for col in columns) + " |" for c in cells]
    return "\n".join(lines)


def _csv(rows: list[ResultRow]) -> str:
    benches = _benchmark_names(rows)
    columns = ["condition", "description", "run_id", "model", "training_data", "training_size", "training_time_s"]
    for bench in benches:
        columns += [f"{bench}.{m}" for m in ("n", "correct", "accuracy", "ci_low", "ci_high", "samples")]
        columns += [f"{bench}.{m}@{k}" for k in _extra_ks(rows, bench) for m in ("pass", "maj")]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        record: dict[str, Any] = {
            "condition": row.condition,
            "description": row.description,
            "run_id": row.run_id,
            "model": row.model,
            "training_data": "+".join(row.training_data),
            "training_size": row.training_size,
            "training_time_s": row.training_time_s,
        }
        for bench, r in row.benchmarks.items():
            record.update(
                {
                    f"{bench}.n": r.n,
                    f"{bench}.correct": r.correct,
                    f"{bench}.accuracy": r.accuracy,
                    f"{bench}.ci_low": r.ci95[0],
                    f"{bench}.ci_high": r.ci95[1],
                    f"{bench}.samples": r.samples,
                }
            )
            for k in _extra_ks(rows, bench):
                record[f"{bench}.pass@{k}"] = r.pass_at_k.get(k)
                record[f"{bench}.maj@{k}"] = r.maj_at_k.get(k)
        writer.writerow(record)
    return buffer.getvalue().rstrip("\n")


def render_results(rows: list[ResultRow], fmt: str = "table") -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if fmt == "json":
        return json.dumps([row.to_dict() for row in rows], indent=2)
    if fmt == "csv":
        return _csv(rows)
    cells, columns = results_table(rows)
    pair_cells, pair_columns = paired_table(rows)
    render = _markdown if fmt == "md" else format_table
    text = render(cells, columns)
    if pair_cells:
        text += f"\n\n{PAIRED_HEADING}:\n\n" + render(pair_cells, pair_columns)
    return text


def paired_table(rows: list[ResultRow]) -> tuple[list[dict[str, str]], list[str]]:
    """One line per pair of conditions (study order, A before B), one column per benchmark."""
    benches = _benchmark_names(rows)
    out = []
    for i, a in enumerate(rows):
        for b in rows[i + 1 :]:
            pairs = a.paired.get(b.condition) or {}
            if not pairs:
                continue
            cells = {"A": a.condition, "B": b.condition}
            for bench, d in pairs.items():
                mark = "*" if d.significant else ""
                cells[bench] = (
                    f"{100 * d.difference:+.1f} [{100 * d.ci95[0]:+.1f}, {100 * d.ci95[1]:+.1f}]{mark} (N={d.n})"
                )
            out.append(cells)
    return out, ["A", "B", *benches]


def report_revisions(store, rows, *, show: bool, out=None, err=None) -> list[str]:
    """For `rdtui results`: print (with `--revisions`) what each row's run loaded, and warn on
    stderr when the rows of one table loaded different revisions. Returns the warnings."""
    import sys

    from core.provenance import revision_cells, revision_conflicts

    out, err = out or sys.stdout, err or sys.stderr
    loaded_by_run: dict[str, dict[str, Any]] = {}
    cells = []
    for row in rows:
        if not row.run_id:
            continue
        try:
            loaded = store.get(row.run_id).record.loaded or {}
        except Exception:  # a run removed or corrupt since the table was collected
            loaded = {}
        loaded_by_run[row.run_id] = loaded
        cells.append({"condition": row.condition, "run": row.run_id, **revision_cells(loaded)})
    if show:
        print("", file=out)
        print(format_table(cells, ["condition", "run", "model@", "data@", "versions"], max_width=100), file=out)
    warnings = revision_conflicts(loaded_by_run)
    for warning in warnings:
        print(f"rdtui: warning: {warning}", file=err)
    return warnings
