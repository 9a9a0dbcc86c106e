"""Experiment trackers (`telemetry.report_to: [wandb, tensorboard, trackio, mlflow]`).

Training curves go through transformers' own integrations (TrainingArguments.report_to); this
module sets what they read from the environment so that each (run, stage) is one tracker run:
W&B group = study, job type = stage, a stable run id so a resumed stage continues the same W&B run;
TensorBoard files under `runs/<id>/tensorboard/<stage>`. The evaluation stage has no trainer, so its
summaries (accuracy with its interval, pass@k, maj@k, trace statistics) are logged here.
"""

from __future__ import annotations

import importlib.util
import json
import netrc
import os
import re
from pathlib import Path
from typing import Any

from core.errors import RdtuiError

TRACKERS = ("wandb", "tensorboard", "trackio", "mlflow")
# The package each tracker needs (TensorBoard: transformers writes through torch's SummaryWriter).
PACKAGES = {"wandb": "wandb", "tensorboard": "tensorboard", "trackio": "trackio", "mlflow": "mlflow"}
WANDB_HOST = "api.wandb.ai"


def trackers(cfg) -> list[str]:
    """`telemetry.report_to`, plus wandb when the older `telemetry.wandb: true` asks for it."""
    telemetry = cfg.telemetry
    names = list(getattr(telemetry, "report_to", None) or [])
    if telemetry.wandb:
        names.append("wandb")
    return list(dict.fromkeys(names))


def wandb_credentials() -> bool:
    """An API key in the environment, or the `.netrc` entry that `wandb login` writes."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_MODE") in ("offline", "disabled"):
        return True
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    try:
        return netrc.netrc(str(path)).authenticators(WANDB_HOST) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def check_trackers(cfg) -> None:
    """Fail before training, not after minutes of it, when a tracker cannot work."""
    for name in trackers(cfg):
        if name == "wandb" and not wandb_credentials():
            raise RdtuiError(
                "telemetry.report_to: wandb needs credentials: export WANDB_API_KEY, run `wandb login` "
                "(it writes ~/.netrc), or remove wandb from report_to / set telemetry.wandb: false"
            )
        if importlib.util.find_spec(PACKAGES[name]) is None:
            raise RdtuiError(
                f"telemetry.report_to: {name} needs the {PACKAGES[name]} package "
                f"(pip install {PACKAGES[name]}), or remove it from report_to"
            )


def stable_run_id(run_id: str, stage: str) -> str:
    """The tracker id of one stage of one run: the same on every resume of that stage."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{run_id}-{stage}")[:128]


def tensorboard_dir(run, stage: str) -> Path:
    return Path(run.dir) / "tensorboard" / stage


def stage_environment(cfg, run, stage: str) -> dict[str, str]:
    """Set (and return) the environment the trackers read for this stage.

    Set, not defaulted: one worker process runs a run's stages one after another, and each stage
    is its own tracker run.
    """
    names = trackers(cfg)
    env: dict[str, str] = {}
    if "wandb" in names:
        env.update(
            WANDB_PROJECT=cfg.telemetry.wandb_project,
            WANDB_RUN_GROUP=cfg.study.name,
            WANDB_JOB_TYPE=stage,
            WANDB_RUN_ID=stable_run_id(run.id, stage),
            WANDB_RESUME="allow",
            WANDB_TAGS=cfg.condition.name,
        )
        entity = getattr(cfg.telemetry, "wandb_entity", None)
        if entity:
            env["WANDB_ENTITY"] = entity
    if "tensorboard" in names:
        env["TENSORBOARD_LOGGING_DIR"] = str(tensorboard_dir(run, stage))
    if "mlflow" in names:
        env.update(
            MLFLOW_EXPERIMENT_NAME=cfg.study.name,
            MLFLOW_TAGS=json.dumps({"rdtui.run": run.id, "rdtui.stage": stage, "rdtui.condition": cfg.condition.name}),
        )
    os.environ.update(env)
    return env


def trainer_report_args(cfg, run, stage: str) -> dict[str, Any]:
    """The TrainingArguments fields that route training curves to the trackers."""
    names = trackers(cfg)
    stage_environment(cfg, run, stage)
    args: dict[str, Any] = {"report_to": names or "none", "run_name": stable_run_id(run.id, stage)}
    if "trackio" in names:
        args["project"] = cfg.telemetry.wandb_project  # trackio's project (TrainingArguments.project)
    return args


def finish_stage() -> None:
    """Close a W&B run left open by the trainer, so the next stage starts its own."""
    import sys

    wandb = sys.modules.get("wandb")
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.finish()


# ---- evaluation summaries ------------------------------------------------------------------


