"""Splitting a completion into its reasoning (`<think>` block) and its answer, for display."""

from __future__ import annotations

from dataclasses import dataclass

from core.grading.markers import THINK_CLOSE as CLOSE
from core.grading.markers import THINK_OPEN as OPEN


@dataclass(frozen=True)
class Completion:
    think: str | None  # None when the completion has no reasoning block
    answer: str
    closed: bool  # False when the reasoning never ended (truncated completion)


def split_think(text: str) -> Completion:
    """Chat templates may pre-fill `<think>`, so a completion can start inside the block."""
    open_at = text.find(OPEN)
    close_at = text.find(CLOSE)
    if close_at >= 0 and (open_at < 0 or open_at > close_at):
        return Completion(text[:close_at].strip("\n"), text[close_at + len(CLOSE) :].strip("\n"), True)
    if open_at < 0:
        return Completion(None, text, True)
    before = text[:open_at]
    if close_at < 0:
        return Completion(text[open_at + len(OPEN) :].strip("\n"), before.strip("\n"), False)
    think = text[open_at + len(OPEN) : close_at].strip("\n")
    answer = (before + text[close_at + len(CLOSE) :]).strip("\n")
    return Completion(think, answer, True)
