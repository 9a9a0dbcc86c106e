"""The Modal entry points' bodies, run for real on the tiny model with a folder standing in for the Volume.

The driver (`remote.drive`) gets a `run_stage` that calls the stage body (`remote.run_stage`) in this
process, where Modal would call it in a container on the stage's GPU.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.backends.sync import sync_run
from core.config import load_study, resolve_full, snapshot_text
from core.store.jsonl import read_jsonl
from core.store.runstore import RunRecord, read_record
from modal_jobs import remote
from tests.conftest import CONFIG, REPO
from tests.volume_standin import FolderVolume

QUICK = [
    "sft.max_steps=2",
    "sft.save_steps=1",
    "sft.sample_every=0",
    "grpo.max_steps=2",
    "grpo.save_steps=1",
    "grpo.sample_every=0",
    "grpo.per_device_train_batch_size=16",
    "evaluation.benchmarks=[synth_test]",
    "evaluation.limit=4",
    "evaluation.max_new_tokens=16",
]


def launch_request(condition: str, run_id: str, launch: int = 1) -> dict:
    resolution = resolve_full(load_study(CONFIG), condition, "local", overrides=QUICK)
    record = RunRecord(id=run_id, condition=condition, profile="local", backend="modal", extra={"launch": launch})
    return {"run_id": run_id, "record": record.to_dict(), "snapshot": snapshot_text(resolution), "launch": launch}


@pytest.fixture(autouse=True)
def stage_env(monkeypatch, tmp_path):
    # The stage body sets its container's environment in-process; put this process's back afterwards
    # so nothing it set leaks into later tests and the subprocesses they start.
    saved = dict(os.environ)
    for key in remote.stage_environment(tmp_path):
        os.environ.pop(key, None)
    os.environ.setdefault("RDTUI_CACHE", str(Path.home() / ".cache" / "rdtui"))
    yield
    os.environ.clear()
    os.environ.update(saved)


def drive_here(volume: Path, request: dict, stages_called: list[str], commits: list[int]) -> str:
    def run_stage(stage: str) -> str:
        stages_called.append(stage)
        return remote.run_stage(
            volume,
            request["run_id"],
            stage,
            commit=lambda: commits.append(1),
            call_id=f"fc-{stage}",
            commit_interval=0.5,
        )

    return remote.drive(
        volume, request, run_stage=run_stage, commit=lambda: commits.append(1), reload=lambda: None, call_id="fc-driver"
    )


@pytest.mark.slow
def test_driver_runs_each_stage_and_writes_the_run_layout_on_the_volume(tmp_path):
    volume = tmp_path / "volume"
    run_id = "sft_then_grpo-20260101-000000-0001"
    stages, commits = [], []
    status = drive_here(volume, launch_request("sft_then_grpo", run_id), stages, commits)
    run_dir = volume / "runs" / run_id
    record = read_record(run_dir)
    assert status == "succeeded" and record.status == "succeeded", record.error
    assert stages == ["sft", "grpo", "eval"] and record.extra["stages_done"] == stages
    assert record.modal_call_id == "fc-driver" and record.extra["stage_call_id"] == "fc-eval"
    log = (run_dir / "log.txt").read_text()
    assert all(f"stage {s} starts" in log for s in stages)
    metrics = read_jsonl(run_dir / "metrics.jsonl")
    assert {m["stage"] for m in metrics} >= {"sft", "grpo"}
    assert (run_dir / "eval" / "synth_test.json").exists()
    assert (run_dir / "checkpoints" / "sft-final").is_dir() and (run_dir / "checkpoints" / "grpo-final").is_dir()
    assert len(commits) >= 4  # the driver's, then at least one per stage container

    # The local store catches up with everything through the sync loop.
    local = tmp_path / "store" / run_id
    sync_run(FolderVolume(volume), run_id, local)
    assert read_record(local).status == "succeeded"
    assert read_jsonl(local / "metrics.jsonl") == metrics
    assert (local / "log.txt").read_text() == log

    # Driving the same launch again (Modal retrying the driver) finds every stage done.
    again = []
    assert drive_here(volume, launch_request("sft_then_grpo", run_id), again, []) == "succeeded" and again == []


def test_eval_only_run_on_the_volume(tmp_path):
    volume = tmp_path / "volume"
    run_id = "base_model-20260101-000000-0002"
    stages, commits = [], []
    assert drive_here(volume, launch_request("base_model", run_id), stages, commits) == "succeeded"
    run_dir = volume / "runs" / run_id
    assert stages == ["eval"]
    assert {p.name for p in run_dir.iterdir()} >= {"run.json", "config.yaml", "log.txt", "eval"}
    journal = read_jsonl(run_dir / "eval" / "synth_test.jsonl")
    assert len([line for line in journal if "correct" in line]) == 4  # one line per problem after the header
    assert "stage eval starts" in (run_dir / "log.txt").read_text()


# A signal sent while the stage runs may land anywhere, also inside torch's or transformers' context
# managers (a meta-device context left entered breaks every later model load in the process), so the
# interrupted stage runs in a child process; what it does to the run is on the Volume folder either way.
INTERRUPTED_STAGE = """
import os, signal, sys
from pathlib import Path
from core.store.runstore import read_record
from modal_jobs import remote

