"""What the app keeps per user between sessions, under $XDG_STATE_HOME/rdtui (~/.local/state/rdtui):
view settings (chosen metrics and smoothing per kind of run) and the traceback of a crash."""

from __future__ import annotations

import json
import os
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

SETTINGS_FILE = "app.json"


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "rdtui"


def load_settings() -> dict[str, Any]:
    """The saved settings; {} when there are none or the file is unreadable (a fresh start)."""
    try:
        data = json.loads((state_dir() / SETTINGS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def save_settings(settings: dict[str, Any]) -> None:
    """Best effort: a read-only home folder costs the saved view, never the session."""
    folder = state_dir()
    tmp = folder / f".{SETTINGS_FILE}.{os.getpid()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(settings, indent=1), encoding="utf-8")
        os.replace(tmp, folder / SETTINGS_FILE)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass


def save_crash(error: BaseException) -> Path | None:
    """Write the traceback to a file of its own and return its path (None if nothing can be written)."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    for folder in (state_dir(), Path(tempfile.gettempdir())):
        path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError:
            continue
        return path
    return None
