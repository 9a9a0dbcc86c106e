"""The eval stage: every benchmark of the config, generated, graded, journaled and summarized.

`Evaluation.prepare` does everything that can fail on bad input (config checks, benchmark files,
the model's folder, loading the model) before anything is written; `Evaluation.run` then fills
`eval/<bench>.jsonl` a batch at a time, keeps `run.json`'s progress and `eval_progress.jsonl` current,
and writes `eval/<bench>.json` when a benchmark's selection is done.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from core.config.schema import GradingCfg
from core.errors import RdtuiError
from core.evaluation.benchmarks import Benchmark, Problem, load_benchmarks, template_prefill
from core.evaluation.generation import Backend, Completion, SamplingSettings, load_backend, plan_batches
from core.evaluation.journal import Journal, ProblemResult
from core.evaluation.modelref import ModelRef, model_ref, run_final_checkpoint
from core.evaluation.summary import summarize, write_summary
from core.store.jsonl import JsonlWriter
from core.store.runview import format_duration

if TYPE_CHECKING:
    from core.config.schema import ResolvedConfig

PROGRESS_INTERVAL_S = 1.0


def check_eval_settings(ev) -> None:
    """What pass@k and sampling need, for settings that did not come through config validation."""
    if max(ev.k) > ev.samples:
        raise RdtuiError(
            f"evaluation.k: pass@{max(ev.k)} needs at least {max(ev.k)} samples per problem "
            f"(samples = {ev.samples}); raise --samples or lower --k"
        )
    if ev.samples > 1 and ev.temperature == 0:
        raise RdtuiError(
            f"evaluation.samples: {ev.samples} samples with greedy decoding are identical; "
            f"set evaluation.temperature above 0"
        )


def grade_problem(
    problem: Problem, completions: list[Completion], prefill: str, allow_last_number: bool, grading: Any = None
) -> ProblemResult:
    """Grade one problem's completions; ``grading`` is the config's grading section (None: its defaults)."""
    from core.grading import grade

    options = (
        {}
        if grading is None
        else {
            "multiple_boxes": grading.multiple_boxes,
            "decimal_tolerance": grading.decimal_tolerance,
            "grader": grading.grader,
        }
    )

    texts: list[str] = []
    extracted: list[str | None] = []
    correct: list[bool] = []
    rules: list[str | None] = []
    for completion in completions:
        text = prefill + completion.text
        texts.append(text)
        answer: str | None
        rule: str | None
        if completion.finish_reason == "length":
            # Cut off by max_new_tokens: scored 0 whatever it holds, never by a number mid-thought.
            answer, verdict_correct, rule = None, False, "length"
        else:
            verdict = grade(text, problem.gold, benchmark=problem.kind, allow_last_number=allow_last_number, **options)
            answer, verdict_correct, rule = verdict.extracted, verdict.correct, verdict.rule
        extracted.append(answer)
        correct.append(verdict_correct)
        rules.append(rule)
    return ProblemResult(
        id=problem.id,
        prompt_hash=problem.prompt_hash,
        gold=problem.gold,
        completions=texts,
        extracted=extracted,
        correct=correct,
        rules=rules,
        tokens=[c.tokens for c in completions],
        finish_reasons=[c.finish_reason for c in completions],
    )


def check_slice(size: int, start_from: int, limit: int | None, name: str) -> None:
    from core.errors import UsageError

    if start_from < 0 or (limit is not None and limit <= 0):
        raise UsageError("--start-from must be >= 0 and --limit > 0")
    if start_from >= size:
        raise UsageError(f"--start-from {start_from} is past the end of {name} ({size} problems)")


class Progress:
    """Problems done of the total, rate and ETA: into run.json (at most once a second) and eval_progress.jsonl."""

    def __init__(self, run, total: int, log: Callable[[str], None]):
        self.run = run
        self.total = total
        self.done = 0
        self.generated = 0
        self.start = time.monotonic()
        self.last_write = 0.0
        self.log = log
        self.progress_log = JsonlWriter(run.eval_progress_path)

    def advance(self, benchmark: str, finished: int, generated: int, accuracy: float | None) -> None:
        self.done += finished
        self.generated += generated
        if not generated:
            return
        elapsed = time.monotonic() - self.start
        rate = self.generated / elapsed if elapsed > 0 else None
        eta = (self.total - self.done) / rate if rate else None
        fields = {
            "stage": "eval",
            "benchmark": benchmark,
            "step": self.done,
            "total": self.total,
            "rate": round(rate, 3) if rate else None,
            "eta_s": round(eta, 1) if eta is not None else None,
        }
        self.progress_log.append({"t": time.time(), **fields, "accuracy": accuracy})
        now = time.monotonic()
        if now - self.last_write >= PROGRESS_INTERVAL_S or self.done >= self.total:
            self.run.update(progress=fields)
            self.last_write = now
        acc = f", accuracy so far {accuracy:.3f}" if accuracy is not None else ""
        self.log(
            f"[rdtui] eval {benchmark}: {self.done}/{self.total} problems, {rate or 0:.2f}/s, "
            f"ETA {format_duration(eta)}{acc}"
        )


@dataclass
class Evaluation:
    cfg: Any
    ref: ModelRef
    benchmarks: list[Benchmark]
    backend: Backend
    tokenizer: Any
    start_from: int = 0  # --start-from / --limit: the slice of each benchmark to evaluate now
    limit: int | None = None

    @classmethod
    def prepare(
        cls,
        cfg,
        ref: ModelRef,
        benchmark_names: list[str] | None = None,
        *,
        start_from: int = 0,
        limit: int | None = None,
        backend: tuple[Backend, Any] | None = None,
    ) -> Evaluation:
        check_eval_settings(cfg.evaluation)
        benchmarks = load_benchmarks(cfg, benchmark_names)
        for benchmark in benchmarks:
            size = min(len(benchmark.rows), cfg.evaluation.limit or len(benchmark.rows))
            check_slice(size, start_from, limit, benchmark.name)
        loaded, tokenizer = backend or load_backend(cfg, ref)
        return cls(cfg, ref, benchmarks, loaded, tokenizer, start_from, limit)

    @property
    def settings(self) -> SamplingSettings:
        return SamplingSettings.from_config(self.cfg)

    @cached_property
    def prefill(self) -> str:
        return template_prefill(self.tokenizer, self.cfg.model.enable_thinking)

    def problems(self, benchmark: Benchmark) -> list[Problem]:
        """The benchmark's problems under `evaluation.limit` (the set its summary covers)."""
        ev = self.cfg.evaluation
        problems = benchmark.problems(
            self.tokenizer, system_prompt=ev.system_prompt, enable_thinking=self.cfg.model.enable_thinking
        )
        return problems[: ev.limit] if ev.limit else problems

    def selected(self, problems: list[Problem]) -> list[Problem]:
        end = None if self.limit is None else self.start_from + self.limit
        return problems[self.start_from : end]

    def journal_settings(self, benchmark: Benchmark, run) -> dict[str, Any]:
        """Everything that decides a problem's completions and verdicts: a journal holds one value of it."""
        ev, s = self.cfg.evaluation, self.settings
        # Grading options join the settings only when changed, so journals from before they existed still match.
        grading = {k: v for k, v in self.cfg.grading.model_dump().items() if v != GradingCfg.model_fields[k].default}
        return {
            "benchmark": benchmark.name,
            "kind": benchmark.kind,
            "model": self.ref.identity(run.dir),
            "backend": self.backend.name,
            "samples": s.samples,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_new_tokens": s.max_new_tokens,
            "seed": s.seed,
            "system_prompt": ev.system_prompt,
            "enable_thinking": self.cfg.model.enable_thinking,
            "prefill": self.prefill,
            "allow_last_number": ev.allow_last_number,
            **({"grading": grading} if grading else {}),
        }

    def generate_and_grade(self, batch: list[Problem]) -> list[ProblemResult]:
        outputs = self.backend.generate(batch, self.settings)
        prefill, allow = self.prefill, self.cfg.evaluation.allow_last_number
        return [grade_problem(p, outs, prefill, allow, self.cfg.grading) for p, outs in zip(batch, outputs)]

    def run(self, run, log: Callable[[str], None] = lambda line: print(line, flush=True)) -> dict[str, dict[str, Any]]:
        """Evaluate the selection of every benchmark into `run`'s eval folder; returns the summaries."""
        work = []
        for benchmark in self.benchmarks:
            problems = self.problems(benchmark)
            work.append((benchmark, problems, self.selected(problems)))
        progress = Progress(run, sum(len(selected) for _, _, selected in work), log)
        return {b.name: self._run_benchmark(run, b, problems, selected, progress) for b, problems, selected in work}

    def _run_benchmark(
        self, run, benchmark: Benchmark, problems: list[Problem], selected: list[Problem], progress: Progress
    ) -> dict[str, Any]:
        settings = self.journal_settings(benchmark, run)
        with Journal(run.eval_dir / f"{benchmark.name}.jsonl", settings) as journal:
            journal.check_prompts({p.id: p.prompt_hash for p in problems})
            for batch in plan_batches(selected, self.cfg.evaluation.batch_size, self.settings):
                todo = {p.id for p in batch if p.id not in journal.done}
                if not todo:
                    progress.advance(benchmark.name, len(batch), 0, None)
                    continue
                # The whole batch is generated even when a torn write left part of it done: the
                # batch's composition decides its numbers, and it must match an uninterrupted run.
                results = [r for r in self.generate_and_grade(batch) if r.id in todo]
                journal.append(results)
                finished = [journal.done[p.id] for p in problems if p.id in journal.done]
                accuracy = sum(r.correct[0] for r in finished) / len(finished)
                progress.advance(benchmark.name, len(batch), len(results), accuracy)
            finished = [journal.done[p.id] for p in problems if p.id in journal.done]
        summary = summarize(
            finished,
            benchmark=benchmark.name,
            ks=list(self.cfg.evaluation.k),
            benchmark_size=len(problems),
            settings=settings,
        )
        write_summary(run.eval_dir / f"{benchmark.name}.json", summary)
        progress.log(
            f"[rdtui] eval {benchmark.name}: accuracy {summary['accuracy']:.3f} "
            f"[{summary['ci95'][0]:.3f}, {summary['ci95'][1]:.3f}] over {summary['n_problems']} problems"
        )
        return summary


def run_eval_stage(cfg: ResolvedConfig, run, model_ref_or_path=None) -> dict[str, dict[str, Any]]:
    """The last stage of every condition: the run's trained model (or the base model) on every benchmark."""
    if isinstance(model_ref_or_path, ModelRef):
        ref = model_ref_or_path
    else:
        ref = model_ref(cfg.model, model_ref_or_path or run_final_checkpoint(cfg.condition, run), run)
    return Evaluation.prepare(cfg, ref).run(run)
