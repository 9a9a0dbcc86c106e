"""`telemetry.report_to` beyond TensorBoard: the list reaches TRL's TrainingArguments, transformers'
own tracker callbacks log training under the stage's stable run name, and the evaluation summaries go
through each tracker's API (W&B: group = study, job type = stage, the stage's stable id, resumable).

MLflow and trackio run for real, offline, when installed (`pip install 'rdtui[trackers]'`); W&B
cannot run here without its service, so its module is a thin recording stand-in."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import types

import pytest

from core.tracking import log_eval_summaries, stable_run_id
from tests.test_training import make_cfg, make_run

SUMMARY = {
    "accuracy": 0.5,
    "ci95": [0.4, 0.6],
    "pass@k": {"1": {"value": 0.5, "ci95": [0.4, 0.6]}, "4": {"value": 0.75, "ci95": [0.6, 0.85]}},
    "maj@k": {"4": {"value": 0.55}},
    "trace": {"mean_think_words": 3.0, "self_verification_per_completion": 0.25},
}


@pytest.fixture(autouse=True)
def tracker_environment(monkeypatch, tmp_path):
    """stage_environment() writes the trackers' variables into os.environ: restored after each test."""
    saved = dict(os.environ)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3: a file store needs this opt-in
    monkeypatch.setenv("TRACKIO_DIR", str(tmp_path / "trackio"))
    yield
    os.environ.clear()
    os.environ.update(saved)


def evaluated_run(tmp_path, report_to: str):
    cfg = make_cfg("sft_then_grpo", f"telemetry.report_to={report_to}")
    run = make_run(tmp_path, cfg)
    run.eval_dir.mkdir(parents=True, exist_ok=True)
    (run.eval_dir / "synth_test.json").write_text(json.dumps(SUMMARY))
    return cfg, run


def test_report_to_reaches_the_trl_training_arguments_of_each_stage(tmp_path):
    from trl import GRPOConfig, SFTConfig

    from core.training.common import trainer_arguments

    cfg = make_cfg("sft_then_grpo", "telemetry.report_to=[tensorboard, trackio, mlflow]")
    run = make_run(tmp_path, cfg)
    sft = SFTConfig(**trainer_arguments(cfg, cfg.sft, run, tmp_path / "sft"))
    grpo = GRPOConfig(**trainer_arguments(cfg, cfg.grpo, run, tmp_path / "grpo"))
    assert sft.report_to == grpo.report_to == ["tensorboard", "trackio", "mlflow"]
    assert (sft.run_name, grpo.run_name) == (f"{run.id}-sft", f"{run.id}-grpo")
    assert grpo.project == cfg.telemetry.wandb_project  # trackio's project
    assert os.environ["MLFLOW_EXPERIMENT_NAME"] == cfg.study.name
    assert json.loads(os.environ["MLFLOW_TAGS"])["rdtui.stage"] == "grpo"
    none = make_cfg("grpo_only")
    assert GRPOConfig(**trainer_arguments(none, none.grpo, run, tmp_path / "none")).report_to == []


def test_eval_summaries_go_to_wandb_in_the_study_group_under_the_stage_id(tmp_path, monkeypatch):
    calls: list[tuple[str, object]] = []

    class Run:
        summary = types.SimpleNamespace(update=lambda values: calls.append(("summary", dict(values))))

        def log(self, values):
            calls.append(("log", dict(values)))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            calls.append(("finish", None))

    wandb = types.ModuleType("wandb")
    wandb.init = lambda **kwargs: calls.append(("init", kwargs)) or Run()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "wandb", wandb)
    monkeypatch.setenv("WANDB_MODE", "offline")
    cfg, run = evaluated_run(tmp_path, "[wandb]")

    assert log_eval_summaries(cfg, run) == ["wandb"]
    (_, init), (_, summary), (_, logged), finish = calls
    assert init["group"] == cfg.study.name and init["job_type"] == "eval"
    assert init["id"] == stable_run_id(run.id, "eval") and init["resume"] == "allow"  # a rerun continues it
    assert init["tags"] == [cfg.condition.name]
    assert summary == logged and summary["eval/synth_test/pass@4"] == 0.75
    assert summary["eval/synth_test/ci95_low"] == 0.4 and summary["eval/synth_test/maj@4"] == 0.55
    assert summary["eval/synth_test/trace/self_verification_per_completion"] == 0.25
    assert finish == ("finish", None)


class WandbConfig(dict):
    def update(self, values, allow_val_change=False):  # type: ignore[override]
        super().update(values)


def fake_wandb(monkeypatch, calls: list) -> types.ModuleType:
    """The parts of the wandb package transformers' WandbCallback touches, recording each init with
    the W&B variables wandb.init reads from the environment at that moment."""
    import importlib.machinery

    modules = {
        name: types.ModuleType(name) for name in ("wandb", "wandb.sdk", "wandb.sdk.lib", "wandb.sdk.lib.config_util")
    }
    wandb = modules["wandb"]
    wandb.__spec__ = importlib.machinery.ModuleSpec("wandb", None)
    modules["wandb.sdk.lib.config_util"].ConfigError = type("ConfigError", (Exception,), {})  # type: ignore[attr-defined]
    wandb.run = None  # type: ignore[attr-defined]
    wandb.config = WandbConfig()  # type: ignore[attr-defined]
    env_keys = ("WANDB_RUN_GROUP", "WANDB_JOB_TYPE", "WANDB_RUN_ID", "WANDB_RESUME", "WANDB_TAGS")

    def init(**kwargs):
        calls.append({**kwargs, **{key: os.environ.get(key) for key in env_keys}})
        wandb.run = types.SimpleNamespace(id=os.environ.get("WANDB_RUN_ID"), _label=lambda **k: None)  # type: ignore[attr-defined]
        return wandb.run

    def finish():
        wandb.run = None  # type: ignore[attr-defined]

    wandb.init, wandb.finish = init, finish  # type: ignore[attr-defined]
    wandb.termwarn = lambda *a, **k: None  # type: ignore[attr-defined]
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return wandb


