"""GRPO reward functions in TRL's calling convention, and the registry the config names them from.

Each reward is called as ``f(prompts, completions, completion_ids=None, **columns)`` and returns one
float per completion (or None where it cannot judge, which TRL turns into NaN and skips). Completions
arrive as strings or as ``[{"role": "assistant", "content": ...}]``; the gold answer is the dataset
column ``answer``. The function's ``__name__`` is the config name, since TRL logs
``rewards/<name>/mean``. Importing this module is cheap (no torch; math-verify only ever loads in
the grader's worker processes), because the config validator imports REWARD_FUNCTIONS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.grading import gold_answer, grade
from core.grading.markers import THINK_CLOSE, THINK_OPEN, last_boxed
from core.grading.symbolic import start_workers

RewardFunc = Callable[..., list[float | None]]


@dataclass(frozen=True, slots=True)
class RewardSettings:
    """The grpo config values the rewards read."""

    format_partial_credit: float = 0.5
    max_completion_length: int = 4096
    overlong_buffer: int = 512
    allow_last_number: bool = False
    multiple_boxes: str = "last"  # the grading section's values
    decimal_tolerance: bool = False
    grader: str = "rdtui"


def completion_text(completion: Any) -> str:
    """A completion as text: a string, or the contents of a list of chat messages."""
    if isinstance(completion, str):
        return completion
    return "".join(str(message.get("content") or "") for message in completion)


def _prompt_opens_think(prompt: Any) -> bool:
    text = completion_text(prompt[-1:]) if isinstance(prompt, list) else str(prompt)
    return text.rstrip().endswith(THINK_OPEN)


def _hit_length_limit(completion_ids: Sequence[Sequence[int]] | None, i: int, limit: int) -> bool:
    return completion_ids is not None and len(completion_ids[i]) >= limit


def make_correctness(settings: RewardSettings) -> RewardFunc:
    def correctness(prompts, completions, completion_ids=None, answer=None, **columns) -> list[float | None]:
        """1.0 when the grader accepts the answer, 0.0 otherwise, None when the gold is unusable.

        A completion that hit the length limit inside its think block is unfinished and scores 0.
        Grader errors and undecided symbolic checks score 0 and are logged as ``grader/errors`` and
        ``grader/undecided`` (counts in this batch).
        """
        if answer is None:
            raise ValueError("the correctness reward needs a dataset column named 'answer'")
        errors = undecided = 0
        rewards: list[float | None] = []
        for i, (prompt, completion, gold) in enumerate(zip(prompts, completions, answer, strict=True)):
            if gold_answer(gold) is None:
                rewards.append(None)
                continue
            text = completion_text(completion)
            cut_off = _hit_length_limit(completion_ids, i, settings.max_completion_length)
            prefilled = _prompt_opens_think(prompt) or (cut_off and THINK_CLOSE not in text)
            verdict = grade(
                text,
                gold,
                allow_last_number=settings.allow_last_number,
                think_prefilled=prefilled,
                multiple_boxes=settings.multiple_boxes,
                decimal_tolerance=settings.decimal_tolerance,
                grader=settings.grader,
            )
            errors += verdict.rule == "error"
            undecided += verdict.undecided
            rewards.append(1.0 if verdict.correct else 0.0)
        log_metric = columns.get("log_metric")
        if callable(log_metric):
            log_metric("grader/errors", float(errors))
            log_metric("grader/undecided", float(undecided))
        return rewards

    return correctness


def format_score(text: str, partial_credit: float, think_prefilled: bool = False) -> float:
    """1.0 for one non-empty think block followed by a boxed answer; ``partial_credit`` for the
    think block without the box; 0.0 otherwise (no block, unclosed, repeated, or empty)."""
    if text.count(THINK_CLOSE) != 1 or text.count(THINK_OPEN) > (0 if think_prefilled else 1):
        return 0.0
    head, _, region = text.partition(THINK_CLOSE)
    if THINK_OPEN in head:
        before, _, thought = head.partition(THINK_OPEN)
        if before.strip():
            return 0.0
    elif THINK_OPEN in region:
        return 0.0
    else:
        thought = head  # the prompt opened the block
    if not thought.strip():
        return 0.0
    return 1.0 if last_boxed(region) is not None else partial_credit


def make_format(settings: RewardSettings) -> RewardFunc:
    def format(prompts, completions, completion_ids=None, **columns) -> list[float | None]:  # noqa: A001
        """Reward a well-formed think block before a boxed answer (see format_score)."""
        return [
            format_score(completion_text(c), settings.format_partial_credit, _prompt_opens_think(p))
            for p, c in zip(prompts, completions, strict=True)
        ]

    return format


def overlong_penalty(length: int, max_length: int, buffer: int) -> float:
    """DAPO's soft overlong penalty: 0 up to ``max_length - buffer`` tokens, then falling linearly
    to -1 at ``max_length``, and -1 beyond."""
    start = max_length - buffer
    if length <= start:
        return 0.0
    if length >= max_length or buffer <= 0:
        return -1.0
    return (start - length) / buffer


def make_overlong(settings: RewardSettings) -> RewardFunc:
    def overlong(prompts, completions, completion_ids=None, **columns) -> list[float | None]:
        """A penalty in [-1, 0] for completions near the length limit; None without token ids."""
        if completion_ids is None:
            return [None] * len(completions)
        return [
            overlong_penalty(len(ids), settings.max_completion_length, settings.overlong_buffer)
            for ids in completion_ids
        ]

    return overlong


REWARD_FUNCTIONS: dict[str, Callable[[RewardSettings], RewardFunc]] = {
    "correctness": make_correctness,
    "format": make_format,
    "overlong": make_overlong,
}

# Ready-made functions with the default settings, for scripts and tests.
correctness = make_correctness(RewardSettings())
format = make_format(RewardSettings())  # noqa: A001 - the config's name for this reward
overlong = make_overlong(RewardSettings())


def build_reward_functions(grpo_cfg: Any) -> tuple[list[RewardFunc], list[float]]:
    """The reward functions and weights named by ``grpo.reward_weights``, in the config's order.

    Accepts the grpo section or the whole resolved config (whose grading section then applies).
    Raises ValueError on an unknown name.
    """
    grpo = getattr(grpo_cfg, "grpo", grpo_cfg)
    grading = getattr(grpo_cfg, "grading", None)
    settings = RewardSettings(
        format_partial_credit=float(grpo.format_partial_credit),
        max_completion_length=int(grpo.max_completion_length),
        overlong_buffer=int(grpo.overlong_buffer),
        allow_last_number=bool(grpo.allow_last_number),
        **(
            {}
            if grading is None
            else {
                "multiple_boxes": grading.multiple_boxes,
                "decimal_tolerance": grading.decimal_tolerance,
                "grader": grading.grader,
            }
        ),
    )
    funcs, weights = [], []
    for name, weight in dict(grpo.reward_weights).items():
        if name not in REWARD_FUNCTIONS:
            known = ", ".join(sorted(REWARD_FUNCTIONS))
            raise ValueError(f"grpo.reward_weights: unknown reward {name!r} (known: {known})")
        funcs.append(REWARD_FUNCTIONS[name](settings))
        weights.append(float(weight))
    if "correctness" in grpo.reward_weights:
        start_workers()  # Math-Verify imports while the model loads, not at the first symbolic answer
    return funcs, weights