def summary_scalars(summaries: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Flat `eval/<benchmark>/<metric>` scalars from the eval stage's summaries."""
    out: dict[str, float] = {}
    for bench, s in summaries.items():
        prefix = f"eval/{bench}"
        for key in ("accuracy", "n_problems", "mean_completion_tokens", "share_truncated", "share_think_closed"):
            value = s.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[f"{prefix}/{key}"] = float(value)
        ci = s.get("ci95")
        if isinstance(ci, (list, tuple)) and len(ci) == 2:
            out[f"{prefix}/ci95_low"], out[f"{prefix}/ci95_high"] = float(ci[0]), float(ci[1])
        for family in ("pass@k", "maj@k"):
            for k, entry in (s.get(family) or {}).items():
                metric = family.replace("@k", f"@{k}")
                value = entry.get("value") if isinstance(entry, dict) else entry
                if isinstance(value, (int, float)):
                    out[f"{prefix}/{metric}"] = float(value)
                interval = entry.get("ci95") if isinstance(entry, dict) else None
                if isinstance(interval, (list, tuple)) and len(interval) == 2:
                    out[f"{prefix}/{metric}_ci95_low"] = float(interval[0])
                    out[f"{prefix}/{metric}_ci95_high"] = float(interval[1])
        _flatten(s.get("trace") or {}, f"{prefix}/trace", out)
    return out


def _flatten(tree: dict[str, Any], prefix: str, out: dict[str, float]) -> None:
    for key, value in tree.items():
        if isinstance(value, dict):
            _flatten(value, f"{prefix}/{key.replace(' ', '_')}", out)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[f"{prefix}/{key.replace(' ', '_')}"] = float(value)


def read_eval_summaries(run) -> dict[str, dict[str, Any]]:
    out = {}
    eval_dir = Path(run.dir) / "eval"
    for path in sorted(eval_dir.glob("*.json")) if eval_dir.is_dir() else []:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "accuracy" in data:
            out[path.stem] = data
    return out


def log_eval_summaries(cfg, run) -> list[str]:
    """Send the run's evaluation summaries to every configured tracker; returns those reached.

    A tracker that fails here never fails the run: the summaries are already on disk.
    """
    scalars = summary_scalars(read_eval_summaries(run))
    if not scalars:
        return []
    stage_environment(cfg, run, "eval")
    reached = []
    for name in trackers(cfg):
        try:
            _LOGGERS[name](cfg, run, scalars)
            reached.append(name)
        except Exception as exc:  # network, credentials, a tracker's own bugs
            print(f"[rdtui] could not log evaluation summaries to {name}: {type(exc).__name__}: {exc}", flush=True)
    return reached


def _tensorboard(cfg, run, scalars: dict[str, float]) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(tensorboard_dir(run, "eval")))
    try:
        for key, value in scalars.items():
            writer.add_scalar(key, value, global_step=0)
    finally:
        writer.close()


def _wandb(cfg, run, scalars: dict[str, float]) -> None:
    import wandb

    with wandb.init(
        project=cfg.telemetry.wandb_project,
        entity=getattr(cfg.telemetry, "wandb_entity", None),
        group=cfg.study.name,
        job_type="eval",
        id=stable_run_id(run.id, "eval"),
        name=stable_run_id(run.id, "eval"),
        tags=[cfg.condition.name],
        resume="allow",
    ) as wb:
        wb.summary.update(scalars)
        wb.log(scalars)


def _trackio(cfg, run, scalars: dict[str, float]) -> None:
    import trackio

    trackio.init(project=cfg.telemetry.wandb_project, name=stable_run_id(run.id, "eval"), resume="allow")
    try:
        trackio.log(scalars)
    finally:
        trackio.finish()


def _mlflow(cfg, run, scalars: dict[str, float]) -> None:
    import mlflow

    mlflow.set_experiment(cfg.study.name)
    with mlflow.start_run(
        run_name=stable_run_id(run.id, "eval"),
        tags={"rdtui.run": run.id, "rdtui.stage": "eval", "rdtui.condition": cfg.condition.name},
    ):
        # MLflow metric names may not hold '@'.
        mlflow.log_metrics({key.replace("@", "_at_"): value for key, value in scalars.items()})


_LOGGERS = {"tensorboard": _tensorboard, "wandb": _wandb, "trackio": _trackio, "mlflow": _mlflow}


def after_stage(cfg, run, stage: str) -> None:
    """What the pipeline does after each stage: record in run.json what the stage loaded, close
    the stage's tracker run, and send the evaluation summaries to the trackers."""
    from core.provenance import record_loaded

    record_loaded(run, cfg, stage)
    if stage == "eval":
        log_eval_summaries(cfg, run)
    else:
        finish_stage()
