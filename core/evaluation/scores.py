"""Benchmark scores: unbiased pass@k, majority vote (maj@k) and a 95% interval for a score."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from statistics import NormalDist
from typing import TypeVar

Answer = TypeVar("Answer", bound=Hashable)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples of which ``c`` are correct (Chen et al. 2021).

    1 - C(n-c, k) / C(n, k), computed as the stable product 1 - prod_{i=n-c+1}^{n} (1 - k/i), which
    never forms the huge binomials; accurate to float precision for any n up to 1,000 and k <= n.
    """
    if n < 1 or k < 1:
        raise ValueError(f"pass@k needs n >= 1 and k >= 1 (got n={n}, k={k})")
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per problem, but only {n} were drawn")
    if not 0 <= c <= n:
        raise ValueError(f"correct count {c} is outside 0..{n}")
    if n - c < k:  # every k-subset holds a correct sample
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


def maj_at_k(
    answers: Sequence[Answer | None],
    correct: Sequence[bool],
    k: int,
    key: Callable[[Answer], Hashable] = lambda a: a,
) -> bool:
    """Whether the most common answer among the first ``k`` samples is correct.

    ``answers`` are the extracted answers (None: no answer; it gets no vote), ``correct`` their
    verdicts, ``key`` maps equivalent answers to one key (e.g. ``normalize.clean(a).text``). A tie goes
    to the answer seen first. False when no sample among the first k has an answer.
    """
    if k < 1 or k > len(answers) or len(answers) != len(correct):
        raise ValueError(f"maj@{k} needs 1 <= k <= {len(answers)} and one verdict per answer")
    votes: dict[Hashable, list[int]] = {}  # key -> [count, index of first sample]
    for i in range(k):
        answer = answers[i]
        if answer is None:
            continue
        vote = votes.setdefault(key(answer), [0, i])
        vote[0] += 1
    if not votes:
        return False
    _, first = max(votes.values(), key=lambda v: (v[0], -v[1]))
    return bool(correct[first])


def wilson_interval(successes: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``successes / n`` (``successes`` may be a sum of
    per-problem scores such as pass@k). Unlike the normal approximation it stays inside [0, 1]
    and is sensible at 0% and 100%."""
    if n < 1:
        raise ValueError("an interval needs at least one problem")
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} is outside 0..{n}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At 0% and 100% the bound is exactly 0 or 1; rounding would leave 2.8e-17.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def score_with_interval(scores: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) for per-problem scores in [0, 1] (verdicts or pass@k values)."""
    if not scores:
        raise ValueError("no problems to score")
    mean = sum(scores) / len(scores)
    low, high = wilson_interval(sum(scores), len(scores), confidence)
    return mean, low, high


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean of a - b, low, high) for two conditions' scores on the same problems, in the same order.

    Scored on the same problems, two conditions' verdicts are correlated; the interval of the
    difference uses that pairing (McNemar's setting). For 0/1 verdicts it is the Agresti-Min interval
    (the Wald interval of the discordant pairs after adding 1/2 to each of the four cells, which
    keeps its coverage near 95% even with few discordant pairs); for fractional scores (pass@k,
    several samples) the normal interval of the per-problem differences.
    """
    if len(a) != len(b):
        raise ValueError(f"paired scores need the same problems ({len(a)} vs {len(b)})")
    n = len(a)
    if n < 1:
        raise ValueError("a paired difference needs at least one problem")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    diff = (sum(a) - sum(b)) / n
    if all(x in (0, 1) for x in a) and all(x in (0, 1) for x in b):
        only_a = sum(1 for x, y in zip(a, b) if x and not y) + 0.5
        only_b = sum(1 for x, y in zip(a, b) if y and not x) + 0.5
        m = n + 2.0
        centre = (only_a - only_b) / m
        half = z * math.sqrt(max(0.0, (only_a + only_b) - (only_a - only_b) ** 2 / m)) / m
    else:
        diffs = [x - y for x, y in zip(a, b)]
        centre = diff
        variance = sum((d - diff) ** 2 for d in diffs) / max(1, n - 1)
        half = z * math.sqrt(variance / n)
    return diff, max(-1.0, centre - half), min(1.0, centre + half)


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): Student's t interval of a mean over a few runs (seeds); one value gives
    no interval (low = high = the value)."""
    if not values:
        raise ValueError("no values to average")
    n = len(values)
    mean = sum(values) / n
    if n == 1:
        return mean, mean, mean
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = _t_quantile(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def _t_quantile(p: float, dof: int) -> float:
    """Student's t quantile (exact for 1 and 2 degrees of freedom, Hill's 1970 series beyond: within 0.2% of the table)."""
    if dof == 1:
        return math.tan(math.pi * (p - 0.5))
    if dof == 2:
        q = 2 * p - 1
        return q * math.sqrt(2 / (1 - q * q))
    z = NormalDist().inv_cdf(p)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / dof + g2 / dof**2 + g3 / dof**3 + g4 / dof**4