def test_each_stage_is_one_wandb_run_in_the_study_group_and_a_resume_continues_it(tmp_path, monkeypatch):
    from transformers import TrainerState
    from transformers.integrations import WandbCallback
    from trl import GRPOConfig, SFTConfig

    from core.tracking import finish_stage
    from core.training.common import trainer_arguments

    calls: list[dict] = []
    fake_wandb(monkeypatch, calls)
    monkeypatch.setenv("WANDB_MODE", "offline")
    cfg = make_cfg("sft_then_grpo", "telemetry.wandb=true")  # the older switch means report_to: [wandb]
    run = make_run(tmp_path, cfg)
    state = TrainerState(is_world_process_zero=True)

    def stage(name: str, config_class, stage_cfg) -> None:
        args = config_class(**trainer_arguments(cfg, stage_cfg, run, tmp_path / name))
        assert args.report_to == ["wandb"]
        WandbCallback().setup(args, state, model=None)  # what the trainer does on its first step
        finish_stage()  # what the pipeline does after the stage

    stage("sft", SFTConfig, cfg.sft)
    stage("grpo", GRPOConfig, cfg.grpo)
    stage("grpo", GRPOConfig, cfg.grpo)  # `rdtui resume` re-runs the GRPO stage
    sft, grpo, resumed = calls
    assert sft["project"] == grpo["project"] == cfg.telemetry.wandb_project
    assert (sft["name"], sft["WANDB_RUN_ID"]) == (f"{run.id}-sft", f"{run.id}-sft")
    assert (grpo["name"], grpo["WANDB_RUN_ID"]) == (f"{run.id}-grpo", f"{run.id}-grpo")
    assert sft["WANDB_RUN_GROUP"] == grpo["WANDB_RUN_GROUP"] == cfg.study.name
    assert (sft["WANDB_JOB_TYPE"], grpo["WANDB_JOB_TYPE"]) == ("sft", "grpo")
    assert sft["WANDB_TAGS"] == cfg.condition.name and grpo["WANDB_RESUME"] == "allow"
    assert resumed == grpo  # the same W&B run id, resumable: the resumed stage continues it


def test_a_tracker_that_fails_does_not_fail_the_run(tmp_path, monkeypatch, capsys):
    wandb = types.ModuleType("wandb")

    def refuse(**kwargs):
        raise ConnectionError("api.wandb.ai unreachable")

    wandb.init = refuse  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "wandb", wandb)
    cfg, run = evaluated_run(tmp_path, "[wandb, tensorboard]")
    assert log_eval_summaries(cfg, run) == ["tensorboard"]
    assert "could not log evaluation summaries to wandb: ConnectionError" in capsys.readouterr().out
    assert any((run.dir / "tensorboard" / "eval").iterdir())


@pytest.mark.skipif(
    not (importlib.util.find_spec("mlflow") and importlib.util.find_spec("trackio")),
    reason="mlflow and trackio are not installed (pip install 'rdtui[trackers]')",
)
def test_mlflow_and_trackio_record_training_and_eval_offline_under_stable_names(tmp_path):
    from transformers import TrainerControl, TrainerState
    from transformers.integrations import get_reporting_integration_callbacks
    from trl import GRPOConfig

    from core.training.common import trainer_arguments

    cfg, run = evaluated_run(tmp_path, "[mlflow, trackio]")
    args = GRPOConfig(**trainer_arguments(cfg, cfg.grpo, run, tmp_path / "grpo"))
    # transformers' own callbacks, as the GRPO trainer builds them from args.report_to.
    callbacks = [cls() for cls in get_reporting_integration_callbacks(args.report_to)]
    state, control = TrainerState(is_world_process_zero=True), TrainerControl()
    for callback in callbacks:
        callback.setup(args, state, model=None)
    for step, loss in ((1, 0.9), (2, 0.7)):
        state.global_step = step
        for callback in callbacks:
            callback.on_log(args, state, control, logs={"loss": loss, "reward": step / 4})
    for callback in callbacks:
        callback.on_train_end(args, state, control)
    assert log_eval_summaries(cfg, run) == ["mlflow", "trackio"]

    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    experiment = client.get_experiment_by_name(cfg.study.name)
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {f"{run.id}-grpo", f"{run.id}-eval"}
    train = runs[f"{run.id}-grpo"]
    assert train.data.tags["rdtui.stage"] == "grpo" and train.data.tags["rdtui.condition"] == "sft_then_grpo"
    assert [m.value for m in client.get_metric_history(train.info.run_id, "loss")] == [0.9, 0.7]
    evaluated = runs[f"{run.id}-eval"].data
    assert evaluated.metrics["eval/synth_test/pass_at_4"] == 0.75 and evaluated.tags["rdtui.stage"] == "eval"

    from trackio.sqlite_storage import SQLiteStorage

    project = cfg.telemetry.wandb_project
    assert set(SQLiteStorage.get_runs(project)) == {f"{run.id}-grpo", f"{run.id}-eval"}
    train_rows = SQLiteStorage.get_logs(project, f"{run.id}-grpo")
    assert [(row["train/global_step"], row["train/loss"]) for row in train_rows] == [(1, 0.9), (2, 0.7)]
    [eval_row] = SQLiteStorage.get_logs(project, f"{run.id}-eval")
    assert eval_row["eval/synth_test/pass@4"] == 0.75 and eval_row["eval/synth_test/ci95_high"] == 0.6
