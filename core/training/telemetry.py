"""Live telemetry from TRL trainers into the run folder.

- metrics.jsonl: one line per logged step {"t", "stage", "step", <TRL's metric names>: value}.
  After a resume the trainer logs again the steps between its checkpoint and the crash; those
  steps are already in the file, so steps at or below the last written one (per stage) are skipped.
- samples.jsonl: every `sample_every` steps, a few prompts with completions and their rewards.
- run.json: progress {stage, step, total, eta_s}, at most about once a second.
Under `accelerate launch` only the world's rank 0 writes any of them (the others log the same
gathered metrics).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from transformers import TrainerCallback

from core.store.jsonl import JsonlWriter, read_jsonl
from core.training.sysmetrics import SystemSampler, start_sampler

# TRL's end-of-training summary (train_runtime, train_loss, ...) is not a step.
_SUMMARY_KEYS = ("train_runtime",)
_PROGRESS_INTERVAL_S = 1.0


class RunLike(Protocol):
    metrics_path: Any
    samples_path: Any

    def update(self, **fields: Any) -> Any: ...


def last_logged_step(path, stage: str, key: str = "step") -> int:
    """The highest step of `stage` already in a JSONL file (0 when none)."""
    if not path.exists():
        return 0
    return max((int(r[key]) for r in read_jsonl(path) if r.get("stage") == stage and key in r), default=0)


def message_text(value: Any) -> str:
    """Text of a prompt or completion, whether a plain string or a list of chat messages."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[-1], dict):
        return str(value[-1].get("content", ""))
    return str(value)


class RewardRecorder:
    """Wraps reward functions so the last scored batch (completions and each reward) can be sampled."""

    def __init__(self, funcs: list[Callable[..., list[float]]], weights: list[float]):
        self.funcs = funcs
        self.weights = weights
        self._batch_key: int | None = None
        self.prompts: list[Any] = []
        self.completions: list[Any] = []
        self.answers: list[Any] = []
        self.rewards: dict[str, list[float | None]] = {}

    def wrapped(self) -> list[Callable[..., list[float]]]:
        return [self._wrap(f) for f in self.funcs]

    def _wrap(self, func: Callable[..., list[float]]) -> Callable[..., list[float]]:
        # functools.wraps keeps __name__, which TRL uses for the `rewards/<name>/mean` metric.
        @functools.wraps(func)
        def recorded(prompts, completions, **kwargs):
            values = func(prompts=prompts, completions=completions, **kwargs)
            if id(completions) != self._batch_key:
                self._batch_key = id(completions)
                self.prompts, self.completions = list(prompts), list(completions)
                self.answers = list(kwargs.get("answer") or [None] * len(completions))
                self.rewards = {}
            self.rewards[func.__name__] = list(values)
            return values

        return recorded

    def samples(self, limit: int) -> list[dict[str, Any]]:
        """One completion for each of up to `limit` distinct prompts of the last batch."""
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        for i, prompt in enumerate(self.prompts):
            text = message_text(prompt)
            if text in seen:
                continue
            seen.add(text)
            rewards = {name: values[i] for name, values in self.rewards.items()}
            rows.append(
                {
                    "prompt": text,
                    "completion": message_text(self.completions[i]),
                    "answer": self.answers[i],
                    "rewards": rewards,
                    "reward": weighted_total(rewards, self.funcs, self.weights),
                }
            )
            if len(rows) >= limit:
                break
        return rows


def weighted_total(rewards: Mapping[str, float | None], funcs: list[Callable], weights: list[float]) -> float | None:
    total = 0.0
    for func, weight in zip(funcs, weights):
        value = rewards.get(func.__name__)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        total += weight * value
    return total


Sampler = Callable[[Any, int], list[dict[str, Any]]]


