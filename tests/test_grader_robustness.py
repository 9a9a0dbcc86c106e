"""grade() never raises on model output or gold fields: random and adversarial strings, every option.

Hypothesis draws completions and golds from LaTeX fragments, dots, braces, unicode, huge numbers and
the answers that once crashed a GRPO run (``\\boxed{. = }``). The default suite draws a few thousand
examples; the slow test adds a deterministic fuzz loop of more than 100,000 inputs.
"""

from __future__ import annotations

import itertools
import logging
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.grading import BENCHMARKS, GRADERS, MULTIPLE_BOXES, grade, grading_errors, warm_up
from core.grading import grader as grader_module

FRAGMENTS = [
    "\\boxed{",
    "\\fbox{",
    "}",
    "{",
    ".",
    "..",
    "...",
    " = ",
    "=",
    "\\frac",
    "{1}",
    "{2}",
    "\\sqrt",
    "^",
    "_",
    "\\{",
    "\\}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ", ",
    "1",
    "2",
    "0",
    "9" * 60,
    "1" * 5000,
    "1e999",
    "10^{400}",
    "x",
    "\\sin",
    "\\cos",
    "\\pi",
    "i",
    "e",
    "!",
    "%",
    "\\%",
    "$",
    "\\$",
    "\\text{",
    "\\left(",
    "\\right)",
    "\\cup",
    "\\pm",
    "\\infty",
    "-",
    "+",
    "*",
    "/",
    "\\cdot",
    "\\times",
    " ",
    "\n",
    "</think>",
    "<think>",
    "The answer is ",
    "Final Answer: ",
    "#### ",
    "A: ",
    "\\begin{pmatrix}",
    "\\end{pmatrix}",
    "&",
    "\\\\",
    "_8",
    "_{16}",
    "\\log",
    "\\ln",
    "|",
    "\\binom",
    "\\dfrac",
    "°",
    "−",
    "π",
    "√",
    "∞",
    "é",
    "\u200b",
    "\ud800",
    "\x00",
    "\\approx",
    "\\in",
    "0.333",
    ",000",
    "\\,",
    "\\!",
    "(.)",
    "\\mathbf{",
    "9^{9^{9}}",
    "\\lceil",
    ".5",
    "5.",
    "2600\\, \\text{g}",
    "32, 349",
    "\\sin 2x",
    "1 + 2 + ... + 10",
    ". = ",
    "\\;",
    "~",
    "\\mbox{",
    "\\displaystyle",
    "0/0",
    "1/0",
]
ADVERSARIAL = [
    "<think>\nx\n</think>\n\nThe answer is \\boxed{. = }.",
    "\\boxed{1 + 2 + ... + 10}",
    "\\boxed{. = }",
    "The answer is ..",
    "\\boxed{(.)}",
    "\\boxed{. + 2}",
    "\\boxed{(. , 2)}",
    "\\boxed{" + "9" * 5000 + "}",
    "\\boxed{10^{10^{10}}}",
    "\\boxed{1e400}",
    "\\boxed{" + "(" * 3000 + "}",
    "\\boxed{\\frac{1}{0}}",
    "\\boxed{0^{-1}}",
    "\\boxed{500!}",
    "\\boxed{(500!)^{(500!)}}",
    "\\boxed{\\binom{10000}{5000}}",
]
GOLDS = ["5", "8", "(1,2)", "\\frac{1}{3}", "#### 18", "9" * 5000, "1e999", ". = ", "", "\\boxed{.}", "\\text{(E)}"]

text = st.one_of(
    st.lists(st.sampled_from(FRAGMENTS), max_size=14).map("".join),
    st.text(max_size=60),
    st.sampled_from(ADVERSARIAL + GOLDS),
)
OPTIONS = [
    {
        "benchmark": b,
        "allow_last_number": a,
        "think_prefilled": t,
        "answer_only": o,
        "multiple_boxes": m,
        "decimal_tolerance": d,
    }
    for b, a, t, o, m, d in itertools.product(
        BENCHMARKS, (False, True), (False, True), (False, True), MULTIPLE_BOXES, (False, True)
    )
]


def _no_symbolic(monkeypatch) -> None:
    """Skip the Math-Verify workers: they run in their own processes and answer "not equal" on any
    error of theirs, so they cannot raise here; leaving them out keeps thousands of examples fast."""
    from core.grading.symbolic import SymbolicResult

    monkeypatch.setattr(grader_module, "symbolic_equal", lambda gold, pred: SymbolicResult(False))


