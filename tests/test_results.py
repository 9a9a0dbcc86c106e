"""`rdtui results`: one row per condition from the runs' evaluation summaries, in four formats."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest

from core.config import load_study, resolve_full, snapshot_text
from core.evaluation.journal import ProblemResult
from core.evaluation.summary import summarize, write_summary
from core.reporting.results import collect_results, render_results
from core.store.jsonl import JsonlWriter
from core.store.runstore import RunStore
from tests.conftest import CONFIG, rdtui


def finished_run(
    store: RunStore,
    condition: str,
    correct: int,
    total: int = 20,
    status: str = "succeeded",
    samples: int = 1,
    seed: int | None = None,
    first: int = 0,
):
    overrides = [f"study.seed={seed}"] if seed is not None else []
    resolution = resolve_full(load_study(CONFIG), condition, "local", overrides)
    run = store.create(condition, "local", "local", snapshot_text(resolution))
    results = [
        ProblemResult(
            id=str(i),
            prompt_hash="h",
            gold="1",
            completions=["x"] * samples,
            extracted=["1"] * samples,
            correct=[first <= i < first + correct] * samples,
            rules=["boxed"] * samples,
            tokens=[30] * samples,
            finish_reasons=["stop"] * samples,
        )
        for i in range(total)
    ]
    ks = [1, samples] if samples > 1 else [1]
    write_summary(
        run.eval_dir / "synth_test.json",
        summarize(results, benchmark="synth_test", ks=ks, benchmark_size=total, settings={}),
    )
    with open(run.eval_dir / "synth_test.jsonl", "w") as journal:  # per-problem verdicts, for paired tests
        journal.write(json.dumps({"type": "header"}) + "\n")
        journal.writelines(json.dumps(r.to_dict()) + "\n" for r in results)
    run.update(status="running")
    run.update(status=status, finished_at=time.time())
    return run


def test_one_row_per_condition_from_the_latest_finished_run(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    base = finished_run(store, "base_model", 5)
    older = finished_run(store, "sft_traces", 8)
    latest = finished_run(store, "sft_traces", 12)
    finished_run(store, "sft_traces", 19, status="failed")
    rows = collect_results(store, load_study(CONFIG))
    by_condition = {row.condition: row for row in rows}
    assert [row.condition for row in rows] == load_study(CONFIG).conditions
    assert by_condition["base_model"].run_id == base.id
    assert by_condition["sft_traces"].run_id == latest.id
    assert by_condition["sft_traces"].benchmarks["synth_test"].accuracy == 0.6
    assert by_condition["grpo_only"].run_id is None and not by_condition["grpo_only"].benchmarks

    chosen = collect_results(store, load_study(CONFIG), runs=[older.id])
    assert {row.condition: row.run_id for row in chosen}["sft_traces"] == older.id


def test_training_data_size_and_time_come_from_the_run(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    run = finished_run(store, "re_distill", 10)
    JsonlWriter(run.metrics_path).append_many(
        [
            {"t": 1000.0, "stage": "sft", "step": 1, "loss": 2.0},
            {"t": 1042.5, "stage": "sft", "step": 60, "loss": 0.5},
            {"t": 1050.0, "stage": "eval", "step": 20},
        ]
    )
    (row,) = [r for r in collect_results(store) if r.condition == "re_distill"]
    assert row.training_data == ["openr1_verified"]
    assert row.training_size == 4000  # the limit: rows kept after the math-verified filter
    assert row.training_time_s == 42.5
    assert row.description == "SFT on R1 traces kept only when math-verified correct"
    assert row.model == "builtin:tiny-qwen3-base"


def test_formats_carry_accuracy_interval_and_n(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    finished_run(store, "base_model", 5)
    finished_run(store, "sft_traces", 12, samples=4)
    rows = collect_results(store, load_study(CONFIG))

    table = render_results(rows, "table")
    base_line = next(line for line in table.splitlines() if line.startswith("base_model"))
    assert "25.0 [" in base_line and "(N=20)" in base_line
    assert "SYNTH_TEST PASS@4" in table.splitlines()[0]
    assert any(line.startswith("grpo_only") for line in table.splitlines())

    md = render_results(rows, "md").split("\n\n")[0].splitlines()  # the paired differences follow
    assert md[0].startswith("| condition | run | synth_test |") and md[1].startswith("|---|")
    assert len(md) == 2 + len(rows)

    parsed = list(csv.DictReader(io.StringIO(render_results(rows, "csv"))))
    sft = next(r for r in parsed if r["condition"] == "sft_traces")
    assert (sft["synth_test.n"], sft["synth_test.correct"], sft["synth_test.accuracy"]) == ("20", "12", "0.6")
    assert float(sft["synth_test.ci_low"]) < 0.6 < float(sft["synth_test.ci_high"])
    assert sft["synth_test.pass@4"] == "0.6" and sft["training_data"] == "s1k"

    data = {r["condition"]: r for r in json.loads(render_results(rows, "json"))}
    base = data["base_model"]
    assert base["description"] == "Qwen3-1.7B base, no training"
    assert base["benchmarks"]["synth_test"]["n"] == 20 and base["benchmarks"]["synth_test"]["correct"] == 5
    assert {"training_data", "training_size", "training_time_s", "run_id", "model"} <= set(base)


def test_the_command_prints_the_table(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    run = finished_run(store, "base_model", 7)
    result = rdtui("--runs-dir", str(store.root), "results", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = {r["condition"]: r for r in json.loads(result.stdout)}
    assert rows["base_model"]["run_id"] == run.id
    assert rows["base_model"]["benchmarks"]["synth_test"]["accuracy"] == 0.35

    missing = rdtui("--runs-dir", str(store.root), "results", "--run", "nope")
    assert missing.returncode != 0 and "nope" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1


def test_paired_differences_compare_the_same_problems(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    finished_run(store, "sft_traces", 30, total=100)
    finished_run(store, "re_distill", 70, total=100)  # solves the same 30 and 40 more
    finished_run(store, "baseline", 30, total=100, first=40)  # as many as sft_traces, other problems
    rows = {r.condition: r for r in collect_results(store, load_study(CONFIG))}
    better = rows["re_distill"].paired["sft_traces"]["synth_test"]
    assert better.n == 100 and better.difference == pytest.approx(0.4) and better.ci95[0] > 0.25
    assert better.significant
    tie = rows["sft_traces"].paired["baseline"]["synth_test"]
    assert tie.difference == 0 and tie.ci95[0] < 0 < tie.ci95[1] and not tie.significant
    data = {r["condition"]: r for r in json.loads(render_results(list(rows.values()), "json"))}
    assert data["re_distill"]["paired"]["sft_traces"]["synth_test"]["n"] == 100
    assert "problem_scores" not in data["re_distill"]
    table = render_results(list(rows.values()), "table")
    assert "Paired differences on the same problems" in table
    line = next(line for line in table.splitlines() if line.startswith("sft_traces") and "re_distill" in line)
    assert "-40.0 [" in line and "*" in line


def test_several_seeds_are_averaged_with_an_interval(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    for seed, correct in ((1, 10), (2, 12), (3, 14)):
        finished_run(store, "sft_traces", correct, seed=seed)
    (row,) = [r for r in collect_results(store) if r.condition == "sft_traces"]
    result = row.benchmarks["synth_test"]
    assert row.seeds == [1, 2, 3]
    assert result.seed_accuracies == {"1": 0.5, "2": 0.6, "3": 0.7}
    assert result.seed_mean == pytest.approx(0.6)
    assert result.seed_ci95[0] == pytest.approx(0.6 - 4.303 * 0.1 / 3**0.5, abs=1e-3)
    assert "60.0 [" in render_results([row], "table") and "3 seeds" in render_results([row], "table")
