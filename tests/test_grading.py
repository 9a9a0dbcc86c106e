"""The grader against the judged case set, plus its rules, tolerance and pathological inputs."""

from __future__ import annotations

import threading
import time

import pytest

from core.grading import extract_answer, grade, symbolic_stats, warm_up
from core.grading.numbers import parse_number
from tests.grading_cases import all_cases

CASES = all_cases()


@pytest.fixture(scope="module", autouse=True)
def _warm_symbolic_workers():
    warm_up()


def test_the_judged_set_is_large_and_covers_both_benchmarks():
    assert len(CASES) >= 400
    assert sum(c.benchmark == "gsm8k" for c in CASES) >= 400
    assert sum(c.benchmark == "math" for c in CASES) >= 400
    assert sum(not c.correct for c in CASES) >= 150


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_grader_agrees_with_the_judged_verdict(case):
    verdict = grade(case.completion, case.gold, case.benchmark, **case.options())
    assert verdict.correct is case.correct, verdict


@pytest.mark.parametrize(
    ("completion", "text", "rule"),
    [
        ("<think>\\boxed{1}</think> \\boxed{2} then \\fbox{3}", "3", "boxed"),
        ("</think> the total is 4.\n#### 5", "5", "hash"),
        ("</think> So the final answer is: $\\frac{1}{2}$. Done", "\\frac{1}{2}", "answer_is"),
        ("</think> **Answer:** 12 apples, which is plenty", "12 apples", "answer_is"),
        ("</think> Q: x?\nA: 7", "7", "a_colon"),
        ("<think> 1 2 3", None, "truncated"),
        ("</think> nothing here 9", None, None),
        ("<think>a</think> \\boxed{1} <think> again, \\boxed{2}", None, "truncated"),
        ("</think> \\boxed{\\{1, 2\\}}", "\\{1, 2\\}", "boxed"),
        ("</think> \\boxed 7.", "7.", "boxed"),
        ("</think> \\boxed{12", None, None),
    ],
)
def test_extraction_rules_in_order(completion, text, rule):
    found = extract_answer(completion)
    assert (found.text, found.rule) == (text, rule)


def test_last_number_only_when_allowed():
    completion = "</think> so she pays 1,250 dollars"
    assert extract_answer(completion).text is None
    found = extract_answer(completion, allow_last_number=True)
    assert (found.text, found.rule) == ("1,250", "last_number")
    assert grade(completion, "#### 1250", allow_last_number=True).correct


def test_prefilled_think_block_without_close_is_unfinished():
    assert grade("the answer is \\boxed{18}", "18").correct
    assert not grade("the answer is \\boxed{18}", "18", think_prefilled=True).correct


def test_exact_rationals_no_float_surprises():
    assert parse_number("0.3").value == parse_number("\\frac{3}{10}").value
    assert grade("</think> \\boxed{0.3}", "\\frac{3}{10}", "math").correct
    assert grade("</think> \\boxed{0.30000000000000004}", "0.3", "math").correct  # printed float noise
    assert not grade("</think> \\boxed{0.3000001}", "0.3", "math").correct
    assert not grade("</think> \\boxed{100000000000000001}", "100000000000000000").correct


def test_verdict_reports_gold_rule_and_method():
    verdict = grade("<think>x</think> \\boxed{\\$1,000}", "The cost...\n#### 1000")
    assert (verdict.correct, verdict.extracted, verdict.rule, verdict.gold, verdict.method) == (
        True,
        "\\$1,000",
        "boxed",
        "1000",
        "fast",
    )
    assert grade("</think> \\boxed{5}", "").gold is None


def test_unknown_benchmark_is_an_error():
    with pytest.raises(ValueError, match="unknown benchmark"):
        grade("\\boxed{1}", "1", benchmark="aime")


# A quadratic or exponential blow-up takes minutes on these inputs; linear work takes milliseconds.
# The ceiling is generous so that a busy machine never fails the test.
SLOW_CEILING_S = 10.0


def _timed(completion: str, gold: str):
    start = time.perf_counter()
    verdict = grade(completion, gold, "math")
    return verdict, time.perf_counter() - start


def test_huge_completion_returns_fast():
    filler = "Let me reconsider 12 + {x} and \\boxed{" * 5000
    verdict, elapsed = _timed("<think>" + filler + "</think>" + "so " * 60_000 + "\\boxed{12}", "12")
    assert verdict.correct and elapsed < SLOW_CEILING_S


def test_deeply_nested_braces_return_fast():
    deep = "{" * 20_000 + "12" + "}" * 20_000
    verdict, elapsed = _timed(f"</think> \\boxed{{{deep}}}", "12")
    assert elapsed < SLOW_CEILING_S
    verdict, elapsed = _timed("</think> \\boxed{" + "\\frac{1}{" * 400 + "2" + "}" * 400 + "}", "12")
    assert not verdict.correct and elapsed < SLOW_CEILING_S


def test_expression_that_hangs_sympy_is_undecided_after_one_retry():
    before = symbolic_stats()
    verdict = grade("</think> \\boxed{9^{9^{9^{9^{9}}}} - 9^{9^{9^{9^{9}}}} + x!!!!!!!!}", "0", "math")
    assert not verdict.correct and verdict.undecided and verdict.method == "symbolic"
    after = symbolic_stats()
    assert after["timeouts"] == before["timeouts"] + 1 and after["retries"] == before["retries"] + 1
    # cached: the same pair is judged the same way again, without running it
    assert grade("</think> \\boxed{9^{9^{9^{9^{9}}}} - 9^{9^{9^{9^{9}}}} + x!!!!!!!!}", "0", "math").undecided
    assert symbolic_stats()["cache_hits"] == after["cache_hits"] + 1
    # the killed worker was replaced: the fallback still answers
    assert grade("</think> \\boxed{\\lceil 2.5 \\rceil}", "3", "math").correct


def test_symbolic_fallback_works_off_the_main_thread():
    results = []
    thread = threading.Thread(target=lambda: results.append(grade("</think> \\boxed{\\max(3,5)}", "5", "math")))
    thread.start()
    thread.join(timeout=30)
    assert results and results[0].correct and results[0].method == "symbolic"
