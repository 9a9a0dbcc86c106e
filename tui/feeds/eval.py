"""A run's eval/ folder: summaries re-read when they change, journals followed line by line."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.store.jsonl import JsonlTail
from tui.feeds.lines import LinesBatch
from tui.feeds.poller import Feed, stat_key


@dataclass
class EvalBatch:
    summaries: dict[str, dict] = field(default_factory=dict)
    journals: dict[str, LinesBatch] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class EvalFeed(Feed):
    """A run's eval/ folder: summaries re-read when they change, journals followed line by line."""

    def __init__(self, eval_dir: Path, deliver: Callable[[EvalBatch], None]):
        super().__init__(deliver)
        self.eval_dir = eval_dir
        self._summary_keys: dict[str, tuple | None] = {}
        self._journals: dict[str, JsonlTail] = {}

    def merge(self, old: EvalBatch, new: EvalBatch) -> EvalBatch:
        old.summaries.update(new.summaries)
        for bench, lines in new.journals.items():
            if bench in old.journals and not lines.reset:
                old.journals[bench].records.extend(lines.records)
                old.journals[bench].bad_lines += lines.bad_lines
            else:
                old.journals[bench] = lines
        old.errors.extend(new.errors)
        return old

    def poll(self) -> None:
        try:
            names = os.listdir(self.eval_dir)
        except OSError:
            names = []
        batch = EvalBatch()
        for name in sorted(names):
            path = self.eval_dir / name
            if name.endswith(".jsonl"):
                bench = name[: -len(".jsonl")]
                tail = self._journals.setdefault(bench, JsonlTail(path))
                result = tail.poll()
                if result.records or result.reset or result.bad_lines:
                    batch.journals[bench] = LinesBatch(result.records, result.reset, result.bad_lines)
            elif name.endswith(".json"):
                bench = name[: -len(".json")]
                key = stat_key(path)
                if key == self._summary_keys.get(bench):
                    continue
                self._summary_keys[bench] = key
                try:
                    summary = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    batch.errors.append(f"{path.name}: unreadable summary ({exc})")
                    continue
                if isinstance(summary, dict):
                    batch.summaries[bench] = summary
        if batch.summaries or batch.journals or batch.errors or not self.polled_once:
            self.put(batch)  # the first poll even when empty: the tab then says there is nothing
