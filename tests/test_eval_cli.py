"""`rdtui eval` from the command line: bad input is one clear line, a non-zero exit and no files."""

from __future__ import annotations

import json
from pathlib import Path

from core.config import load_study, resolve_full, snapshot_text
from core.store.runstore import RunStore
from tests.conftest import CONFIG, rdtui


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


def make_run(runs_dir: Path, condition: str, *overrides: str):
    resolution = resolve_full(load_study(CONFIG), condition, "local", list(overrides))
    return RunStore(runs_dir).create(condition, "local", "local", snapshot_text(resolution))


def test_a_missing_benchmark_file_is_one_line_and_creates_no_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = rdtui(
        "--runs-dir",
        str(runs),
        "eval",
        "builtin:tiny-qwen3",
        "--set",
        f"datasets.gsm8k_test.path={tmp_path / 'gone.jsonl'}",
    )
    assert result.returncode != 0
    line = one_line(result.stderr)
    assert "datasets.gsm8k_test.path" in line and "gone.jsonl" in line and "not found" in line
    assert files_under(runs) == []


def test_a_run_without_its_trained_model_is_refused(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    run = make_run(runs, "sft_traces")
    before = files_under(run.dir)
    result = rdtui("--runs-dir", str(runs), "eval", run.id)
    assert result.returncode != 0
    line = one_line(result.stderr)
    assert "no trained model to evaluate" in line and "sft-final" in line
    assert files_under(run.dir) == before


def test_k_larger_than_the_samples_is_refused_for_a_model_and_for_a_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = rdtui(
        "--runs-dir",
        str(runs),
        "eval",
        "builtin:tiny-qwen3",
        "--samples",
        "2",
        "--k",
        "1,4",
        "--set",
        "evaluation.temperature=0.7",
    )
    assert result.returncode != 0
    assert "pass@4 needs at least 4 samples" in one_line(result.stderr)
    assert files_under(runs) == []

    run = make_run(runs, "base_model")
    before = files_under(run.dir)
    result = rdtui("--runs-dir", str(runs), "eval", run.id, "--k", "1,8")
    assert result.returncode != 0
    assert "pass@8 needs at least 8 samples" in one_line(result.stderr)
    assert files_under(run.dir) == before


def test_an_adapter_trained_on_another_base_model_is_refused(tmp_path: Path) -> None:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(
        json.dumps({"peft_type": "LORA", "base_model_name_or_path": "Qwen/Qwen3-1.7B-Base", "r": 64})
    )
    runs = tmp_path / "runs"
    result = rdtui("--runs-dir", str(runs), "eval", str(adapter))
    assert result.returncode != 0
    line = one_line(result.stderr)
    assert "trained on base model 'Qwen/Qwen3-1.7B-Base'" in line and "builtin:tiny-qwen3" in line
    assert files_under(runs) == []


def test_a_start_past_the_end_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = rdtui("--runs-dir", str(runs), "eval", "builtin:tiny-qwen3", "--start-from", "5000")
    assert result.returncode != 0
    assert "past the end of synth_test (400 problems)" in one_line(result.stderr)
    assert files_under(runs) == []


def test_quick_prints_five_problems_with_completions_and_verdicts_and_writes_nothing(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = rdtui(
        "--runs-dir",
        str(runs),
        "eval",
        "builtin:tiny-qwen3",
        "--quick",
        "--benchmark",
        "gsm8k_test",
        "--set",
        "evaluation.max_new_tokens=8",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("=== gsm8k_test #") == 5
    assert "gold: 18" in result.stdout  # GSM8K test problem 0 (Janet's ducks)
    assert "Janet" in result.stdout
    assert result.stdout.count("--- sample 1/1: wrong") + result.stdout.count("--- sample 1/1: CORRECT") == 5
    assert files_under(runs) == []
