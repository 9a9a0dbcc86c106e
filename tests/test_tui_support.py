"""Run folders fabricated through the run store's own writers, for the app's tests and benchmarks."""

from __future__ import annotations

import asyncio
import json
import math
import shutil
from pathlib import Path

from core.store.jsonl import JsonlWriter
from core.store.runstore import RunRecord, write_record

REPO = Path(__file__).resolve().parents[1]
T0 = 1_750_000_000.0


def study_copy(tmp_path: Path) -> Path:
    """config.yaml copied into a folder of its own (its benchmark paths are `builtin:`, so they still resolve)."""
    folder = tmp_path / "study"
    folder.mkdir()
    shutil.copy(REPO / "config.yaml", folder / "config.yaml")
    return folder / "config.yaml"


def make_run(
    root: Path,
    run_id: str,
    condition: str,
    *,
    status: str = "succeeded",
    stage: str | None = "grpo",
    created: float = T0,
    metrics: int = 0,
    log_lines: int = 0,
    snapshot: str | None = None,
    progress: dict | None = None,
    error: str | None = None,
) -> Path:
    run_dir = root / run_id
    run_dir.mkdir(parents=True)
    finished = created + 600 if status in ("succeeded", "failed", "cancelled") else None
    record = RunRecord(
        id=run_id,
        condition=condition,
        profile="local",
        backend="local",
        status=status,
        stage=stage,
        created_at=created,
        started_at=created + 1,
        finished_at=finished,
        progress=progress or ({"step": metrics, "total": metrics} if metrics else {}),
        error=error,
    )
    write_record(run_dir, record)
    (run_dir / "config.yaml").write_text(snapshot or "study:\n  seed: 42  # study config.yaml:13\n")
    write_metrics(run_dir, 1, metrics)
    with open(run_dir / "log.txt", "w") as fh:
        fh.writelines(f"step {i}: loss {1 / (i + 1):.4f}\n" for i in range(log_lines))
    return run_dir


def write_metrics(run_dir: Path, first: int, last: int, stage: str = "grpo") -> None:
    JsonlWriter(run_dir / "metrics.jsonl").append_many(
        [
            {
                "t": T0 + step,
                "stage": stage,
                "step": step,
                "loss": 1.0 / step,
                "reward": 0.5 + 0.4 * math.sin(step / 7),
                "rewards/correctness/mean": 0.3 + step / (10 * last),
                "frac_reward_zero_std": 0.25,
                "learning_rate": 3e-4,
            }
            for step in range(first, last + 1)
        ]
    )


# What TRL 1.16's GRPOTrainer logs for a run with two reward functions (see test_overview_names_*).
GRPO_KEYS = [
    "loss",
    "grad_norm",
    "learning_rate",
    "num_tokens",
    "completions/mean_length",
    "completions/min_length",
    "completions/max_length",
    "completions/clipped_ratio",
    "completions/mean_terminated_length",
    "rewards/correctness/mean",
    "rewards/correctness/std",
    "rewards/format/mean",
    "rewards/format/std",
    "reward",
    "reward_std",
    "frac_reward_zero_std",
    "kl",
    "entropy",
    "clip_ratio/low_mean",
    "clip_ratio/high_mean",
    "epoch",
]
SFT_KEYS = ["loss", "grad_norm", "learning_rate", "entropy", "num_tokens", "mean_token_accuracy", "epoch"]


def write_trl_metrics(run_dir: Path, keys: list[str], steps: int, stage: str) -> None:
    (run_dir / "metrics.jsonl").unlink(missing_ok=True)
    JsonlWriter(run_dir / "metrics.jsonl").append_many(
        [
            {
                "t": T0 + step,
                "stage": stage,
                "step": step,
                **{key: (n + 1) * (0.5 + 0.4 * math.sin(step / 5 + n)) for n, key in enumerate(keys)},
            }
            for step in range(1, steps + 1)
        ]
    )


def write_summary(run_dir: Path, bench: str, *, accuracy: float, pass4: float) -> None:
    """An evaluation summary shaped as core.evaluation.summary writes it."""

    def scored(value: float) -> dict:
        return {"value": value, "ci95": [value - 0.024, value + 0.023]}

    (run_dir / "eval").mkdir(exist_ok=True)
    (run_dir / "eval" / f"{bench}.json").write_text(
        json.dumps(
            {
                "benchmark": bench,
                "n_problems": 1319,
                "benchmark_size": 1319,
                "complete": True,
                "samples": 4,
                "correct": round(accuracy * 1319),
                "accuracy": accuracy,
                "ci95": [accuracy - 0.024, accuracy + 0.023],
                "pass@k": {"1": scored(accuracy), "4": scored(pass4)},
                "maj@k": {"1": scored(accuracy), "4": scored(0.8)},
                "mean_completion_tokens": 312.5,
                "share_truncated": 0.01,
                "share_think_closed": 0.97,
            }
        )
    )


def has_trend(text: str) -> bool:
    """Whether a trend sparkline is drawn in the text (any of its eight levels)."""
    return any(tick in text for tick in "▁▂▃▄▅▆▇█")


async def wait_for(pilot, predicate, timeout: float = 120.0, what: str = "condition") -> None:
    # A ceiling for a stuck app, not a speed check: a loaded machine can take many seconds per poll.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)
