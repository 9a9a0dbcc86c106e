"""Completions graded per second: this grader vs Math-Verify alone, GSM8K-style and MATH-style.

Completions are built from the benchmark files shipped in core/data/benchmarks: R1-style traces (a think
block holding the reference solution and distractor numbers, then an answer region) with the
final answer written the ways models write it (boxed, dollars, units, thousands separators,
"the answer is"), a quarter of them wrong. Each figure is the median of several interleaved passes
over the same set in this one process (one core); this grader's caches are cleared before every pass, so
repeated answers within a pass are the only reuse. Math-Verify is called as its README shows:
verify(parse(gold), parse(completion)). Run: .venv/bin/python bench/bench_grader.py [--passes N]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.grading import grade, symbolic_stats, warm_up  # noqa: E402
from core.grading.equivalence import equivalent  # noqa: E402
from core.grading.normalize import clean  # noqa: E402
from core.paths import BUILTIN_DATA_DIR  # noqa: E402

DATA = BUILTIN_DATA_DIR


def _gsm8k_cases(rng: random.Random) -> list[tuple[str, str]]:
    cases = []
    for line in (DATA / "gsm8k_test.jsonl").read_text().splitlines():
        row = json.loads(line)
        solution, gold = row["answer"].rsplit("####", 1)
        gold = gold.strip()
        value = int(gold.replace(",", ""))
        answer = value if rng.random() < 0.75 else value + rng.choice([-2, -1, 1, 10])
        form = rng.choice([
            f"\\boxed{{{answer}}}", f"\\boxed{{\\${answer}}}", f"\\boxed{{{answer} \\text{{ dollars}}}}",
            f"\\boxed{{{answer:,}}}", f"The answer is {answer}.", f"#### {answer}", f"\\boxed{{{answer}.00}}",
        ])
        steps = solution.strip()
        # R1-style: reason, re-check (with a distractor), then restate the solution in the answer.
        think = (f"<think>\nOkay, let me work through this step by step.\n{steps}\nWait, is it {value + 3}? "
                 f"Let me double-check each step.\n{steps}\nYes, that is consistent.\n</think>\n\n")
        cases.append((f"{think}{steps}\n\nSo the total is {answer}.\n\n**Final Answer**\n{form}", row["answer"]))
    return cases


def _math_cases(rng: random.Random) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (DATA / "math500_test.jsonl").read_text().splitlines()]
    golds = [row["answer"] for row in rows]
    cases = []
    for row in rows:
        answer = row["answer"] if rng.random() < 0.75 else rng.choice(golds)
        completion = f"<think>\n{row['solution']}\n</think>\n\nThe final answer is $\\boxed{{{answer}}}$."
        cases.append((completion, row["answer"]))
    return cases


def _ours(cases: list[tuple[str, str]], benchmark: str) -> float:
    equivalent.cache_clear()
    clean.cache_clear()
    start = time.perf_counter()
    for completion, gold in cases:
        grade(completion, gold, benchmark)
    return len(cases) / (time.perf_counter() - start)


def _math_verify(cases: list[tuple[str, str]], benchmark: str) -> float:
    from math_verify import parse, verify

    start = time.perf_counter()
    for completion, gold in cases:
        gold_text = gold.rsplit("####", 1)[1].strip() if "####" in gold else gold
        verify(parse(f"${gold_text}$"), parse(completion))
    return len(cases) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=5, help="passes per figure; the median is printed")
    parser.add_argument("--mv-limit", type=int, default=300, help="completions per Math-Verify pass (it is slow)")
    args = parser.parse_args()
    rng = random.Random(0)
    sets = {"gsm8k": _gsm8k_cases(rng), "math": _math_cases(rng)}
    warm_up()
    _math_verify(sets["math"][:5], "math")  # import sympy outside the timed passes
    print(f"{'style':<8} {'completions':>11} {'this grader /s':>15} {'math-verify /s':>15} {'speed-up':>9}")
    for name, cases in sets.items():
        subset = cases[: args.mv_limit]
        # Interleaved passes: on a shared machine both graders then see the same background load.
        rates = [(_ours(cases, name), _math_verify(subset, name)) for _ in range(args.passes)]
        ours = statistics.median(r[0] for r in rates)
        theirs = statistics.median(r[1] for r in rates)
        print(f"{name:<8} {len(cases):>11} {ours:>15,.0f} {theirs:>15,.0f} {ours / theirs:>8.0f}x")
    stats = symbolic_stats()
    print(f"symbolic fallback: {stats['calls']} calls, {stats['timeouts']} timeouts over all passes")


if __name__ == "__main__":
    main()
