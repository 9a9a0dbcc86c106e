"""Where rdtui looks for things by default (kept free of heavy imports: the app starts from here)."""

from __future__ import annotations

import os
from pathlib import Path


def default_runs_dir(cli_value: str | None = None) -> Path:
    return Path(cli_value or os.environ.get("RDTUI_RUNS") or "runs")


def default_config_path(cli_value: str | None = None) -> Path:
    return Path(cli_value or os.environ.get("RDTUI_CONFIG") or "config.yaml")


def display_path(path: Path) -> str:
    """A path as messages show it: relative to the working folder when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


BUILTIN_DATA_PREFIX = "builtin:"
BUILTIN_DATA_DIR = Path(__file__).resolve().parent / "data" / "benchmarks"


def builtin_data_path(name: str) -> Path:
    """A benchmark file shipped inside the package (GSM8K and MATH-500 test sets, see its README)."""
    return BUILTIN_DATA_DIR / name


def looks_like_folder(target: str) -> bool:
    """A path rather than a hub id (`org/name`): it must exist, and the hub is never asked."""
    return (
        target.startswith(("/", "./", "../", "~", ".\\"))
        or target in (".", "..")
        or target.endswith("/")
        or target.count("/") > 1
    )
