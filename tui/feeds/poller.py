"""The poller thread and the feeds it polls: what a feed read waits in it until the app's tick flushes it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

POLL_SECONDS = 1.0


class Feed:
    """A source polled in the poller thread; `flush` (app thread) delivers what piled up."""

    def __init__(self, deliver: Callable[[Any], None]):
        self._deliver = deliver
        self._lock = threading.Lock()
        self._pending: Any = None
        self._error: str | None = None
        self.wake: Callable[[], None] = lambda: None
        self.polled_once = False

    def poll(self) -> None:
        raise NotImplementedError

    def merge(self, old: Any, new: Any) -> Any:
        return new

    def put(self, batch: Any) -> None:
        with self._lock:
            self._pending = batch if self._pending is None else self.merge(self._pending, batch)

    def fail(self, message: str) -> None:
        with self._lock:
            self._error = message

    def flush(self, on_error: Callable[[str], None]) -> None:
        with self._lock:
            batch, self._pending = self._pending, None
            error, self._error = self._error, None
        if batch is not None:
            self._deliver(batch)
        if error is not None:
            on_error(error)


class Poller:
    def __init__(self, wake: Callable[[], None], interval: float = POLL_SECONDS):
        self._wake = wake
        self.interval = interval
        self._feeds: list[Feed] = []
        self._lock = threading.Lock()
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rdtui-poller", daemon=True)

    def start(self) -> None:
        """Start polling (again: nothing)."""
        if not self._thread.is_alive() and not self._stop.is_set():
            try:
                self._thread.start()
            except RuntimeError:  # started already, and ended
                pass

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()

    @property
    def feeds(self) -> list[Feed]:
        with self._lock:
            return list(self._feeds)

    def add(self, feed: Feed, *, poll_now: bool = False) -> Feed:
        """Poll `feed` from now on; `poll_now` polls it once first, in the caller's thread (what
        the first screen shows: read in the poller's thread, it raced the first paint for the
        interpreter and took twice as long)."""
        feed.wake = self._wake
        if poll_now:
            self._poll(feed)
        with self._lock:
            self._feeds.append(feed)
        self._kick.set()
        return feed

    def remove(self, feed: Feed) -> None:
        with self._lock:
            if feed in self._feeds:
                self._feeds.remove(feed)

    def poke(self) -> None:
        """Poll now instead of at the next interval (after a user action)."""
        self._kick.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            for feed in self.feeds:
                self._poll(feed)
            self._kick.wait(self.interval)
            self._kick.clear()

    def _poll(self, feed: Feed) -> None:
        try:
            feed.poll()
        except Exception as exc:  # a feed must never take the poller down with it
            feed.fail(f"{type(exc).__name__}: {exc}")
        if not feed.polled_once:
            feed.polled_once = True
            self._wake()  # now, not after the feeds behind it (a long metrics file)


def stat_key(path: str | Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)
