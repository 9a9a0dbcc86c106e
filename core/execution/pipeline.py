"""Executing one run: its condition's stages in order (sft -> grpo -> eval), inside the run folder.

This is what every backend runs (the local worker process, the Modal containers). It owns the
run's status: `running` while stages go, then `succeeded`, `failed` (with a one-line error) or
`cancelled` (on SIGTERM). Stages already finished are skipped on resume, and each training stage
resumes from its own last checkpoint.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import RdtuiError
from core.store.runstore import Run

if TYPE_CHECKING:
    from core.config.schema import ResolvedConfig

# run.json `extra` key: the options of the `rdtui eval` that made the run (benchmarks, start_from,
# limit; samples and k are in the config snapshot), so a resume evaluates exactly that.
EVAL_LAUNCH = "eval_launch"


class Cancelled(BaseException):
    """Raised in the run's process when it is asked to stop (SIGTERM from `rdtui cancel`)."""


def _raise_cancelled(signum, frame) -> None:
    raise Cancelled()


def execute_run(
    run: Run, *, resume: bool = False, stages: Sequence[str] | None = None, cancel_on_sigterm: bool = True
) -> str:
    """Run every remaining stage (or only those in `stages`); returns the run's status afterwards.

    The Modal backend runs each stage in a container of its own GPU type (`stages=[stage]`): the run
    stays `running` while stages remain. There SIGTERM means preemption (Modal restarts the
    container), not a cancel, so it passes `cancel_on_sigterm=False`.
    """
    if cancel_on_sigterm:
        signal.signal(signal.SIGTERM, _raise_cancelled)
    record = run.reload()
    if record.status == "cancelled":
        return "cancelled"
    stages_done = list(record.extra.get("stages_done", [])) if resume else []
    run.start({"stages_done": stages_done})
    try:
        cfg = run.config()
        _preflight(cfg, [s for s in cfg.condition.stages if s not in stages_done])
        model_path: Path | None = None
        for stage in cfg.condition.stages:
            if stage in stages_done:
                if stage != "eval":
                    model_path = run.final_model_dir(stage)
                continue
            if stages is not None and stage not in stages:
                break
            print(f"[rdtui] {run.id}: stage {stage} starts", flush=True)
            run.update(stage=stage, progress={"stage": stage})
            model_path = _run_stage(stage, cfg, run, model_path, resume) or model_path
            from core.tracking import after_stage

            after_stage(cfg, run, stage)  # run.json `loaded` (commits, hashes, versions); eval -> trackers
            stages_done.append(stage)
            run.update(extra_items={"stages_done": stages_done})
            print(f"[rdtui] {run.id}: stage {stage} done", flush=True)
    except Cancelled:
        _say(f"[rdtui] {run.id}: cancelled")
        _set_aside_torn(run)
        _finish(run, "cancelled", None)
        return "cancelled"
    except RdtuiError as exc:
        _say(f"[rdtui] {run.id}: failed: {exc}", sys.stderr)
        _set_aside_torn(run)
        _finish(run, "failed", str(exc))
        return "failed"
    except Exception as exc:
        full = disk_full_message(run, exc)
        if full is None:
            try:
                traceback.print_exc()
            except OSError:
                pass
        message = full or f"{type(exc).__name__}: {exc}".splitlines()[0]
        _say(f"[rdtui] {run.id}: failed: {message}", sys.stderr)
        _set_aside_torn(run)
        _finish(run, "failed", message)
        return "failed"
    if any(stage not in stages_done for stage in cfg.condition.stages):
        return "running"
    _finish(run, "succeeded", None)
    print(f"[rdtui] {run.id}: succeeded", flush=True)
    return "succeeded"


def _preflight(cfg: ResolvedConfig, remaining: list[str]) -> None:
    """Fail before the first remaining stage, not hours later, when a later one cannot start
    (files can go missing between launch and a resume, or differ inside a container)."""
    from core.execution.launch import preflight_problems

    if not remaining:
        return
    pending = cfg.model_copy(update={"condition": cfg.condition.model_copy(update={"stages": remaining})})
    problems = preflight_problems(pending)
    if problems:
        raise RdtuiError("; ".join(f"{'.'.join(key)}: {message}" for key, message in problems))


def _say(line: str, stream=None) -> None:
    """A line for the run's log; a full disk must not turn the report of a failure into a new one."""
    try:
        print(line, file=stream or sys.stdout, flush=True)
    except OSError:
        pass


def _set_aside_torn(run: Run) -> None:
    from core.training.common import set_aside_torn_checkpoints

    try:
        set_aside_torn_checkpoints(run)
    except OSError as exc:
        _say(f"[rdtui] {run.id}: could not set aside torn checkpoints: {exc}", sys.stderr)


def disk_full_message(run: Run, exc: BaseException) -> str | None:
    """One line naming the disk when a stage died of a full disk (torch reports it as a bare
    RuntimeError, so the free space is asked as well)."""
    import errno
    import shutil

    chain: BaseException | None = exc
    seen: set[int] = set()
    while chain is not None and id(chain) not in seen:
        seen.add(id(chain))
        if isinstance(chain, OSError) and chain.errno in (errno.ENOSPC, errno.EDQUOT):
            break
        chain = chain.__cause__ or chain.__context__
    try:
        free = shutil.disk_usage(run.dir).free
    except OSError:
        free = None
    if chain is None and (free is None or free > 1 << 20):
        return None
    mount = run.dir
    while not os.path.ismount(mount) and mount.parent != mount:
        mount = mount.parent
    return f"no space left on the disk holding the run store ({mount}): {run.dir}"


def _finish(run: Run, status: str, error: str | None) -> None:
    run.finish(status, error)  # `rdtui cancel` may have recorded the end already; its word stands


def _run_stage(stage: str, cfg: ResolvedConfig, run: Run, model_path: Path | None, resume: bool) -> Path | None:
    from core.training.distributed import needs_launcher, run_launched_stage

    if needs_launcher(cfg, stage):
        # Several processes or a vLLM server: the stage runs under `accelerate launch`; this process waits.
        return run_launched_stage(stage, cfg, run, model_path, resume)
    if stage == "sft":
        from core.training.sft import run_sft

        return run_sft(cfg, run, init_model=model_path, resume=resume)
    if stage == "grpo":
        from core.training.grpo import run_grpo

        return run_grpo(cfg, run, init_model=model_path, resume=resume)
    from core.evaluation.stage import run_eval_stage

    launch = run.reload().extra.get(EVAL_LAUNCH)
    if not isinstance(launch, dict):
        run_eval_stage(cfg, run, model_path)
        return None
    # A run `rdtui eval` made: resume what its launch asked (benchmarks, slice, model), not the config's all.
    from core.evaluation.modelref import model_ref, run_final_checkpoint
    from core.evaluation.stage import Evaluation

    checkpoint = run.record.extra.get("eval_checkpoint") or model_path or run_final_checkpoint(cfg.condition, run)
    Evaluation.prepare(
        cfg,
        model_ref(cfg.model, checkpoint, run),
        launch.get("benchmarks"),
        start_from=launch.get("start_from") or 0,
        limit=launch.get("limit"),
    ).run(run)
    return None
