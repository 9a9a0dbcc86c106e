"""Live telemetry from TRL trainers into the run folder.

- metrics.jsonl: one line per logged step {"t", "stage", "step", <TRL's metric names>: value}.
  After a resume the trainer logs again the steps between its checkpoint and the crash; those
  steps are already in the file, so steps at or below the last written one (per stage) are skipped.
- samples.jsonl: every `sample_every` steps, a few prompts with completions and their rewards. GRPO
  writes whole groups: every completion of a prompt, one row each, with `group` (its index at that
  step), `group_size`, `group_mean`, `group_std`, `advantage` and `tokens` (rows without them read as before).
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
    """Wraps reward functions so the last scored batch (completions and each reward) can be sampled.

    TRL's RepeatSampler puts each prompt `num_generations` times in a row, and the reward functions
    score the whole generation batch of this process (per-device batch x steps_per_generation, before
    TRL shuffles it into micro-batches), so consecutive blocks of `num_generations` rows are GRPO's
    groups. Rank 0's share starts at the global batch's first row, so its blocks line up with the
    groups; a share smaller than a group (several processes) holds no whole group.
    """

    def __init__(
        self,
        funcs: list[Callable[..., list[float]]],
        weights: list[float],
        *,
        num_generations: int = 1,
        scale_rewards: str = "group",
        aggregation: str = "sum_then_normalize",
    ):
        self.funcs = funcs
        self.weights = weights
        self.num_generations = num_generations
        self.scale_rewards = scale_rewards
        self.aggregation = aggregation
        self._batch_key: int | None = None
        self.prompts: list[Any] = []
        self.completions: list[Any] = []
        self.answers: list[Any] = []
        self.tokens: list[int | None] = []
        self.rewards: dict[str, list[float | None]] = {}

    @classmethod
    def for_trainer(cls, funcs, weights, args) -> RewardRecorder:
        """Grouped as the GRPOConfig `args` makes TRL group and scale (after its own normalisation:
        scale_rewards True/False became "group"/"none")."""
        return cls(
            funcs,
            weights,
            num_generations=int(args.num_generations),
            scale_rewards=str(getattr(args, "scale_rewards", "group")),
            aggregation=str(getattr(args, "multi_objective_aggregation", "sum_then_normalize")),
        )

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
                ids = kwargs.get("completion_ids")
                self.tokens = [len(c) if isinstance(c, (list, tuple)) else None for c in ids or []]
                self.rewards = {}
            self.rewards[func.__name__] = list(values)
            return values

        return recorded

    def _reward(self, name: str, i: int) -> float | None:
        values = self.rewards.get(name, [])
        return _number_or_none(values[i]) if i < len(values) else None

    def _row(self, i: int) -> dict[str, Any]:
        rewards = {name: self._reward(name, i) for name in self.rewards}
        return {
            "prompt": message_text(self.prompts[i]),
            "completion": message_text(self.completions[i]),
            "answer": self.answers[i] if i < len(self.answers) else None,
            "rewards": rewards,
            "reward": weighted_total(rewards, self.funcs, self.weights),
        }

    def samples(self, limit: int) -> list[dict[str, Any]]:
        """Whole GRPO groups (every completion of up to `limit` prompts) when the batch holds one,
        otherwise one completion for each of up to `limit` distinct prompts."""
        try:
            return self.groups(limit) or self.distinct_prompts(limit)
        except Exception as exc:  # telemetry must never stop training: odd data costs the sample only
            print(f"[rdtui] samples skipped this step: {type(exc).__name__}: {exc}", flush=True)
            return []

    def distinct_prompts(self, limit: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        for i, prompt in enumerate(self.prompts[: len(self.completions)]):
            text = message_text(prompt)
            if text in seen:
                continue
            seen.add(text)
            rows.append(self._row(i))
            if len(rows) >= limit:
                break
        return rows

    def groups(self, limit: int) -> list[dict[str, Any]]:
        """The first `limit` whole groups, one row per completion with the group's statistics and each
        completion's advantage as TRL computes it; a trailing partial group is left out."""
        size = self.num_generations
        count = min(len(self.prompts), len(self.completions)) // size if size >= 2 else 0
        if count == 0 or limit <= 0:
            return []
        names = [f.__name__ for f in self.funcs]
        per_func = [[self._reward(name, i) for name in names] for i in range(count * size)]
        totals = [trl_total(r, self.weights) for r in per_func]
        advantages = grpo_advantages(per_func, self.weights, size, self.scale_rewards, self.aggregation)
        rows: list[dict[str, Any]] = []
        written = 0
        for group in range(count):
            block = range(group * size, (group + 1) * size)
            if written >= limit:
                break
            if len({message_text(self.prompts[i]) for i in block}) != 1:
                continue  # not one prompt repeated: not a group as TRL forms them
            written += 1
            group_totals = [totals[i] for i in block]
            mean, std = nanmean(group_totals), nanstd(group_totals)
            for i in block:
                rows.append(
                    {
                        **self._row(i),
                        "reward": totals[i],
                        "group": group,
                        "group_size": size,
                        "group_mean": mean,
                        "group_std": std,
                        "advantage": advantages[i],
                        "scale_rewards": self.scale_rewards,
                        "tokens": self.tokens[i] if i < len(self.tokens) else None,
                    }
                )
        return rows


