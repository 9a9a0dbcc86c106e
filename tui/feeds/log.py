"""A run's log.txt: its tail first, then new lines, and older lines when asked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tui.feeds.poller import Feed
from tui.logsource import LogChunk, LogSource


class LogFeed(Feed):
    def __init__(self, path: Path, deliver: Callable[[LogChunk], None]):
        super().__init__(deliver)
        self.source = LogSource(path)
        self._opened = False
        self._want_older = False
        self.older: list[LogChunk] = []

    def merge(self, old: LogChunk, new: LogChunk) -> LogChunk:
        if new.reset:
            return new
        old.lines.extend(new.lines)
        old.invalid_utf8 |= new.invalid_utf8
        old.long_lines += new.long_lines
        old.missing = new.missing
        return old

    def request_older(self) -> None:
        self._want_older = True

    def poll(self) -> None:
        if not self._opened:
            self._opened = True
            chunk = self.source.read_tail()
            chunk.reset = True
            self.put(chunk)
            return
        if self._want_older:
            self._want_older = False
            older = self.source.read_older()
            with self._lock:
                self.older.append(older)
            self.put(LogChunk())  # so the app's next flush delivers the older lines
            self.wake()
        chunk = self.source.read_new()
        if chunk.lines or chunk.reset or chunk.missing:
            self.put(chunk)

    def take_older(self) -> list[LogChunk]:
        with self._lock:
            older, self.older = self.older, []
        return older
