"""The offline study's task: rows in the real datasets' schemas, written by a seeded synthetic teacher.

The task is a chain of one-digit operations done left to right, keeping only the last digit after
each step: "Compute 7+5*3-2 ..." -> 7+5=2, 2*3=6, 6-2=4 -> 4. Every operation permutes the ten
digits (+d, -d, and *d only for d in 3, 7, 9, which are coprime to 10), so every answer is equally
likely and no constant answer scores above chance (with *0, *5 or *2 most chains end in 0, and a
model that always answers 0 looked like one that had learned). Multi-step problems need the worked
steps: a model of a million parameters answering in one token mostly guesses (what answer-only SFT
learns). The teacher that writes the traces has a *systematic* slip, as a real teacher model has
habits rather than random noise: in a product with a carry it writes the tens digit instead of the
units (7*3=21 -> 2) with probability `wrong_step_rate`, and carries the wrong value forward. Greedy
decoding averages random slips away but learns a systematic one.

`records(schema, ...)` writes rows in the column schema of the real dataset the study names, so
the local profile runs the real formatters and filters:

- `orca_math`  Orca-Math `question/answer`: the answer sentence only, no steps, unboxed
- `s1k`        s1K-1.1 `question/solution/deepseek_thinking_trajectory/deepseek_attempt/deepseek_grade`:
               one raw teacher trace per problem, right or wrong
- `openr1`     OpenR1-Math-220k `problem/answer/generations/correctness_math_verify/is_reasoning_complete/
               finish_reasons`: two teacher generations per problem, each marked verified when its final
               answer equals the gold one (the `math_verified` filter keeps the first verified one)
- `gsm8k`      GSM8K `question/answer` ending `#### N`: correct worked steps (GRPO prompts, held-out tests)

Problems are split by a hash of their question: test problems (`split: test`) never occur in any
training split. Of the 190 one-step problems a few are test problems; their facts still occur as
steps of training chains.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from core.data.formatters import answer_sentence
from core.grading.markers import THINK_CLOSE, THINK_OPEN

TASKS = ("digit_chain",)
SCHEMAS = ("orca_math", "s1k", "openr1", "gsm8k")
SPLITS = ("train", "test")
MAX_OPS = 4
OPERANDS = {"+": range(2, 10), "-": range(2, 10), "*": (3, 7, 9)}  # each a permutation of 0..9 mod 10
_TEST_BUCKETS = 8  # one multi-step question in eight belongs to the test split
OPENR1_GENERATIONS = 2  # teacher generations per OpenR1-style row


@dataclass(frozen=True)
class Problem:
    start: int
    ops: tuple[tuple[str, int], ...]  # ("+", 5), ("*", 3), ("-", 2): left to right, mod 10

    @property
    def expression(self) -> str:
        return str(self.start) + "".join(f"{op}{d}" for op, d in self.ops)

    @property
    def question(self) -> str:
        return f"Compute {self.expression} left to right, keeping the last digit of each step."

    @property
    def answer(self) -> int:
        return solve(self, random.Random(0), 0.0)[1]


def apply(op: str, x: int, d: int) -> int:
    return {"+": x + d, "-": x - d, "*": x * d}[op]


def solve(problem: Problem, rng: random.Random, slip_rate: float) -> tuple[list[str], int]:
    """The teacher's worked steps and final digit; a product with a carry slips to its tens digit
    with probability `slip_rate`, and the wrong value carries forward."""
    x, steps = problem.start, []
    for op, d in problem.ops:
        full = apply(op, x, d)
        y = full % 10
        if op == "*" and full >= 10 and slip_rate and rng.random() < slip_rate:
            y = full // 10 % 10
        steps.append(f"{x}{op}{d}={y}")
        x = y
    return steps, x


def make_problem(rng: random.Random) -> Problem:
    k = rng.randint(1, MAX_OPS)
    ops = []
    for _ in range(k):
        op = rng.choice("+-*")
        ops.append((op, rng.choice(OPERANDS[op])))
    return Problem(rng.randint(0, 9), tuple(ops))


def split_of(problem: Problem) -> str:
    digest = hashlib.sha256(problem.question.encode()).digest()
    return "test" if digest[0] % _TEST_BUCKETS == 0 else "train"


def problems(split: str, size: int, seed: int, tag: str = "") -> list[Problem]:
    """`size` problems of one split, the same for the same arguments on every machine. Test problems
    are distinct; training problems may repeat, as rows of real datasets do."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (choose from {', '.join(SPLITS)})")
    rng = random.Random(f"{tag}:{split}:{seed}")
    out: list[Problem] = []
    seen: set[Problem] = set()
    while len(out) < size:
        problem = make_problem(rng)
        if split_of(problem) != split:
            continue
        if split == "test":
            if problem in seen:
                continue
            seen.add(problem)
        out.append(problem)
    return out