def _number_or_none(value: Any) -> float | None:
    """A reward as JSON can hold it: None for a missing, non-numeric or NaN value."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) else float(value)


def _present(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None and not math.isnan(v)]


def nanmean(values: list[float | None]) -> float | None:
    present = _present(values)
    return sum(present) / len(present) if present else None


def nanstd(values: list[float | None]) -> float | None:
    """TRL's `nanstd`: the sample (n - 1) standard deviation of the values present; None below two."""
    present = _present(values)
    if len(present) < 2:
        return None
    mean = sum(present) / len(present)
    return math.sqrt(sum((v - mean) ** 2 for v in present) / (len(present) - 1))


def trl_total(rewards: list[float | None], weights: list[float]) -> float | None:
    """The weighted sum as TRL forms it: a missing function counts 0, all missing is unscorable (None)."""
    if not _present(rewards):
        return None
    return sum(w * r for r, w in zip(rewards, weights) if r is not None and not math.isnan(r))


_EPSILON = 1e-4  # TRL's guard against a zero std


def _scaled(value: float | None, mean: float | None, std: float | None, scale: bool) -> float:
    """(value - mean) / (std + 1e-4), or value - mean unscaled; 0 where TRL's tensor holds NaN."""
    if value is None or mean is None:
        return 0.0
    if not scale:
        return value - mean
    return 0.0 if std is None else (value - mean) / (std + _EPSILON)


def grpo_advantages(
    per_func: list[list[float | None]], weights: list[float], size: int, scale_rewards: str, aggregation: str
) -> list[float]:
    """Each completion's advantage as TRL 1.16's GRPOTrainer._generate_and_score_completions computes it.

    sum_then_normalize (the default): total = weighted sum; advantage = total - its group's mean, divided by
    (std + 1e-4) unless `scale_rewards` is "none"; that std is the group's ("group", the default) or the whole
    batch's ("batch": here this process's share of it). normalize_then_sum: each function normalised within
    its group, weighted and summed, then normalised over the batch. NaN (unscorable) advantages are 0.
    """
    groups = [range(start, start + size) for start in range(0, len(per_func) - size + 1, size)]
    if aggregation == "normalize_then_sum":
        normalised: list[float | None] = [None] * len(per_func)
        for block in groups:
            columns = [[per_func[i][k] for i in block] for k in range(len(weights))]
            stats = [(nanmean(c), nanstd(c)) for c in columns]
            for i in block:
                parts = [
                    w * (r - mean) / (std + _EPSILON)
                    for r, w, (mean, std) in zip(per_func[i], weights, stats)
                    if r is not None and mean is not None and std is not None
                ]
                normalised[i] = sum(parts) if _present(per_func[i]) else None
        mean, std = nanmean(normalised), nanstd(normalised)
        return [_scaled(v, mean, std, True) for v in normalised]
    totals = [trl_total(r, weights) for r in per_func]
    batch_std = nanstd(totals)
    advantages = [0.0] * len(per_func)
    for block in groups:
        group = [totals[i] for i in block]
        mean = nanmean(group)
        std = batch_std if scale_rewards == "batch" else nanstd(group)
        for i in block:
            advantages[i] = _scaled(totals[i], mean, std, scale_rewards != "none")
    return advantages


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
