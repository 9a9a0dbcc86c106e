"""`rdtui grade [FILE|-]`: re-grade saved completions, one JSON object per line in and out.

Input lines hold ``completion`` (or ``extracted``: an answer already read out, e.g. another tool's
prediction column, graded as it stands), ``answer``, and optionally ``benchmark`` (gsm8k or math,
default gsm8k), ``id``, and the booleans ``think_prefilled`` (the chat template opened the think
block, so a completion without ``</think>`` is unfinished) and ``answer_only`` (the completion is the
bare answer), which override the flags of the same names for that line. Each output line, in input
order, holds ``correct``, ``extracted`` and ``rule`` (and the ``id`` when given; ``"undecided": true``
when the symbolic check could not decide in its budget). Lines are graded as they arrive, so a pipe
sees results at once.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from core.errors import UsageError
from core.grading import BENCHMARKS, grade

if TYPE_CHECKING:
    from core.config.schema import ResolvedConfig


@dataclass(frozen=True)
class GradeOptions:
    allow_last_number: bool = False
    think_prefilled: bool = False
    answer_only: bool = False
    multiple_boxes: str = "last"
    decimal_tolerance: bool = False
    grader: str = "rdtui"

    @classmethod
    def from_args(cls, args) -> GradeOptions:
        return cls(**{name: getattr(args, name) for name in cls.__dataclass_fields__ if hasattr(args, name)})


def _flag(row: dict, key: str, default: bool, where: str) -> bool:
    value = row.get(key, default)
    if not isinstance(value, bool):
        raise UsageError(f"{where}: '{key}' must be true or false")
    return value


def _verdict_line(line: str, where: str, options: GradeOptions) -> str:
    try:
        row = json.loads(line.rstrip("\r\n"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}: not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(row, dict):
        raise UsageError(f"{where}: expected a JSON object, got {type(row).__name__}")
    text_key = "completion" if "completion" in row or "extracted" not in row else "extracted"
    for key in (text_key, "answer"):
        if key not in row:
            raise UsageError(f"{where}: missing key '{key}'")
    if not isinstance(row[text_key], str):
        raise UsageError(f"{where}: '{text_key}' must be a string")
    benchmark = row.get("benchmark") or "gsm8k"
    if benchmark not in BENCHMARKS:
        raise UsageError(f"{where}: benchmark: {benchmark!r} is not one of {', '.join(BENCHMARKS)}")
    answer_only = text_key == "extracted" or _flag(row, "answer_only", options.answer_only, where)
    verdict = grade(
        row[text_key],
        row["answer"],
        benchmark,
        options.allow_last_number,
        think_prefilled=_flag(row, "think_prefilled", options.think_prefilled, where),
        answer_only=answer_only,
        multiple_boxes=options.multiple_boxes,
        decimal_tolerance=options.decimal_tolerance,
        grader=options.grader,
    )
    out = {"correct": verdict.correct, "extracted": verdict.extracted, "rule": verdict.rule}
    if verdict.undecided:
        out["undecided"] = True
    if "id" in row:
        out = {"id": row["id"], **out}
    return json.dumps(out, ensure_ascii=False)


def _grade_stream(stream: IO[str], name: str, options: GradeOptions) -> None:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        sys.stdout.write(_verdict_line(line, f"{name}:{number}", options) + "\n")
        sys.stdout.flush()


def main(args) -> int:
    options = GradeOptions.from_args(args)
    if args.input in (None, "-"):
        _grade_stream(sys.stdin, "<stdin>", options)
        return 0
    try:
        stream = open(args.input, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{args.input}: cannot read: {exc.strerror}") from None
    with stream:
        try:
            _grade_stream(stream, args.input, options)
        except UnicodeDecodeError:
            raise UsageError(f"{args.input}: not UTF-8 text") from None
    return 0


def regrade_run(run, cfg: ResolvedConfig, grader: str) -> dict[str, dict]:
    """Grade the completions already in `run`'s evaluation journals again with ``grader`` (nothing is
    generated), writing ``eval/<grader>/<bench>.json`` beside the run's own summaries; returns the
    summaries by benchmark. Each journal keeps the extraction settings it was written with."""
    from dataclasses import replace

    from core.evaluation.benchmarks import Problem
    from core.evaluation.generation import Completion
    from core.evaluation.journal import ProblemResult
    from core.evaluation.stage import grade_problem
    from core.evaluation.summary import summarize, write_summary
    from core.store.jsonl import read_jsonl

    grading = cfg.grading.model_copy(update={"grader": grader})
    summaries = {}
    for path in sorted(run.eval_dir.glob("*.jsonl")):
        records = read_jsonl(path)
        if not records or records[0].get("type") != "header":
            continue
        settings = records[0].get("settings") or {}
        results: dict[str, ProblemResult] = {}
        for record in records[1:]:
            try:
                old = ProblemResult.from_dict(record)
            except ValueError:
                continue  # a damaged line: left out here as the summary leaves it out
            problem = Problem(old.id, (), "", 0, old.gold, settings.get("kind", "gsm8k"))
            samples = [Completion(t, n, f) for t, n, f in zip(old.completions, old.tokens, old.finish_reasons)]
            new = grade_problem(problem, samples, "", bool(settings.get("allow_last_number")), grading)
            results[old.id] = replace(new, prompt_hash=old.prompt_hash)
        if not results:
            continue
        n = min(len(r.completions) for r in results.values())
        ks = [k for k in cfg.evaluation.k if k <= n] or [1]
        size = _own_summary(run, path.stem).get("benchmark_size", len(results))
        summary = summarize(
            list(results.values()),
            benchmark=path.stem,
            ks=ks,
            benchmark_size=size,
            settings={**settings, "grader": grader},
        )
        write_summary(run.eval_dir / grader / f"{path.stem}.json", summary)
        summaries[path.stem] = summary
    return summaries


def _own_summary(run, benchmark: str) -> dict:
    """The run's own eval/<bench>.json, or {} when it is missing or unreadable."""
    try:
        summary = json.loads((run.eval_dir / f"{benchmark}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return summary if isinstance(summary, dict) else {}


def print_regrade(run, summaries: dict[str, dict], grader: str) -> None:
    """Accuracy as the run graded it next to accuracy under ``grader``, per benchmark."""
    from core.reporting.textable import format_table

    rows = []
    for name, summary in summaries.items():
        own = _own_summary(run, name).get("accuracy")
        row = {
            "benchmark": name,
            "n": summary["n_problems"],
            "accuracy (run)": "-" if own is None else f"{own:.3f}",
            f"accuracy ({grader})": f"{summary['accuracy']:.3f}",
            "difference": "-" if own is None else f"{summary['accuracy'] - own:+.3f}",
        }
        rows.append(row)
    print(format_table(rows, list(rows[0]) if rows else ["benchmark"]))
