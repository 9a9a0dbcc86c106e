"""The GRPO stage: TRL's GRPOTrainer with the study's reward functions, from the base or an SFT result."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING

from core.data.registry import build_grpo_dataset
from core.errors import RdtuiError
from core.models.loading import load_model_and_tokenizer, lora_config, save_generation_config, stop_token_ids
from core.training.common import (
    check_wandb,
    on_cuda,
    publish_folder,
    resume_point,
    save_final,
    trainer_arguments,
)
from core.training.distributed import vllm_arguments
from core.training.telemetry import RewardRecorder, TelemetryCallback

if TYPE_CHECKING:
    from core.config.schema import ModelCfg

STAGE = "grpo"


def grpo_output_dirs(run) -> tuple[Path, Path]:
    """(checkpoints folder, final model folder) of a run's GRPO stage."""
    return run.stage_checkpoints_dir(STAGE), run.final_model_dir(STAGE)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def use_vllm(grpo_cfg) -> bool:
    """vLLM only where configured, importable and on a GPU; plain `generate` everywhere else."""
    if not grpo_cfg.use_vllm:
        return False
    available = importlib.util.find_spec("vllm") is not None and on_cuda()
    print(
        f"[rdtui] generation: {'vLLM ' + grpo_cfg.vllm_mode if available else 'transformers generate'}"
        f"{'' if available else ' (vLLM not importable or no GPU)'}",
        flush=True,
    )
    if available and grpo_cfg.vllm_mode == "colocate":
        # vLLM colocate builds a one-process distributed group even on a single GPU; a free port
        # keeps two runs on one machine from colliding.
        for key, value in (
            ("RANK", "0"),
            ("LOCAL_RANK", "0"),
            ("WORLD_SIZE", "1"),
            ("MASTER_ADDR", "127.0.0.1"),
            ("MASTER_PORT", str(_free_port())),
        ):
            os.environ.setdefault(key, value)
    return available


def _model_for_grpo(cfg, run, init_model: str | Path | None):
    """(model, tokenizer, peft_config) for the GRPO trainer.

    After LoRA SFT, `grpo.after_sft` says whether the SFT adapter is merged into the weights and a
    fresh LoRA trained on top (`merge`), or the same adapter keeps training (`continue`). A merged
    model is saved in the run (`checkpoints/sft-merged`) and loaded from there, so the GRPO adapter
    records it as its base and every later process (eval stage, vLLM) loads the weights GRPO trained.
    """
    init_path = Path(init_model) if init_model is not None else None
    sft_adapter = init_path is not None and (init_path / "adapter_config.json").exists()
    keep_adapter = sft_adapter and cfg.grpo.after_sft == "continue"
    if sft_adapter and not keep_adapter:
        assert init_path is not None  # sft_adapter implies a path
        init_path = save_merged_sft(cfg.model, init_path, run.merged_sft_dir)
    model, tokenizer = load_model_and_tokenizer(cfg.model, adapter=init_path, trainable_adapter=keep_adapter)
    if keep_adapter:
        return model, tokenizer, None
    return model, tokenizer, lora_config(model, cfg.lora)


def save_merged_sft(model_cfg: ModelCfg, sft_adapter: Path, target: Path) -> Path:
    """Base + SFT adapter merged into full weights, saved once (a resumed GRPO stage reuses it)."""
    if (target / "config.json").exists():
        return target
    model, tokenizer = load_model_and_tokenizer(model_cfg, adapter=sft_adapter)
    merged = model.merge_and_unload()
    print(f"[rdtui] merged the SFT adapter into the base model: {target.name}", flush=True)

    def write(folder: Path) -> None:
        merged.save_pretrained(str(folder))
        tokenizer.save_pretrained(str(folder))

    return publish_folder(target, write)


def build_rewards(grpo_cfg) -> tuple[list, list[float]]:
    from core.training.rewards import build_reward_functions

    try:
        funcs, weights = build_reward_functions(grpo_cfg)
    except (KeyError, ValueError) as exc:
        raise RdtuiError(str(exc).strip("'\"")) from None
    if not funcs:
        raise RdtuiError("grpo.reward_weights: no reward functions configured")
    return funcs, weights


def run_grpo(cfg, run, *, init_model: str | Path | None = None, resume: bool = False) -> Path:
    """Train with GRPO, checkpointing every `grpo.save_steps`; returns the final model or adapter folder.

    `init_model` is the SFT stage's output (sft_then_grpo) or None to start from the base model.
    """
    from trl import GRPOConfig, GRPOTrainer

    check_wandb(cfg)
    funcs, weights = build_rewards(cfg)  # the whole config: its grading section reaches the reward
    dataset = build_grpo_dataset(cfg.datasets, cfg.grpo.dataset)
    model, tokenizer, peft_config = _model_for_grpo(cfg, run, init_model)
    checkpoints, final = grpo_output_dirs(run)
    vllm = use_vllm(cfg.grpo)
    extra = vllm_arguments(cfg.grpo) if vllm else {}  # colocate, or the server the launcher started
    if vllm:
        # vLLM stops only at the eos ids it reads from disk (-Base: <|endoftext|>): pass the end of turn too.
        extra["generation_kwargs"] = {"stop_token_ids": stop_token_ids(model, tokenizer)}
    args = GRPOConfig(
        **trainer_arguments(cfg, cfg.grpo, run, checkpoints),
        num_generations=cfg.grpo.num_generations,
        max_completion_length=cfg.grpo.max_completion_length,
        temperature=cfg.grpo.temperature,
        beta=cfg.grpo.beta,
        warmup_steps=cfg.grpo.warmup_steps,
        reward_weights=weights,
        use_vllm=vllm,
        chat_template_kwargs={"enable_thinking": cfg.model.enable_thinking},
        **extra,
    )
    recorder = RewardRecorder.for_trainer(funcs, weights, args)  # groups of num_generations, as TRL scales them
    telemetry = TelemetryCallback(
        run,
        STAGE,
        sample_every=cfg.grpo.sample_every if cfg.telemetry.samples_per_log else 0,
        sampler=lambda model, step: recorder.samples(cfg.telemetry.samples_per_log),
    )
    trainer = GRPOTrainer(
        model=model,
        # TRL's hint wants list[float | None] returns; list is invariant, so list[float] (a valid return) fails.
        reward_funcs=recorder.wrapped(),  # type: ignore[arg-type]
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[telemetry],
    )
    trainer.train(resume_from_checkpoint=resume_point(STAGE, checkpoints, resume))
    return save_generation_config(save_final(trainer, tokenizer, final), trainer.model)
