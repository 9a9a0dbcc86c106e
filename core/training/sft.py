"""The SFT stage: TRL's SFTTrainer on the condition's dataset, LoRA or full fine-tune, resumable."""

from __future__ import annotations

from pathlib import Path

from core.data.registry import build_sft_dataset, dataset_spec, load_dataset_rows
from core.models.loading import load_model_and_tokenizer, lora_config, save_generation_config
from core.training.common import check_wandb, resume_point, save_final, trainer_arguments
from core.training.telemetry import TelemetryCallback, generation_sampler

STAGE = "sft"
# Samples written during SFT are short: they show the format being learned, not a full evaluation.
SAMPLE_MAX_NEW_TOKENS = 128


def sft_output_dirs(run) -> tuple[Path, Path]:
    """(checkpoints folder, final model folder) of a run's SFT stage."""
    return run.stage_checkpoints_dir(STAGE), run.final_model_dir(STAGE)


def _sampler(cfg, tokenizer):
    if not cfg.sft.sample_every or not cfg.telemetry.samples_per_log:
        return None
    rows = load_dataset_rows(dataset_spec(cfg.datasets, cfg.sft.dataset), "sft", name=cfg.sft.dataset)
    funcs, weights = None, None
    if cfg.grpo is not None:
        from core.training.rewards import build_reward_functions

        funcs, weights = build_reward_functions(cfg)  # grpo and grading sections
    max_new = min(cfg.evaluation.max_new_tokens, SAMPLE_MAX_NEW_TOKENS)
    return generation_sampler(
        tokenizer,
        rows[: cfg.telemetry.samples_per_log],
        max_new_tokens=max_new,
        enable_thinking=cfg.model.enable_thinking,
        reward_funcs=funcs,
        weights=weights,
    )


def run_sft(cfg, run, *, init_model: str | Path | None = None, resume: bool = False) -> Path:
    """Train, checkpointing every `sft.save_steps`; returns the folder of the final model or adapter.

    `resume` continues from the newest checkpoint of this run's SFT stage when there is one.
    """
    from trl import SFTConfig, SFTTrainer

    check_wandb(cfg)
    dataset = build_sft_dataset(cfg.datasets, cfg.sft.dataset, enable_thinking=cfg.model.enable_thinking)
    model, tokenizer = load_model_and_tokenizer(cfg.model, adapter=init_model)
    checkpoints, final = sft_output_dirs(run)
    args = SFTConfig(
        **trainer_arguments(cfg, cfg.sft, run, checkpoints),
        num_train_epochs=cfg.sft.num_train_epochs,
        max_length=cfg.sft.max_length,
        packing=cfg.sft.packing,
        completion_only_loss=cfg.sft.completion_only_loss,
        # transformers 5 reads a warmup_steps below 1 as a share of the steps (warmup_ratio is gone).
        warmup_steps=cfg.sft.warmup_steps or min(cfg.sft.warmup_ratio, 0.999),
        lr_scheduler_type=cfg.sft.lr_scheduler_type,
        weight_decay=cfg.sft.weight_decay,
        eos_token=tokenizer.eos_token,
    )
    telemetry = TelemetryCallback(run, STAGE, sample_every=cfg.sft.sample_every, sampler=_sampler(cfg, tokenizer))
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora_config(model, cfg.lora),
        callbacks=[telemetry],
    )
    trainer.train(resume_from_checkpoint=resume_point(STAGE, checkpoints, resume))
    return save_generation_config(save_final(trainer, tokenizer, final), trainer.model)
