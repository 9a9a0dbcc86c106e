"""Importing modal_jobs defines the Modal app without credentials, from the resolved modal config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.backends.modal_backend import JobSettings
from core.config import load_snapshot, load_study, resolve, resolve_full, snapshot_text
from tests.conftest import CONFIG, REPO

# Reads the app back through Modal's own objects (the function specs) in a fresh process.
DESCRIBE = """
import json
import os
from modal._utils.async_utils import synchronizer
import modal_jobs.app as module
jobs = module.jobs
kinds = {id(synchronizer._translate_in(image)): kind for kind, image in jobs.images.items()}
out = {"app": module.app.name, "functions": {}}
for name, function in module.app.registered_functions.items():
    spec = function._spec_
    out["functions"][name] = {
        "gpu": spec.gpus,
        "image": kinds.get(id(spec.image)),
        "volumes": {mount: volume.name for mount, volume in spec.volumes.items()},
        "secrets": [repr(s) for s in spec.secrets],
        "timeout": jobs.options[name]["timeout"],
        "retries": jobs.options[name]["retries"],
        "env": jobs.options[name]["env"],
        "nonpreemptible": bool(spec.scheduler_placement and spec.scheduler_placement.nonpreemptible),
        "max_containers": jobs.options[name].get("max_containers"),
        "single_use": jobs.options[name].get("single_use_containers", False),
    }
