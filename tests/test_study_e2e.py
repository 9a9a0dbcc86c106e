"""The whole study offline, as `make demo` runs it: every condition trains, learns and is evaluated, and
on the task's held-out problems the conditions come out in the study's order, each gap with a paired
interval that excludes zero. A pipeline bug that swaps datasets, drops a stage or evaluates the wrong
weights changes these numbers."""

from __future__ import annotations

import json
import statistics

import pytest

from core.store.jsonl import read_jsonl
from core.store.runstore import RunStore
from tests.conftest import rdtui


def tenths(values: list[float]) -> tuple[float, float]:
    n = max(1, len(values) // 10)
    return statistics.mean(values[:n]), statistics.mean(values[-n:])


# Measured on the local profile (one seed, 400 held-out problems): base_model 56.0, baseline 8.8,
# sft_traces 52.0, re_distill 98.8, grpo_only 85.2, sft_then_grpo 72.5; every pair below differs by
# 20 points or more with a paired interval clear of zero. The six runs take about 870 CPU seconds,
# two at a time on one thread each: about 7 minutes on 2 idle cores.


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("study") / "runs"
    # A ceiling for a stuck run, not a speed check: about 7 minutes on 2 idle cores.
    proc = rdtui("--runs-dir", str(runs_dir), "run", "--all", "--profile", "local", timeout=3600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    runs = {run.record.condition: run for run in RunStore(runs_dir).list()}
    return runs_dir, runs


@pytest.mark.slow
def test_every_condition_succeeds_and_is_evaluated(study):
    _, runs = study
    assert set(runs) == {"base_model", "baseline", "sft_traces", "re_distill", "grpo_only", "sft_then_grpo"}
    for condition, run in runs.items():
        assert run.record.status == "succeeded", (condition, run.record.error)
        for bench in ("synth_test", "gsm8k_test", "math500"):
            summary = json.loads((run.eval_dir / f"{bench}.json").read_text())
            assert summary["complete"], (condition, bench)


@pytest.mark.slow
def test_sft_loss_falls(study):
    # Answer-only rows are new to the base (pretrained on traces): their loss halves. Trace rows
    # resemble the pretraining data, so their loss starts lower and falls less.
    _, runs = study
    for condition, ratio in (("baseline", 0.5), ("sft_traces", 1.0), ("re_distill", 1.0)):
        losses = [
            m["loss"] for m in read_jsonl(runs[condition].metrics_path) if m.get("stage") == "sft" and "loss" in m
        ]
        first, last = tenths(losses)
        assert last < ratio * first, (condition, first, last)


def grpo_metrics(runs, condition: str) -> list[dict]:
    return [m for m in read_jsonl(runs[condition].metrics_path) if m.get("stage") == "grpo" and "reward" in m]


@pytest.mark.slow
def test_grpo_after_sft_raises_the_reward(study):
    _, runs = study
    first, last = tenths([m["reward"] for m in grpo_metrics(runs, "sft_then_grpo")])
    assert last > first, (first, last)


@pytest.mark.slow
def test_grpo_earns_reward_and_logs_its_telemetry(study):
    _, runs = study
    for condition in ("grpo_only", "sft_then_grpo"):  # the pretrained base answers some prompts right
        assert sum(m["rewards/correctness/mean"] for m in grpo_metrics(runs, condition)) > 0, condition
    metrics = grpo_metrics(runs, "sft_then_grpo")
    for key in ("reward_std", "frac_reward_zero_std", "rewards/correctness/mean", "completions/mean_length"):
        assert all(key in m for m in metrics), key
    samples = [s for s in read_jsonl(runs["sft_then_grpo"].samples_path) if s["stage"] == "grpo"]
    assert samples and all(s["completion"] and "correctness" in s["rewards"] for s in samples)


# (better, worse): on the held-out problems `better` scores higher, the paired interval above zero.
STUDY_ORDER = [
    ("re_distill", "sft_traces"),  # verified traces beat the raw teacher's systematic slip
    ("sft_traces", "baseline"),  # traces beat answer-only on multi-step problems
    ("sft_then_grpo", "sft_traces"),  # GRPO after SFT repairs what the raw traces taught
    ("grpo_only", "base_model"),  # GRPO from the pretrained base earns reward and learns
]


@pytest.fixture(scope="module")
def results(study):
    runs_dir, _ = study
    proc = rdtui("--runs-dir", str(runs_dir), "results", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return {row["condition"]: row for row in json.loads(proc.stdout)}


@pytest.mark.slow
@pytest.mark.parametrize("better,worse", STUDY_ORDER)
def test_held_out_accuracy_follows_the_studys_order(results, better, worse):
    a, b = results[better]["benchmarks"]["synth_test"], results[worse]["benchmarks"]["synth_test"]
    paired = results[better]["paired"][worse]["synth_test"]
    assert paired["n"] == a["n"] == b["n"] == 400
    summary = {c: round(r["benchmarks"]["synth_test"]["accuracy"], 3) for c, r in results.items() if r["benchmarks"]}
    assert a["accuracy"] > b["accuracy"], summary
    assert paired["ci95"][0] > 0, (better, worse, paired, summary)


@pytest.mark.slow
def test_the_pretrained_base_model_solves_some_problems(results):
    base = results["base_model"]["benchmarks"]["synth_test"]
    assert base["ci95"][0] > 0, base  # some skill, so GRPO from it earns reward


@pytest.mark.slow
def test_results_table_shows_every_condition_and_the_paired_differences(study):
    runs_dir, runs = study
    table = rdtui("--runs-dir", str(runs_dir), "results").stdout
    assert all(condition in table for condition in runs)
    assert "Paired differences on the same problems" in table
