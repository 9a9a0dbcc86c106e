"""Benchmark scores: unbiased pass@k, majority vote (maj@k) and a 95% interval for a score."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from statistics import NormalDist


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
    answers: Sequence[Hashable | None],
    correct: Sequence[bool],
    k: int,
    key: Callable[[Hashable], Hashable] = lambda a: a,
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
        if answers[i] is None:
            continue
        vote = votes.setdefault(key(answers[i]), [0, i])
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
