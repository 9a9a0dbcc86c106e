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
from core.store.runstore import FINISHED, Run, RunStore, process_alive, try_own

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

    def launch(self, runs: list[Run], *, resume: bool = False, owner_fds: dict[str, int] | None = None) -> int:
        """Start the detached queue process for `runs`; returns its pid.

        The queue inherits each run's owner lock (`owner_fds`, or taken here for new runs), so from
        this call until the run's worker ends exactly one live process owns the run."""
        if not runs:
            return 0
        fds = dict(owner_fds or {})
        try:
            for run in runs:
                if run.id not in fds:
                    fd = try_own(run.dir)
                    if fd is None:
                        raise RdtuiError(f"run {run.id} is owned by another live rdtui process")
                    fds[run.id] = fd
            max_parallel = runs[0].config().max_parallel
            root = runs[0].dir.parent
            args = [sys.executable, "-m", "core.cli", "--runs-dir", str(root), "_queue", *[r.id for r in runs]]
            args += ["--max-parallel", str(max_parallel)]
            args += ["--owner-fds", ",".join(f"{run_id}:{fd}" for run_id, fd in fds.items())]
            args += ["--resume"] if resume else []
            env = _child_env()
            env["PYTHONPATH"] = _python_path(env)
            proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
                cwd=os.getcwd(),
                pass_fds=tuple(fds.values()),
            )
        finally:
            for fd in fds.values():  # the queue holds its own copies now (or nobody does)
                os.close(fd)
        return proc.pid

    def cancel(self, run: Run) -> None:
        record = run.reload()
        if record.status == "queued":
            run.finish("cancelled")
            return
        if record.status != "running":
            raise RdtuiError(f"run {run.id} is {record.effective_status}; only queued or running runs can be cancelled")
        if record.pid is not None and process_alive(record.pid, record.pid_start):
            _stop_group(record.pid)
        if run.reload().status == "running":
            run.finish("cancelled")

    def resume(self, run: Run) -> None:
        fd = try_own(run.dir)
        if fd is None:
            raise RdtuiError(f"run {run.id} is owned by a live queue or worker; cancel it first, or wait for it to end")
        try:
            record = run.reload()
            # Queued, and we could take its lock: no live queue owns it.
            status = "lost" if record.status == "queued" else record.effective_status
            if status not in ("lost", "failed", "cancelled"):
                raise RdtuiError(f"run {run.id} is {status}; only lost, failed or cancelled runs can be resumed")
            if status == "lost":
                # The process (or the queue that held it) died without saying so: record that first.
                run.finish("failed", "process lost")
            run.requeue()
        except BaseException:
            os.close(fd)
            raise
        self.launch([run], resume=True, owner_fds={run.id: fd})

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


def parse_owner_fds(text: str) -> dict[str, int]:
    """The owner locks `launch` handed the queue process (`--owner-fds id:fd,...`): run id -> file descriptor."""
    fds = {}
    for item in text.split(","):
        run_id, _, fd = item.rpartition(":")
        if run_id and fd.isdigit():
            fds[run_id] = int(fd)
    return fds


def run_queue(
    store: RunStore, run_ids: list[str], *, resume: bool, max_parallel: int, owner_fds: dict[str, int]
) -> None:
    """Body of the detached queue process: start each run's child, keep `max_parallel` going.
    It owns each run (holds its lock) until that run's worker has ended and its end is recorded."""
    owner_fds = dict(owner_fds)
    # Longest first (most stages), so the last run to start is a short one and no core idles at the end.
    pending = sorted((store.get(run_id) for run_id in run_ids), key=lambda run: -_stage_count(run))
    threads = threads_per_run(max_parallel)
    active: list[tuple[Run, subprocess.Popen]] = []
    while pending or active:
        for run, proc in list(active):
            if proc.poll() is not None:
                active.remove((run, proc))
                _mark_dead_child(run, proc.returncode)
                _release(owner_fds, run.id)
        while pending and len(active) < max_parallel:
            run = pending.pop(0)
            if run.reload().status in FINISHED:
                _release(owner_fds, run.id)
                continue
            active.append((run, _start_child(run, resume, threads)))
        time.sleep(0.2)


def _stage_count(run: Run) -> int:
    try:
        return len(run.config().condition.stages)
    except Exception:  # an unreadable snapshot fails in its own worker, with its own message
        return 0


THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def threads_per_run(max_parallel: int) -> int | None:
    """The CPU threads each of `max_parallel` concurrent runs gets: the cores shared out, since two runs
    of two threads each on two cores spin against each other. None (torch's default) for one at a time."""
    if max_parallel <= 1:
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // max_parallel)


def _release(owner_fds: dict[str, int], run_id: str) -> None:
    fd = owner_fds.pop(run_id, None)
    if fd is not None:
        os.close(fd)


def _start_child(run: Run, resume: bool, threads: int | None = None) -> subprocess.Popen:
    from core.store.runstore import process_start_ticks

    env = _child_env()
    env["PYTHONPATH"] = _python_path(env)
    if threads is not None and not any(name in env for name in THREAD_VARIABLES):  # the user's setting wins
        env.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
    log = open(run.log_path, "ab", buffering=0)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.execution.run_process", str(run.dir)] + (["--resume"] if resume else []),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    finally:
        log.close()
    run.update(pid=proc.pid, pid_start=process_start_ticks(proc.pid))
    return proc


def _mark_dead_child(run: Run, returncode: int) -> None:
    """A child that died without recording an end (killed, crashed) leaves its run failed."""
    record = run.reload()
    if record.status in ("running", "queued"):
        reason = f"killed by signal {-returncode}" if returncode < 0 else f"exited with status {returncode}"
        run.finish("failed", f"worker process {reason}")
