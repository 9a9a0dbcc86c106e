"""Seeded synthetic stand-ins for the study's datasets (profile `local`).

Small arithmetic word problems (one-digit operands, small results) that a model of about a
million parameters starts to solve after a minute of CPU training.
Each kind mirrors one real dataset's role in the study:

- `answer_only`      Orca-Math: the answer with no reasoning
- `traces`           s1K-1.1: `<think>` traces where a share of the steps are wrong (raw teacher output)
- `verified_traces`  OpenR1 math-verified: traces whose every step is correct
- `grpo_problems`    GSM8K train: prompts with gold answers, for reward-based training
- `heldout`          GSM8K test: problems whose wording never appears in any training kind

Problems are split by a hash of their question text, so the held-out questions are disjoint from
the training ones even though both come from the same generator.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from core.data.formatters import FormattedRow, answer_sentence, think_block, user_prompt

KINDS = ("answer_only", "traces", "verified_traces", "grpo_problems", "heldout")
_HELDOUT_BUCKETS = 8  # one question in eight belongs to the held-out split

NAMES = ("Tom", "Ana", "Ben", "Mia", "Sam", "Eva", "Leo", "Zoe")
ITEMS = ("apples", "pens", "books", "cards", "stamps", "shells", "coins", "marbles")


@dataclass(frozen=True)
class Step:
    """One arithmetic step of a solution, e.g. 7 + 5 = 12."""

    left: int
    op: str
    right: int

    def value(self) -> int:
        return {"+": self.left + self.right, "-": self.left - self.right, "*": self.left * self.right}[self.op]


@dataclass(frozen=True)
class Problem:
    question: str
    steps: tuple[Step, ...]

    @property
    def answer(self) -> int:
        return self.steps[-1].value()


def _one_step(rng: random.Random, name: str, item: str) -> Problem:
    kind = rng.choice(("add", "sub", "mul"))
    if kind == "add":
        a, b = rng.randint(1, 5), rng.randint(1, 5)
        return Problem(f"{name} has {a} {item} and gets {b} more. How many {item} does {name} have now?",
                       (Step(a, "+", b),))
    if kind == "sub":
        a = rng.randint(2, 9)
        b = rng.randint(1, min(a - 1, 5))
        return Problem(f"{name} has {a} {item} and gives away {b}. How many {item} are left?",
                       (Step(a, "-", b),))
    a, b = rng.randint(2, 3), rng.randint(2, 4)
    return Problem(f"{name} buys {a} bags with {b} {item} in each. How many {item} does {name} buy?",
                   (Step(a, "*", b),))


def _two_step(rng: random.Random, name: str, item: str) -> Problem:
    a, b = rng.randint(2, 5), rng.randint(1, 5)
    c = rng.randint(1, min(a + b - 1, 5))
    first = Step(a, "+", b)
    return Problem(f"{name} has {a} {item}, gets {b} more, then gives away {c}. "
                   f"How many {item} does {name} have now?", (first, Step(first.value(), "-", c)))


def make_problem(rng: random.Random) -> Problem:
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    return _two_step(rng, name, item) if rng.random() < 0.25 else _one_step(rng, name, item)


def is_heldout(question: str) -> bool:
    digest = hashlib.sha256(question.encode()).digest()
    return digest[0] % _HELDOUT_BUCKETS == 0


def trace_lines(problem: Problem, rng: random.Random, wrong_step_rate: float) -> tuple[list[str], int]:
    """The worked steps, each wrong with probability `wrong_step_rate`; a wrong value carries forward."""
    lines: list[str] = []
    carried: int | None = None
    for step in problem.steps:
        left = step.left if carried is None else carried
        value = Step(left, step.op, step.right).value()
        if rng.random() < wrong_step_rate:
            value = max(0, value + rng.choice((-2, -1, 1, 2)))
        lines.append(f"{left} {step.op} {step.right} = {value}")
        carried = value
    assert carried is not None
    return lines, carried


def _row(problem: Problem, completion: str) -> FormattedRow:
    return FormattedRow(prompt=user_prompt(problem.question), completion=completion, answer=str(problem.answer))


def generate(kind: str, size: int, seed: int, wrong_step_rate: float = 0.0) -> list[FormattedRow]:
    """`size` rows of one synthetic kind, the same for the same arguments on every machine."""
    if kind not in KINDS:
        raise ValueError(f"unknown synthetic kind {kind!r} (choose from {', '.join(KINDS)})")
    rng = random.Random(f"{kind}:{seed}")
    rows: list[FormattedRow] = []
    seen: set[str] = set()
    while len(rows) < size:
        problem = make_problem(rng)
        if is_heldout(problem.question) != (kind == "heldout"):
            continue
        if kind == "heldout":
            if problem.question in seen:
                continue
            seen.add(problem.question)
        if kind == "answer_only":
            completion = answer_sentence(str(problem.answer))
        else:
            # Only raw teacher traces carry wrong steps; the others hold a correct reference solution.
            lines, final = trace_lines(problem, rng, wrong_step_rate if kind == "traces" else 0.0)
            completion = think_block("\n".join(lines)) + answer_sentence(str(final))
        rows.append(_row(problem, completion))
    return rows


def tokenizer_corpus(seed: int = 0, per_kind: int = 1500) -> list[str]:
    """Text the builtin tokenizer is trained on: every kind's prompts and completions."""
    texts: list[str] = []
    for kind in KINDS:
        for row in generate(kind, per_kind if kind != "heldout" else per_kind // 4, seed, wrong_step_rate=0.3):
            texts.append(row.prompt[-1]["content"])
            texts.append(row.completion)
    return texts
