"""`rdtui push RUN --to HUB_ID`: the run's model folder and a model card reach the hub client
(the one seam: huggingface_hub's HfApi cannot be reached from a test)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.cli import main
from core.config import load_study, resolve_full, snapshot_text
from core.models.loading import model_source
from core.store.runstore import RunStore
from tests.conftest import CONFIG

SUMMARY = {
    "benchmark": "synth_test",
    "n_problems": 8,
    "benchmark_size": 8,
    "complete": True,
    "samples": 1,
    "correct": 4,
    "accuracy": 0.5,
    "ci95": [0.2152, 0.7848],
    "pass@k": {"1": {"value": 0.5}},
    "maj@k": {"1": {"value": 0.5}},
    "mean_completion_tokens": 12.0,
}


class FakeHub:
    """Records calls and keeps a copy of each uploaded folder, as the hub would."""

    def __init__(self, root: Path, fail: Exception | None = None):
        self.root, self.fail, self.calls = root, fail, []

    def create_repo(self, repo_id, *, private=None, exist_ok=False):
        self.calls.append(("create_repo", repo_id, private, exist_ok))
        if self.fail:
            raise self.fail
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, *, repo_id, folder_path, commit_message):
        self.calls.append(("upload_folder", repo_id, commit_message))
        shutil.copytree(folder_path, self.root / repo_id)
        return SimpleNamespace(commit_url=f"https://huggingface.co/{repo_id}/commit/abc123")


def trained_run(runs: Path, condition: str = "sft_traces"):
    resolution = resolve_full(load_study(CONFIG), condition, "local")
    run = RunStore(runs).create(condition, "local", "local", snapshot_text(resolution))
    if condition != "base_model":
        shutil.copytree(model_source("builtin:tiny-qwen3"), run.checkpoints_dir / "sft-final")
    run.eval_dir.mkdir()
    (run.eval_dir / "synth_test.json").write_text(json.dumps(SUMMARY))
    return run


def test_push_uploads_the_model_with_a_card_of_config_and_eval_table(tmp_path, monkeypatch, capsys):
    run = trained_run(tmp_path / "runs")
    hub = FakeHub(tmp_path / "hub")
    monkeypatch.setattr("core.commands.push.hub_api", lambda: hub)
    assert main(["--runs-dir", str(tmp_path / "runs"), "push", run.id, "--to", "me/tiny-sft", "--private"]) == 0

    assert hub.calls[0] == ("create_repo", "me/tiny-sft", True, True)
    assert hub.calls[1][:2] == ("upload_folder", "me/tiny-sft") and run.id in hub.calls[1][2]
    uploaded = hub.root / "me" / "tiny-sft"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "README.md"):
        assert (uploaded / name).exists(), name
    card = (uploaded / "README.md").read_text()
    front = card.split("---")[1]
    assert "library_name: transformers" in front and '- "rdtui"' in front and '- "sft"' in front
    assert "base_model" not in front  # builtin:tiny-qwen3 is not a hub model
    table_row = next(line for line in card.splitlines() if line.startswith(f"| sft_traces | {run.id}"))
    assert "50.0 [21.5, 78.5] (N=8)" in table_row
    assert run.config_path.read_text().splitlines()[1] in card  # the config snapshot, provenance comments included
    assert not (run.checkpoints_dir / "sft-final" / "README.md").exists()  # the run's folder is untouched
    assert run.reload().extra["pushed"] == [
        {
            "to": "me/tiny-sft",
            "url": "https://huggingface.co/me/tiny-sft/commit/abc123",
            "model": str(run.checkpoints_dir / "sft-final"),
        }
    ]
    assert "pushed" in capsys.readouterr().out


def test_push_failures_are_one_line_and_record_nothing(tmp_path, monkeypatch, capsys):
    run = trained_run(tmp_path / "runs")
    monkeypatch.setattr(
        "core.commands.push.hub_api",
        lambda: FakeHub(tmp_path / "hub", fail=RuntimeError("401 Client Error: Unauthorized\nmore")),
    )
    assert main(["--runs-dir", str(tmp_path / "runs"), "push", run.id, "--to", "me/tiny-sft"]) == 1
    err = capsys.readouterr().err
    assert err == f"rdtui: could not push {run.id} to me/tiny-sft: 401 Client Error: Unauthorized\n"
    assert "pushed" not in run.reload().extra


@pytest.mark.parametrize(
    "args, message",
    [
        (["--to", "not-a-repo-id"], "expected a hub repo id"),
        (["--to", "me/x"], "trains nothing"),
    ],
)
def test_push_refuses_bad_targets_with_exit_2(tmp_path, monkeypatch, capsys, args, message):
    run = trained_run(tmp_path / "runs", "base_model")
    monkeypatch.setattr("core.commands.push.hub_api", lambda: pytest.fail("the hub must not be called"))
    assert main(["--runs-dir", str(tmp_path / "runs"), "push", run.id, *args]) == 2
    assert message in capsys.readouterr().err


def test_card_only_prints_the_card_without_uploading(tmp_path, monkeypatch, capsys):
    run = trained_run(tmp_path / "runs")
    monkeypatch.setattr("core.commands.push.hub_api", lambda: pytest.fail("the hub must not be called"))
    assert main(["--runs-dir", str(tmp_path / "runs"), "push", run.id, "--to", "me/x", "--card-only"]) == 0
    assert capsys.readouterr().out.startswith("---\n")
