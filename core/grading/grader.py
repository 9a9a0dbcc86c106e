"""grade(): extraction, the fast equivalence checks, then the symbolic fallback, as one verdict.

grade() never raises on its strings: model output and gold fields are untrusted, and one odd sample
must not end a GRPO run or an evaluation. Any internal error becomes "not equal" with rule
``error``; it is counted (``grading_errors()``) and logged once per distinct input.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

from core.grading.equivalence import equivalent
from core.grading.extract import Extraction, extract_answer
from core.grading.markers import last_boxed
from core.grading.normalize import clean
from core.grading.symbolic import math_verify_grade, symbolic_equal

BENCHMARKS = ("gsm8k", "math")
MULTIPLE_BOXES = ("last", "all_agree", "any")  # which of several boxes in one answer is the answer
GRADERS = ("rdtui", "math-verify")
# Longer "answers" are runaway text, not answers; refusing them keeps every check linear and fast.
MAX_ANSWER_CHARS = 1000
# Integers, with or without thousands commas: most GSM8K answers, compared without any parsing.
_INTEGER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)")
_MAX_LOGGED_INPUTS = 10_000
_LOG_EXCERPT_CHARS = 300

log = logging.getLogger("rdtui.grading")


@dataclass(frozen=True, slots=True)
class Verdict:
    correct: bool
    extracted: str | None  # the answer as the model wrote it
    rule: str | None  # which extraction rule found it (see extract.Extraction); "error" when grading failed
    gold: str | None  # the gold answer compared against; None when the gold is unusable
    method: str  # fast | symbolic | none (nothing to compare) | too_long | error | math-verify
    timed_out: bool = False  # the symbolic check could not decide (over budget twice): undecided, not equal

    @property
    def undecided(self) -> bool:
        """Neither equal nor different could be shown within the symbolic budget (not the same as wrong)."""
        return self.timed_out


class _ErrorLog:
    """How many grade() calls failed, and which inputs were already logged (each is logged once)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.seen: set[int] = set()

    def record(self, exc: BaseException, completion: object, gold: object, benchmark: str) -> None:
        key = hash((repr(completion), repr(gold), benchmark))
        with self.lock:
            self.count += 1
            first = key not in self.seen
            if first and len(self.seen) < _MAX_LOGGED_INPUTS:
                self.seen.add(key)
        if first:
            log.warning(
                "grader error (graded as not equal): %s: %s; benchmark %s, completion ...%r, gold %r",
                type(exc).__name__,
                exc,
                benchmark,
                str(completion)[-_LOG_EXCERPT_CHARS:],
                str(gold)[:_LOG_EXCERPT_CHARS],
            )


_errors = _ErrorLog()


def grading_errors() -> int:
    """grade() calls in this process that hit an internal error (each graded as not equal)."""
    with _errors.lock:
        return _errors.count


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


def _check_option(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}: expected one of {', '.join(allowed)}")


def grade(
    completion: str,
    gold: object,
    benchmark: str = "gsm8k",
    allow_last_number: bool = False,
    *,
    think_prefilled: bool = False,
    answer_only: bool = False,
    multiple_boxes: str = "last",
    decimal_tolerance: bool = False,
    grader: str = "rdtui",
) -> Verdict:
    """Whether ``completion`` answers ``gold``. Never raises on the strings (see the module docstring).

    ``benchmark`` is "gsm8k" or "math" (it says how to read the gold field); ``allow_last_number``
    lets the last number in the answer region count as the answer when no explicit rule matched;
    ``think_prefilled`` says the prompt opened the think block, so a completion without
    ``</think>`` is unfinished; ``answer_only`` says ``completion`` is already the bare answer (a
    prediction column from another tool); ``multiple_boxes`` says which of several boxes counts
    (last, all_agree: every box must be right, any: one right box is enough);
    ``decimal_tolerance`` accepts ``0.333`` for 1/3 (numbers.py); ``grader`` "math-verify" grades the
    whole completion with Math-Verify alone, the way published tables are graded. An unknown
    benchmark or option value is a caller's mistake and raises ValueError.
    """
    _check_option("benchmark", benchmark, BENCHMARKS)
    _check_option("multiple_boxes policy", multiple_boxes, MULTIPLE_BOXES)
    _check_option("grader", grader, GRADERS)
    try:
        text = completion if isinstance(completion, str) else "" if completion is None else str(completion)
        target = gold_answer(gold, benchmark)
        if grader == "math-verify":
            return _grade_math_verify(text, target)
        if answer_only:
            found = Extraction(text.strip() or None, "answer_only")
        else:
            found = extract_answer(text, allow_last_number, think_prefilled)
        return _grade_extraction(found, target, multiple_boxes, decimal_tolerance)
    except Exception as exc:  # noqa: BLE001 - untrusted strings: any failure is "not equal", counted and logged
        _errors.record(exc, completion, gold, benchmark)
        return Verdict(False, None, "error", None, "error")


def _grade_extraction(found: Extraction, target: str | None, multiple_boxes: str, decimal_tolerance: bool) -> Verdict:
    if target is None or found.text is None:
        return Verdict(False, found.text, found.rule, target, "none")
    if len(found.text) > MAX_ANSWER_CHARS or len(target) > MAX_ANSWER_CHARS:
        return Verdict(False, found.text, found.rule, target, "too_long")
    if multiple_boxes == "last" or len(found.boxes) < 2:
        correct, method, undecided = _compare(found.text, target, decimal_tolerance)
        return Verdict(correct, found.text, found.rule, target, method, undecided)
    results = [_compare(box, target, decimal_tolerance) for box in found.boxes if len(box) <= MAX_ANSWER_CHARS]
    results += [(False, "too_long", False)] * (len(found.boxes) - len(results))
    combine = all if multiple_boxes == "all_agree" else any
    correct = combine(r[0] for r in results)
    method = "symbolic" if any(r[1] == "symbolic" for r in results) else "fast"
    # Undecided only when an undecided box could have changed the verdict.
    undecided = (
        not correct and any(r[2] for r in results) and (multiple_boxes == "any" or all(r[0] or r[2] for r in results))
    )
    return Verdict(correct, found.text, found.rule, target, method, undecided)


def _compare(answer: str, target: str, decimal_tolerance: bool) -> tuple[bool, str, bool]:
    """(equal, method, undecided) for one extracted answer against the gold answer."""
    if answer == target:
        return True, "fast", False
    if _INTEGER.fullmatch(answer) and _INTEGER.fullmatch(target):
        return int(answer.replace(",", "")) == int(target.replace(",", "")), "fast", False
    try:
        decided = equivalent(answer, target, decimal_tolerance)
    except RecursionError:
        decided = None
    if decided is not None:
        return decided, "fast", False
    result = symbolic_equal(clean(target).text, clean(answer).text)
    return result.equal, "symbolic", result.timed_out


def _grade_math_verify(text: str, target: str | None) -> Verdict:
    if target is None or not text.strip():
        return Verdict(False, None, None, target, "none")
    result = math_verify_grade(target, text)
    return Verdict(result.equal, result.extracted, "math_verify", target, "math-verify", result.timed_out)