volume, run_id, how = Path(sys.argv[1]), sys.argv[2], sys.argv[3]


class FakeInputCancellation(BaseException):
    \"\"\"What Modal raises in the function's thread when its call is cancelled (from a SIGUSR1 handler).\"\"\"


def raise_cancellation(signum, frame):
    raise FakeInputCancellation()


signal.signal(signal.SIGUSR1, raise_cancellation)
sig = signal.SIGTERM if how == "preempt" else signal.SIGUSR1  # Modal cancels a call with SIGUSR1


def interrupt():
    # Sent once the stage is under way, however slow this machine is to get there.
    if read_record(volume / "runs" / run_id).status == "running":
        os.kill(os.getpid(), sig)


try:
    remote.run_stage(
        volume, run_id, "eval", commit=interrupt, commit_interval=0.01, cancelled_by=(FakeInputCancellation,)
    )
except remote.Stopped:
    sys.exit(3)
except FakeInputCancellation:
    sys.exit(4)
"""


def interrupt_stage_in_child(volume: Path, run_id: str, how: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", INTERRUPTED_STAGE, str(volume), run_id, how],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_stopped_container_leaves_the_run_running_and_the_rerun_finishes_it(tmp_path):
    volume = tmp_path / "volume"
    run_id = "base_model-20260101-000000-0003"
    remote.prepare_run_folder(volume, launch_request("base_model", run_id), "fc-driver")
    proc = interrupt_stage_in_child(volume, run_id, "preempt")
    assert proc.returncode == 3, proc.stderr[-2000:]  # remote.Stopped went on up
    assert read_record(volume / "runs" / run_id).status == "running"
    assert remote.run_stage(volume, run_id, "eval", commit=lambda: None) == "succeeded"
    assert "container stopped during eval" in (volume / "runs" / run_id / "log.txt").read_text()


def test_a_cancelled_call_records_the_run_cancelled(tmp_path):
    volume = tmp_path / "volume"
    run_id = "base_model-20260101-000000-0004"
    remote.prepare_run_folder(volume, launch_request("base_model", run_id), "fc-driver")
    proc = interrupt_stage_in_child(volume, run_id, "cancel")
    assert proc.returncode == 4, proc.stderr[-2000:]  # the cancellation went on up
    assert read_record(volume / "runs" / run_id).status == "cancelled"


def test_a_resume_keeps_the_volume_record_and_queues_it_again(tmp_path):
    volume = tmp_path / "volume"
    run_id = "grpo_only-20260101-000000-0005"
    run = remote.prepare_run_folder(volume, launch_request("grpo_only", run_id), "fc-1")
    run.update(status="running")
    run.update(status="failed", error="CUDA out of memory", extra={**run.record.extra, "stages_done": ["grpo"]})
    again = remote.prepare_run_folder(volume, launch_request("grpo_only", run_id, launch=2), "fc-2")
    record = again.reload()
    assert (record.status, record.error, record.modal_call_id) == ("queued", None, "fc-2")
    assert record.extra["stages_done"] == ["grpo"] and record.extra["launch"] == 2


def test_the_stage_environment_keeps_the_hub_cache_on_the_volume(tmp_path):
    env = remote.stage_environment(tmp_path, "grpo_only-20260101-000000-0005")
    assert env["HF_HOME"] == str(tmp_path / "hf-cache" / "grpo_only-20260101-000000-0005")  # one writer per cache
    # A distributed world is set up only where vLLM colocate really runs (core.training.grpo).
    assert "RANK" not in env and "MASTER_PORT" not in env


def test_stage_commits_are_bounded_by_the_interval_and_each_writes_the_new_segments_first(tmp_path):
    """M18: a stage commits the Volume once per COMMIT_INTERVAL_S (10 s; 6 runs stay near the docs'
    5 concurrent commits) and once at the end, each time after writing the new log bytes as a segment."""
    import inspect
    import time

    from core.backends.sync import SEGMENTS_DIR, SegmentWriter

    assert remote.COMMIT_INTERVAL_S >= 10
    assert inspect.signature(remote.run_stage).parameters["commit_interval"].default == remote.COMMIT_INTERVAL_S
    log = tmp_path / "log.txt"
    log.write_text("")
    writer, events = SegmentWriter(tmp_path), []

    def commit() -> None:
        segments = sorted((tmp_path / SEGMENTS_DIR).rglob("*.seg")) if (tmp_path / SEGMENTS_DIR).exists() else []
        events.append(("commit", sum(p.stat().st_size for p in segments)))

    interval, started = 0.2, time.monotonic()
    with remote.periodic_commit(commit, interval, before=writer.write_new):
        for i in range(10):
            with open(log, "a") as fh:
                fh.write(f"line {i}\n")
            time.sleep(0.1)
    elapsed = time.monotonic() - started
    # At most one commit per interval (plus the last), never a burst; the last one holds every byte.
    assert 1 <= len(events) <= elapsed / interval + 2
    assert events[-1] == ("commit", log.stat().st_size)
