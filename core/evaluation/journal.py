"""The resumable evaluation journal `eval/<bench>.jsonl`.

Line 1 is a header with the generation settings and their hash; every further line is one finished
problem (all of its samples), appended a batch at a time in one write. Restarting reads the lines
back and skips their ids, so a killed evaluation loses at most the batch it was generating. A
journal written with other settings is refused rather than mixed, and only one process may append
to a journal at a time (an advisory lock that dies with its process).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.errors import RdtuiError
from core.store.jsonl import JsonlWriter, encode_line, read_jsonl
from core.store.runstore import write_atomic

FORMAT = 1


class JournalError(RdtuiError):
    """The journal cannot be continued as asked (other settings, other prompts, in use)."""


@dataclass(frozen=True)
class ProblemResult:
    id: str
    prompt_hash: str
    gold: str
    completions: list[str]
    extracted: list[str | None]
    correct: list[bool]
    rules: list[str | None]
    tokens: list[int]
    finish_reasons: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ProblemResult:
        """A journal line as a result; ValueError when its shape is wrong (a damaged or foreign line
        is skipped and that problem evaluated again, never a traceback)."""
        if not isinstance(data, dict):
            raise ValueError("a journal line must be an object")
        for key in ("id", "prompt_hash", "gold"):
            if not isinstance(data.get(key), str):
                raise ValueError(f"journal line: {key} must be a string")
        raw = {k: data.get(k) for k in ("completions", "extracted", "correct", "rules", "tokens", "finish_reasons")}
        lists = {k: v for k, v in raw.items() if isinstance(v, list)}
        if len(lists) < len(raw) or len({len(v) for v in lists.values()}) != 1 or not lists["completions"]:
            raise ValueError(f"journal line {data['id']!r}: per-sample lists missing or of different lengths")
        kinds = {
            "completions": (str,),
            "extracted": (str, type(None)),
            "correct": (bool,),
            "rules": (str, type(None)),
            "tokens": (int,),
            "finish_reasons": (str,),
        }
        for key, allowed in kinds.items():
            if not all(isinstance(v, allowed) for v in lists[key]):
                raise ValueError(f"journal line {data['id']!r}: {key} has values of the wrong type")
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def settings_hash(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def _differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key} {json.dumps(a)} -> {json.dumps(b)}")
    return out


class Journal:
    """An open journal: `done` maps finished problem ids to their results. Use as a context manager."""

    def __init__(self, path: Path, settings: dict[str, Any]):
        self.path = Path(path)
        self.settings = settings
        self.hash = settings_hash(settings)
        self.done: dict[str, ProblemResult] = {}
        self._lock_fd: int | None = None

    def __enter__(self) -> Journal:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.path.with_name(f".{self.path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.close()
            raise JournalError(f"{self.path}: another evaluation is writing this journal; wait for it to end") from None
        try:
            self._load()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _load(self) -> None:
        if self.path.exists():
            _drop_torn_tail(self.path)
        if not self.path.exists() or self.path.stat().st_size == 0:
            self._write_header()
            return
        records = read_jsonl(self.path)
        header = records[0] if records else {}
        if header.get("type") != "header":
            raise JournalError(f"{self.path}: not an rdtui evaluation journal (no header line); move it away")
        if header.get("settings_hash") != self.hash:
            changed = "; ".join(_differences(header.get("settings") or {}, self.settings)[:4])
            raise JournalError(
                f"{self.path} was written with other generation settings ({changed}); "
                f"move it away to start over, or evaluate with the settings it was written with"
            )
        for record in records[1:]:
            try:
                result = ProblemResult.from_dict(record)
            except ValueError:
                continue  # damaged line: the problem is evaluated again
            self.done[result.id] = result

    def _write_header(self) -> None:
        header = {
            "type": "header",
            "format": FORMAT,
            "settings_hash": self.hash,
            "settings": self.settings,
            "created": time.time(),
        }
        write_atomic(self.path, encode_line(header))

    def check_prompts(self, prompt_hashes: dict[str, str]) -> None:
        """Refuse to continue when a finished problem's prompt is not the one the benchmark has now."""
        for pid, result in self.done.items():
            current = prompt_hashes.get(pid)
            if current is not None and current != result.prompt_hash:
                raise JournalError(
                    f"{self.path}: problem {pid} was evaluated with a different prompt (the benchmark "
                    f"data or its chat template changed); move the journal away to start over"
                )

    def append(self, results: list[ProblemResult]) -> None:
        """Record finished problems: one write, so a kill leaves whole lines (or a torn last one)."""
        fresh = [r for r in results if r.id not in self.done]
        JsonlWriter(self.path).append_many([r.to_dict() for r in fresh])
        self.done.update((r.id, r) for r in fresh)


def _drop_torn_tail(path: Path) -> None:
    """Cut a partial last line left by a kill mid-write, so the next append starts on a fresh line."""
    with open(path, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        chunk = 1 << 16
        end = size
        while end > 0:
            start = max(0, end - chunk)
            fh.seek(start)
            data = fh.read(end - start)
            cut = data.rfind(b"\n")
            if cut >= 0:
                fh.truncate(start + cut + 1)
                return
            end = start
        fh.truncate(0)


def read_journal(path: Path) -> tuple[dict[str, Any] | None, list[ProblemResult]]:
    """(header, results) of a journal, for readers that do not continue it (summaries, the app)."""
    records = read_jsonl(path)
    if not records or records[0].get("type") != "header":
        return None, []
    results: dict[str, ProblemResult] = {}
    for record in records[1:]:
        try:
            result = ProblemResult.from_dict(record)
        except ValueError:
            continue
        results.setdefault(result.id, result)
    return records[0], list(results.values())