print(json.dumps(out))
"""


def describe_app(tmp_path: Path, env: dict[str, str]) -> dict:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MODAL_", "RDTUI_"))}
    proc = subprocess.run(
        [sys.executable, "-c", DESCRIBE],
        cwd=REPO,
        env={**clean, "HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def modal_cfg(condition: str = "grpo_only", overrides: list[str] | None = None):
    return resolve(load_study(CONFIG), condition, "modal", overrides=overrides)


def test_the_app_is_defined_from_the_modal_profile_without_credentials(tmp_path):
    cfg = modal_cfg()
    described = describe_app(tmp_path, {"RDTUI_CONFIG": str(CONFIG), "RDTUI_PROFILE": "modal"})
    assert described["app"] == cfg.modal.app_name
    functions = described["functions"]
    assert set(functions) == {"run_condition", "stage_sft", "stage_grpo", "stage_eval"}
    expected_image = {"stage_sft": "train", "stage_grpo": "grpo", "stage_eval": "grpo"}  # eval on vLLM (M13)
    for stage in ("sft", "grpo", "eval"):
        fn = functions[f"stage_{stage}"]
        assert fn["gpu"] == getattr(cfg.gpu, stage)
        assert fn["image"] == expected_image[f"stage_{stage}"]
        assert fn["timeout"] == cfg.modal.timeout_hours * 3600
        assert fn["retries"] == cfg.modal.retries
        assert fn["volumes"] == {"/vol": cfg.modal.volume}
        assert [f"modal.Secret.from_name({n!r})" for n in cfg.modal.secrets] == fn["secrets"][: len(cfg.modal.secrets)]
        # The containers rebuild the same app from these settings, not from a baked config file.
        assert JobSettings.from_json(fn["env"]["RDTUI_MODAL_SETTINGS"]) == JobSettings.from_config(cfg)
        assert not fn["nonpreemptible"]  # Modal refuses it for GPU functions
        assert fn["single_use"]  # no warm reuse across runs (M12, M18)
    driver = functions["run_condition"]
    assert driver["gpu"] is None and driver["image"] == "driver" and driver["volumes"] == {"/vol": cfg.modal.volume}
    assert not any("from_name" in s for s in driver["secrets"])  # the driver needs no hub token
    assert driver["nonpreemptible"]  # a preempted driver would restart the run (M4)
    assert driver["max_containers"] == cfg.max_parallel  # max_parallel limits runs at once (M14)


def test_the_app_follows_overridden_settings(tmp_path):
    cfg = modal_cfg(
        overrides=[
            "gpu.grpo=A100-80GB",
            "modal.timeout_hours=2",
            "modal.retries=1",
            "telemetry.wandb=true",
            "modal.app_name=rdtui-test",
        ]
    )
    described = describe_app(tmp_path, {"RDTUI_MODAL_SETTINGS": JobSettings.from_config(cfg).to_json()})
    grpo = described["functions"]["stage_grpo"]
    assert described["app"] == "rdtui-test"
    assert (grpo["gpu"], grpo["timeout"], grpo["retries"]) == ("A100-80GB", 7200, 1)
    assert "modal.Secret.from_name('wandb')" in grpo["secrets"]  # optional secret, needed once W&B is on


@pytest.mark.parametrize(
    "condition,expected",
    [
        ("grpo_only", 6.0 * 3.95 + 0.75 * 1.95),
        ("sft_then_grpo", 1.5 * 1.95 + 6.0 * 3.95 + 0.75 * 1.95),
        ("base_model", 0.75 * 1.95),
    ],
)
def test_the_cost_estimate_prices_each_stage_on_its_gpu(condition, expected):
    from core.backends.modal_backend import ModalBackend

    estimate = ModalBackend().estimate_cost(modal_cfg(condition))
    assert estimate.total_usd == pytest.approx(expected)
    assert str(estimate).startswith(f"{condition}: ") and f"${expected:,.2f}" in str(estimate)


# -- M22: GPU fallback lists -------------------------------------------------------------------------------------

FALLBACK = ["H100:8", "A100-80GB:8"]


def test_a_gpu_fallback_list_reaches_modal_s_decorator_and_the_cost_takes_its_dearest_gpu(tmp_path):
    from modal._utils.function_utils import parse_gpu_config
    from modal.exception import InvalidError

    from core.backends.modal_backend import ModalBackend
    from modal_jobs.remote import stage_call_options

    cfg = modal_cfg(overrides=["gpu.grpo=[H100:8, A100-80GB:8]"])
    assert cfg.gpu.grpo == FALLBACK
    settings = JobSettings.from_config(cfg)
    described = describe_app(tmp_path, {"RDTUI_MODAL_SETTINGS": settings.to_json()})
    # Modal's own function spec holds the list: it tries H100:8 first, then A100-80GB:8.
    assert described["functions"]["stage_grpo"]["gpu"] == FALLBACK
    assert described["functions"]["stage_eval"]["gpu"] == cfg.gpu.eval
    # The deployment is named by the list, so two runs with other fallbacks never share one.
    other = JobSettings.from_config(modal_cfg(overrides=["gpu.grpo=[H100:8, H200:8]"]))
    assert settings.versioned().deployment != other.versioned().deployment
    # The driver's per-call options: `with_options(gpu=)` takes one string (modal refuses a list),
    # so a list stays with the decorator; a single GPU is still applied per call.
    with pytest.raises(InvalidError):
        parse_gpu_config(FALLBACK)
    assert "gpu" not in stage_call_options(cfg, "grpo")
    # The driver reads the run's snapshot, which keeps the list.
    snapshot = tmp_path / "config.yaml"
    snapshot.write_text(
        snapshot_text(resolve_full(load_study(CONFIG), "grpo_only", "modal", ["gpu.grpo=" + str(FALLBACK)]))
    )
    assert load_snapshot(snapshot).gpu.grpo == FALLBACK
    assert stage_call_options(cfg, "eval")["gpu"] == cfg.gpu.eval
    assert stage_call_options(cfg, "grpo")["timeout"] == cfg.modal.timeout_hours * 3600
    # Priced at the dearest choice, for all 8 GPUs: the most the user can be billed.
    grpo = next(s for s in ModalBackend().estimate_cost(cfg).stages if s.stage == "grpo")
    assert grpo.usd_per_hour == pytest.approx(8 * max(cfg.cost.gpu_hourly_usd[g] for g in ("H100", "A100-80GB")))
    assert "grpo 6 h on H100:8 or A100-80GB:8 (8 GPUs)" in str(grpo)


@pytest.mark.parametrize(
    "value,message",
    [
        ("[H100:8, A100-80GB:4]", "every GPU in a fallback list needs the same count"),
        ("[H100, B300]", "Modal offers no GPU 'B300' (did you mean 'B200'?)"),
        ("[]", "an empty GPU list names no GPU"),
    ],
)
def test_a_gpu_fallback_list_that_cannot_work_is_refused_naming_the_key(value, message):
    from core.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        modal_cfg(overrides=[f"gpu.grpo={value}"])
    assert f"gpu.grpo: {message}" in str(caught.value)


def test_a_stage_on_a_fallback_list_checks_cuda_against_the_list_s_count(monkeypatch):
    import torch

    from core.errors import RdtuiError
    from modal_jobs.remote import require_cuda

    cfg = modal_cfg(overrides=["gpu.grpo=[H100:2, A100-80GB:2]"])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    require_cuda(cfg, "grpo")  # either choice gives 2 GPUs
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(RdtuiError, match=r"gpu=H100:2 or A100-80GB:2 but torch .* sees 1 CUDA device"):
        require_cuda(cfg, "grpo")
