"""How a run is summarised for people: the rows of `rdtui ls` and the app's runs table."""

from __future__ import annotations

import time
from typing import Any

from core.store.runstore import Run


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def format_progress(progress: dict[str, Any]) -> str:
    step, total = progress.get("step"), progress.get("total")
    if step is None:
        return "-"
    return f"{step}/{total}" if total else str(step)


def run_summary(run: Run, now: float | None = None) -> dict[str, Any]:
    record = run.record
    now = time.time() if now is None else now
    status = record.effective_status
    progress = record.progress or {}
    running = status == "running"
    end = record.finished_at or (now if running else None)
    return {
        "id": record.id,
        "condition": record.condition,
        "profile": record.profile,
        "backend": record.backend,
        "status": status,
        "stage": record.stage or progress.get("stage"),
        "progress": format_progress(progress),
        "eta": format_duration(progress.get("eta_s")) if running else "-",
        "elapsed": format_duration(end - record.started_at) if record.started_at and end else "-",
        "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(record.created_at)),
        "error": record.error,
    }
