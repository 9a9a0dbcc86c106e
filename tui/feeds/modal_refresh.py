"""Modal runs brought up to date from the Volume while the app is open, as `rdtui ls` does."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from core.store.runstore import Run
from tui.feeds.records import one_line


def refresh_modal_runs(runs: list[Run]) -> None:
    """Core's refresh of unfinished Modal runs, as `rdtui ls` calls it (the seam tests stand in
    for). Imported when first needed: the Modal backend costs 0.2 s to import."""
    from core.backends.modal_backend import refresh_modal_runs as refresh

    refresh(runs)


def modal_refresh_interval() -> float:
    from core.backends.modal_backend import REFRESH_INTERVAL_S

    return REFRESH_INTERVAL_S


class ModalRefresher:
    """Brings the store's unfinished Modal runs up to date from the Volume at most every
    REFRESH_INTERVAL_S (5 s), like `rdtui ls`, in a thread of its own: Modal may take seconds to
    answer, and the poller must keep following logs meanwhile. The refresh rewrites run folders,
    which the runs feed then reads like any other change."""

    def __init__(self, on_error: Callable[[str], None]):
        self._on_error = on_error
        self._last: float | None = None
        self._thread: threading.Thread | None = None

    def maybe_refresh(self, runs: list[Run]) -> None:
        if not runs or (self._thread is not None and self._thread.is_alive()):
            return
        now = time.monotonic()
        if self._last is not None and now - self._last < modal_refresh_interval():
            return
        self._last = now
        self._thread = threading.Thread(target=self._refresh, args=(runs,), name="rdtui-modal-refresh", daemon=True)
        self._thread.start()

    def _refresh(self, runs: list[Run]) -> None:
        try:
            refresh_modal_runs(runs)
        except Exception as exc:  # noqa: BLE001 - offline or Modal down: the store is shown as it is
            self._on_error(f"Modal runs not refreshed: {one_line(exc)}")
