"""Trackers and provenance: a real local run with `report_to: [tensorboard]` writes TensorBoard event
files (training curves and the evaluation summary), and its run.json records what it loaded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.config import load_study, resolve_full, snapshot_text
from core.errors import RdtuiError
from core.execution.pipeline import execute_run
from core.store.runstore import RunStore
from tests.conftest import CONFIG, rdtui
from tests.test_training import GRPO_SMALL

SMALL_RUN = [
    *GRPO_SMALL,
    "grpo.max_steps=2",
    "grpo.sample_every=0",
    "evaluation.benchmarks=[synth_test]",
    "evaluation.limit=4",
    "evaluation.max_new_tokens=16",
    "telemetry.report_to=[tensorboard]",
]


def launch(runs: Path, condition: str, *overrides: str):
    resolution = resolve_full(load_study(CONFIG), condition, "local", list(overrides))
    run = RunStore(runs).create(condition, "local", "local", snapshot_text(resolution))
    status = execute_run(run, cancel_on_sigterm=False)
    assert status == "succeeded", run.reload().error
    return run


def scalars(folder: Path) -> dict[str, list[float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [e.value for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory):
    # The worker process would own the tracker environment; here it is this test process's.
    saved = dict(os.environ)
    try:
        yield launch(tmp_path_factory.mktemp("runs"), "grpo_only", *SMALL_RUN)
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.mark.slow  # one real GRPO + eval run (about 45 s on 2 busy cores), shared by three tests
def test_a_local_run_with_tensorboard_writes_curves_and_the_eval_summary(tracked_run):
    run = tracked_run
    train = scalars(run.dir / "tensorboard" / "grpo")
    assert len(train["train/loss"]) == 2 and "train/reward" in train
    summary = json.loads((run.eval_dir / "synth_test.json").read_text())
    evaluated = scalars(run.dir / "tensorboard" / "eval")
    assert evaluated["eval/synth_test/accuracy"] == [pytest.approx(summary["accuracy"])]
    assert evaluated["eval/synth_test/ci95_low"] == [pytest.approx(summary["ci95"][0])]
    assert evaluated["eval/synth_test/pass@1"] == [pytest.approx(summary["pass@k"]["1"]["value"])]
    assert "eval/synth_test/maj@1" in evaluated
    assert "eval/synth_test/trace/share_think_block" in evaluated


@pytest.mark.slow
def test_run_json_records_what_each_stage_loaded_and_the_library_versions(tracked_run):
    import torch
    import transformers
    import trl

    loaded = json.loads((tracked_run.dir / "run.json").read_text())["loaded"]
    assert loaded["model"]["name"] == tracked_run.config().model.name
    assert loaded["model"]["sha256"].startswith("sha256:")
    assert set(loaded["datasets"]) == {"gsm8k_train", "synth_test"}
    assert loaded["datasets"]["synth_test"]["synthetic"] == "digit_chain"
    assert set(loaded["versions"]) == {"grpo", "eval"}
    for stage_versions in loaded["versions"].values():
        assert (
            stage_versions["torch"] == torch.__version__.split("+")[0] or stage_versions["torch"] == torch.__version__
        )
        assert stage_versions["transformers"] == transformers.__version__
        assert stage_versions["trl"] == trl.__version__
        assert {"peft", "rdtui"} <= set(stage_versions)


@pytest.mark.slow
def test_results_shows_revisions_and_warns_when_rows_loaded_different_ones(tracked_run, tmp_path):
    runs = tracked_run.dir.parent
    result = rdtui("--runs-dir", str(runs), "results", "--revisions")
    assert result.returncode == 0, result.stderr
    assert "MODEL@" in result.stdout and "trl " in result.stdout
    assert "different revisions" not in result.stderr
    # A second row whose benchmark file changed under it (another content hash).
    other = json.loads((tracked_run.dir / "run.json").read_text())
    other["id"], other["condition"] = "base_model-x", "base_model"
    other["loaded"]["datasets"]["synth_test"] = {"path": "/data/synth_test.jsonl", "sha256": "sha256:" + "ab" * 32}
    copy = runs / "base_model-x"
    copy.mkdir()
    (copy / "run.json").write_text(json.dumps(other))
    (copy / "config.yaml").write_text((tracked_run.dir / "config.yaml").read_text())
    (copy / "eval").mkdir()
    (copy / "eval" / "synth_test.json").write_text((tracked_run.eval_dir / "synth_test.json").read_text())
    result = rdtui("--runs-dir", str(runs), "results")
    assert result.returncode == 0, result.stderr
    assert "rows of this table loaded different revisions of dataset synth_test" in result.stderr
    assert "abababababab: base_model-x" in result.stderr


def test_hub_commits_resolve_from_the_local_hub_cache_offline(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from core.provenance import hub_commit

    commit = "0123456789abcdef0123456789abcdef01234567"
    refs = tmp_path / "datasets--openai--gsm8k" / "refs"
    refs.mkdir(parents=True)
    (refs / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_commit("openai/gsm8k", "dataset", None) == commit
    assert hub_commit("openai/gsm8k", "dataset", "v2") is None  # unknown ref offline: said, not guessed
    assert hub_commit("any/repo", "model", "f" * 40) == "f" * 40  # a pinned commit is its own answer


def test_content_hash_follows_the_bytes_and_is_cached(tmp_path, monkeypatch):
    from core.provenance import content_hash

    monkeypatch.setenv("RDTUI_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"\0" * 1000)
    first = content_hash(folder)
    assert first == content_hash(folder) and (tmp_path / "cache" / "content-hashes.json").exists()
    (folder / "model.safetensors").write_bytes(b"\1" * 1000)
    assert content_hash(folder) != first


def test_wandb_accepts_netrc_credentials_and_sets_a_stable_id_per_stage(tmp_path, monkeypatch):
    from core.config import resolve
    from core.tracking import check_trackers, stage_environment, wandb_credentials

    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    assert not wandb_credentials()
    cfg = resolve(load_study(CONFIG), "sft_then_grpo", "local", ["telemetry.report_to=[wandb]"])
    with pytest.raises(RdtuiError, match="wandb login"):
        check_trackers(cfg)
    (tmp_path / "netrc").write_text("machine api.wandb.ai\n  login user\n  password abc123\n")
    assert wandb_credentials()

    class FakeRun:
        id = "sft_then_grpo-20260101-000000-abcd"

    for var in ("WANDB_RUN_ID", "WANDB_RUN_GROUP", "WANDB_JOB_TYPE", "WANDB_RESUME", "WANDB_PROJECT", "WANDB_TAGS"):
        monkeypatch.setenv(var, "")  # restored (removed) after the test: stage_environment sets them
    sft = stage_environment(cfg, FakeRun, "sft")
    assert sft["WANDB_RUN_ID"] == f"{FakeRun.id}-sft" and sft["WANDB_JOB_TYPE"] == "sft"
    assert sft["WANDB_RUN_GROUP"] == cfg.study.name and sft["WANDB_RESUME"] == "allow"
    grpo = stage_environment(cfg, FakeRun, "grpo")
    assert grpo["WANDB_RUN_ID"] == f"{FakeRun.id}-grpo"
    assert stage_environment(cfg, FakeRun, "sft")["WANDB_RUN_ID"] == sft["WANDB_RUN_ID"]  # a resume continues it


def test_record_loaded_writes_hub_commits_file_hashes_and_versions_into_run_json(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from core.config import resolve
    from core.provenance import record_loaded

    commit = "89abcdef0123456789abcdef0123456789abcdef"
    (tmp_path / "hub" / "datasets--openai--gsm8k" / "refs").mkdir(parents=True)
    (tmp_path / "hub" / "datasets--openai--gsm8k" / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = resolve(
        load_study(CONFIG),
        "grpo_only",
        "local",
        [
            "datasets.gsm8k_train={hub: openai/gsm8k, config: main, formatter: gsm8k}",
            "evaluation.benchmarks=[gsm8k_test]",
        ],
    )
    run = RunStore(tmp_path / "runs").create("grpo_only", "local", "local", "snapshot: test\n")
    record_loaded(run, cfg, "grpo")
    record_loaded(run, cfg, "eval")

    loaded = json.loads((run.dir / "run.json").read_text())["loaded"]
    assert loaded["datasets"]["gsm8k_train"] == {
        "hub": "openai/gsm8k",
        "config": "main",
        "split": "train",
        "revision": "main",
        "commit": commit,
    }
    benchmark = loaded["datasets"]["gsm8k_test"]
    assert benchmark["sha256"].startswith("sha256:") and benchmark["path"].endswith("gsm8k_test.jsonl")
    assert loaded["model"]["sha256"].startswith("sha256:")
    assert set(loaded["versions"]) == {"grpo", "eval"}
    assert {"torch", "transformers", "trl", "peft", "rdtui"} <= set(loaded["versions"]["grpo"])


def test_a_local_model_folder_gets_one_volume_key_per_content(tmp_path, monkeypatch):
    from core.provenance import volume_key

    monkeypatch.setenv("RDTUI_CACHE", str(tmp_path / "cache"))
    for name in ("a", "b"):
        (tmp_path / name / "ckpt").mkdir(parents=True)
        (tmp_path / name / "ckpt" / "config.json").write_text('{"x": 1}')
    key = volume_key(tmp_path / "a" / "ckpt")
    assert key.startswith("models/ckpt-") and key == volume_key(tmp_path / "b" / "ckpt")  # same bytes: uploaded once
    (tmp_path / "b" / "ckpt" / "config.json").write_text('{"x": 2}')
    assert volume_key(tmp_path / "b" / "ckpt") != key
    data = tmp_path / "train.jsonl"
    data.write_text("{}\n")
    assert volume_key(data, "data").startswith("data/train-") and volume_key(data, "data").endswith(".jsonl")
