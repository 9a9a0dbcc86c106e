"""Formatters: rows in a real dataset's column schema -> prompt (chat messages), completion, gold answer.

The same formatter serves the hub dataset and a local JSONL/Parquet copy of it. A formatter returns
None for a row that the study does not use (e.g. an OpenR1 row without a math-verified generation).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from core.grading.markers import THINK_CLOSE, THINK_OPEN, last_boxed  # the grader's reading of both

INSTRUCTION = "Put the final answer in \\boxed{}."


@dataclass(frozen=True)
class FormattedRow:
    prompt: list[dict[str, str]]  # chat messages ending with the user's question
    completion: str  # the assistant's reply to learn (may open with a <think> block)
    answer: str  # the gold answer, as the grader compares it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class MissingColumn(KeyError):
    """A row lacks a column its formatter needs (the registry names the dataset in the message)."""

    def __init__(self, column: str, present: list[str]):
        super().__init__(column)
        self.column = column
        self.present = present


def user_prompt(question: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"{question.strip()}\n{INSTRUCTION}"}]


def think_block(reasoning: str) -> str:
    return f"{THINK_OPEN}\n{reasoning.strip()}\n{THINK_CLOSE}\n\n"


def answer_sentence(answer: int | str, boxed: bool = True) -> str:
    """How every training target states its answer (boxed, as the prompt asks; unboxed only where a
    dataset's own rows say it plainly, like Orca-Math's)."""
    return f"The answer is \\boxed{{{answer}}}." if boxed else f"The answer is {answer}."


def _col(row: dict[str, Any], column: str) -> Any:
    if column not in row or row[column] is None:
        raise MissingColumn(column, sorted(row))
    return row[column]


_NUMBER_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def box_final_answer(text: str) -> tuple[str, str] | None:
    """(text with its final answer boxed, the answer): the last \\boxed{} when there is one, else
    the last number, boxed where it stands. None when the text has no final answer."""
    boxed = last_boxed(text)
    if boxed is not None:
        return text, boxed
    matches = list(_NUMBER_RE.finditer(text))
    if not matches:
        return None
    last = matches[-1]
    answer = last.group().replace(",", "")
    return f"{text[: last.start()]}\\boxed{{{answer}}}{text[last.end() :]}", answer


def orca_math(row: dict[str, Any]) -> FormattedRow | None:
    """microsoft/orca-math-word-problems-200k: `question`, `answer` (a worked answer, no think trace).

    One answer protocol for every condition: the final answer (the last number) is boxed where it
    stands, as every other training target ends in \\boxed{}; a row without one is dropped (None)."""
    boxed = box_final_answer(str(_col(row, "answer")).strip())
    if boxed is None:
        return None
    completion, gold = boxed
    return FormattedRow(user_prompt(_col(row, "question")), completion, gold)


def s1k(row: dict[str, Any]) -> FormattedRow:
    """simplescaling/s1K-1.1: R1's `deepseek_thinking_trajectory` in <think>, then `deepseek_attempt`."""
    trajectory = str(_col(row, "deepseek_thinking_trajectory"))
    attempt = str(_col(row, "deepseek_attempt")).strip()
    solution = str(row.get("solution") or "")
    gold = last_boxed(solution) or last_boxed(attempt) or solution.strip()
    return FormattedRow(user_prompt(_col(row, "question")), think_block(trajectory) + attempt, gold)


def _complete_generation(row: dict[str, Any], index: int, text: str) -> bool:
    """A finished generation: its reasoning complete, stopped by the model (not the length limit),
    and its think block closed. Rows without these columns count as complete."""

    def flag(column: str, good) -> bool:
        values = row.get(column)
        return not isinstance(values, (list, tuple)) or index >= len(values) or values[index] == good

    return flag("is_reasoning_complete", True) and flag("finish_reasons", "stop") and THINK_CLOSE in text


def openr1(row: dict[str, Any], verified_only: bool = True) -> FormattedRow | None:
    """open-r1/OpenR1-Math-220k: the first complete generation that math-verify marked correct (or None)."""
    generations = [str(g) for g in _col(row, "generations")]
    verdicts = list(_col(row, "correctness_math_verify")) if verified_only else [True] * len(generations)
    chosen = next(
        (g for i, (g, ok) in enumerate(zip(generations, verdicts)) if ok and _complete_generation(row, i, g)), None
    )
    if chosen is None:
        return None
    completion = chosen.strip()
    if THINK_CLOSE in completion and not completion.startswith(THINK_OPEN):
        completion = THINK_OPEN + "\n" + completion
    return FormattedRow(user_prompt(_col(row, "problem")), completion, str(_col(row, "answer")).strip())


_CALC_NOTE_RE = re.compile(r"<<[^>]*>>")


def gsm8k(row: dict[str, Any]) -> FormattedRow:
    """openai/gsm8k: `question`, `answer` = worked solution with <<calc>> notes, ending `#### N`."""
    solution = str(_col(row, "answer"))
    body, sep, final = solution.rpartition("####")
    if not sep:
        raise ValueError("gsm8k answer has no '#### N' line")
    gold = final.strip().replace(",", "")
    worked = _CALC_NOTE_RE.sub("", body).strip()
    return FormattedRow(user_prompt(_col(row, "question")), f"{worked}\n{answer_sentence(gold)}", gold)


def math500(row: dict[str, Any]) -> FormattedRow:
    """HuggingFaceH4/MATH-500: `problem`, `solution`, `answer`."""
    return FormattedRow(
        user_prompt(_col(row, "problem")), str(row.get("solution") or "").strip(), str(_col(row, "answer")).strip()
    )


FORMATTERS: dict[str, Callable[..., FormattedRow | None]] = {
    "orca_math": orca_math,
    "s1k": s1k,
    "openr1": openr1,
    "gsm8k": gsm8k,
    "math500": math500,
}
