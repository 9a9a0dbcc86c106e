"""Every run in the store for the runs table: records re-read when run.json changes, the latest
metric, sparkline and pass@1 when their files change."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.store.logtail import read_last_lines
from core.store.runstore import EVAL_DIR, METRICS_FILE, RUN_FILE, Run, RunRecord
from tui.feeds.metrics import parse_chunk
from tui.feeds.modal_refresh import ModalRefresher
from tui.feeds.poller import Feed, stat_key
from tui.feeds.records import UNFINISHED, load_record
from tui.feeds.rowcache import Entry, RowCache
from tui.feeds.scores import best_pass1

SPARK_POINTS = 24
FIRST_SCREEN = 60  # rows of a tall terminal: read and shown first (the default of `first_screen`)


@dataclass
class RunRow:
    record: RunRecord
    status: str
    metric: str | None = None  # what the latest value and sparkline show: reward, else loss
    latest: float | None = None
    spark: list[float] = field(default_factory=list)
    pass1: float | None = None

    def snapshot(self) -> RunRow:
        """A copy for the screen, which the poller's later reads leave alone (they assign new
        values, never change the ones held). Positional: dataclasses.replace costs 8x as much,
        a tenth of the first paint with a thousand runs."""
        return RunRow(self.record, self.status, self.metric, self.latest, self.spark, self.pass1)


@dataclass
class RunsBatch:
    rows: dict[str, RunRow] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)


def latest_metric(path: str | Path) -> tuple[str | None, float | None, list[float]]:
    data, _ = read_last_lines(path, SPARK_POINTS * 2)
    records, _bad = parse_chunk(data)  # one json.loads for the lines, not one per line
    for name in ("reward", "loss"):
        values = [
            float(r[name])
            for r in records
            if isinstance(r.get(name), (int, float)) and not isinstance(r.get(name), bool)
        ]
        if values:
            return name, values[-1], values[-SPARK_POINTS:]
    return None, None, []


class RunsFeed(Feed):
    """Every run in the store: records re-read when run.json changes, metrics when they grow."""

    def __init__(
        self,
        root: Path,
        deliver: Callable[[RunsBatch], None],
        cache: RowCache | None = None,
        first_screen: int = FIRST_SCREEN,
    ):
        super().__init__(deliver)
        self.root = root
        self.cache = cache
        self.first_screen = first_screen  # how many of the newest runs come scored in the first poll
        self._cached: dict[str, Entry] | None = None  # rows of the last session, until the first poll ends
        self._dirty = False  # rows read since the cache was last saved
        self._saved_once = False
        self.scores_wanted = False  # set by the screen once the rows are painted
        # Rows taken from the last session whose scores are read again once, after the first paint:
        # their eval folder's key misses a summary rewritten in place by another tool (cp, an editor).
        self._recheck: set[str] = set()
        self._seen: dict[str, tuple] = {}  # run id -> (run.json key, metrics key, eval key)
        self._rows: dict[str, RunRow] = {}
        self._filled = False  # whether a poll has read the metrics and scores yet
        self._modal = ModalRefresher(self.fail)

    def merge(self, old: RunsBatch, new: RunsBatch) -> RunsBatch:
        old.rows.update(new.rows)
        old.removed -= set(new.rows)
        old.removed |= new.removed
        for run_id in new.removed:
            old.rows.pop(run_id, None)
        return old

    def poll(self) -> None:
        root = str(self.root)  # paths as strings: pathlib's cost shows at a thousand runs
        try:
            with os.scandir(root) as entries:
                dirs = [e.name for e in entries if not e.name.startswith(".") and e.is_dir()]
        except FileNotFoundError:
            dirs = []
        records = RunsBatch(removed=set(self._seen) - set(dirs))
        for run_id in records.removed:
            self._seen.pop(run_id, None)
            self._rows.pop(run_id, None)
        for run_id in dirs:
            record_key = stat_key(f"{root}/{run_id}/{RUN_FILE}")
            if record_key is None:
                continue
            old = self._seen.get(run_id)
            row = self._rows.get(run_id)
            if old is None and not self.polled_once and self._reuse(run_id, record_key, records):
                continue
            if old is None or old[0] != record_key or row is None:
                self._dirty = True
                record = load_record(f"{root}/{run_id}")
                if record is None:
                    continue
                if row is None:
                    row = self._rows[run_id] = RunRow(record, record.effective_status)
                else:
                    row.record, row.status = record, record.effective_status
                records.rows[run_id] = row.snapshot()
                self._seen[run_id] = (record_key, old[1], old[2]) if old else (record_key, None, None)
            elif row.record.status in UNFINISHED:
                status = row.record.effective_status  # a worker or queue that died changes no file
                if status != row.status:
                    row.status = status
                    records.rows[run_id] = row.snapshot()
        if (records.rows or records.removed) and self.scores_wanted:
            self.put(records)
        self._modal.maybe_refresh(
            [
                Run(self.root / run_id, row.record)
                for run_id, row in self._rows.items()
                if row.record.backend == "modal" and row.record.status in UNFINISHED
            ]
        )
        if self._cached is not None:
            self._cached = None  # what was not reused is gone from the store or changed
        if not self.scores_wanted:
            # The first poll, before the first paint: the metrics and scores of a screenful of
            # the newest runs (the table opens sorted newest first) go with the records; the
            # screen asks for the other runs' once the rows are on screen.
            self._read_extras(root, records, limit=self.first_screen)
            if records.rows or records.removed or not self.polled_once:
                self.put(records)  # the first batch even when empty: the screen then says so
            self.wake()
            return
        self._read_extras(root)
        if self.cache is not None and self._dirty and self.cache.save(self._entries(), force=not self._saved_once):
            self._dirty, self._saved_once = False, True

    def _reuse(self, run_id: str, record_key: tuple, records: RunsBatch) -> bool:
        """Take a run's row from the last session when its run.json is as it was then (its metrics
        and scores are checked, and read again if they changed, with everyone else's)."""
        if self._cached is None:
            self._cached = self.cache.load() if self.cache is not None else {}
        entry = self._cached.pop(run_id, None)
        if entry is None or entry[0][0] != record_key:
            return False
        keys, row = entry
        row.status = row.record.effective_status  # never stored: a process may have died since
        if keys[2] is not None:
            self._recheck.add(run_id)
        self._rows[run_id], self._seen[run_id] = row, keys
        records.rows[run_id] = row.snapshot()
        return True

    def _entries(self) -> dict[str, Entry]:
        return {run_id: (self._seen[run_id], self._rows[run_id]) for run_id in self._seen if run_id in self._rows}

    def _read_extras(self, root: str, into: RunsBatch | None = None, limit: int | None = None) -> None:
        """Latest metric, sparkline and pass@1 of the runs whose metrics or eval folder changed:
        of every run, or of the `limit` newest, added to the batch `into`."""
        extras = into or RunsBatch()
        # Newest first, as the table opens sorted: the first poll reads only the runs on screen.
        newest_first = sorted(self._seen, key=lambda run_id: -self._rows[run_id].record.created_at)
        for run_id in newest_first[:limit]:
            record_key, old_metrics, old_eval = self._seen[run_id]
            run_dir = f"{root}/{run_id}"
            metrics_key = stat_key(f"{run_dir}/{METRICS_FILE}")
            eval_key = stat_key(f"{run_dir}/{EVAL_DIR}")
            recheck = limit is None and run_id in self._recheck
            if metrics_key == old_metrics and eval_key == old_eval and not recheck:
                continue
            row = self._rows[run_id]
            if metrics_key != old_metrics:
                row.metric, row.latest, row.spark = latest_metric(f"{run_dir}/{METRICS_FILE}")
            if eval_key != old_eval or recheck:
                pass1 = best_pass1(run_dir)
                if recheck and pass1 == row.pass1 and (metrics_key, eval_key) == (old_metrics, old_eval):
                    continue  # as kept: nothing to deliver
                row.pass1 = pass1
            self._seen[run_id] = (record_key, metrics_key, eval_key)
            extras.rows[run_id] = row.snapshot()
            self._dirty = True
        if into is not None:
            return
        self._recheck.clear()
        if extras.rows:
            self.put(extras)
            if not self._filled:
                self.wake()  # the first metrics: show them now, not at the next tick
        self._filled = True
