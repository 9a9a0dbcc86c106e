"""The `local` profile is the `modal` study at a smaller scale: every key where the two differ is on an
allow-list with its reason, and nothing on it changes which code runs (LoRA, after_sft, rewards,
prompt, formatters, grading, evaluation protocol)."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest

from core.config import load_study, resolve
from tests.conftest import CONFIG

# key pattern -> why the offline twin may differ there. A pattern here must be scale or place,
# never a switch between code paths.
ALLOWED_DIFFERENCES = {
    "profile.*": "the profile's own name and description",
    "backend": "where the stages run: this machine or Modal containers",
    "max_parallel": "2 CPU cores run two conditions at a time, one thread each; Modal runs all six at once",
    "gpu.*": "Modal GPU types; there are no GPUs offline",
    "modal.*": "Modal app, volume and secrets; unused offline",
    "cost.*": "GPU prices for Modal's cost estimate; nothing costs money offline",
    "model.name": "scale: the tiny pretrained Qwen3 (same architecture, template, special tokens) for Qwen3-1.7B",
    "sft.learning_rate": "scale: a 0.8M-parameter model needs a larger step than a 1.7B one",
    "grpo.learning_rate": "scale: a 0.8M-parameter model needs a larger step than a 1.7B one",
    "sft.max_steps": "scale: minutes of CPU instead of hours of GPU",
    "sft.num_train_epochs": "scale: capped by max_steps offline",
    "grpo.max_steps": "scale: minutes of CPU instead of hours of GPU",
    "grpo.per_device_train_batch_size": "scale: 8 prompts x 8 generations a step (same num_generations)",
    "sft.max_length": "scale: the task's rows are under 100 tokens; R1 traces run to 16k",
    "grpo.max_completion_length": "scale: the task's replies are under 40 tokens",
    "evaluation.max_new_tokens": "scale: the task's replies are under 40 tokens",
    "evaluation.batch_size": "scale: CPU decoding pays per step, so fewer and larger batches",
    "grpo.save_steps": "scale: checkpoints in proportion to the steps",
    "sft.sample_every": "scale: samples in proportion to the steps",
    "evaluation.benchmarks": "the offline task's held-out test comes first; the study's benchmarks follow (checked below)",
    # Where rows come from; formatter and filter (the code that reads them) are checked equal below.
    "datasets.*.hub": "source: the hub offline is unreachable; synthetic rows in the same schema",
    "datasets.*.config": "source: a hub subset",
    "datasets.*.split": "source: a hub split or the synthetic task's train/test split",
    "datasets.*.path": "source: the benchmark files shipped in the package",
    "datasets.*.synthetic": "source: the offline task writes rows in the real dataset's schema",
    "datasets.*.size": "scale: how many synthetic rows",
    "datasets.*.seed": "source: the synthetic rows' seed",
    "datasets.*.wrong_step_rate": "source: the synthetic teacher's systematic slip (the raw traces' errors)",
    "datasets.*.limit": "scale: rows kept (and benchmark problems evaluated)",
    "datasets.synth_test.*": "the offline task's held-out test set exists only offline",
}

# Code paths: these must never differ, whatever the allow-list says.
SAME_CODE_PATH = (
    "lora.*",
    "grpo.after_sft",
    "grpo.reward_weights*",
    "grpo.num_generations",
    "grpo.temperature",
    "grpo.beta",
    "grpo.use_vllm",
    "grpo.allow_last_number",
    "grpo.format_partial_credit",
    "model.enable_thinking",
    "sft.completion_only_loss",
    "sft.packing",
    "sft.dataset",
    "grpo.dataset",
    "evaluation.samples",
    "evaluation.k",
    "evaluation.temperature",
    "evaluation.top_p",
    "evaluation.allow_last_number",
    "evaluation.system_prompt",
    "grading.*",
    "condition.*",
    "datasets.*.formatter",
    "datasets.*.filter",
)


def flatten(value, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict) and value:
        out: dict[str, object] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def differences(condition: str) -> dict[str, tuple[object, object]]:
    study = load_study(CONFIG)
    local = flatten(resolve(study, condition, "local").model_dump())
    modal = flatten(resolve(study, condition, "modal").model_dump())
    return {
        key: (local.get(key), modal.get(key))
        for key in sorted(local.keys() | modal.keys())
        if local.get(key) != modal.get(key)
    }


CONDITIONS = load_study(CONFIG).conditions
OFFLINE_TEST = "synth_test"


@pytest.mark.parametrize("condition", CONDITIONS)
def test_every_difference_between_local_and_modal_is_scale_with_a_reason(condition):
    diff = differences(condition)
    unexplained = {k: v for k, v in diff.items() if not any(fnmatchcase(k, p) for p in ALLOWED_DIFFERENCES)}
    assert not unexplained, f"keys where local and modal differ without a reason in ALLOWED_DIFFERENCES: {unexplained}"
    code_paths = {
        k: v
        for k, v in diff.items()
        if any(fnmatchcase(k, p) for p in SAME_CODE_PATH) and not k.startswith(f"datasets.{OFFLINE_TEST}.")
    }
    assert not code_paths, f"local and modal take different code paths: {code_paths}"


@pytest.mark.parametrize("condition", CONDITIONS)
def test_local_evaluates_the_studys_benchmarks_with_the_same_formatters(condition):
    study = load_study(CONFIG)
    local, modal = resolve(study, condition, "local"), resolve(study, condition, "modal")
    assert local.evaluation.benchmarks[1:] == modal.evaluation.benchmarks
    assert local.lora.enabled and modal.lora.enabled
    for name, spec in modal.datasets.items():
        assert local.datasets[name].formatter == spec.formatter, name
        assert local.datasets[name].filter == spec.filter, name


def test_the_allow_list_is_all_used():
    """A reason for a key that no longer differs is stale: remove it."""
    seen = {key for condition in CONDITIONS for key in differences(condition)}
    stale = [p for p in ALLOWED_DIFFERENCES if not any(fnmatchcase(k, p) for k in seen)]
    assert not stale, f"allow-list entries that match no difference: {stale}"


@pytest.mark.parametrize(
    "condition,override,message",
    [
        ("grpo_only", "grpo.overlong_buffer=64", "grpo.overlong_buffer: has no effect without the overlong reward"),
        ("sft_traces", "model.enable_thinking=false", "model.enable_thinking: false with trace data (s1k)"),
        ("baseline", "datasets.orca_math.seed=3", "is used by synthetic datasets only"),
        (
            "sft_then_grpo",
            "grpo.format_partial_credit=0.25",
            "grpo.format_partial_credit: has no effect while the format reward's weight is 0",
        ),
    ],
)
def test_keys_that_would_do_nothing_are_errors(condition, override, message):
    from core.config import ConfigError

    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve(load_study(CONFIG), condition, "modal", overrides=[override])


def test_the_same_keys_pass_where_they_act():
    """The inert-key rules fire on the key, not on its name: where the reward or the synthetic data uses it, it is fine."""
    study = load_study(CONFIG)
    assert (
        resolve(study, "grpo_only", "modal", overrides=["grpo.format_partial_credit=0.25"]).grpo.format_partial_credit
        == 0.25
    )
    assert resolve(
        study, "grpo_only", "modal", overrides=["grpo.reward_weights.overlong=0.1", "grpo.overlong_buffer=64"]
    )
    assert resolve(study, "sft_traces", "local", overrides=["datasets.s1k.seed=9"]).datasets["s1k"].seed == 9


def test_every_training_target_and_prompt_follow_one_answer_protocol():
    """Every condition's SFT rows end in \\boxed{} and every prompt asks for it (local rows, real formatters)."""
    from core.data.formatters import INSTRUCTION, last_boxed
    from core.data.registry import dataset_spec, load_dataset_rows

    study = load_study(CONFIG)
    for condition in ("baseline", "sft_traces", "re_distill"):
        cfg = resolve(study, condition, "local")
        rows = load_dataset_rows(dataset_spec(cfg.datasets, cfg.sft.dataset), "sft", name=cfg.sft.dataset)
        tail = [r.completion.rsplit("</think>", 1)[-1] for r in rows]
        assert all(last_boxed(t) is not None for t in tail), condition
        assert all(r.prompt[-1]["content"].endswith(INSTRUCTION) for r in rows), condition
