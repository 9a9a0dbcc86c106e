"""A run's log read for display: the end first, older pages on demand, new lines as they come.

Logs reach hundreds of MB, may hold bytes that are not UTF-8 and single lines of megabytes, so
reads are bounded in bytes, decoding never fails, and each displayed line is capped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

TAIL_BYTES = 1 << 20  # what the view opens with: about the last 10,000 ordinary lines
PAGE_BYTES = 1 << 20  # each step back through older lines
MAX_LINE_CHARS = 2000  # longer lines are cut for display (the file is untouched)


@dataclass
class LogChunk:
    lines: list[str] = field(default_factory=list)
    invalid_utf8: bool = False
    long_lines: int = 0
    reset: bool = False  # the file was truncated or replaced: these lines replace the view's
    missing: bool = False


def decode_lines(data: bytes) -> tuple[list[str], bool, int]:
    """Lines of `data` (without their newlines), whether any byte was not UTF-8, lines cut."""
    try:
        text = data.decode("utf-8")
        invalid = False
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        invalid = True
    lines = text.split("\n")
    long_lines = 0
    for i, line in enumerate(lines):
        if "\r" in line:
            line = line.rstrip("\r").rsplit("\r", 1)[-1]  # progress bars: keep the last redraw
        if len(line) > MAX_LINE_CHARS:
            long_lines += 1
            line = f"{line[:MAX_LINE_CHARS]} … [{len(line) - MAX_LINE_CHARS:,} more characters]"
        lines[i] = line
    return lines, invalid, long_lines


class LogSource:
    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.start = 0  # file offset of the first line handed out
        self.end = 0  # file offset just past the last complete line handed out
        self._identity: tuple[int, int] | None = None

    @property
    def has_older(self) -> bool:
        return self.start > 0

    def _open(self) -> int | None:
        try:
            return os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None

    def read_tail(self, max_bytes: int = TAIL_BYTES) -> LogChunk:
        fd = self._open()
        if fd is None:
            self.start = self.end = 0
            return LogChunk(missing=True)
        try:
            st = os.fstat(fd)
            self._identity = (st.st_dev, st.st_ino)
            data = os.pread(fd, min(max_bytes, st.st_size), max(0, st.st_size - max_bytes))
            start = st.st_size - len(data)
        finally:
            os.close(fd)
        cut = data.rfind(b"\n") + 1
        data, self.end = data[:cut], start + cut
        if start > 0:
            first = data.find(b"\n") + 1
            # Drop the partial first line unless it is all there is (one huge line).
            if 0 < first < len(data):
                data, start = data[first:], start + first
        self.start = start
        return self._chunk(data)

    def read_older(self, max_bytes: int = PAGE_BYTES) -> LogChunk:
        if self.start <= 0:
            return LogChunk()
        fd = self._open()
        if fd is None:
            return LogChunk(missing=True)
        try:
            begin = max(0, self.start - max_bytes)
            data = os.pread(fd, self.start - begin, begin)
        finally:
            os.close(fd)
        if begin > 0:
            first = data.find(b"\n") + 1
            if 0 < first < len(data):
                data, begin = data[first:], begin + first
        self.start = begin
        return self._chunk(data)

    def read_new(self) -> LogChunk:
        fd = self._open()
        if fd is None:
            return LogChunk(missing=True)
        try:
            st = os.fstat(fd)
            identity = (st.st_dev, st.st_ino)
            if (self._identity is not None and identity != self._identity) or st.st_size < self.end:
                os.close(fd)
                fd = -1
                chunk = self.read_tail()
                chunk.reset = True
                return chunk
            self._identity = identity
            if st.st_size == self.end:
                return LogChunk()
            data = os.pread(fd, min(st.st_size - self.end, TAIL_BYTES), self.end)
        finally:
            if fd >= 0:
                os.close(fd)
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            if len(data) < TAIL_BYTES:
                return LogChunk()  # a line still being written
            cut = len(data)  # a line longer than a whole read: show it in pieces
        self.end += cut
        return self._chunk(data[:cut])

    @staticmethod
    def _chunk(data: bytes) -> LogChunk:
        if not data:
            return LogChunk()
        if data.endswith(b"\n"):
            data = data[:-1]
        lines, invalid, long_lines = decode_lines(data)
        return LogChunk(lines, invalid, long_lines)
