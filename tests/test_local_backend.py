"""Local runs as a user drives them: detached processes, progress, cancel, kill -9 and resume, bad input."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import pytest

from core.store.jsonl import read_jsonl
from core.store.runstore import RunStore
from tests.conftest import rdtui, wait_for

# Small enough for a few seconds of CPU per stage, real enough to train, checkpoint and evaluate.
QUICK = [
    "--set",
    "sft.max_steps=8",
    "--set",
    "sft.save_steps=4",
    "--set",
    "sft.sample_every=4",
    "--set",
    "evaluation.benchmarks=[synth_test]",
    "--set",
    "evaluation.limit=8",
    "--set",
    "evaluation.max_new_tokens=24",
]


def launch(runs_dir: Path, *args: str) -> str:
    proc = rdtui("--runs-dir", str(runs_dir), "run", *args, "--detach")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()[1]


def status(runs_dir: Path, run_id: str) -> str:
    return RunStore(runs_dir).get(run_id).record.effective_status


def test_detached_run_trains_evaluates_and_succeeds(runs_dir):
    run_id = launch(runs_dir, "baseline", "--profile", "local", *QUICK)
    run = RunStore(runs_dir).get(run_id)
    record = wait_for(lambda: run.reload().pid and run.record)
    assert os.getsid(record.pid) != os.getsid(0)  # its own session: a closed terminal does not stop it
    wait_for(lambda: status(runs_dir, run_id) in ("succeeded", "failed"))
    record = run.reload()
    assert record.status == "succeeded", record.error
    assert record.extra["stages_done"] == ["sft", "eval"]
    steps = [m["step"] for m in read_jsonl(run.metrics_path) if m.get("stage") == "sft" and "loss" in m]
    assert steps and steps == sorted(set(steps)) and steps[-1] == 8
    log = run.log_path.read_text()
    assert "stage sft starts" in log and "succeeded" in log
    assert (run.eval_dir / "synth_test.json").exists()


def test_cancel_stops_the_run_and_its_process_group(runs_dir):
    run_id = launch(runs_dir, "grpo_only", "--profile", "local", "--set", "grpo.max_steps=500", *QUICK)
    run = RunStore(runs_dir).get(run_id)
    wait_for(lambda: run.reload().status == "running" and run.record.pid)
    pid = run.record.pid
    proc = rdtui("--runs-dir", str(runs_dir), "cancel", run_id)
    assert proc.returncode == 0, proc.stderr
    assert run.reload().status == "cancelled"
    wait_for(
        lambda: not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(")")[1].split()[0] == "Z",
        timeout=120,
    )
    proc = rdtui("--runs-dir", str(runs_dir), "cancel", run_id)
    assert proc.returncode == 1 and "cancelled" in proc.stderr


@pytest.mark.slow
def test_kill_9_reads_lost_and_resume_finishes_without_duplicate_steps(runs_dir):
    run_id = launch(
        runs_dir,
        "sft_traces",
        "--profile",
        "local",
        "--set",
        "sft.max_steps=40",
        "--set",
        "sft.save_steps=5",
        *QUICK[4:],
    )
    run = RunStore(runs_dir).get(run_id)
    wait_for(lambda: any(m.get("step", 0) >= 12 for m in read_jsonl(run.metrics_path)))
    os.killpg(run.reload().pid, signal.SIGKILL)
    wait_for(lambda: status(runs_dir, run_id) in ("lost", "failed"), timeout=120)
    ls = json.loads(rdtui("--runs-dir", str(runs_dir), "ls", "--json").stdout)
    assert ls[0]["status"] in ("lost", "failed")
    proc = rdtui("--runs-dir", str(runs_dir), "resume", run_id, "--detach")
    assert proc.returncode == 0, proc.stderr
    wait_for(lambda: status(runs_dir, run_id) in ("succeeded", "failed"), timeout=400)
    assert run.reload().status == "succeeded", run.record.error
    steps = [m["step"] for m in read_jsonl(run.metrics_path) if m.get("stage") == "sft" and "loss" in m]
    assert steps == sorted(set(steps)) and steps[-1] == 40
    # It continued from a checkpoint written before the kill, not from step 0.
    assert re.search(r"resuming sft from checkpoint-(5|10|15)\b", run.log_path.read_text())


@pytest.mark.parametrize(
    "override,needle",
    [
        ("datasets.s1k={hub: simplescaling/s1K-1.1, split: train, formatter: s1k}", "datasets.s1k.path"),
        ("model.name=no-such-org/no-such-model", "no-such-org/no-such-model"),
    ],
    ids=["unreachable hub dataset", "unloadable model"],
)
def test_bad_input_fails_before_training_with_one_line(runs_dir, override, needle):
    """What only the worker can find out (a missing local file is refused at launch: tests/test_faults.py)."""
    proc = rdtui(
        "--runs-dir",
        str(runs_dir),
        "run",
        "sft_traces",
        "--profile",
        "local",
        "--set",
        override,
        *QUICK,
        env={"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
    )
    assert proc.returncode == 1
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1, proc.stderr
    (run,) = RunStore(runs_dir).list()
    assert run.record.status == "failed" and needle in run.record.error
    assert not run.checkpoints_dir.exists() and not run.metrics_path.exists() and not run.eval_dir.exists()


def test_unknown_reward_is_refused_before_any_run_exists(runs_dir):
    proc = rdtui(
        "--runs-dir",
        str(runs_dir),
        "run",
        "grpo_only",
        "--profile",
        "local",
        "--set",
        "grpo.reward_weights={correctness: 1.0, brevity: 0.5}",
    )
    assert proc.returncode == 2 and "unknown reward 'brevity'" in proc.stderr
    assert RunStore(runs_dir).list() == []


def test_ctrl_c_while_following_detaches_and_the_run_goes_on(runs_dir):
    import subprocess
    import sys

    from tests.conftest import REPO

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core.cli",
            "--runs-dir",
            str(runs_dir),
            "run",
            "grpo_only",
            "--profile",
            "local",
            "--set",
            "grpo.max_steps=500",
            *QUICK,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().startswith("launched grpo_only-")
        run = wait_for(lambda: (RunStore(runs_dir).list() or [None])[0])
        wait_for(lambda: run.reload().status == "running")
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0 and "detached" in out
        time.sleep(1)
        assert status(runs_dir, run.id) == "running"  # Ctrl-C left the run alone
    finally:
        proc.kill()
        rdtui("--runs-dir", str(runs_dir), "cancel", RunStore(runs_dir).list()[0].id)


def test_unreachable_hub_fails_at_once_instead_of_retrying(runs_dir):
    # A hub endpoint that refuses connections stands in for a machine without network; the worker
    # notices before the hub libraries load and goes offline instead of letting them retry.
    proc = rdtui(
        "--runs-dir",
        str(runs_dir),
        "run",
        "sft_traces",
        "--profile",
        "local",
        "--set",
        "datasets.s1k={hub: rdtui-tests/no-such-dataset, split: train, formatter: s1k}",
        *QUICK,
        env={"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "", "HF_DATASETS_OFFLINE": ""},
    )
    assert proc.returncode == 1 and "datasets.s1k.path" in proc.stderr
    (run,) = RunStore(runs_dir).list()
    assert "offline mode" in run.log_path.read_text()


def test_hub_probe_switches_to_offline_mode(monkeypatch):
    from core import hub

    for name in hub.OFFLINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    assert not hub.hub_reachable(timeout=1)
    assert hub.go_offline_if_unreachable()
    assert all(os.environ[name] == "1" for name in hub.OFFLINE_VARIABLES)
    assert not hub.go_offline_if_unreachable()  # already offline: nothing to probe
