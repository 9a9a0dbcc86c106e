"""The repository stands alone: a clone in an empty folder checks its config and evaluates offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(), reason="needs git and a checkout")
def test_a_clone_in_an_empty_folder_checks_its_config_and_evaluates_one_problem(tmp_path):
    clone = tmp_path / "p"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=300)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"], "nothing may sit beside the clone"
    env = {**os.environ, "RDTUI_RUNS": str(tmp_path / "runs"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(clone)}
    env.pop("RDTUI_CONFIG", None)

    def rdtui(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "core.cli", *args], cwd=clone, env=env, capture_output=True, text=True, timeout=900
        )

    check = rdtui("config", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "shared" not in check.stdout + check.stderr

    out = rdtui(
        "eval",
        "builtin:tiny-qwen3",
        "--benchmark",
        "gsm8k_test",
        "--limit",
        "1",
        "--set",
        "evaluation.max_new_tokens=8",
    )
    assert out.returncode == 0, out.stdout + out.stderr
    summaries = list((tmp_path / "runs").glob("*/eval/gsm8k_test.json"))
    assert len(summaries) == 1, out.stdout + out.stderr
    summary = json.loads(summaries[0].read_text())
    assert summary["n_problems"] == 1 and summary["benchmark_size"] == 32  # the local profile's shipped GSM8K slice