def trace_text(steps: list[str]) -> str:
    return "\n".join(steps)


def record(schema: str, problem: Problem, rng: random.Random, slip_rate: float) -> dict:
    """One row of `problem` in the column schema of the real dataset `schema`."""
    gold = problem.answer
    if schema == "orca_math":
        return {"question": problem.question, "answer": answer_sentence(gold, boxed=False)}
    if schema == "gsm8k":
        steps, _ = solve(problem, rng, 0.0)
        return {"question": problem.question, "answer": f"{trace_text(steps)}\n#### {gold}"}
    if schema == "s1k":
        steps, final = solve(problem, rng, slip_rate)
        return {
            "question": problem.question,
            "solution": f"{trace_text(solve(problem, rng, 0.0)[0])}\n{answer_sentence(gold)}",
            "cot_type": "math",
            "source_type": "synthetic/digit_chain",
            "deepseek_thinking_trajectory": trace_text(steps),
            "deepseek_attempt": answer_sentence(final),
            "deepseek_grade": "Yes" if final == gold else "No",
        }
    if schema == "openr1":
        generations, verified = [], []
        for _ in range(OPENR1_GENERATIONS):
            steps, final = solve(problem, rng, slip_rate)
            generations.append(f"{THINK_OPEN}\n{trace_text(steps)}\n{THINK_CLOSE}\n\n{answer_sentence(final)}")
            verified.append(final == gold)
        return {
            "problem": problem.question,
            "answer": str(gold),
            "solution": answer_sentence(gold),
            "generations": generations,
            "correctness_math_verify": verified,
            "is_reasoning_complete": [True] * len(generations),
            "finish_reasons": ["stop"] * len(generations),
        }
    raise ValueError(f"unknown schema {schema!r} (choose from {', '.join(SCHEMAS)})")


def records(
    schema: str, size: int, seed: int, *, split: str = "train", slip_rate: float = 0.0, task: str = "digit_chain"
) -> list[dict]:
    """`size` rows in `schema`'s columns; the teacher's slips (s1k, openr1) are seeded with the rows."""
    if task not in TASKS:
        raise ValueError(f"unknown synthetic task {task!r} (choose from {', '.join(TASKS)})")
    if schema not in SCHEMAS:
        raise ValueError(f"unknown schema {schema!r} (choose from {', '.join(SCHEMAS)})")
    rng = random.Random(f"teacher:{schema}:{seed}")
    return [record(schema, p, rng, slip_rate) for p in problems(split, size, seed, tag=schema)]


def tokenizer_corpus(seed: int = 0, per_schema: int = 1500) -> list[str]:
    """Text the builtin tokenizer is trained on: every schema's questions, traces and answers."""
    texts: list[str] = []
    for schema in SCHEMAS:
        for row in records(schema, per_schema, seed, slip_rate=0.5):
            texts.extend(str(v) for v in row.values() if isinstance(v, str))
            texts.extend(row.get("generations", []))
    return texts


def corpus_fingerprint() -> str:
    """A short hash of a few rows of every schema: changes whenever the task's wording does."""
    sample = [records(schema, 4, 0, slip_rate=0.5) for schema in SCHEMAS]
    return hashlib.sha256(repr(sample).encode()).hexdigest()[:12]