class TelemetryCallback(TrainerCallback):
    def __init__(self, run: RunLike, stage: str, *, sample_every: int = 0, sampler: Sampler | None = None):
        self.run = run
        self.stage = stage
        self.sample_every = sample_every
        self.sampler = sampler
        self.metrics = JsonlWriter(run.metrics_path)
        self.samples = JsonlWriter(run.samples_path)
        self.last_metric_step = last_logged_step(run.metrics_path, stage)
        self.last_sample_step = last_logged_step(run.samples_path, stage)
        self._begin_time = 0.0
        self._begin_step = 0
        self._last_progress = 0.0
        self._system: SystemSampler | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self._begin_time = time.monotonic()
        self._begin_step = state.global_step
        self._write_progress(state, force=True)
        if state.is_world_process_zero and self._system is None:  # CPU, RAM, GPUs into system.jsonl
            self._system = start_sampler(Path(self.run.metrics_path).parent, self.stage)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if (
            not state.is_world_process_zero
            or not logs
            or any(k in logs for k in _SUMMARY_KEYS)
            or state.global_step <= self.last_metric_step
        ):
            return
        record: dict[str, Any] = {"t": time.time(), "stage": self.stage, "step": state.global_step}
        record.update({k: v for k, v in logs.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
        self.metrics.append(record)
        self.last_metric_step = state.global_step

    def on_step_end(self, args, state, control, model=None, **kwargs):
        step = state.global_step
        if (
            self.sampler is not None
            and self.sample_every > 0
            and step % self.sample_every == 0
            and step > self.last_sample_step
        ):
            now = time.time()
            # Every rank samples: a sharded model (ZeRO-3, FSDP) generates only with all ranks taking part.
            rows = self.sampler(model, step)
            if state.is_world_process_zero:
                self.samples.append_many([{"t": now, "stage": self.stage, "step": step, **row} for row in rows])
            self.last_sample_step = step
        self._write_progress(state)

    def on_train_end(self, args, state, control, **kwargs):
        self._write_progress(state, force=True)
        if self._system is not None:
            self._system.stop()
            self._system = None

    def _write_progress(self, state, force: bool = False) -> None:
        now = time.monotonic()
        if not state.is_world_process_zero or (not force and now - self._last_progress < _PROGRESS_INTERVAL_S):
            return
        self._last_progress = now
        done = state.global_step - self._begin_step
        remaining = max(state.max_steps - state.global_step, 0)
        eta = (now - self._begin_time) / done * remaining if done > 0 else None
        self.run.update(
            progress={
                "stage": self.stage,
                "step": state.global_step,
                "total": state.max_steps,
                "eta_s": round(eta, 1) if eta is not None else None,
            }
        )


def generation_sampler(
    tokenizer,
    rows,
    *,
    max_new_tokens: int,
    enable_thinking: bool,
    reward_funcs: list[Callable] | None = None,
    weights: list[float] | None = None,
) -> Sampler:
    """For SFT: greedy completions of a few fixed prompts, scored by the study's reward functions."""
    import torch

    prompts = [row.prompt for row in rows]
    answers = [row.answer for row in rows]
    texts = [
        tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True, enable_thinking=enable_thinking)
        for p in prompts
    ]

    def sample(model, step: int) -> list[dict[str, Any]]:
        was_training = model.training
        model.eval()
        side = tokenizer.padding_side
        tokenizer.padding_side = "left"
        try:
            batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
            with torch.no_grad():
                out = model.generate(
                    **batch, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
                )
        finally:
            tokenizer.padding_side = side
            model.train(was_training)
        completion_ids = [ids.tolist() for ids in out[:, batch["input_ids"].shape[1] :]]
        completions = tokenizer.batch_decode(completion_ids, skip_special_tokens=True)
        scored: dict[str, list[float]] = {}
        for func in reward_funcs or []:
            scored[func.__name__] = list(
                func(
                    prompts=prompts,
                    completions=[[{"role": "assistant", "content": c}] for c in completions],
                    completion_ids=completion_ids,
                    answer=answers,
                    trainer_state=None,
                )
            )
        rows_out = []
        for i, completion in enumerate(completions):
            rewards = {name: values[i] for name, values in scored.items()}
            rows_out.append(
                {
                    "prompt": message_text(prompts[i]),
                    "completion": completion,
                    "answer": answers[i],
                    "rewards": rewards,
                    "reward": weighted_total(rewards, reward_funcs or [], weights or []) if rewards else None,
                }
            )
        return rows_out

    return sample
