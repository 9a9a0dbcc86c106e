"""CPU time of one SFT optimizer step on the local profile (tiny model, LoRA, packing), one thread, for two
batch shapes of the same 16 packed rows a step: 16 x 1 and 4 x 4 (batch x gradient accumulation).

TRL's best-fit packing trains padding-free: a batch is flattened into one sequence, and attention on the
CPU (SDPA, no variable-length kernel) covers the whole flattened sequence under a block mask, so its cost
grows with the square of batch x max_length. Prints the median CPU seconds a step of each shape and the ratio.

    .venv/bin/python bench/bench_sft_batch.py [--steps 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHAPES = ((16, 1), (4, 4))  # (per_device_train_batch_size, gradient_accumulation_steps)


def cpu_per_step(cfg, dataset, batch: int, accumulation: int, steps: int) -> float:
    """Median process CPU seconds of one optimizer step (the first step, which allocates, left out)."""
    import transformers
    from trl import SFTConfig, SFTTrainer

    from core.models.loading import load_model_and_tokenizer, lora_config

    class StepClock(transformers.TrainerCallback):
        def __init__(self) -> None:
            self.marks: list[float] = []

        def on_step_begin(self, args, state, control, **kwargs):
            self.marks.append(time.process_time())

        def on_step_end(self, args, state, control, **kwargs):
            self.marks.append(time.process_time())

    model, tokenizer = load_model_and_tokenizer(cfg.model, device="cpu")
    clock = StepClock()
    with tempfile.TemporaryDirectory() as out:
        args = SFTConfig(
            output_dir=out,
            max_steps=steps + 1,
            per_device_train_batch_size=batch,
            gradient_accumulation_steps=accumulation,
            learning_rate=cfg.sft.learning_rate,
            max_length=cfg.sft.max_length,
            packing=cfg.sft.packing,
            completion_only_loss=cfg.sft.completion_only_loss,
            logging_steps=steps + 1,
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            activation_checkpointing=False,  # as rdtui off CUDA
            bf16=False,  # as rdtui's trainer arguments on a CPU (transformers would pick bf16 autocast: 6x slower here)
            disable_tqdm=True,
            seed=cfg.study.seed,
        )
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=lora_config(model, cfg.lora),
            callbacks=[clock],
        )
        trainer.train()
    spans = [end - begin for begin, end in zip(clock.marks[2::2], clock.marks[3::2])]
    return statistics.median(spans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    ns = parser.parse_args()

    import torch

    from core.config import load_study, resolve
    from core.data.registry import build_sft_dataset

    torch.set_num_threads(1)  # as each of the local profile's two concurrent runs
    cfg = resolve(load_study(REPO / "config.yaml"), "sft_traces", "local")
    dataset = build_sft_dataset(cfg.datasets, cfg.sft.dataset, enable_thinking=cfg.model.enable_thinking)
    dataset = dataset.select(range(min(len(dataset), 40 * (ns.steps + 1))))  # enough rows for the steps
    print(
        f"tiny model LoRA SFT, {cfg.sft.dataset}, max_length {cfg.sft.max_length}, packing {cfg.sft.packing}, "
        f"1 thread, {ns.steps} steps x {ns.repeats} runs (medians of CPU seconds per optimizer step)"
    )
    medians = {}
    for batch, accumulation in SHAPES:
        runs = [cpu_per_step(cfg, dataset, batch, accumulation, ns.steps) for _ in range(ns.repeats)]
        medians[batch, accumulation] = statistics.median(runs)
        print(f"batch {batch:2d} x accumulation {accumulation}: {medians[batch, accumulation]:.3f} CPU s/step")
    (base, new) = (medians[SHAPES[0]], medians[SHAPES[1]])
    print(f"4 x 4 / 16 x 1: {new / base:.2f}x the CPU time a step")


if __name__ == "__main__":
    main()
