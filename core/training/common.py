"""What the SFT and GRPO stages share: trainer arguments, W&B checks, checkpoints and final saves."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any


def check_wandb(cfg) -> None:
    """Fail before training, not after minutes of it, when a tracker of telemetry.report_to cannot work."""
    from core.tracking import check_trackers

    check_trackers(cfg)


def on_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def trainer_arguments(cfg, stage_cfg, run, output_dir: Path) -> dict[str, Any]:
    """TrainingArguments fields common to SFTConfig and GRPOConfig."""
    import torch

    from core.models.loading import pick_dtype

    cuda = on_cuda()
    dtype = pick_dtype(cfg.model.dtype, "cuda" if cuda else "cpu")
    from core.config.trainer_args import check_live
    from core.tracking import trainer_report_args

    stage = "grpo" if hasattr(stage_cfg, "num_generations") else "sft"
    # TRL fields without an rdtui key (`<stage>.trainer_args`) come last: they may replace the
    # defaults below that have no key of their own (save_total_limit, dataloader_num_workers, ...).
    passthrough = check_live(stage, stage_cfg)
    return {
        "output_dir": str(output_dir),
        "learning_rate": stage_cfg.learning_rate,
        "max_steps": stage_cfg.max_steps,
        "per_device_train_batch_size": stage_cfg.per_device_train_batch_size,
        "gradient_accumulation_steps": stage_cfg.gradient_accumulation_steps,
        "logging_steps": stage_cfg.logging_steps,
        "save_strategy": "steps",
        "save_steps": stage_cfg.save_steps,
        "save_total_limit": 2,
        "seed": cfg.study.seed,
        "data_seed": cfg.study.seed,
        **trainer_report_args(cfg, run, stage),
        "bf16": dtype == torch.bfloat16,
        "fp16": dtype == torch.float16,
        # Checkpointing activations saves GPU memory on the real model; on CPU it only costs time.
        _checkpointing_field(): cuda,
        "use_cpu": not cuda,
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        **passthrough,
    }


def _checkpointing_field() -> str:
    """transformers 5.24 renamed `gradient_checkpointing` to `activation_checkpointing`; GPU images
    that pin an older transformers only know the old name."""
    import dataclasses

    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"


_CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
TORN_PREFIX = "torn-"  # outside the trainer's `checkpoint-*` glob: never loaded, never rotated away
WEIGHT_FILES = (
    "model.safetensors",
    "adapter_model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "adapter_model.bin",
)


def checkpoint_problem(folder: Path) -> str | None:
    """Why a `checkpoint-N` folder cannot be resumed from (None when it is complete).

    transformers writes a checkpoint in place, weights first and `trainer_state.json` last, so a
    kill, a cancel or a full disk mid-save leaves a folder without a whole trainer state."""
    match = _CHECKPOINT_RE.match(folder.name)
    try:
        state = json.loads((folder / "trainer_state.json").read_bytes())
    except FileNotFoundError:
        return "no trainer_state.json (the save was interrupted)"
    except (OSError, ValueError) as exc:
        return f"unreadable trainer_state.json ({exc})"
    if not isinstance(state, dict) or match is None or state.get("global_step") != int(match.group(1)):
        return "trainer_state.json is not this checkpoint's"
    if not any((folder / name).exists() for name in WEIGHT_FILES):
        return "no model weights"
    return None


def set_aside(folder: Path, reason: str) -> Path:
    """Move a torn checkpoint out of the trainer's way, keeping it for a look (never deleted)."""
    target = folder.with_name(TORN_PREFIX + folder.name)
    n = 1
    while target.exists():
        n += 1
        target = folder.with_name(f"{TORN_PREFIX}{folder.name}.{n}")
    os.rename(folder, target)
    print(f"[rdtui] set aside torn {folder.name} as {target.name}: {reason}", flush=True)
    return target


def last_checkpoint(output_dir: Path) -> str | None:
    """The newest complete checkpoint; torn ones newer than it are set aside (and said so in the log)."""
    if not output_dir.is_dir():
        return None
    numbered = sorted(
        ((int(m.group(1)), p) for p in output_dir.iterdir() if p.is_dir() and (m := _CHECKPOINT_RE.match(p.name))),
        reverse=True,
    )
    for _, folder in numbered:
        problem = checkpoint_problem(folder)
        if problem is None:
            return str(folder)
        set_aside(folder, problem)
    return None


def set_aside_torn_checkpoints(run) -> None:
    """After a stage stopped (cancel, full disk, crash): torn checkpoints leave the trainer's way now."""
    for stage_dir in run.checkpoints_dir.iterdir() if run.checkpoints_dir.is_dir() else ():
        if not stage_dir.is_dir():
            continue
        for folder in stage_dir.iterdir():
            if folder.is_dir() and _CHECKPOINT_RE.match(folder.name):
                problem = checkpoint_problem(folder)
                if problem is not None:
                    set_aside(folder, problem)


def resume_point(stage: str, output_dir: Path, resume: bool) -> str | None:
    """The checkpoint a resumed stage continues from (None: start fresh), said in the run's log."""
    checkpoint = last_checkpoint(output_dir) if resume else None
    if checkpoint is not None:
        print(f"[rdtui] resuming {stage} from {Path(checkpoint).name}", flush=True)
    return checkpoint


def save_final(trainer, tokenizer, target: Path) -> Path:
    """Save the trained model (or adapter) and tokenizer; publish the folder with one rename."""
    if not trainer.is_world_process_zero():
        # Under accelerate launch every rank takes part in gathering sharded weights (ZeRO-3, FSDP);
        # only rank 0 writes and publishes the folder.
        trainer.save_model(str(target.with_name(f".{target.name}.tmp")))
        return target

    def write(folder: Path) -> None:
        trainer.save_model(str(folder))
        tokenizer.save_pretrained(str(folder))

    return publish_folder(target, write)


def publish_folder(target: Path, write) -> Path:
    """`write(staging)` fills a temporary folder, published as `target` with one rename, so a reader
    (or a resumed stage) sees the whole folder or none of it."""
    staging = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    write(staging)
    shutil.rmtree(target, ignore_errors=True)
    os.rename(staging, target)
    return target
