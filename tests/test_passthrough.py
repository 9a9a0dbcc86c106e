"""TRL passthrough: `sft.trainer_args` / `grpo.trainer_args` reach TRL's config objects, and bad
entries are refused at config-check time (file:line, did-you-mean) and again at stage start."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from core.config import ConfigError, load_study, resolve
from core.errors import RdtuiError
from tests.conftest import CONFIG, REPO, rdtui
from tests.test_training import GRPO_SMALL, make_cfg, make_run


def test_trainer_args_reach_the_trl_config_objects(tmp_path):
    from trl import GRPOConfig, SFTConfig

    from core.training.common import trainer_arguments

    cfg = make_cfg(
        "sft_then_grpo",
        "grpo.trainer_args.loss_type=dr_grpo",
        "grpo.trainer_args.top_p=0.95",
        "sft.trainer_args.max_grad_norm=0.5",
        "sft.trainer_args.save_total_limit=5",
    )
    run = make_run(tmp_path, cfg)
    grpo = GRPOConfig(**trainer_arguments(cfg, cfg.grpo, run, tmp_path / "grpo"))
    sft = SFTConfig(**trainer_arguments(cfg, cfg.sft, run, tmp_path / "sft"))
    assert (grpo.loss_type, grpo.top_p) == ("dr_grpo", 0.95)
    assert (sft.max_grad_norm, sft.save_total_limit) == (0.5, 5)
    assert sft.loss_type == "nll" and grpo.max_grad_norm == 1.0  # each stage gets only its own


@pytest.mark.slow  # one real GRPO step (20-50 s on 2 busy cores)
def test_a_trl_only_knob_set_with_set_reaches_the_real_grpo_trainer(tmp_path):
    cfg = make_cfg(
        "grpo_only",
        *GRPO_SMALL,
        "grpo.max_steps=1",
        "grpo.save_steps=1",
        "grpo.sample_every=0",
        "grpo.trainer_args.loss_type=dr_grpo",
        "grpo.trainer_args.epsilon_high=0.28",
        "grpo.trainer_args.mask_truncated_completions=true",
        "grpo.trainer_args.save_total_limit=1",
    )
    run = make_run(tmp_path, cfg)
    from core.training.grpo import run_grpo

    run_grpo(cfg, run)
    import torch

    # The trainer saves the arguments it trained with beside each checkpoint.
    args = torch.load(run.checkpoints_dir / "grpo" / "checkpoint-1" / "training_args.bin", weights_only=False)
    assert args.loss_type == "dr_grpo"
    assert args.epsilon_high == 0.28
    assert args.mask_truncated_completions is True
    assert args.save_total_limit == 1  # a default rdtui sets, with no key of its own, can be replaced
    assert args.num_generations == cfg.grpo.num_generations  # rdtui's own keys still apply


def test_set_passthrough_keeps_its_provenance_in_explain():
    result = rdtui("config", "show", "grpo_only", "--set", "grpo.trainer_args.loss_type=dr_grpo", "--explain")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("grpo.trainer_args.loss_type"))
    assert '"dr_grpo"' in line and "override" in line and "--set" in line


@pytest.mark.parametrize(
    "setting, message",
    [
        (
            "grpo.trainer_args.los_type=dr_grpo",
            "grpo.trainer_args.los_type: not a field of TRL's GRPOConfig (did you mean 'loss_type'?)",
        ),
        (
            "grpo.trainer_args.learning_rate=1e-5",
            "grpo.trainer_args.learning_rate: rdtui sets this: use grpo.learning_rate",
        ),
        ("grpo.trainer_args.seed=3", "grpo.trainer_args.seed: rdtui sets this: use study.seed"),
        ("grpo.trainer_args.report_to=wandb", "use telemetry.report_to"),
        (
            "grpo.trainer_args.epsilon_high=high",
            "grpo.trainer_args.epsilon_high: must be a number or null (got 'high')",
        ),
        (
            "sft.trainer_args.loss_type=nl",
            "must be one of ['nll', 'dft', 'chunked_nll'] (got 'nl') (did you mean 'nll'?)",
        ),
    ],
)
def test_bad_passthrough_fails_at_config_time_with_exit_2(setting, message):
    result = rdtui("config", "show", "grpo_only", "--set", setting)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.startswith("--set: ")


def test_a_passthrough_error_in_a_file_names_its_file_and_line(tmp_path):
    overrides = tmp_path / "recipe.yaml"
    overrides.write_text(
        textwrap.dedent("""\
        grpo:
          trainer_args:
            loss_type: dr_grpo
            scale_rewards: false
            epsilon_hihg: 0.28
    """)
    )
    with pytest.raises(ConfigError) as info:
        resolve(load_study(CONFIG), "grpo_only", "local", overrides_file=overrides)
    [issue] = info.value.issues
    assert (issue.line, issue.key) == (5, "grpo.trainer_args.epsilon_hihg")
    assert "did you mean 'epsilon_high'" in issue.message


def test_checking_trainer_args_does_not_import_trl():
    code = (
        "import sys; from core.config import load_study, resolve; "
        "cfg = resolve(load_study(), 'grpo_only', 'local', "
        "overrides=['grpo.trainer_args.loss_type=dr_grpo', 'sft.trainer_args.max_grad_norm=0.5']); "
        "print(cfg.grpo.trainer_args, 'trl' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{'loss_type': 'dr_grpo'} False"


def test_the_shipped_field_table_matches_the_installed_trl():
    from core.config import trl_fields
    from core.config.trainer_args import build_table, installed_versions

    if installed_versions() != (trl_fields.TRL, trl_fields.TRANSFORMERS):
        pytest.skip("another TRL is installed: its table is built into the cache on first use")
    assert build_table() == trl_fields.FIELDS, "regenerate with: python -m core.config.trainer_args"


def test_another_trl_version_builds_and_caches_its_table(tmp_path, monkeypatch):
    from core.config import trainer_args

    monkeypatch.setenv("RDTUI_CACHE", str(tmp_path))
    monkeypatch.setattr(trainer_args, "_TABLE", None)
    monkeypatch.setattr(trainer_args, "installed_versions", lambda: ("9.9.9", "9.9.9"))
    table = trainer_args.field_table()
    assert "loss_type" in table["GRPOConfig"]
    assert (tmp_path / "trl-fields" / "trl-9.9.9_transformers-9.9.9.json").exists()


def test_stage_start_rechecks_against_the_trl_that_trains(tmp_path):
    # A snapshot checked by another TRL (a laptop) may name a field this TRL (the GPU image) lacks.
    cfg = make_cfg("grpo_only", *GRPO_SMALL)
    cfg = cfg.model_copy(update={"grpo": cfg.grpo.model_copy(update={"trainer_args": {"no_such_knob": 1}})})
    run = make_run(tmp_path, cfg)
    from core.training.grpo import run_grpo

    with pytest.raises(RdtuiError, match=r"grpo\.trainer_args\.no_such_knob: not a field of TRL's GRPOConfig"):
        run_grpo(cfg, run)
    assert not run.metrics_path.exists() and not run.checkpoints_dir.exists()
