"""Append-only JSONL files: whole-line writers and incremental readers.

Writers and readers run in different processes (a trainer appends while the app or a sync loop
reads), so a writer emits each record as one `os.write` of a complete line, and a reader keeps the
byte offset it has consumed, holds back a torn last line until its newline arrives, and starts over
when the file was truncated or replaced under it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def encode_line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=True) + "\n").encode("utf-8")


class JsonlWriter:
    """Appends records to a JSONL file, one whole line per write."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    def append(self, record: dict[str, Any]) -> None:
        self.append_many([record])

    def append_many(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        data = b"".join(encode_line(r) for r in records)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


@dataclass
class TailResult:
    records: list[dict[str, Any]]
    reset: bool = False  # the file was truncated or replaced: records restart from its start
    bad_lines: int = 0  # complete lines that were not valid JSON objects (skipped)


class JsonlTail:
    """Reads only the records appended since the last call."""

    def __init__(self, path: str | os.PathLike[str], offset: int = 0):
        self.path = Path(path)
        self.offset = offset
        self._identity: tuple[int, int] | None = None

    def poll(self) -> TailResult:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            reset = self.offset > 0
            self.offset, self._identity = 0, None
            return TailResult([], reset=reset)
        try:
            st = os.fstat(fd)
            identity = (st.st_dev, st.st_ino)
            reset = False
            if (self._identity is not None and identity != self._identity) or st.st_size < self.offset:
                self.offset, reset = 0, True
            self._identity = identity
            if st.st_size == self.offset:
                return TailResult([], reset=reset)
            data = os.pread(fd, st.st_size - self.offset, self.offset)
        finally:
            os.close(fd)
        end = data.rfind(b"\n")
        if end < 0:
            return TailResult([], reset=reset)
        self.offset += end + 1
        records, bad = parse_lines(data[: end + 1])
        return TailResult(records, reset=reset, bad_lines=bad)

    def read_new(self) -> list[dict[str, Any]]:
        return self.poll().records


def parse_lines(data: bytes) -> tuple[list[dict[str, Any]], int]:
    records: list[dict[str, Any]] = []
    bad = 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(obj, dict):
            records.append(obj)
        else:
            bad += 1
    return records, bad


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete record of a file (a torn last line is left out); [] when it does not exist."""
    return JsonlTail(path).read_new()
