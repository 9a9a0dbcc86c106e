"""Executing one run: its condition's stages in order (sft -> grpo -> eval), inside the run folder.

This is what every backend runs (the local worker process, the Modal containers). It owns the
run's status: `running` while stages go, then `succeeded`, `failed` (with a one-line error) or
`cancelled` (on SIGTERM). Stages already finished are skipped on resume, and each training stage
resumes from its own last checkpoint.
"""

from __future__ import annotations

import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Sequence

from core.errors import RdtuiError
from core.runstore import FINISHED, Run


class Cancelled(BaseException):
    """Raised in the run's process when it is asked to stop (SIGTERM from `rdtui cancel`)."""


def _raise_cancelled(signum, frame) -> None:
    raise Cancelled()


def final_model_path(run: Run, stage: str) -> Path:
    return run.checkpoints_dir / f"{stage}-final"


def execute_run(run: Run, *, resume: bool = False, stages: Sequence[str] | None = None,
                cancel_on_sigterm: bool = True) -> str:
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
    run.update(status="running", started_at=record.started_at or time.time(), error=None,
               finished_at=None, extra={**record.extra, "stages_done": stages_done})
    try:
        cfg = run.config()
        model_path: Path | None = None
        for stage in cfg.condition.stages:
            if stage in stages_done:
                if stage != "eval":
                    model_path = final_model_path(run, stage)
                continue
            if stages is not None and stage not in stages:
                break
            print(f"[rdtui] {run.id}: stage {stage} starts", flush=True)
            run.update(stage=stage, progress={"stage": stage})
            model_path = _run_stage(stage, cfg, run, model_path, resume) or model_path
            from core.tracking import after_stage

            after_stage(cfg, run, stage)   # run.json `loaded` (commits, hashes, versions); eval -> trackers
            stages_done.append(stage)
            run.update(extra={**run.reload().extra, "stages_done": stages_done})
            print(f"[rdtui] {run.id}: stage {stage} done", flush=True)
    except Cancelled:
        print(f"[rdtui] {run.id}: cancelled", flush=True)
        _finish(run, "cancelled", None)
        return "cancelled"
    except RdtuiError as exc:
        print(f"[rdtui] {run.id}: failed: {exc}", file=sys.stderr, flush=True)
        _finish(run, "failed", str(exc))
        return "failed"
    except Exception as exc:
        traceback.print_exc()
        message = f"{type(exc).__name__}: {exc}".splitlines()[0]
        _finish(run, "failed", message)
        return "failed"
    if any(stage not in stages_done for stage in cfg.condition.stages):
        return "running"
    _finish(run, "succeeded", None)
    print(f"[rdtui] {run.id}: succeeded", flush=True)
    return "succeeded"


def _finish(run: Run, status: str, error: str | None) -> None:
    # `rdtui cancel` may have recorded the end already; its word stands.
    if run.reload().status not in FINISHED:
        run.update(status=status, error=error, finished_at=time.time())


def _run_stage(stage: str, cfg, run: Run, model_path: Path | None, resume: bool) -> Path | None:
    if stage == "sft":
        from core.training.sft import run_sft

        return run_sft(cfg, run, init_model=model_path, resume=resume)
    if stage == "grpo":
        from core.training.grpo import run_grpo

        return run_grpo(cfg, run, init_model=model_path, resume=resume)
    from core.evaluation.stage import run_eval_stage

    run_eval_stage(cfg, run, model_path)
    return None
