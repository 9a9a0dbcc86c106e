"""Find the final answer in a model completion.

The answer region is the text after the last ``</think>``. A completion that opened a think block
and never closed it was cut off mid-thought and has no answer, whatever numbers it contains.
Within the region the rules run in a fixed order and the first that finds something wins:
the last balanced ``\\boxed{}``/``\\fbox{}``, ``#### N``, "the answer is ...", "A: N", and, only
when the caller allows it, the last number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.grading.markers import THINK_CLOSE, THINK_OPEN, boxed_answers

_HASH = re.compile(r"####[ \t]*([^\n]*)")
_ANSWER_IS = re.compile(r"answer(?:\*\*|\s)*(?:(?:is|was|would\s+be|will\s+be)\b|:|=)(?:\*\*|[ \t:])*", re.I)
_A_COLON = re.compile(r"(?:^|\n)[ \t*]*A[ \t]*:[ \t]*([^\n]*)")
_LAST_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?|-?\.\d+")
_PROSE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}")
_COMMAND = re.compile(r"\\[A-Za-z]+")
_MIN_SENTENCE_WORDS = 3
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
# A sentence ends at a period/semicolon followed by a space or the end (a decimal point is not
# followed by a space), or at a comma that starts a clause ("18, so she ...").
_SENTENCE_END = re.compile(r"[.;](?=\s|$)|,\s+(?=[A-Za-z]{2})|\s+(?:because|since|which|as)\s")


@dataclass(frozen=True, slots=True)
class Extraction:
    """The answer as the model wrote it (None when there is none) and the rule that found it.

    rule is one of boxed, hash, answer_is, a_colon, last_number; "truncated" when the think block
    never closed; None when no rule matched.
    """

    text: str | None
    rule: str | None
    boxes: tuple[str, ...] = ()  # rule boxed: every non-empty box of the answer region, first to last


def answer_region(completion: str, think_prefilled: bool = False) -> str | None:
    """The text after the last ``</think>``, or None when the completion is still thinking.

    ``think_prefilled`` says the prompt already opened the think block, so a completion without
    ``</think>`` never left it. Without either tag the whole completion is the answer region.
    """
    close = completion.rfind(THINK_CLOSE)
    if close >= 0:
        region = completion[close + len(THINK_CLOSE) :]
        # A second think block opened after the last close and never closed: cut off again.
        return None if THINK_OPEN in region else region
    if think_prefilled or THINK_OPEN in completion:
        return None
    return completion


def trim_sentence(value: str) -> str:
    """Cut "18 dollars. She then ..." to "18 dollars"; a leading math span wins when present."""
    value = value.strip().strip("*").strip()
    m = _MATH_SPAN.match(value)
    if m:
        return next(g for g in m.groups() if g is not None).strip()
    end = _SENTENCE_END.search(value)
    if end:
        value = value[: end.start()]
    return value.strip().strip("*").strip()


def _math_spans(text: str) -> list[str]:
    """The contents of the math spans in ``text`` (a ``$`` pair holding prose is currency, not math)."""
    spans = []
    for m in _MATH_SPAN.finditer(text):
        content = next(g for g in m.groups() if g is not None).strip()
        if not _PROSE_WORD.search(_COMMAND.sub(" ", content)):
            spans.append(content)
    return spans


def answer_in_sentence(value: str) -> str:
    """ "Final Answer: Janet makes $18 every day" -> ``18``: a whole sentence's answer is its last math
    span, or, with no LaTeX in it, its last number. Short values ("18 dollars") are kept whole."""
    if len(_PROSE_WORD.findall(_MATH_SPAN.sub(" ", value))) < _MIN_SENTENCE_WORDS:
        return value
    spans = _math_spans(value)
    if spans:
        return spans[-1]
    if "\\" in value:
        return value
    numbers = _LAST_NUMBER.findall(value)
    return numbers[-1] if numbers else value


def _answer_is(region: str) -> str | None:
    last = None
    for match in _ANSWER_IS.finditer(region):
        last = match
    if last is None:
        return None
    rest = region[last.end() :]
    line, _, after = rest.partition("\n")
    if not line.strip().strip("*").strip():
        # "Final answer:\n\n18": the value sits on the next non-empty line.
        line = next((ln for ln in after.split("\n", 3)[:3] if ln.strip()), "")
    value = answer_in_sentence(trim_sentence(line))
    return value or None


def extract_answer(completion: str, allow_last_number: bool = False, think_prefilled: bool = False) -> Extraction:
    """Apply the extraction rules, in order, to the answer region of ``completion``."""
    region = answer_region(completion, think_prefilled)
    if region is None:
        return Extraction(None, "truncated")
    boxes = boxed_answers(region)
    if boxes:
        return Extraction(boxes[-1], "boxed", tuple(boxes))
    if "####" in region:
        for m in reversed(_HASH.findall(region)):
            value = trim_sentence(m)
            if value:
                return Extraction(value, "hash")
    answer = _answer_is(region)
    if answer:
        return Extraction(answer, "answer_is")
    matches = _A_COLON.findall(region)
    if matches:
        value = trim_sentence(matches[-1])
        if value:
            return Extraction(value, "a_colon")
    if allow_last_number:
        numbers = _LAST_NUMBER.findall(region)
        if numbers:
            return Extraction(numbers[-1], "last_number")
    return Extraction(None, None)
