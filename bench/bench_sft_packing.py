"""SFT throughput on the builtin tiny model with packing on and off, in the same process.

Prints, for each setting, the median over several runs of real (non-padding) tokens trained per
second, and the share of padding among the token slots the model computed on.

    .venv/bin/python bench/bench_sft_packing.py [--steps 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def batch_token_counts(trainer, steps: int, pad_id: int) -> tuple[int, int]:
    """(real tokens, computed token slots) over the first `steps` batches the trainer will see."""
    real = slots = 0
    for i, batch in enumerate(trainer.get_train_dataloader()):
        if i == steps:
            break
        ids = batch["input_ids"]
        slots += ids.numel()
        mask = batch.get("attention_mask")
        real += int(mask.sum()) if mask is not None else int((ids != pad_id).sum())
    return real, slots


def one_run(cfg, dataset, packing: bool, steps: int) -> tuple[float, float]:
    from trl import SFTConfig, SFTTrainer

    from core.models.loading import load_model_and_tokenizer

    model, tokenizer = load_model_and_tokenizer(cfg.model, device="cpu")
    with tempfile.TemporaryDirectory() as out:
        args = SFTConfig(
            output_dir=out,
            max_steps=steps,
            per_device_train_batch_size=cfg.sft.per_device_train_batch_size,
            learning_rate=cfg.sft.learning_rate,
            max_length=cfg.sft.max_length,
            packing=packing,
            completion_only_loss=True,
            logging_steps=steps,
            save_strategy="no",
            report_to="none",
            activation_checkpointing=False,
            use_cpu=True,
            disable_tqdm=True,
            seed=cfg.study.seed,
        )
        trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
        real, slots = batch_token_counts(trainer, steps, tokenizer.pad_token_id)
        start = time.perf_counter()
        trainer.train()
        elapsed = time.perf_counter() - start
    return real / elapsed, 1 - real / slots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    ns = parser.parse_args()

    from core.config import load_study, resolve
    from core.data.registry import build_sft_dataset

    cfg = resolve(load_study(REPO / "config.yaml"), "sft_traces", "local")
    dataset = build_sft_dataset(cfg.datasets, cfg.sft.dataset, enable_thinking=cfg.model.enable_thinking)
    print(
        f"tiny model SFT, {cfg.sft.dataset} ({len(dataset)} rows), batch {cfg.sft.per_device_train_batch_size}, "
        f"max_length {cfg.sft.max_length}, {ns.steps} steps x {ns.repeats} runs (medians)"
    )
    for packing in (True, False):
        runs = [one_run(cfg, dataset, packing, ns.steps) for _ in range(ns.repeats)]
        tokens_per_s = statistics.median(r[0] for r in runs)
        padding = statistics.median(r[1] for r in runs)
        print(f"packing={'on ' if packing else 'off'}  {tokens_per_s:8.0f} real tokens/s  padding {padding:6.1%}")


if __name__ == "__main__":
    main()
