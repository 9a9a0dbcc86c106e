"""Shared fixtures: the repository's config, a temporary runs folder, the CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config.yaml"


@pytest.fixture(autouse=True)
def app_state_in_tmp(tmp_path_factory, monkeypatch):
    """The app's per-user state (saved views, crash files) goes to a fresh folder, not the home folder."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    path = tmp_path / "runs"
    path.mkdir()
    return path


def rdtui(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a subprocess, as a user's shell would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        cwd=cwd or REPO,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
    )


def wait_for(predicate, timeout: float = 240, interval: float = 0.2):
    """Poll until `predicate()` is truthy and return its value; the ceiling is generous, not a speed check."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached in time")
