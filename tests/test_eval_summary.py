"""Summaries of a journal: pass@k, maj@k, accuracy with its interval, lengths and trace statistics."""

from __future__ import annotations

import itertools
import random

import pytest

from core.evaluation.benchmarks import Problem
from core.evaluation.generation import Completion
from core.evaluation.journal import ProblemResult
from core.evaluation.stage import grade_problem
from core.evaluation.summary import summarize, trace_stats


def result(
    pid: str,
    correct: list[bool],
    extracted: list[str | None] | None = None,
    completions: list[str] | None = None,
    reasons: list[str] | None = None,
) -> ProblemResult:
    n = len(correct)
    return ProblemResult(
        id=pid,
        prompt_hash="h",
        gold="1",
        completions=completions or ["x"] * n,
        extracted=extracted or [("1" if c else "2") for c in correct],
        correct=correct,
        rules=["boxed"] * n,
        tokens=[10] * n,
        finish_reasons=reasons or ["stop"] * n,
    )


def enumerated_pass_at_k(correct: list[bool], k: int) -> float:
    subsets = list(itertools.combinations(correct, k))
    return sum(any(s) for s in subsets) / len(subsets)


def test_pass_at_k_is_the_mean_over_problems_of_the_k_subset_enumeration() -> None:
    rng = random.Random(0)
    results = [result(str(i), [rng.random() < 0.3 for _ in range(8)]) for i in range(25)]
    summary = summarize(results, benchmark="b", ks=[1, 2, 4, 8], benchmark_size=25, settings={})
    for k in (1, 2, 4, 8):
        expected = sum(enumerated_pass_at_k(r.correct, k) for r in results) / len(results)
        assert summary["pass@k"][str(k)]["value"] == pytest.approx(expected, abs=1e-6)
        low, high = summary["pass@k"][str(k)]["ci95"]
        assert low <= summary["pass@k"][str(k)]["value"] <= high
    assert summary["pass@k"]["1"]["value"] <= summary["pass@k"]["8"]["value"]


def test_accuracy_counts_first_samples_and_carries_a_wilson_interval() -> None:
    results = [
        result("0", [True, False]),
        result("1", [False, True]),
        result("2", [True, True]),
        result("3", [False, False]),
    ]
    summary = summarize(results, benchmark="b", ks=[1, 2], benchmark_size=10, settings={})
    assert (summary["correct"], summary["accuracy"], summary["n_problems"]) == (2, 0.5, 4)
    assert 0.0 < summary["ci95"][0] < 0.5 < summary["ci95"][1] < 1.0
    assert summary["complete"] is False and summary["benchmark_size"] == 10
    assert summary["pass@k"]["2"]["value"] == 0.75


def test_maj_at_k_votes_answers_that_differ_only_in_formatting_together() -> None:
    # Two samples say 12 (written two ways), one says 13: the majority is right.
    votes = result("0", [True, True, False, False], extracted=["12", "$12$", "13", None])
    split = result("1", [False, False, True, False], extracted=["5", "5", "12", "12."])
    summary = summarize([votes, split], benchmark="b", ks=[1, 4], benchmark_size=2, settings={})
    assert summary["maj@k"]["4"]["value"] == 0.5  # problem 1: "5" wins the tie by coming first
    assert summary["maj@k"]["1"]["value"] == 0.5


def test_k_above_the_samples_drawn_is_refused() -> None:
    with pytest.raises(ValueError, match="pass@4 needs at least 4 samples"):
        summarize([result("0", [True, False])], benchmark="b", ks=[1, 4], benchmark_size=1, settings={})


def test_lengths_truncation_and_think_blocks() -> None:
    results = [
        result(
            "0",
            [True, False],
            completions=["<think>a b c</think>\\boxed{1}", "<think>a b c d e"],
            reasons=["stop", "length"],
        )
    ]
    summary = summarize(results, benchmark="b", ks=[1], benchmark_size=1, settings={})
    assert summary["share_truncated"] == 0.5
    assert summary["share_think_closed"] == 0.5
    assert summary["mean_completion_tokens"] == 10
    assert summary["trace"]["mean_think_words"] == 4


def test_trace_statistics_count_checking_and_backtracking_in_the_reasoning() -> None:
    completions = [
        "<think>3+4=7. Wait, let me check: 3+4 is 7. Let me verify again.</think> The answer is 7.",
        "<think>Hmm, alternatively 2*3. Actually 6.</think> \\boxed{6}",
        "The answer is 5. Wait for it.",  # no think block: the whole reply is the reasoning
    ]
    stats = trace_stats(completions)
    assert stats["phrases"]["wait"]["per_completion"] == pytest.approx(2 / 3)
    assert stats["phrases"]["let me check"]["share"] == pytest.approx(1 / 3)
    assert stats["phrases"]["verify"]["share"] == pytest.approx(1 / 3)
    assert stats["self_verification_per_completion"] == pytest.approx(2 / 3)
    assert stats["backtracking_per_completion"] == pytest.approx(5 / 3)  # wait; hmm, alternatively, actually; wait
    assert stats["share_think_block"] == pytest.approx(2 / 3)


def test_a_truncated_completion_scores_zero_even_with_an_answer_in_it() -> None:
    problem = Problem(id="0", messages=(), prompt="p", prompt_tokens=1, gold="12", kind="gsm8k")
    graded = grade_problem(
        problem,
        [
            Completion("The answer is \\boxed{12}", 9, "stop"),
            Completion("The answer is \\boxed{12} and then", 64, "length"),
        ],
        prefill="",
        allow_last_number=False,
    )
    assert graded.correct == [True, False]
    assert graded.extracted == ["12", None]
    assert graded.rules[1] == "length"


def test_a_prefilled_open_think_block_is_part_of_the_completion() -> None:
    problem = Problem(id="0", messages=(), prompt="p", prompt_tokens=1, gold="12", kind="gsm8k")
    graded = grade_problem(
        problem,
        [Completion("7+5=12 \\boxed{12}", 9, "stop"), Completion("7+5=12</think>\\boxed{12}", 9, "stop")],
        prefill="<think>\n",
        allow_last_number=False,
    )
    assert graded.completions[0].startswith("<think>\n")
    assert graded.correct == [False, True]  # an unclosed think block has no answer
