"""The local backend: runs execute in detached processes that outlive the terminal.

`launch` starts one queue process in its own session (closing the terminal or dropping the SSH
link does not stop it); it runs the given runs, at most `max_parallel` at a time, each in a child
process of its own session whose stdout and stderr go to the run's `log.txt`. The child's pid is
recorded in run.json, so `rdtui cancel` can stop it and its children, and a dead child reads as
`lost`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.errors import RdtuiError
from core.runstore import FINISHED, Run, RunStore, process_alive

CANCEL_GRACE_SECONDS = 10.0


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def _repo_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def _python_path(env: dict[str, str]) -> str:
    """Keep `core` importable in the children even when rdtui runs from a source checkout."""
    parts = [_repo_root()] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join(dict.fromkeys(parts))


class LocalBackend:
    name = "local"

    def preflight(self, cfgs) -> None:
        return None

    def estimate_cost(self, cfg):
        return None

    def launch(self, runs: list[Run], *, resume: bool = False) -> int:
        """Start the detached queue process for `runs`; returns its pid."""
        if not runs:
            return 0
        max_parallel = runs[0].config().max_parallel
        root = runs[0].dir.parent
        args = [sys.executable, "-m", "core.cli", "--runs-dir", str(root), "_worker", *[r.id for r in runs]]
        env = _child_env()
        env["PYTHONPATH"] = _python_path(env)
        env["RDTUI_MAX_PARALLEL"] = str(max_parallel)
        if resume:
            env["RDTUI_RESUME"] = "1"
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True, env=env, cwd=os.getcwd())
        return proc.pid

    def cancel(self, run: Run) -> None:
        record = run.reload()
        if record.status == "queued":
            run.update(status="cancelled", finished_at=time.time())
            return
        if record.status != "running":
            raise RdtuiError(f"run {run.id} is {record.effective_status}; only queued or running runs can be cancelled")
        if record.pid is not None and process_alive(record.pid, record.pid_start):
            _stop_group(record.pid)
        if run.reload().status == "running":
            run.update(status="cancelled", finished_at=time.time())

    def resume(self, run: Run) -> None:
        record = run.reload()
        status = record.effective_status
        if status not in ("lost", "failed", "cancelled", "queued"):
            raise RdtuiError(f"run {run.id} is {status}; only lost, failed or cancelled runs can be resumed")
        if status == "lost":
            # The process died without saying so: record that before going again.
            run.update(status="failed", error="process lost", finished_at=time.time())
        run.update(status="queued", error=None, finished_at=None)
        self.launch([run], resume=True)

    def refresh(self, run: Run) -> None:
        return None


def _stop_group(pid: int) -> None:
    """SIGTERM the run's process group (its trainer and any data workers), SIGKILL after a grace."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + CANCEL_GRACE_SECONDS
    while time.monotonic() < deadline:
        if not process_alive(pid):
            return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_queue(store: RunStore, run_ids: list[str], *, resume: bool, max_parallel: int) -> None:
    """Body of the detached queue process: start each run's child, keep `max_parallel` going."""
    pending = [store.get(run_id) for run_id in run_ids]
    active: list[tuple[Run, subprocess.Popen]] = []
    while pending or active:
        for run, proc in list(active):
            if proc.poll() is not None:
                active.remove((run, proc))
                _mark_dead_child(run, proc.returncode)
        while pending and len(active) < max_parallel:
            run = pending.pop(0)
            if run.reload().status in FINISHED:
                continue
            active.append((run, _start_child(run, resume)))
        time.sleep(0.2)


def _start_child(run: Run, resume: bool) -> subprocess.Popen:
    from core.runstore import process_start_ticks

    env = _child_env()
    env["PYTHONPATH"] = _python_path(env)
    log = open(run.log_path, "ab", buffering=0)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "core.worker", str(run.dir)] + (["--resume"] if resume else []),
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env)
    finally:
        log.close()
    run.update(pid=proc.pid, pid_start=process_start_ticks(proc.pid))
    return proc


def _mark_dead_child(run: Run, returncode: int) -> None:
    """A child that died without recording an end (killed, crashed) leaves its run failed."""
    record = run.reload()
    if record.status in ("running", "queued"):
        reason = f"killed by signal {-returncode}" if returncode < 0 else f"exited with status {returncode}"
        run.update(status="failed", error=f"worker process {reason}", finished_at=time.time())
