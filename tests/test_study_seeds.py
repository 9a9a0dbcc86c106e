"""`study.seeds` as the study reports it: a store holding two seeds of every condition (what `rdtui run --all`
writes with `study.seeds: [1, 2]`) gives, through `rdtui results`, each condition's mean across the seeds with
its 95% interval, and paired differences over the same problems averaged across the seeds. The runs'
evaluations are written here (a real two-seed study takes twice the offline study's time)."""

from __future__ import annotations

import json
import math

import pytest

from core.store.runstore import RunStore
from tests.conftest import rdtui
from tests.test_results import finished_run

PROBLEMS = 20
# Problems right out of 20 under seed 1 and seed 2, per condition.
CORRECT = {
    "base_model": (8, 10),
    "baseline": (2, 4),
    "sft_traces": (9, 11),
    "re_distill": (18, 20),
    "grpo_only": (14, 16),
    "sft_then_grpo": (13, 17),
}
T_975_ONE_DOF = math.tan(math.pi * 0.475)  # Student's t, 95% two-sided, two seeds: 12.706


def test_results_show_the_mean_and_interval_across_two_seeds_of_every_condition(tmp_path):
    runs_dir = tmp_path / "runs"
    store = RunStore(runs_dir)
    for condition, per_seed in CORRECT.items():
        for seed, correct in zip((1, 2), per_seed):
            finished_run(store, condition, correct, total=PROBLEMS, seed=seed)

    proc = rdtui("--runs-dir", str(runs_dir), "results", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = {row["condition"]: row for row in json.loads(proc.stdout)}
    assert set(rows) == set(CORRECT)
    for condition, (first, second) in CORRECT.items():
        result = rows[condition]["benchmarks"]["synth_test"]
        assert rows[condition]["seeds"] == [1, 2], condition
        assert result["seed_accuracies"] == {"1": first / PROBLEMS, "2": second / PROBLEMS}, condition
        mean = (first + second) / (2 * PROBLEMS)
        # sample sd of two values |a - b| / sqrt(2), over sqrt(2) seeds
        half = T_975_ONE_DOF * abs(first - second) / PROBLEMS / 2
        assert result["seed_mean"] == pytest.approx(mean), condition
        assert result["seed_ci95"] == pytest.approx([mean - half, mean + half]), condition
    # Paired on the same 20 problems, each problem's score averaged over the two seeds:
    # re_distill is right on 0..17 and 0..19 (mean 19/20 right), sft_traces on 0..8 and 0..10 (10/20).
    paired = rows["re_distill"]["paired"]["sft_traces"]["synth_test"]
    assert paired["n"] == PROBLEMS
    assert paired["difference"] == pytest.approx((18 + 20 - 9 - 11) / (2 * PROBLEMS))

    table = rdtui("--runs-dir", str(runs_dir), "results").stdout
    for condition, (first, second) in CORRECT.items():
        line = next(line for line in table.splitlines() if line.startswith(condition + " "))
        mean = 100 * (first + second) / (2 * PROBLEMS)
        assert f"{mean:.1f} [" in line and "2 seeds" in line, line
