"""The whole study offline, as `make demo` runs it: every condition trains, learns and is evaluated."""

from __future__ import annotations

import json
import statistics

import pytest

from core.jsonl import read_jsonl
from core.runstore import RunStore
from tests.conftest import rdtui

TRAINED = ("baseline", "sft_traces", "re_distill", "sft_then_grpo")


def tenths(values: list[float]) -> tuple[float, float]:
    n = max(1, len(values) // 10)
    return statistics.mean(values[:n]), statistics.mean(values[-n:])


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("study") / "runs"
    proc = rdtui("--runs-dir", str(runs_dir), "run", "--all", "--profile", "local", timeout=1500)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    runs = {run.record.condition: run for run in RunStore(runs_dir).list()}
    return runs_dir, runs


@pytest.mark.slow
def test_every_condition_succeeds_and_is_evaluated(study):
    _, runs = study
    assert set(runs) == {"base_model", "baseline", "sft_traces", "re_distill", "grpo_only", "sft_then_grpo"}
    for condition, run in runs.items():
        assert run.record.status == "succeeded", (condition, run.record.error)
        for bench in ("synth_test", "gsm8k_test"):
            summary = json.loads((run.eval_dir / f"{bench}.json").read_text())
            assert summary["complete"], (condition, bench)


@pytest.mark.slow
def test_sft_loss_falls_by_half(study):
    _, runs = study
    for condition in TRAINED:
        losses = [m["loss"] for m in read_jsonl(runs[condition].metrics_path) if m.get("stage") == "sft" and "loss" in m]
        first, last = tenths(losses)
        assert last <= 0.5 * first, (condition, first, last)


@pytest.mark.slow
def test_grpo_after_sft_raises_the_reward_and_logs_its_telemetry(study):
    _, runs = study
    metrics = [m for m in read_jsonl(runs["sft_then_grpo"].metrics_path) if m.get("stage") == "grpo" and "reward" in m]
    first, last = tenths([m["reward"] for m in metrics])
    assert last > first, (first, last)
    for key in ("reward_std", "frac_reward_zero_std", "rewards/correctness/mean", "completions/mean_length"):
        assert all(key in m for m in metrics), key
    samples = [s for s in read_jsonl(runs["sft_then_grpo"].samples_path) if s["stage"] == "grpo"]
    assert samples and all(s["completion"] and "correctness" in s["rewards"] for s in samples)


@pytest.mark.slow
def test_results_table_shows_distillation_beating_the_base_model(study):
    runs_dir, runs = study
    proc = rdtui("--runs-dir", str(runs_dir), "results", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = {row["condition"]: row for row in json.loads(proc.stdout)}
    assert set(rows) >= set(runs)
    base = rows["base_model"]["benchmarks"]["synth_test"]["accuracy"]
    verified = rows["re_distill"]["benchmarks"]["synth_test"]["accuracy"]
    assert verified >= base + 0.08, (base, verified)
    table = rdtui("--runs-dir", str(runs_dir), "results").stdout
    assert all(condition in table for condition in runs)
