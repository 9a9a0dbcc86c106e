"""New records of one JSONL file (samples, an evaluation journal)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.store.jsonl import JsonlTail
from tui.feeds.poller import Feed


@dataclass
class LinesBatch:
    records: list[dict] = field(default_factory=list)
    reset: bool = False
    bad_lines: int = 0


class JsonlFeed(Feed):
    """New records of one JSONL file (samples, an evaluation journal)."""

    def __init__(self, path: Path, deliver: Callable[[LinesBatch], None]):
        super().__init__(deliver)
        self._tail = JsonlTail(path)

    def merge(self, old: LinesBatch, new: LinesBatch) -> LinesBatch:
        if new.reset:
            return new
        old.records.extend(new.records)
        old.bad_lines += new.bad_lines
        return old

    def poll(self) -> None:
        result = self._tail.poll()
        if result.records or result.reset or result.bad_lines:
            self.put(LinesBatch(result.records, result.reset, result.bad_lines))
