"""Every condition is evaluated on the weights it trained: LoRA on and off, `after_sft` merge and continue.

The truth is the trainer's own model in memory at the moment the stage saves it; the eval stage's model
is what a separate process loads from the run folder. Their logits must agree, and differ from the
untouched base, for every combination.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_study, resolve
from core.evaluation.generation import TransformersBackend
from core.evaluation.modelref import model_ref, run_final_checkpoint
from core.models.loading import load_model_and_tokenizer
from core.store.runstore import RunStore
from core.training import grpo, sft

REPO = Path(__file__).resolve().parents[1]
SMALL = [
    "sft.max_steps=8",
    "sft.max_length=128",
    "sft.learning_rate=1e-2",
    "sft.sample_every=0",
    "sft.save_steps=100",
    "grpo.max_steps=1",
    "grpo.per_device_train_batch_size=8",
    "grpo.gradient_accumulation_steps=1",
    "grpo.num_generations=4",
    "grpo.max_completion_length=16",
    "grpo.learning_rate=1e-2",
    "grpo.sample_every=0",
    "grpo.save_steps=100",
    "telemetry.samples_per_log=0",
]
LORA = ["lora.enabled=true", "lora.r=8", "lora.alpha=16", "lora.dropout=0.0"]
PROMPT = [{"role": "user", "content": "What is 7 + 5? Put the final answer in \\boxed{}."}]


def last_logits(model, tokenizer):
    import torch

    ids = tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.inference_mode():
        return model(input_ids=ids["input_ids"].to(model.device)).logits[0, -1].float().cpu()


@pytest.fixture
def trained_logits(monkeypatch):
    """Logits of each stage's model as its trainer holds it when the final save starts."""
    seen: dict[str, object] = {}

    def recording(module, stage):
        original = module.save_final

        def save_final(trainer, tokenizer, target):
            trainer.model.eval()
            seen[stage] = last_logits(trainer.model, tokenizer)
            return original(trainer, tokenizer, target)

        monkeypatch.setattr(module, "save_final", save_final)

    recording(sft, "sft")
    recording(grpo, "grpo")
    return seen


@pytest.mark.slow
@pytest.mark.parametrize(
    "condition, extra",
    [
        ("sft_then_grpo", [*LORA, "grpo.after_sft=merge"]),
        ("sft_then_grpo", [*LORA, "grpo.after_sft=continue"]),
        ("sft_then_grpo", ["lora.enabled=false"]),
        ("sft_traces", LORA),
        # Groups of 8 full-length answers at temperature 1: the pretrained base gets some right and
        # some wrong, so GRPO has an advantage to follow and its adapter moves.
        (
            "grpo_only",
            [
                *LORA,
                "grpo.max_steps=2",
                "grpo.num_generations=8",
                "grpo.per_device_train_batch_size=16",
                "grpo.max_completion_length=48",
                "grpo.temperature=1.0",
            ],
        ),
    ],
    ids=["lora-merge", "lora-continue", "full", "sft-lora", "grpo-lora"],
)
def test_eval_stage_loads_the_weights_the_last_stage_trained(tmp_path, trained_logits, condition, extra):
    cfg = resolve(load_study(REPO / "config.yaml"), condition, "local", overrides=[*SMALL, *extra])
    run = RunStore(tmp_path / "runs").create(condition, "local", "local", "snapshot: test\n")
    model_path = None
    for stage in cfg.condition.stages:
        if stage == "sft":
            model_path = sft.run_sft(cfg, run, init_model=model_path)
        elif stage == "grpo":
            model_path = grpo.run_grpo(cfg, run, init_model=model_path)
    last = [s for s in cfg.condition.stages if s in ("sft", "grpo")][-1]

    backend, tokenizer = TransformersBackend.load(
        cfg, model_ref(cfg.model, run_final_checkpoint(cfg.condition, run), run)
    )
    evaluated = last_logits(backend.model, tokenizer)
    base, base_tokenizer = load_model_and_tokenizer(cfg.model, device="cpu")
    untouched = last_logits(base.eval(), base_tokenizer)

    assert (evaluated - trained_logits[last]).abs().max().item() < 1e-4
    assert (evaluated - untouched).abs().max().item() > 1e-2, "training changed nothing the test can see"
    if "grpo.after_sft=merge" in extra:
        assert (run.checkpoints_dir / "sft-merged" / "config.json").exists()
