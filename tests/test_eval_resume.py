"""kill -9 an evaluation at random moments, resume it, and get exactly what an uninterrupted run gets.

The tiny model on the local profile's held-out split, sampled (n=4, temperature 1.0, top-p 0.95):
after every kill the journal holds each finished problem once, and the resumed evaluation's
journal and summary equal those of one that was never interrupted.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

PROBLEMS = 12
SAMPLED = [
    "--set",
    "evaluation.benchmarks=[synth_test]",
    "--set",
    f"datasets.synth_test.size={PROBLEMS}",
    "--samples",
    "4",
    "--k",
    "1,2,4",
    "--set",
    "evaluation.temperature=1.0",
    "--set",
    "evaluation.top_p=0.95",
    "--set",
    "evaluation.max_new_tokens=12",
    "--set",
    "evaluation.batch_size=8",
]


def journal_records(path: Path) -> list[dict]:
    lines = path.read_bytes().split(b"\n") if path.exists() else []
    return [json.loads(line) for line in lines if line.strip()]


def finished_ids(path: Path) -> list[str]:
    return [r["id"] for r in journal_records(path) if r.get("type") != "header"]


def only_run(runs_dir: Path) -> Path:
    (run,) = [p for p in runs_dir.iterdir() if not p.name.startswith(".")]
    return run


def start_eval(runs_dir: Path, target: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", "--runs-dir", str(runs_dir), "eval", target, *args],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_after(proc: subprocess.Popen, runs_dir: Path, lines: int, jitter: float) -> bool:
    """SIGKILL once the journal holds `lines` finished problems, `jitter` seconds later; False when the
    evaluation ended first."""
    while proc.poll() is None:
        runs = [p for p in runs_dir.iterdir() if not p.name.startswith(".")] if runs_dir.exists() else []
        journal = runs[0] / "eval" / "synth_test.jsonl" if runs else None
        if journal is not None and journal.exists() and len(finished_ids(journal)) >= lines:
            time.sleep(jitter)
            break
        time.sleep(0.01)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def evaluate_with_kills(runs_dir: Path, kills: int, rng: random.Random) -> tuple[Path, int]:
    """Start a sampled evaluation, kill it `kills` times at random moments, resume it to the end."""
    proc, killed = start_eval(runs_dir, "builtin:tiny-qwen3", *SAMPLED), 0
    for _ in range(kills):
        if not kill_after(proc, runs_dir, rng.randrange(PROBLEMS), rng.uniform(0.0, 0.4)):
            break
        killed += 1
        journal = only_run(runs_dir) / "eval" / "synth_test.jsonl"
        ids = finished_ids(journal)
        assert len(ids) == len(set(ids)), f"duplicate problems after kill {killed}: {sorted(ids)}"
        proc = start_eval(runs_dir, only_run(runs_dir).name)
    assert proc.wait(timeout=300) == 0
    return only_run(runs_dir), killed


def start_uninterrupted(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    runs_dir = tmp_path / "reference"
    return start_eval(runs_dir, "builtin:tiny-qwen3", *SAMPLED), runs_dir


def finish_uninterrupted(reference: tuple[subprocess.Popen, Path]) -> Path:
    proc, runs_dir = reference
    assert proc.wait(timeout=300) == 0
    return only_run(runs_dir)


def assert_same_evaluation(resumed: Path, reference: Path) -> None:
    journal = journal_records(resumed / "eval" / "synth_test.jsonl")
    ids = [r["id"] for r in journal[1:]]
    assert len(ids) == len(set(ids)), "a problem was journaled twice"
    assert sorted(ids, key=int) == [str(i) for i in range(PROBLEMS)], "a problem is missing"
    expected = {r["id"]: r for r in journal_records(reference / "eval" / "synth_test.jsonl")[1:]}
    assert {r["id"]: r for r in journal[1:]} == expected
    summary = json.loads((resumed / "eval" / "synth_test.json").read_text())
    assert summary == json.loads((reference / "eval" / "synth_test.json").read_text())
    assert summary["n_problems"] == PROBLEMS and summary["samples"] == 4
    assert json.loads((resumed / "run.json").read_text())["status"] == "succeeded"


def test_two_kills_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    reference = start_uninterrupted(tmp_path)
    resumed, killed = evaluate_with_kills(tmp_path / "runs", 2, random.Random(5))
    assert killed >= 1, "the evaluation finished before it could be killed"
    assert_same_evaluation(resumed, finish_uninterrupted(reference))


@pytest.mark.slow
def test_ten_kills_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    reference = start_uninterrupted(tmp_path)
    resumed, killed = evaluate_with_kills(tmp_path / "runs", 10, random.Random(2024))
    assert killed >= 8
    assert_same_evaluation(resumed, finish_uninterrupted(reference))
