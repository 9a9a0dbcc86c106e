"""`builtin:tiny-qwen3-base`: the tiny Qwen3 after a short, cached "pretraining" stage.

A real base model already has some skill, and GRPO from the base only learns when some sampled
answers earn a reward. The random-init tiny model has none, so the offline study starts from this
one: builtin:tiny-qwen3 trained briefly on worked digit-chain solutions in the chat format, written
by a teacher that slips in most products with a carry (as web text carries common mistakes). It
solves some problems greedily and more of them now and then when sampling, which is what
grpo_only needs. Built deterministically and cached next to the tiny model, keyed by its spec.

Measured at 1,200 steps: the base solves 56.0% of the 400 held-out problems greedily (a solver that
always slips scores 50.8%), and slips as its teacher did (6*3=1). 300 steps left it unable to add
("4+6=2"), so SFT had to teach the arithmetic instead of the habit. The 1,200 steps take about 10
CPU-minutes on one thread (measured on a busy 2-core machine), paid once per cache.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from core.models.tiny import TINY_NAME, cache_root, cached_build, spec_hash, tiny_model_path

BASE_NAME = f"{TINY_NAME}-base"

PRETRAIN_SPEC: dict[str, Any] = {
    "format": 1,
    "rows": 4000,
    "slip_rate": 0.6,  # the teacher's carry slip: more often wrong than right, but not always
    "data_seed": 11,
    "seed": 7,
    "steps": 1200,
    "batch_size": 32,
    "learning_rate": 3e-3,
    "warmup_steps": 20,
}


def base_spec_hash() -> str:
    payload = json.dumps({"pretrain": PRETRAIN_SPEC, "tiny": spec_hash()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def base_model_path() -> Path:
    """The pretrained tiny model's folder, pretraining it first when absent (minutes of CPU, once)."""
    return cached_build(cache_root() / "models" / f"{BASE_NAME}-{base_spec_hash()}", _pretrain)


def _examples(tokenizer) -> list[tuple[list[int], int]]:
    """(token ids of prompt + reply, prompt length) per row, rendered with the chat template."""
    from core.data import formatters, synthetic

    rows = synthetic.records(
        "s1k",
        PRETRAIN_SPEC["rows"],
        PRETRAIN_SPEC["data_seed"],
        slip_rate=PRETRAIN_SPEC["slip_rate"],
        task="digit_chain",
    )
    out = []
    for record in rows:
        row = formatters.s1k(record)
        prompt = tokenizer.apply_chat_template(
            row.prompt, tokenize=False, add_generation_prompt=True, enable_thinking=True
        )
        full = tokenizer.apply_chat_template(
            row.prompt + [{"role": "assistant", "content": row.completion}], tokenize=False, enable_thinking=True
        )
        ids = tokenizer(full, add_special_tokens=False)["input_ids"]
        out.append((ids, len(tokenizer(prompt, add_special_tokens=False)["input_ids"])))
    return out


def _pretrain(folder: Path) -> None:
    import random

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = tiny_model_path()
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    examples = _examples(tokenizer)
    spec = PRETRAIN_SPEC
    torch.manual_seed(spec["seed"])
    order = random.Random(spec["seed"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec["learning_rate"], weight_decay=0.0)
    pad = tokenizer.pad_token_id

    def rate(step: int) -> float:  # linear warmup, then cosine to zero
        if step < spec["warmup_steps"]:
            return (step + 1) / spec["warmup_steps"]
        progress = (step - spec["warmup_steps"]) / max(1, spec["steps"] - spec["warmup_steps"])
        return 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    model.train()
    # One thread: the same weights on every machine, and no spinning threads on a busy one.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _train(model, examples, order, optimizer, scheduler, pad)
    finally:
        torch.set_num_threads(threads)
    model.eval()
    folder.mkdir(parents=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "rdtui-spec.json").write_text(json.dumps({"from": TINY_NAME, "pretrain": spec}, indent=2) + "\n")


def _train(model, examples, order, optimizer, scheduler, pad) -> None:
    import torch
    import torch.nn.functional as F

    spec = PRETRAIN_SPEC
    print(f"[rdtui] pretraining {BASE_NAME} ({spec['steps']} steps, cached afterwards)", flush=True)
    for _ in range(spec["steps"]):
        batch = order.sample(examples, spec["batch_size"])
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((len(batch), width), pad)
        labels = torch.full((len(batch), width), -100)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, (ids, prompt_len) in enumerate(batch):
            input_ids[i, : len(ids)] = torch.tensor(ids)
            labels[i, prompt_len : len(ids)] = torch.tensor(ids[prompt_len:])  # the reply only
            mask[i, : len(ids)] = 1
        logits = model(input_ids=input_ids, attention_mask=mask).logits[:, :-1]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
