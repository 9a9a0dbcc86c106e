"""The markers every part of rdtui reads the same way: think tags and boxed answers.

Grading, rewards, data formatters, the eval summary and the app all import these, so a completion's
think block and its boxed answer mean one thing everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"

# How many boxes to try, from the last backwards, when the later ones are unbalanced or empty.
# Bounded so that a huge completion full of unclosed boxes stays linear.
_MAX_BOX_CANDIDATES = 8

_BOX = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BRACE_TOKEN = re.compile(r"\\.|[{}]", re.S)
_BARE_TOKEN = re.compile(r"[^\s$]+")


def matching_brace(text: str, open_pos: int) -> int | None:
    """Index of the brace closing the one at ``open_pos``; escaped ``\\{``/``\\}`` do not count."""
    depth = 0
    for m in _BRACE_TOKEN.finditer(text, open_pos):
        token = m.group()
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth == 0:
                return m.start()
    return None


def _box_content(region: str, end_of_command: int) -> str | None:
    pos = end_of_command
    n = len(region)
    while pos < n and region[pos] in " \t":
        pos += 1
    if pos >= n:
        return None
    if region[pos] == "{":
        close = matching_brace(region, pos)
        return None if close is None else region[pos + 1 : close]
    if pos == end_of_command:  # `\boxedx`: not a box
        return None
    # `\boxed 5`: TeX takes the next token.
    m = _BARE_TOKEN.match(region, pos)
    return m.group() if m else None


def _box_starts_from_end(region: str) -> Iterator[int]:
    """End positions of ``\\boxed``/``\\fbox`` commands, last first (rfind: no scan of the whole text)."""
    end = len(region)
    for _ in range(_MAX_BOX_CANDIDATES):
        boxed, fbox = region.rfind("\\boxed", 0, end), region.rfind("\\fbox", 0, end)
        start = max(boxed, fbox)
        if start < 0:
            return
        m = _BOX.match(region, start)
        if m:
            yield m.end()
        end = start


def _boxes(region: str) -> Iterator[str]:
    """Contents of the balanced, non-empty boxes of ``region``, last first (at most _MAX_BOX_CANDIDATES)."""
    for end in _box_starts_from_end(region):
        content = _box_content(region, end)
        if content is not None and content.strip():
            yield content.strip()


def boxed_answers(region: str) -> list[str]:
    """Every box ``last_boxed`` would consider, first to last."""
    return list(reversed(list(_boxes(region))))


def last_boxed(region: str) -> str | None:
    """Content of the last balanced, non-empty ``\\boxed{}``/``\\fbox{}`` in ``region``."""
    return next(_boxes(region), None)
