"""The metric names TRL 1.16 logs (GRPOTrainer and SFTTrainer `_metrics`, as telemetry writes them
to metrics.jsonl), mapped once: which charts a run opens with, in what order, under what title."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

# What a researcher watching GRPO reads first: the reward and each reward function, whether groups
# still carry signal (std, share of groups with zero std), what the completions do (length, share
# cut at max length), how far the policy moved (KL, entropy), and the schedule.
GRPO_OVERVIEW = (
    "reward",
    "rewards/*/mean",
    "reward_std",
    "frac_reward_zero_std",
    "completions/mean_length",
    "completions/clipped_ratio",
    "kl",
    "entropy",
    "learning_rate",
    "loss",
)
SFT_OVERVIEW = ("loss", "mean_token_accuracy", "grad_norm", "learning_rate")
# The System panel (core/training/sysmetrics.py writes system.jsonl): machine, then each GPU.
SYSTEM_OVERVIEW = (
    "cpu_percent",
    "ram_used_gb",
    "gpu*_util",
    "gpu*_mem_gb",
    "gpu*_power_w",
    "proc_rss_gb",
    "ram_percent",
    "gpu*_mem_percent",
    "gpu*_temp_c",
)
# Bookkeeping beside the metrics (TRL's epoch and token count; eval progress in runs from before it had
# its own file, eval_progress.jsonl): not curves to look at.
NOT_CURVES = frozenset({"eta_s", "total", "done", "epoch", "num_tokens"})

TITLES = {
    "reward_std": "reward std",
    "frac_reward_zero_std": "zero-std groups",
    "completions/mean_length": "completion length",
    "completions/clipped_ratio": "clipped ratio",
    "kl": "KL",
    "learning_rate": "learning rate",
    "mean_token_accuracy": "token accuracy",
    "grad_norm": "grad norm",
}


def run_kind(names: set[str] | list[str]) -> str:
    """`system` for machine readings, `grpo` when the run logged rewards (an SFT-then-GRPO run
    too), else `sft`."""
    if any(n == "cpu_percent" or n == "ram_used_gb" for n in names):
        return "system"
    return "grpo" if any(n == "reward" or n.startswith("rewards/") for n in names) else "sft"


def _overview(names: set[str] | list[str]) -> tuple[str, ...]:
    return {"system": SYSTEM_OVERVIEW, "grpo": GRPO_OVERVIEW, "sft": SFT_OVERVIEW}[run_kind(names)]


def _rank(name: str, overview: tuple[str, ...]) -> int | None:
    for n, pattern in enumerate(overview):
        if fnmatchcase(name, pattern):
            return n
    return None


def default_chosen(names: list[str]) -> list[str]:
    """The overview of the run's kind, in its order, of the metrics the run has."""
    overview = _overview(names)
    found = [n for n in metric_order(names) if _rank(n, overview) is not None]
    if overview is SYSTEM_OVERVIEW:
        found = [n for n in found if _rank(n, overview) < 6]  # the rest are in the picker
    return found or [n for n in metric_order(names) if n not in NOT_CURVES][:4]


def metric_order(names: set[str] | list[str]) -> list[str]:
    """The run kind's overview first, in its order; then everything else by name."""
    overview = _overview(names)

    def key(name: str) -> tuple[int, int, str]:
        rank = _rank(name, overview)
        return (0, rank, name) if rank is not None else (1 + (name in NOT_CURVES), 0, name)

    return sorted(names, key=key)


SYSTEM_TITLES = {
    "util": "util %",
    "mem_gb": "memory GB",
    "mem_percent": "memory %",
    "power_w": "power W",
    "temp_c": "temperature °C",
}
TITLES.update(
    {"cpu_percent": "CPU %", "ram_used_gb": "RAM used GB", "ram_percent": "RAM %", "proc_rss_gb": "worker RSS GB"}
)
_GPU = re.compile(r"gpu(\d+)_(\w+)")


def title(name: str) -> str:
    """A short chart title: `reward: correctness` for `rewards/correctness/mean`, `GPU0 util %`."""
    gpu = _GPU.fullmatch(name)
    if gpu and gpu[2] in SYSTEM_TITLES:
        return f"GPU{gpu[1]} {SYSTEM_TITLES[gpu[2]]}"
    if name.startswith("rewards/") and name.count("/") == 2:
        _, function, stat = name.split("/")
        return f"reward: {function}" if stat == "mean" else f"{function} {stat}"
    return TITLES.get(name, name)
