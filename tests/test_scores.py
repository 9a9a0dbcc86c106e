"""pass@k, maj@k and the Wilson interval against direct computation."""

from __future__ import annotations

import random
from fractions import Fraction
from itertools import combinations
from math import comb

import pytest

from core.evaluation.scores import maj_at_k, pass_at_k, score_with_interval, wilson_interval


def _enumerated(n: int, c: int, k: int) -> float:
    """Fraction of all k-subsets of the n samples that contain a correct one."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(combinations(samples, k))
    return sum(any(s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", range(1, 9))
def test_pass_at_k_matches_enumerating_subsets(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(_enumerated(n, c, k), abs=1e-12)


def test_pass_at_k_matches_the_binomial_formula_up_to_n_1000():
    rng = random.Random(0)
    for _ in range(300):
        n = rng.randint(1, 1000)
        c, k = rng.randint(0, n), rng.randint(1, n)
        exact = 1 - Fraction(comb(n - c, k), comb(n, k))
        assert pass_at_k(n, c, k) == pytest.approx(float(exact), rel=1e-9, abs=1e-12)
    assert pass_at_k(1000, 1, 1) == pytest.approx(0.001)
    assert pass_at_k(1000, 0, 1000) == 0.0
    assert pass_at_k(1000, 1, 1000) == 1.0


def test_pass_at_k_rejects_k_above_n():
    with pytest.raises(ValueError, match="pass@8 needs at least 8 samples"):
        pass_at_k(4, 1, 8)
    with pytest.raises(ValueError):
        pass_at_k(4, 5, 1)


def test_maj_at_k_votes_on_equivalent_answers():
    answers = ["18", "\\$18", "17", "17", None]
    correct = [True, True, False, False, False]
    key = {"18": 18, "\\$18": 18, "17": 17}.get
    assert maj_at_k(answers, correct, 4, key=key) is True  # tie 2-2: the answer seen first wins
    assert maj_at_k(answers, correct, 4) is False  # without a key, "17" has the most votes
    assert maj_at_k([None, None], [False, False], 2) is False
    with pytest.raises(ValueError):
        maj_at_k(answers, correct, 6)


def test_wilson_interval_known_values():
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(952, 1319)  # a GSM8K-sized score near 72%
    assert low == pytest.approx(0.6970, abs=1e-4) and high == pytest.approx(0.7453, abs=1e-4)
    mean, low, high = score_with_interval([1.0, 0.0, 1.0, 1.0])
    assert mean == 0.75 and 0 < low < 0.75 < high <= 1


def test_paired_difference_uses_the_pairing():
    from core.evaluation.scores import paired_difference

    # 20 problems only A solves, none only B solves, 80 both or neither: clearly A > B.
    a = [1] * 60 + [0] * 40
    b = [1] * 40 + [0] * 60
    diff, low, high = paired_difference(a, b)
    assert diff == pytest.approx(0.2) and 0.1 < low < 0.2 < high < 0.3
    # The same marginal accuracies with the discordant pairs split both ways: not significant.
    a2 = [1] * 40 + [0] * 20 + [1] * 20 + [0] * 20
    b2 = [1] * 40 + [1] * 10 + [0] * 10 + [0] * 20 + [0] * 20
    diff2, low2, high2 = paired_difference(a2, b2)
    assert low2 < 0 < high2
    assert paired_difference([1, 0, 1], [1, 0, 1])[1] < 0 < paired_difference([1, 0, 1], [1, 0, 1])[2]
    with pytest.raises(ValueError):
        paired_difference([1, 0], [1])


def test_mean_interval_over_seeds_uses_student_t():
    from core.evaluation.scores import mean_interval

    mean, low, high = mean_interval([0.5, 0.6, 0.55])
    assert mean == pytest.approx(0.55)
    assert high - mean == pytest.approx(4.303 * 0.05 / 3**0.5, rel=1e-3)  # t(0.975, 2 dof) = 4.303
    assert mean_interval([0.7]) == (0.7, 0.7, 0.7)
