"""`eval/<bench>.json`: the scores and trace statistics of a benchmark's journal, written atomically.

accuracy is first-sample accuracy (the greedy accuracy when decoding is greedy) with its Wilson 95%
interval; pass@k is the unbiased estimator over all n samples; maj@k is the majority vote of the
first k samples. Trace statistics follow the reference study's analysis of reasoning traces: how
long the think block is, and how often the model checks itself or backtracks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.evaluation.journal import ProblemResult
from core.evaluation.scores import maj_at_k, pass_at_k, score_with_interval
from core.grading.markers import THINK_CLOSE, THINK_OPEN
from core.grading.normalize import clean
from core.store.runstore import write_json_atomic

# Phrase -> pattern, matched case-insensitively in the reasoning (the think block when there is one).
SELF_VERIFICATION = {
    "let me check": r"\blet me (?:re-?)?check\b",
    "double-check": r"\bdouble[- ]check",
    "verify": r"\bverif(?:y|ying|ied|ication)\b",
}
BACKTRACKING = {
    "wait": r"\bwait\b",
    "alternatively": r"\balternatively\b",
    "hmm": r"\bhmm+\b",
    "actually": r"\bactually\b",
}
_PATTERNS = {name: re.compile(p, re.I) for name, p in {**SELF_VERIFICATION, **BACKTRACKING}.items()}


def reasoning_text(completion: str) -> str:
    """The think block's text (to the end when it never closed), or the whole completion without one."""
    start = completion.find(THINK_OPEN)
    if start < 0:
        return completion
    body = completion[start + len(THINK_OPEN) :]
    end = body.find(THINK_CLOSE)
    return body if end < 0 else body[:end]


def think_words(completion: str) -> int:
    return len(reasoning_text(completion).split()) if THINK_OPEN in completion else 0


def phrase_counts(completion: str) -> dict[str, int]:
    text = reasoning_text(completion)
    return {name: len(p.findall(text)) for name, p in _PATTERNS.items()}


def _rate(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 6) if values else None


def _scored(values: list[float]) -> dict[str, Any]:
    mean, low, high = score_with_interval(values)
    return {"value": round(mean, 6), "ci95": [round(low, 6), round(high, 6)]}


def trace_stats(completions: list[str]) -> dict[str, Any]:
    counts = [phrase_counts(c) for c in completions]
    with_think = [c for c in completions if THINK_OPEN in c]
    phrases = {
        name: {
            "per_completion": _rate([c[name] for c in counts]),
            "share": _rate([1.0 if c[name] else 0.0 for c in counts]),
        }
        for name in _PATTERNS
    }
    return {
        "share_think_block": _rate([1.0 if THINK_OPEN in c else 0.0 for c in completions]),
        "mean_think_words": _rate([think_words(c) for c in with_think]),
        "self_verification_per_completion": _rate([sum(c[n] for n in SELF_VERIFICATION) for c in counts]),
        "backtracking_per_completion": _rate([sum(c[n] for n in BACKTRACKING) for c in counts]),
        "phrases": phrases,
    }


def answer_key(answer: str) -> str:
    """Answers that differ only in formatting (spaces, $...$, a trailing period) vote together in maj@k."""
    return clean(answer).text


def summarize(
    results: list[ProblemResult], *, benchmark: str, ks: list[int], benchmark_size: int, settings: dict[str, Any]
) -> dict[str, Any]:
    """The summary of a journal's results (problems in any order; each counted once)."""
    if not results:
        raise ValueError(f"{benchmark}: no finished problems to summarize")
    n = min(len(r.completions) for r in results)
    bad = [k for k in ks if k > n]
    if bad:
        raise ValueError(f"pass@{bad[0]} needs at least {bad[0]} samples per problem, but only {n} were drawn")
    completions = [c for r in results for c in r.completions]
    tokens = [t for r in results for t in r.tokens]
    first = [1.0 if r.correct[0] else 0.0 for r in results]
    accuracy = _scored(first)
    return {
        "benchmark": benchmark,
        "n_problems": len(results),
        "benchmark_size": benchmark_size,
        "complete": len(results) >= benchmark_size,
        "samples": n,
        "correct": int(sum(first)),
        "accuracy": accuracy["value"],
        "ci95": accuracy["ci95"],
        "pass@k": {str(k): _scored([pass_at_k(n, sum(r.correct[:n]), k) for r in results]) for k in ks},
        "maj@k": {
            str(k): _scored([1.0 if maj_at_k(r.extracted, r.correct, k, key=answer_key) else 0.0 for r in results])
            for k in ks
        },
        "mean_completion_tokens": _rate(tokens),
        "share_truncated": _rate([1.0 if f == "length" else 0.0 for r in results for f in r.finish_reasons]),
        "share_think_closed": _rate([1.0 if THINK_CLOSE in c else 0.0 for c in completions]),
        "grader_errors": sum(rule == "error" for r in results for rule in r.rules),
        "trace": trace_stats(completions),
        "settings": settings,
    }


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, summary)