@pytest.fixture(autouse=True)
def _quiet_grader_log():
    logging.getLogger("rdtui.grading").disabled = True
    yield
    logging.getLogger("rdtui.grading").disabled = False


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(completion=text, gold=text, option=st.sampled_from(OPTIONS))
def test_grade_never_raises_on_random_strings(monkeypatch, completion, gold, option):
    _no_symbolic(monkeypatch)
    for c, g in ((completion, gold), (gold, completion), (f"</think> \\boxed{{{completion}}}", gold)):
        verdict = grade(c, g, **option)
        assert isinstance(verdict.correct, bool)


@pytest.mark.parametrize("completion", ADVERSARIAL)
@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_answers_that_crashed_grpo_are_graded_without_error(monkeypatch, completion, benchmark):
    _no_symbolic(monkeypatch)
    for gold in GOLDS:
        verdict = grade(completion, gold, benchmark)
        assert verdict.rule != "error", verdict  # the root causes are fixed, not only caught
    assert grade(completion, "5", benchmark).correct is False


def test_internal_error_is_not_equal_counted_and_logged_once(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ValueError("Invalid literal for Fraction: '.'")

    monkeypatch.setattr(grader_module, "extract_answer", broken)
    logging.getLogger("rdtui.grading").disabled = False
    before = grading_errors()
    with caplog.at_level(logging.WARNING, logger="rdtui.grading"):
        verdicts = [grade("\\boxed{. = } odd input", "5") for _ in range(3)] + [grade("other input", "5")]
    assert all((v.correct, v.rule, v.method) == (False, "error", "error") for v in verdicts)
    assert grading_errors() == before + 4
    messages = [r.getMessage() for r in caplog.records if r.name == "rdtui.grading"]
    assert len(messages) == 2  # once per distinct input
    assert "odd input" in messages[0] and "Invalid literal" in messages[0]


def test_unknown_option_values_are_a_callers_mistake():
    for kwargs in ({"benchmark": "aime"}, {"multiple_boxes": "first"}, {"grader": "gpt"}):
        with pytest.raises(ValueError, match="unknown"):
            grade("\\boxed{1}", "1", **kwargs)


def _fuzz_inputs(rng: random.Random, count: int):
    pieces = FRAGMENTS + ADVERSARIAL
    for _ in range(count):
        yield (
            "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))),
            "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))),
        )


@pytest.mark.slow
def test_grade_never_raises_over_100k_fuzzed_inputs(monkeypatch):
    """Every input in both roles, under a rotating set of options: zero exceptions, zero grader errors."""
    _no_symbolic(monkeypatch)
    rng = random.Random(13)
    before, graded = grading_errors(), 0
    for i, (a, b) in enumerate(_fuzz_inputs(rng, 26_000)):
        option = OPTIONS[i % len(OPTIONS)]
        for completion, gold in ((a, b), (b, a), (f"</think> \\boxed{{{a}}}", b), (f"The answer is {a}", b)):
            grade(completion, gold, **option)
            graded += 1
    assert graded >= 100_000
    assert grading_errors() == before


@pytest.mark.slow
def test_grade_never_raises_with_the_real_symbolic_workers_and_math_verify():
    warm_up()
    rng = random.Random(7)
    for i, (a, b) in enumerate(_fuzz_inputs(rng, 150)):
        for grader in GRADERS:
            verdict = grade(f"</think> \\boxed{{{a}}}", b, BENCHMARKS[i % 2], grader=grader)
            assert isinstance(verdict.correct, bool)


def test_eval_counts_grader_errors_in_its_summary(monkeypatch):
    from core.evaluation.benchmarks import Problem
    from core.evaluation.generation import Completion
    from core.evaluation.stage import grade_problem
    from core.evaluation.summary import summarize

    problem = Problem("1", (), "prompt", 1, "#### 18", "gsm8k")
    samples = [Completion("</think> \\boxed{18}", 5, "stop"), Completion("</think> \\boxed{. = }", 5, "stop")]
    fine = grade_problem(problem, samples, "", False)
    assert fine.correct == [True, False] and fine.rules == ["boxed", "boxed"]

    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(grader_module, "extract_answer", broken)
    failed = grade_problem(problem, samples, "", False)
    assert failed.correct == [False, False] and failed.rules == ["error", "error"]
    summary = summarize([failed], benchmark="gsm8k_test", ks=[1], benchmark_size=1, settings={})
    assert summary["grader_errors"] == 2
    assert summarize([fine], benchmark="gsm8k_test", ks=[1], benchmark_size=1, settings={})["grader_errors"] == 0
