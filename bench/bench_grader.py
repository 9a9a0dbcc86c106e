"""Completions graded per second: this grader vs Math-Verify alone, GSM8K-style and MATH-style.

Completions are built from the benchmark files shipped in core/data/benchmarks: R1-style traces (a think
block holding the reference solution and distractor numbers, then an answer region) with the
final answer written the ways models write it (boxed, dollars, units, thousands separators,
"the answer is"), a quarter of them wrong. Three measurements, each the median of several
interleaved passes over the same set in this one run:
- in-process: grade() in this process (one core) against Math-Verify called as its README shows,
  verify(parse(gold), parse(completion)); this grader's caches (equivalence, cleaning and the
  symbolic verdict cache) are cleared before every pass;
- end to end: `rdtui grade -` fed the set as JSONL, process start included (Python, the CLI, the
  symbolic workers' start when the set needs them), against a fresh Python process that imports
  math_verify and grades the same JSONL;
- the symbolic fallback's timeout count on the MATH set, on the machine as it is and with a busy
  process on every core (started and stopped here).
Run: .venv/bin/python bench/bench_grader.py [--passes N] [--e2e-items N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.grading import grade, symbolic_stats, warm_up  # noqa: E402
from core.grading.equivalence import equivalent  # noqa: E402
from core.grading.normalize import clean  # noqa: E402
from core.grading.symbolic import pool  # noqa: E402
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
        form = rng.choice(
            [
                f"\\boxed{{{answer}}}",
                f"\\boxed{{\\${answer}}}",
                f"\\boxed{{{answer} \\text{{ dollars}}}}",
                f"\\boxed{{{answer:,}}}",
                f"The answer is {answer}.",
                f"#### {answer}",
                f"\\boxed{{{answer}.00}}",
            ]
        )
        steps = solution.strip()
        # R1-style: reason, re-check (with a distractor), then restate the solution in the answer.
        think = (
            f"<think>\nOkay, let me work through this step by step.\n{steps}\nWait, is it {value + 3}? "
            f"Let me double-check each step.\n{steps}\nYes, that is consistent.\n</think>\n\n"
        )
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


RDTUI = Path(sys.executable).parent / "rdtui"
# Math-Verify end to end: a fresh process reading the same JSONL, as a script around its README would.
_MV_SCRIPT = """
import json, sys
from math_verify import parse, verify
for line in sys.stdin:
    row = json.loads(line)
    gold = row["answer"].rsplit("####", 1)[1].strip() if "####" in row["answer"] else row["answer"]
    print(json.dumps({"correct": bool(verify(parse(f"${gold}$"), parse(row["completion"])))}))
"""


def _clear_caches() -> None:
    equivalent.cache_clear()
    clean.cache_clear()
    with pool().lock:
        pool().cache.clear()


def _symbolic_cases(rng: random.Random) -> list[tuple[str, str]]:
    """MATH-500 integer golds answered in forms beyond the fast checks (floor, ceiling, max, gcd), a
    quarter of them wrong: every one goes to the symbolic fallback."""
    cases = []
    for line in (DATA / "math500_test.jsonl").read_text().splitlines():
        gold = json.loads(line)["answer"]
        if not gold.isdigit() or int(gold) > 10**6:
            continue
        g = int(gold) + (0 if rng.random() < 0.75 else rng.choice([-1, 1]))
        form = rng.choice(
            [
                f"\\lfloor {g}.5 \\rfloor",
                f"\\lceil {g - 1}.2 \\rceil",
                f"\\max({g}, {g - 3})",
                f"\\gcd({2 * g}, {3 * g})",
                f"\\min({g}, {g + 4})",
            ]
        )
        cases.append((f"<think>\nWorking.\n</think>\n\nThe final answer is $\\boxed{{{form}}}$.", gold))
    return cases


def _ours(cases: list[tuple[str, str]], benchmark: str) -> float:
    _clear_caches()
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


def _jsonl(cases: list[tuple[str, str]], benchmark: str) -> str:
    return "".join(json.dumps({"completion": c, "answer": g, "benchmark": benchmark}) + "\n" for c, g in cases)


def _end_to_end(command: list[str], payload: str, expected_lines: int) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, input=payload, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    if len(result.stdout.splitlines()) != expected_lines:
        raise SystemExit(f"{command[0]}: {len(result.stdout.splitlines())} lines out for {expected_lines} in")
    return expected_lines / elapsed


def _timeouts_on_math(cases: list[tuple[str, str]]) -> tuple[int, int]:
    """(symbolic comparisons, undecided) for one pass over the MATH set with cold caches."""
    _clear_caches()
    before = symbolic_stats()
    undecided = sum(grade(c, g, "math").undecided for c, g in cases)
    return symbolic_stats()["calls"] - before["calls"], undecided


def _saturated(fn):
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]
    try:
        return fn()
    finally:
        for proc in busy:
            proc.kill()
        for proc in busy:
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=5, help="passes per figure; the median is printed")
    parser.add_argument("--mv-limit", type=int, default=300, help="completions per Math-Verify pass (it is slow)")
    parser.add_argument("--e2e-items", type=int, default=0, help="completions per end-to-end run (0: the whole set)")
    parser.add_argument("--e2e-passes", type=int, default=3, help="end-to-end runs per figure; the median is printed")
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
    print("\nend to end (process start included), the same JSONL through each:")
    print(f"{'style':<8} {'completions':>11} {'rdtui grade - /s':>16} {'math-verify /s':>15} {'speed-up':>9}")
    for name, cases in sets.items():
        subset = cases[: args.e2e_items or None]
        payload = _jsonl(subset, name)
        rates = [
            (
                _end_to_end([str(RDTUI), "grade", "-"], payload, len(subset)),
                _end_to_end([sys.executable, "-c", _MV_SCRIPT], payload, len(subset)),
            )
            for _ in range(args.e2e_passes)
        ]
        ours = statistics.median(r[0] for r in rates)
        theirs = statistics.median(r[1] for r in rates)
        print(f"{name:<8} {len(subset):>11} {ours:>16,.0f} {theirs:>15,.0f} {ours / theirs:>8.0f}x")
    symbolic = _symbolic_cases(rng)
    idle_calls, idle_undecided = _timeouts_on_math(symbolic)
    busy_calls, busy_undecided = _saturated(lambda: _timeouts_on_math(symbolic))
    print(
        f"\nsymbolic fallback: {len(symbolic)} MATH completions whose answers only Math-Verify can read, "
        f"caches cleared:"
    )
    print(f"  idle:      {idle_calls} symbolic comparisons, {idle_undecided} undecided (timed out twice)")
    print(
        f"  saturated: {busy_calls} symbolic comparisons, {busy_undecided} undecided ({os.cpu_count()} busy processes)"
    )
    stats = symbolic_stats()
    print(f"  all passes: {stats['calls']} calls, {stats['retries']} retries, {stats['timeouts']} timeouts")


if __name__ == "__main__":
    main()
