"""The runs table's rows kept between sessions, so the app opens on a large store without reading
every run's files again.

Each row is stored with the file keys (modification time and size) of the run.json, metrics and
eval files it was read from, the keys the live poller compares anyway: a row is reused only while
all of its files are as they were; anything changed since is read again. The file is derived data
in the user's state folder; an unreadable, foreign or outdated one is ignored and rewritten.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import time
from pathlib import Path
from typing import Any

from core.store.runstore import RunRecord, write_atomic
from tui.feeds.records import UNFINISHED
from tui.userstate import state_dir

SAVE_EVERY_S = 10.0
FORGET_AFTER_DAYS = 30


Entry = tuple[tuple, Any]  # (run.json key, metrics key, eval key), the row read from those files
_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(RunRecord) if f.init)
_EXTRAS = ("metric", "latest", "spark", "pass1")  # what a row holds besides its record and status


class RowCache:
    """The rows of one store (`row_type`: the dataclass of a row: a record, a status and _EXTRAS).

    Stored as plain data, not as objects: unpickling a thousand dataclass instances took longer
    than reading their run.json files would have."""

    def __init__(self, root: Path, row_type: type, folder: Path | None = None) -> None:
        self.row_type = row_type
        self.root = str(root.resolve())
        digest = hashlib.sha256(self.root.encode()).hexdigest()[:16]
        self.path = (folder or state_dir() / "rows") / f"{digest}.pickle"
        # What the stored rows look like: a change of either class makes older files unusable.
        self.shape = (_RECORD_FIELDS, tuple(f.name for f in dataclasses.fields(row_type)))
        self._saved_at = 0.0

    def load(self) -> dict[str, Entry]:
        """The stored rows by run id; {} when there are none or they cannot be used (an entry
        of the wrong shape is left out)."""
        try:
            with open(self.path, "rb") as fh:
                shape, root, entries = pickle.load(fh)
            if shape != self.shape or root != self.root:
                return {}
            rows = {}
            for run_id, (keys, fields, *extras) in entries.items():
                try:
                    record = RunRecord(**fields)
                except TypeError:
                    continue
                if record.status in UNFINISHED:
                    record._dir = Path(self.root, run_id)  # where effective_status looks for its owner
                rows[run_id] = (keys, self.row_type(record=record, status=record.status, **dict(zip(_EXTRAS, extras))))
            return rows
        except Exception:  # noqa: BLE001 - a damaged cache is no cache
            return {}

    def save(self, entries: dict[str, Entry], *, force: bool = False) -> bool:
        """Store the rows (at most every SAVE_EVERY_S unless forced); best effort: a read-only
        home folder costs the next start its speed, never this session."""
        now = time.monotonic()
        if not force and now - self._saved_at < SAVE_EVERY_S:
            return False
        self._saved_at = now
        flat = {
            run_id: (
                keys,
                {name: getattr(row.record, name) for name in _RECORD_FIELDS},
                *(getattr(row, name) for name in _EXTRAS),
            )
            for run_id, (keys, row) in entries.items()
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, pickle.dumps((self.shape, self.root, flat), protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            return False
        self._prune()
        return True

    def _prune(self) -> None:
        """Rows of stores not opened for FORGET_AFTER_DAYS (a scratch store, one moved away) go."""
        cutoff = time.time() - FORGET_AFTER_DAYS * 86400
        try:
            with os.scandir(self.path.parent) as entries:
                for entry in entries:
                    if entry.name.endswith(".pickle") and entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)
        except OSError:
            pass
