"""What the Modal containers do, as plain Python over a folder (the mounted Volume).

Nothing here imports `modal`: `modal_jobs/app.py` wraps these bodies in Modal functions and passes
in the Volume's commit, and tests call them directly with a temporary folder as the Volume.

- `prepare_run_folder`: the driver writes the run folder from what the launch sent (the resolved
  config snapshot and run record), so nothing about a run is baked into the image.
- `run_stage`: one stage of a run in its GPU container. It tees the process's stdout and stderr
  (file descriptors, so trainer subprocesses and vLLM are captured too) into log.txt, commits the
  Volume every few seconds, always resumes from the stage's last checkpoint (Modal re-runs the same
  input in a new container after a preemption), and leaves the run `running` when the container is
  stopped, so that the re-run carries on.
- `run_cluster_stage`: one container of a stage on several machines (a Modal cluster): machine 0
  runs `run_stage` toward the others; the others run their share of the ranks only.
- `drive`: the stages in order, each through a caller-supplied `run_stage` (a Modal call on the
  stage's GPU), skipping those already done; a stage that fails for good fails the run.
- `attach_or_spawn`: the stage call a driver waits on. A driver Modal re-runs (a crash, a retry)
  re-attaches to the call its previous attempt spawned for this stage and launch instead of
  cancelling healthy GPU work.
Every input starts with a Volume reload: a warm container reused for another input would otherwise
see (and commit back) the Volume as it was when the container started.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.backends.modal_backend import HF_CACHE_DIR, STAGE_FUNCTIONS, stage_function
from core.backends.sync import RUNS_PREFIX, SegmentWriter, launch_number
from core.errors import RdtuiError, RunNotFound
from core.store.runstore import CONFIG_FILE, LOG_FILE, Run, RunRecord, read_record, write_record
from core.training.distributed import cluster_environment, gpu_choices, parse_gpu, run_other_machine

COMMIT_INTERVAL_S = 10.0  # Modal also commits in the background; ours bounds how stale a follower's view is
# Errors a fresh container may not hit again: raised (not recorded) so that Modal's retries re-run the stage.
TRANSIENT_ERRORS = (
    "ConnectionError",
    "ConnectTimeout",
    "ReadTimeout",
    "RemoteDisconnected",
    "NCCL error",
    "502 Server Error",
    "503 Server Error",
    "504 Server Error",
    "Temporary failure in name resolution",
)


class TransientStageError(RuntimeError):
    """A stage failed in a way worth retrying in a new container (Modal's `retries` does)."""


class Stopped(BaseException):
    """The container is being shut down (preemption): leave the run as it is for the re-run."""


def runs_root(volume_root: Path) -> Path:
    return Path(volume_root) / RUNS_PREFIX


def prepare_run_folder(volume_root: Path, request: dict[str, Any], call_id: str | None) -> Run:
    """Create or update the run's folder on the Volume for this launch.

    A first launch writes the record it was sent; a later launch (a resume) keeps the Volume's
    record, which knows which stages are done, and queues it again. A re-run of the same launch
    (Modal retrying the driver) changes nothing.
    """
    run_dir = runs_root(volume_root) / request["run_id"]
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_text_atomic(run_dir / CONFIG_FILE, request["snapshot"])
    (run_dir / LOG_FILE).touch()
    try:
        record = read_record(run_dir)
    except RunNotFound:
        record = RunRecord.from_dict(request["record"])
        record.extra.pop("launch", None)
    if launch_number(record) < request["launch"]:
        record.status, record.error, record.finished_at = "queued", None, None
        record.extra["launch"] = request["launch"]
        record.modal_call_id = call_id
        write_record(run_dir, record)
    return Run(run_dir)


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def drive(
    volume_root: Path,
    request: dict[str, Any],
    *,
    run_stage: Callable[[str], str],
    commit: Callable[[], None],
    reload: Callable[[], None],
    call_id: str | None = None,
) -> str:
    """Run the condition's remaining stages one call each; returns the run's final status."""
    reload()
    run = prepare_run_folder(volume_root, request, call_id)
    commit()
    for stage in run.config().condition.stages:
        reload()
        record = run.reload()
        if record.status in ("cancelled", "failed"):
            return record.status
        if stage in record.extra.get("stages_done", []):
            continue
        print(f"[rdtui] {run.id}: {stage} stage on Modal", flush=True)
        try:
            status = run_stage(stage)
        except Exception as exc:
            reload()
            message = f"stage {stage} failed on Modal: {type(exc).__name__}: {exc}".splitlines()[0]
            mark_finished(run, "failed", message)
            commit()
            return "failed"
        reload()
        if status in ("failed", "cancelled"):
            return status
        if stage not in run.reload().extra.get("stages_done", []):
            mark_finished(run, "failed", f"stage {stage} ended without finishing (status {status})")
            commit()
            return "failed"
    return run.reload().status


def mark_finished(run: Run, status: str, error: str | None) -> None:
    run.finish(status, error)


def stage_environment(volume_root: Path, run_id: str = "") -> dict[str, str]:
    """The stage container's environment. The hub cache is the run's own folder on the Volume: its
    stages share one download, and no two runs write the same cache files at once (Modal Volumes
    are last-write-wins). Stage containers are single-use, so huggingface_hub reads it fresh."""
    cache = Path(volume_root) / HF_CACHE_DIR / run_id if run_id else Path(volume_root) / HF_CACHE_DIR
    return {"HF_HOME": str(cache), "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}


def attach_or_spawn(
    run: Run,
    stage: str,
    launch: int,
    *,
    spawn: Callable[[], Any],
    from_id: Callable[[str], Any],
    commit: Callable[[], None],
) -> Any:
    """The call to wait on for `stage`: the one an earlier attempt of this driver spawned for the same
    stage and launch (still running or finished: waiting on it gives its outcome), else a new one.

    A call left by another launch (a resume after a failure) is stopped first. The new call's id is
    recorded and committed before waiting, so a driver re-run at any moment finds it.
    """
    previous = run.reload().extra.get("stage_call")
    if isinstance(previous, dict) and isinstance(previous.get("id"), str):
        if previous.get("stage") == stage and previous.get("launch") == launch:
            print(f"[rdtui] {run.id}: re-attaching to the {stage} call {previous['id']}", flush=True)
            return from_id(previous["id"])
        from_id(previous["id"]).cancel()
    call = spawn()
    run.update(
        extra_items={
            "stage_call_id": call.object_id,
            "stage_call": {"id": call.object_id, "stage": stage, "launch": launch},
        }
    )
    commit()
    return call


def stage_call_options(cfg, stage: str) -> dict[str, Any]:
    """The run's own options for its stage call (`Function.with_options`): timeout and retries, and
    the GPU when it is one string. `with_options(gpu=)` takes no list, so a fallback list (M22) stays
    with the decorator, which the run's deployment was built with (its name is a digest of them)."""
    options: dict[str, Any] = {"timeout": int(cfg.modal.timeout_hours * 3600), "retries": cfg.modal.retries}
    gpu = getattr(cfg.gpu, stage)
    # A cluster's GPU stays with its decorator too: each of its containers takes a whole machine.
    if isinstance(gpu, str) and stage_function(cfg, stage) == STAGE_FUNCTIONS[stage]:
        options["gpu"] = gpu
    return options


def require_cuda(cfg, stage: str) -> None:
    """Fail a Modal GPU stage at once when torch cannot use the GPUs it is paying for (M7), rather
    than train on the CPU until the timeout, then again on each retry."""
    gpu = getattr(cfg.gpu, stage, None) if cfg.backend == "modal" and cfg.gpu is not None else None
    if not gpu:
        return
    import torch

    wanted = parse_gpu(gpu)[1]
    seen = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if seen < wanted:
        raise RdtuiError(
            f"Modal stage {stage} on gpu={' or '.join(gpu_choices(gpu))} but torch {torch.__version__} "
            f"(CUDA {torch.version.cuda or 'none'}) sees {seen} CUDA device(s): "
            f"the image's torch build does not match the host driver"
        )


def run_stage(
    volume_root: Path,
    run_id: str,
    stage: str,
    *,
    commit: Callable[[], None],
    reload: Callable[[], None] = lambda: None,
    call_id: str | None = None,
    cancelled_by: tuple[type[BaseException], ...] = (),
    commit_interval: float = COMMIT_INTERVAL_S,
) -> str:
    """Execute one stage of a run whose folder is on the Volume; returns the run's status after it.

    `cancelled_by`: the exceptions Modal raises in this thread when the call is cancelled; they
    record the run as cancelled before going on up. A failure that a new container may not meet
    again (TRANSIENT_ERRORS) puts the run back to `running` and raises TransientStageError, so
    Modal's retries re-run the stage; any other failure is recorded and returned.
    """
    from core.execution.pipeline import execute_run

    reload()
    for key, value in stage_environment(volume_root, run_id).items():
        os.environ.setdefault(key, value)
    run = Run(runs_root(volume_root) / run_id)
    if call_id:
        run.update(extra_items={"stage_call_id": call_id})
    try:
        require_cuda(run.config(), stage)
    except RdtuiError as exc:
        print(f"[rdtui] {run_id}: {exc}", file=sys.stderr, flush=True)
        mark_finished(run, "failed", str(exc))
        commit()
        return "failed"
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        # Segments of the new log/metrics bytes before each commit: the sync fetches only those (M3).
        with (
            periodic_commit(commit, commit_interval, before=SegmentWriter(run.dir).write_new),
            tee_output(run.log_path),
        ):
            try:
                status = execute_run(run, resume=True, stages=[stage], cancel_on_sigterm=False)
                record = run.reload()
                if status == "failed" and any(marker in (record.error or "") for marker in TRANSIENT_ERRORS):
                    print(f"[rdtui] {run_id}: {stage} failed on a transient error; Modal retries it", flush=True)
                    run.start()
                    raise TransientStageError(record.error)
                return status
            except Stopped:
                print(
                    f"[rdtui] {run_id}: container stopped during {stage}; Modal re-runs it from the last checkpoint",
                    flush=True,
                )
                raise
            except cancelled_by:
                print(f"[rdtui] {run_id}: cancelled", flush=True)
                mark_finished(run, "cancelled", None)
                raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_cluster_stage(
    volume_root: Path,
    run_id: str,
    stage: str,
    *,
    machine_rank: int,
    container_ips: list[str],
    commit: Callable[[], None],
    reload: Callable[[], None] = lambda: None,
    call_id: str | None = None,
    cancelled_by: tuple[type[BaseException], ...] = (),
    commit_interval: float = COMMIT_INTERVAL_S,
) -> str:
    """One container of a stage on a Modal cluster (every container gets the same input).

    Each learns from the cluster its machine rank and machine 0's address, which the launcher turns into
    `accelerate launch --num_machines N --machine_rank R --main_process_ip ADDRESS`. Machine 0 runs the
    stage as `run_stage` does (log, run.json, metrics and the final model: global rank 0 is there); the
    others run their ranks only, print to Modal's log and commit what their ranks write (DeepSpeed's
    checkpoint shards), and their return value is dropped (Modal returns machine 0's)."""
    os.environ.update(cluster_environment(machine_rank, container_ips))
    if machine_rank == 0:
        return run_stage(
            volume_root,
            run_id,
            stage,
            commit=commit,
            reload=reload,
            call_id=call_id,
            cancelled_by=cancelled_by,
            commit_interval=commit_interval,
        )
    reload()
    for key, value in stage_environment(volume_root, run_id).items():
        os.environ.setdefault(key, value)
    run = Run(runs_root(volume_root) / run_id)
    print(
        f"[rdtui] {run_id}: {stage}: machine {machine_rank} of {len(container_ips)} joins {container_ips[0]}",
        flush=True,
    )
    try:
        cfg = run.config()
        require_cuda(cfg, stage)
        with periodic_commit(commit, commit_interval):
            run_other_machine(cfg, run, stage)
    except RdtuiError as exc:
        # Machine 0's ranks fail with it (the collective breaks) and record the run's error there.
        print(f"[rdtui] {run_id}: machine {machine_rank}: {exc}", file=sys.stderr, flush=True)
        return "failed"
    return "done"


def _raise_stopped(signum, frame) -> None:
    raise Stopped()


@contextmanager
def periodic_commit(
    commit: Callable[[], None], interval: float, before: Callable[[], object] = lambda: None
) -> Iterator[None]:
    """Commit every `interval` seconds from a thread, and once more at the end; `before` runs first each time."""
    stop = threading.Event()

    def tick() -> None:
        try:
            before()
        except Exception as exc:
            print(f"[rdtui] writing sync segments failed: {exc}", file=sys.__stderr__, flush=True)
        _commit_quietly(commit)

    def loop() -> None:
        while not stop.wait(interval):
            tick()

    thread = threading.Thread(target=loop, name="volume-commit", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        tick()


def _commit_quietly(commit: Callable[[], None]) -> None:
    # A failed commit is retried on the next tick; it must not stop the training.
    try:
        commit()
    except Exception as exc:
        print(f"[rdtui] volume commit failed: {exc}", file=sys.__stderr__, flush=True)


@contextmanager
def tee_output(log_path: Path) -> Iterator[None]:
    """Copy everything written to fds 1 and 2 (this process and its children) into `log_path` too."""
    sys.stdout.flush()
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    saved = (os.dup(1), os.dup(2))
    log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    saved_streams = (sys.stdout, sys.stderr)
    os.dup2(write_fd, 1)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    # Python-level streams may not be on fds 1/2 (e.g. under pytest): point them at the pipe too.
    sys.stdout = open(os.dup(1), "w", buffering=1, encoding="utf-8", errors="replace")
    sys.stderr = open(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")

    def pump() -> None:
        while chunk := os.read(read_fd, 1 << 16):
            _write_all(log_fd, chunk)
            _write_all(saved[0], chunk)

    thread = threading.Thread(target=pump, name="log-tee", daemon=True)
    thread.start()
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
            stream.close()
        sys.stdout, sys.stderr = saved_streams
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        # Once every writer is gone the pump reads EOF; a leftover child holding the pipe is not waited for.
        thread.join(timeout=5)
        for fd in (*saved, log_fd):
            os.close(fd)
        if not thread.is_alive():
            os.close(read_fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
