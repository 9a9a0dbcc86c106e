"""One run's record and its status, read through the run store's own reader so the app and
`rdtui ls` always agree."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from core.errors import CorruptRun, RunNotFound
from core.store.runstore import RUN_FILE, RunRecord, read_record
from tui.feeds.poller import Feed, stat_key

# Statuses that can turn `lost` with no file changing (the worker or its queue died).
UNFINISHED = frozenset({"queued", "running"})


def load_record(run_dir: str) -> RunRecord | None:
    """A run's run.json through the run store's own reader (`read_record`), so its status is
    derived exactly as `rdtui ls` derives it (a queued run whose queue died is `lost`): None when
    there is none (a folder being deleted), a `corrupt` record saying why when it is unreadable or
    of the wrong shape. The record's id is its folder's name, so a copied run folder (two folders,
    one id inside) is two rows, not a clash."""
    try:
        record = read_record(run_dir)
        _ = record.effective_status  # a check of pid and host types too
    except CorruptRun as exc:
        return RunRecord.corrupt(Path(run_dir), one_line(exc))
    except RunNotFound:
        return None
    except Exception as exc:  # noqa: BLE001 - any shape of bad data is one corrupt row
        return RunRecord.corrupt(Path(run_dir), one_line(exc))
    name = os.path.basename(run_dir)
    if record.id != name:
        record = replace(record, id=name)
        record._dir = run_dir  # replace() leaves out the non-init field
    return record


def read_run_record(run_dir: Path) -> RunRecord | None:
    """One run's record for its own screen: as `load_record`, from a Path."""
    return load_record(str(run_dir))


def one_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


@dataclass
class RecordBatch:
    record: RunRecord | None
    status: str | None
    deleted: bool = False


class RecordFeed(Feed):
    def __init__(self, run_dir: Path, deliver: Callable[[RecordBatch], None]):
        super().__init__(deliver)
        self.run_dir = run_dir
        self._key: tuple | None = None
        self._status: str | None = None

    def poll(self) -> None:
        key = stat_key(self.run_dir / RUN_FILE)
        if key is None:
            if self._key != ("deleted",):
                self._key = ("deleted",)
                self.put(RecordBatch(None, None, deleted=True))
            return
        if key == self._key and self._status not in UNFINISHED:
            return
        record = read_run_record(self.run_dir)
        if record is None:
            return
        status = record.effective_status
        if key != self._key or status != self._status:
            self._key, self._status = key, status
            self.put(RecordBatch(record, status))
