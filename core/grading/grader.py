"""grade(): extraction, the fast equivalence checks, then the symbolic fallback, as one verdict."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.grading.equivalence import equivalent
from core.grading.extract import extract_answer, last_boxed
from core.grading.normalize import clean
from core.grading.symbolic import symbolic_equal

BENCHMARKS = ("gsm8k", "math")
# Longer "answers" are runaway text, not answers; refusing them keeps every check linear and fast.
MAX_ANSWER_CHARS = 1000
# Integers, with or without thousands commas: most GSM8K answers, compared without any parsing.
_INTEGER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)")


@dataclass(frozen=True, slots=True)
class Verdict:
    correct: bool
    extracted: str | None  # the answer as the model wrote it
    rule: str | None  # which extraction rule found it (see extract.Extraction)
    gold: str | None  # the gold answer compared against; None when the gold is unusable
    method: str  # fast | symbolic | none (nothing to compare) | too_long
    timed_out: bool = False  # the symbolic check ran past its deadline (counted as not equal)


def gold_answer(gold: object, benchmark: str = "gsm8k") -> str | None:
    """The final answer inside a gold field: after ``####`` (GSM8K solutions), the last box
    (MATH solutions), or the field itself; None when empty."""
    if gold is None:
        return None
    text = str(gold).strip()
    if "####" in text:
        text = text.rsplit("####", 1)[1].strip()
    elif benchmark == "math" or "\\boxed" in text:
        text = last_boxed(text) or text
    return text or None


def grade(
    completion: str,
    gold: object,
    benchmark: str = "gsm8k",
    allow_last_number: bool = False,
    *,
    think_prefilled: bool = False,
) -> Verdict:
    """Whether ``completion`` answers ``gold``.

    ``benchmark`` is "gsm8k" or "math" (it says how to read the gold field); ``allow_last_number``
    lets the last number in the answer region count as the answer when no explicit rule matched;
    ``think_prefilled`` says the prompt opened the think block, so a completion without
    ``</think>`` is unfinished.
    """
    if benchmark not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {benchmark!r}: expected one of {', '.join(BENCHMARKS)}")
    found = extract_answer(completion, allow_last_number, think_prefilled)
    target = gold_answer(gold, benchmark)
    if target is None or found.text is None:
        return Verdict(False, found.text, found.rule, target, "none")
    if len(found.text) > MAX_ANSWER_CHARS:
        return Verdict(False, found.text, found.rule, target, "too_long")
    if found.text == target:
        return Verdict(True, found.text, found.rule, target, "fast")
    if _INTEGER.fullmatch(found.text) and _INTEGER.fullmatch(target):
        correct = int(found.text.replace(",", "")) == int(target.replace(",", ""))
        return Verdict(correct, found.text, found.rule, target, "fast")
    try:
        decided = equivalent(found.text, target)
    except RecursionError:
        decided = None
    if decided is not None:
        return Verdict(decided, found.text, found.rule, target, "fast")
    result = symbolic_equal(clean(target).text, clean(found.text).text)
    return Verdict(result.equal, found.text, found.rule, target, "symbolic", result.timed_out)
