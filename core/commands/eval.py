"""`rdtui eval RUN|MODEL`: evaluate a run's trained model into its folder, or any model into a new run.

Everything that can fail on bad input (the config, the benchmark files, the checkpoint, k versus
the number of samples, an adapter's base model, loading the model) is checked before a run is
created or a journal written. `--quick` writes nothing: it prints five problems for a look by eye.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import RdtuiError, UsageError
from core.paths import default_runs_dir, looks_like_folder
from core.reporting.results import ADHOC_CONDITION
from core.reporting.textable import format_table
from core.store.runstore import Run, RunStore, process_start_ticks, try_own, validate_name

if TYPE_CHECKING:
    from core.config.schema import ResolvedConfig

QUICK_PROBLEMS = 5


def parse_ks(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise UsageError(f"--k {text!r}: expected comma-separated integers, e.g. 1,4,8") from None
    if not ks or ks[0] < 1:
        raise UsageError(f"--k {text!r}: every k must be a positive integer")
    return ks


def _eval_sets(args) -> list[str]:
    """--samples / --k as `--set` items, so they are validated (k <= n) and recorded like any override."""
    sets = []
    if getattr(args, "grader", None):
        sets.append(f"grading.grader={args.grader}")
    if args.samples is not None:
        sets.append(f"evaluation.samples={args.samples}")
    ks = parse_ks(args.k)
    if ks is not None:
        sets.append(f"evaluation.k={json.dumps(ks)}")
    return sets


def find_run(store: RunStore, target: str) -> Run | None:
    """The run `target` names (an id or unique prefix), or None when it names a model instead."""
    if target.startswith("builtin:") or "/" in target or os.path.exists(target):
        return None
    try:
        validate_name(target)
        return store.get(target)
    except RdtuiError:
        return None


def run_target(run: Run, args):
    """(config, model ref) for evaluating an existing run: its snapshot, with evaluation.* changes."""
    from pydantic import ValidationError

    from core.config.layers import parse_set
    from core.config.schema import EvaluationCfg
    from core.evaluation.modelref import model_ref, run_final_checkpoint

    if run.record.effective_status == "running":
        raise RdtuiError(f"run {run.id} is running; wait for it to finish (it evaluates itself) or cancel it")
    if args.overrides_file:
        raise UsageError("--overrides applies to MODEL evaluations; a run is evaluated with its own config snapshot")
    cfg = run.config()
    changes = {}
    for item in [*args.overrides, *_eval_sets(args)]:
        path, value = parse_set(item)
        if path == ("grading", "grader"):
            cfg = cfg.model_copy(update={"grading": cfg.grading.model_copy(update={"grader": value})})
            continue
        if len(path) != 2 or path[0] != "evaluation":
            raise UsageError(f"--set {item}: a run keeps its config; only evaluation.* settings can change")
        changes[path[1]] = value
    if changes:
        try:
            evaluation = EvaluationCfg.model_validate({**cfg.evaluation.model_dump(), **changes})
        except ValidationError as exc:
            error = exc.errors()[0]
            key = ".".join(str(part) for part in ("evaluation", *error["loc"]))
            raise UsageError(f"--set {key}: {error['msg']}") from None
        cfg = cfg.model_copy(update={"evaluation": evaluation})
    # A run made by `rdtui eval ADAPTER` keeps its adapter's folder in run.json.
    checkpoint = run.record.extra.get("eval_checkpoint") or run_final_checkpoint(cfg.condition, run)
    return cfg, model_ref(cfg.model, checkpoint, run)


def _eval_only_condition(study) -> str:
    if "base_model" in study.conditions:
        return "base_model"
    for name in study.conditions:
        body = study.section("conditions").get(name) or {}
        if body.get("stages") == ["eval"]:
            return name
    raise RdtuiError("the study has no eval-only condition (stages: [eval]) to evaluate a model under")


def model_target(target: str, args):
    """(resolution, model ref, condition) for evaluating a hub id, a folder or a builtin model."""
    from core.config import load_study, resolve_full
    from core.evaluation.modelref import model_ref

    study = load_study(args.config)
    condition = _eval_only_condition(study)
    sets = [*args.overrides, *_eval_sets(args)]
    base = resolve_full(study, condition, args.profile, sets, args.overrides_file)
    path = Path(target)
    if (path / "adapter_config.json").exists():
        return base, model_ref(base.config.model, path), ADHOC_CONDITION
    if not target.startswith("builtin:") and "/" not in target and not path.exists():
        raise UsageError(f"{target!r} is neither a run in the store nor a model (hub id, folder or builtin:NAME)")
    name = str(path.resolve()) if path.exists() else target
    if name == base.config.model.name:
        return base, model_ref(base.config.model, None), condition
    resolution = resolve_full(
        study, condition, args.profile, [*sets, f"model.name={json.dumps(name)}"], args.overrides_file
    )
    return resolution, model_ref(resolution.config.model, None), ADHOC_CONDITION


def _recorded_launch(run: Run, args) -> None:
    """Continuing a run `rdtui eval` made, with no slice given: the slice and benchmarks it was launched with."""
    from core.execution.pipeline import EVAL_LAUNCH

    launch = run.record.extra.get(EVAL_LAUNCH)
    if not isinstance(launch, dict) or args.benchmark or args.limit is not None or args.start_from:
        return
    args.benchmark = launch.get("benchmarks")
    args.start_from = launch.get("start_from") or 0
    args.limit = launch.get("limit")


def _log_to(run: Run) -> Callable[[str], None]:
    def log(line: str) -> None:
        print(line, flush=True)
        with open(run.log_path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    return log


def _print_summaries(summaries: dict) -> None:
    rows = []
    for name, s in summaries.items():
        row = {
            "benchmark": name,
            "n": s["n_problems"],
            "accuracy": f"{s['accuracy']:.3f}",
            "ci95": f"[{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}]",
        }
        for k, v in s["pass@k"].items():
            row[f"pass@{k}"] = f"{v['value']:.3f}"
        for k, v in s["maj@k"].items():
            if k != "1":
                row[f"maj@{k}"] = f"{v['value']:.3f}"
        row.update({"tokens": f"{s['mean_completion_tokens']:.0f}", "truncated": f"{s['share_truncated']:.2f}"})
        rows.append(row)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    print(format_table(rows, columns))


def quick_look(evaluation) -> None:
    benchmark = evaluation.benchmarks[0]
    problems = evaluation.selected(evaluation.problems(benchmark))[:QUICK_PROBLEMS]
    for problem, result in zip(problems, evaluation.generate_and_grade(problems)):
        print(f"=== {benchmark.name} #{problem.id}   gold: {problem.gold}")
        print(f"--- prompt\n{problem.messages[-1]['content']}")
        for i, text in enumerate(result.completions):
            verdict = "CORRECT" if result.correct[i] else "wrong"
            print(
                f"--- sample {i + 1}/{len(result.completions)}: {verdict}, extracted {result.extracted[i]!r} "
                f"({result.rules[i]}), {result.tokens[i]} tokens, {result.finish_reasons[i]}"
            )
            print(text)
        print()


def check_options(args) -> None:
    """Bad options fail at once (exit 2), before the store, the config or any library is touched."""
    if args.limit is not None and args.limit <= 0:
        raise UsageError(f"--limit {args.limit}: must be a positive number of problems")
    if args.start_from < 0:
        raise UsageError(f"--start-from {args.start_from}: must be 0 or more")
    if args.samples is not None and args.samples <= 0:
        raise UsageError(f"--samples {args.samples}: must be a positive number")
    parse_ks(args.k)
    target = args.target
    if (
        not target.startswith("builtin:")
        and looks_like_folder(target)
        and not os.path.exists(os.path.expanduser(target))
    ):
        raise UsageError(f"{target}: no such folder")


def check_benchmarks(cfg: ResolvedConfig, names: list[str] | None) -> None:
    unknown = [n for n in names or [] if n not in cfg.datasets]
    if unknown:
        raise UsageError(
            f"--benchmark {unknown[0]}: not a dataset in the config (defined: {', '.join(sorted(cfg.datasets))})"
        )


def main(args) -> int:
    from core.config import snapshot_text
    from core.execution.pipeline import EVAL_LAUNCH
    from core.hub import go_offline_if_unreachable

    check_options(args)
    store = RunStore(default_runs_dir(args.runs_dir))
    run = find_run(store, args.target)
    if run is None and not args.quick:
        store.check_writable()
    go_offline_if_unreachable()  # before the hub libraries load: they read it at import
    from core.evaluation.stage import Evaluation

    if run is not None and args.grader and any(run.eval_dir.glob("*.jsonl")):
        from core.commands.grade import print_regrade, regrade_run

        print_regrade(run, regrade_run(run, run.config(), args.grader), args.grader)
        return 0
    if run is not None:
        cfg, ref = run_target(run, args)
        resolution = condition = None
        _recorded_launch(run, args)
    else:
        resolution, ref, condition = model_target(args.target, args)
        cfg = resolution.config
    check_benchmarks(cfg, args.benchmark)
    evaluation = Evaluation.prepare(cfg, ref, args.benchmark, start_from=args.start_from, limit=args.limit)
    if args.quick:
        quick_look(evaluation)
        return 0
    if run is None:
        assert resolution is not None and condition is not None  # model_target set both: there was no run
        description = f"evaluation of {ref.label()}" if condition == ADHOC_CONDITION else None
        run = store.create(condition, cfg.profile.name, "local", snapshot_text(resolution), description=description)
        launch = {"benchmarks": args.benchmark, "start_from": args.start_from, "limit": args.limit}
        run.update(
            extra={
                "model": ref.label(),
                "eval_checkpoint": str(ref.checkpoint) if ref.checkpoint else None,
                EVAL_LAUNCH: launch,
            }
        )
        print(f"[rdtui] evaluating {ref.label()} into run {run.id}", flush=True)
        summaries = _evaluate_as_owner(run, evaluation)
    elif run.record.status != "succeeded" and set(cfg.condition.stages) == {"eval"}:
        # An eval-only run that was killed or failed: finishing its evaluation finishes the run.
        summaries = _evaluate_as_owner(run, evaluation)
    else:
        summaries = evaluation.run(run, log=_log_to(run))
    _print_summaries(summaries)
    return 0


def _evaluate_as_owner(run: Run, evaluation) -> dict:
    """Evaluate with this process as the run's process: status running, then succeeded/failed/cancelled."""
    owner = try_own(run.dir)
    if owner is None:
        raise RdtuiError(f"run {run.id} is owned by a live queue or worker; wait for it to end or cancel it")
    try:
        pid = os.getpid()
        run.start(
            pid=pid,
            pid_start=process_start_ticks(pid),
            stage="eval",
        )
        try:
            summaries = evaluation.run(run, log=_log_to(run))
        except KeyboardInterrupt:
            run.finish("cancelled")
            raise
        except BaseException as exc:
            run.finish("failed", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            raise
        run.finish("succeeded")
        return summaries
    finally:
        os.close(owner)
