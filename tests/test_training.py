"""Real TRL trainers for a few steps on the tiny model: metrics, samples, progress, resume, clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.config import load_study, resolve
from core.errors import RdtuiError
from core.models.loading import load_model_and_tokenizer
from core.store.jsonl import read_jsonl
from core.store.runstore import RunStore
from core.training.grpo import run_grpo
from core.training.rewards import build_reward_functions
from core.training.sft import run_sft

REPO = Path(__file__).resolve().parents[1]

# A few steps of everything, small enough for the default suite on 2 cores; a full fine-tune unless
# a test turns LoRA (the local profile's default) back on.
SFT_SMALL = [
    "lora.enabled=false",
    "sft.max_steps=6",
    "sft.save_steps=3",
    "sft.sample_every=3",
    "sft.per_device_train_batch_size=4",
    "sft.max_length=128",
    "telemetry.samples_per_log=2",
    "evaluation.max_new_tokens=24",
]
GRPO_SMALL = [
    "lora.enabled=false",
    "grpo.max_steps=2",
    "grpo.save_steps=2",
    "grpo.sample_every=1",
    "grpo.per_device_train_batch_size=8",
    "grpo.num_generations=4",
    "grpo.max_completion_length=24",
    "telemetry.samples_per_log=2",
]


def make_cfg(condition: str, *overrides: str):
    return resolve(load_study(REPO / "config.yaml"), condition, "local", overrides=list(overrides))


def make_run(tmp_path: Path, cfg):
    return RunStore(tmp_path / "runs").create(cfg.condition.name, "local", "local", "snapshot: test\n")


def steps(path: Path, stage: str) -> list[int]:
    return [r["step"] for r in read_jsonl(path) if r["stage"] == stage]


def test_sft_writes_metrics_samples_progress_and_a_loadable_model(tmp_path):
    cfg = make_cfg("sft_traces", *SFT_SMALL)
    run = make_run(tmp_path, cfg)
    final = run_sft(cfg, run)

    metrics = read_jsonl(run.metrics_path)
    assert [m["step"] for m in metrics] == [1, 2, 3, 4, 5, 6]
    for key in ("t", "loss", "learning_rate", "grad_norm", "mean_token_accuracy"):
        assert all(isinstance(m[key], float) for m in metrics), key
    samples = read_jsonl(run.samples_path)
    assert [s["step"] for s in samples] == [3, 3, 6, 6]
    assert all(s["prompt"].endswith("\\boxed{}.") and isinstance(s["completion"], str) for s in samples)
    assert all(set(s["rewards"]) == set(cfg.grpo.reward_weights) for s in samples)
    assert run.reload().progress == {"stage": "sft", "step": 6, "total": 6, "eta_s": 0.0}
    assert (run.checkpoints_dir / "sft" / "checkpoint-6").is_dir()

    model, tokenizer = load_model_and_tokenizer(cfg.model, adapter=final, device="cpu")
    assert tokenizer.eos_token == "<|im_end|>"
    assert model.config.architectures == ["Qwen3ForCausalLM"]


def test_sft_resume_continues_from_the_last_checkpoint_without_duplicate_steps(tmp_path):
    cfg = make_cfg("sft_traces", *SFT_SMALL, "sft.sample_every=0")
    run = make_run(tmp_path, cfg)
    run_sft(cfg, run)
    # As if killed after logging step 5: the newest checkpoint is step 3, the log reaches step 5.
    shutil.rmtree(run.checkpoints_dir / "sft" / "checkpoint-6")
    shutil.rmtree(run.checkpoints_dir / "sft-final")
    kept = [line for line in run.metrics_path.read_text().splitlines(keepends=True) if '"step":6,' not in line]
    run.metrics_path.write_text("".join(kept))
    before = read_jsonl(run.metrics_path)

    run_sft(cfg, run, resume=True)
    after = read_jsonl(run.metrics_path)
    assert steps(run.metrics_path, "sft") == [1, 2, 3, 4, 5, 6]
    assert after[:5] == before  # the steps already written stay as they were
    assert (run.checkpoints_dir / "sft-final" / "model.safetensors").exists()


def test_grpo_logs_rewards_and_samples_real_completions(tmp_path):
    cfg = make_cfg("grpo_only", *GRPO_SMALL)
    run = make_run(tmp_path, cfg)
    final = run_grpo(cfg, run)

    metrics = read_jsonl(run.metrics_path)
    assert [m["step"] for m in metrics] == [1, 2] and {m["stage"] for m in metrics} == {"grpo"}
    for key in (
        "reward",
        "reward_std",
        "frac_reward_zero_std",
        "rewards/correctness/mean",
        "rewards/format/mean",
        "completions/mean_length",
        "completions/clipped_ratio",
        "entropy",
        "loss",
    ):
        assert all(key in m for m in metrics), key

    samples = read_jsonl(run.samples_path)
    # samples_per_log=2 prompts a step, each a whole group of num_generations=4 completions
    assert [s["step"] for s in samples] == [1] * 8 + [2] * 8
    assert len({s["prompt"] for s in samples if s["step"] == 1}) == 2
    funcs, weights = build_reward_functions(cfg.grpo)
    format_reward = next(f for f in funcs if f.__name__ == "format")
    for s in samples:
        assert s["completion"].strip()
        # The recorded reward is the reward of exactly this completion.
        rescored = format_reward(
            prompts=[[{"role": "user", "content": s["prompt"]}]],
            completions=[[{"role": "assistant", "content": s["completion"]}]],
        )
        assert s["rewards"]["format"] == rescored[0]
        assert s["reward"] == pytest.approx(sum(w * s["rewards"][f.__name__] for f, w in zip(funcs, weights)))
    assert (final / "model.safetensors").exists()


def test_sft_then_grpo_with_lora_merges_then_trains_a_fresh_adapter(tmp_path):
    lora = ["lora.enabled=true", "lora.r=4", "lora.alpha=8", "lora.target_modules=[q_proj, v_proj]"]
    cfg = make_cfg(
        "sft_then_grpo",
        *SFT_SMALL,
        *GRPO_SMALL,
        *lora,
        "sft.max_steps=2",
        "sft.sample_every=0",
        "grpo.max_steps=1",
        "grpo.after_sft=merge",
    )
    run = make_run(tmp_path, cfg)
    sft_final = run_sft(cfg, run)
    assert (sft_final / "adapter_config.json").exists()
    grpo_final = run_grpo(cfg, run, init_model=sft_final)
    assert (grpo_final / "adapter_config.json").exists()
    assert steps(run.metrics_path, "sft") == [1, 2] and steps(run.metrics_path, "grpo") == [1]
    # Every saved model carries its stop tokens (vLLM reads only files): end of turn and the declared eos.
    from core.models.loading import load_tokenizer

    tokenizer = load_tokenizer(cfg.model.name)
    stops = {tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")}
    for folder in (sft_final, grpo_final):
        saved = json.loads((folder / "generation_config.json").read_text())["eos_token_id"]
        assert stops <= set(saved if isinstance(saved, list) else [saved]), (folder.name, saved)


@pytest.mark.parametrize(
    "override, pattern",
    [
        ("datasets.s1k.path=/nonexistent/s1k.jsonl", r"datasets\.s1k\.path: file not found"),
        ("telemetry.wandb=true", "WANDB_API_KEY"),
    ],
)
def test_bad_input_fails_before_training_and_writes_nothing(tmp_path, monkeypatch, override, pattern):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    extra = ["datasets.s1k.synthetic=null", "datasets.s1k.formatter=s1k"] if "path" in override else []
    cfg = make_cfg("sft_traces", *SFT_SMALL, override, *extra)
    run = make_run(tmp_path, cfg)
    with pytest.raises(RdtuiError, match=pattern):
        run_sft(cfg, run)
    assert not run.metrics_path.exists() and not run.checkpoints_dir.exists()


def test_unknown_reward_name_fails_before_training(tmp_path):
    cfg = make_cfg("grpo_only", *GRPO_SMALL)
    # Past config validation, e.g. a hand-edited snapshot.
    cfg = cfg.model_copy(update={"grpo": cfg.grpo.model_copy(update={"reward_weights": {"corectness": 1.0}})})
    run = make_run(tmp_path, cfg)
    with pytest.raises(RdtuiError, match="unknown reward 'corectness'"):
        run_grpo(cfg, run)
    assert not run.metrics_path.exists() and not run.checkpoints_dir.exists()
