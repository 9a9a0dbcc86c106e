"""Benchmarks from the config: `evaluation.benchmarks` -> DatasetSpecs -> problems ready to generate.

Loading is split in two so that bad input fails before a model is loaded or a file is written:
`load_benchmark` reads the rows (a missing file or unknown dataset is one RdtuiError), and
`Benchmark.problems(tokenizer, ...)` renders each prompt with the model's chat template.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from core.data.formatters import FormattedRow
from core.data.registry import dataset_spec, load_dataset_rows
from core.errors import RdtuiError
from core.grading.markers import THINK_OPEN


@dataclass(frozen=True)
class Problem:
    id: str
    messages: tuple[dict[str, str], ...]  # the chat messages, system prompt included
    prompt: str  # the rendered chat template, ending with the generation prompt
    prompt_tokens: int
    gold: str
    kind: str  # the grader's benchmark kind: "gsm8k" or "math"

    @property
    def prompt_hash(self) -> str:
        return hashlib.sha256(self.prompt.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Benchmark:
    name: str
    kind: str
    rows: tuple[FormattedRow, ...]

    def problems(self, tokenizer, *, system_prompt: str | None, enable_thinking: bool) -> list[Problem]:
        out = []
        for index, row in enumerate(self.rows):
            messages = list(row.prompt)
            if system_prompt:
                messages = [{"role": "system", "content": system_prompt}] + [
                    m for m in messages if m["role"] != "system"
                ]
            prompt = render_prompt(tokenizer, messages, enable_thinking)
            tokens = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
            out.append(
                Problem(
                    id=str(index),
                    messages=tuple(messages),
                    prompt=prompt,
                    prompt_tokens=tokens,
                    gold=row.answer,
                    kind=self.kind,
                )
            )
        return out


# Formatters whose gold answers are plain numbers (word problems, the offline digit task); every
# other formatter, the config-only ones included, may carry LaTeX or symbolic golds.
NUMERIC_FORMATTERS = ("gsm8k", "orca_math")


def benchmark_kind(spec) -> str:
    """The benchmark kind the grader is told: "gsm8k" (numbers) or "math" (LaTeX, symbolic).

    The kind only says how a gold *field* is read (after `####`, or its last \\boxed{}); the
    comparison rules are the same for both, so an integer answer (AIME: 33 against a gold of "033"
    or 33) grades alike under either. A config-only benchmark (`formatter: columns` and TRL's
    formats) has its gold reduced to the final answer when loaded (core/data/mapped.gold_of) and is
    graded as "math", which accepts numbers and expressions alike.
    """
    if spec.synthetic is not None or spec.formatter in NUMERIC_FORMATTERS:
        return "gsm8k"
    return "math"


def load_benchmark(cfg, name: str) -> Benchmark:
    """The rows of one benchmark (its DatasetSpec's `limit` applied); RdtuiError names the config key."""
    spec = dataset_spec(cfg.datasets, name)
    rows = load_dataset_rows(spec, "eval", name=name)
    return Benchmark(name=name, kind=benchmark_kind(spec), rows=tuple(rows))


def load_benchmarks(cfg, names: list[str] | None = None) -> list[Benchmark]:
    names = list(names or cfg.evaluation.benchmarks)
    unknown = [n for n in names if n not in cfg.datasets]
    if unknown:
        raise RdtuiError(
            f"unknown benchmark {unknown[0]!r}: not a dataset in the config "
            f"(defined: {', '.join(sorted(cfg.datasets))})"
        )
    return [load_benchmark(cfg, name) for name in names]


def render_prompt(tokenizer, messages: list[dict[str, str]], enable_thinking: bool) -> str:
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True, enable_thinking=enable_thinking
    )


def template_prefill(tokenizer, enable_thinking: bool) -> str:
    """What the chat template writes into the assistant's reply before the model's first token.

    Some templates open (`<think>\\n`) or pre-close (`<think>\\n\\n</think>\\n\\n`) a think block in the
    generation prompt. The evaluator stores that prefix in front of every completion, so a reader (and
    the grader) sees whether the think block was open or closed when the reply ended.
    """
    messages = [{"role": "user", "content": "q"}]
    with_prompt = render_prompt(tokenizer, messages, enable_thinking)
    without = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
    suffix = with_prompt[len(without) :] if with_prompt.startswith(without) else ""
    start = suffix.find(THINK_OPEN)
    return suffix[start:] if start >= 0 else ""
