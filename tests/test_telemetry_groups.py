"""GRPO samples are whole groups: every completion TRL generated for a prompt, with its rewards and the
advantage TRL trained on. Checked against a real GRPOTrainer on the tiny model, and on odd data."""

from __future__ import annotations

import math
from collections import defaultdict

import pytest

from core.store.jsonl import read_jsonl
from core.training.grpo import run_grpo
from core.training.telemetry import RewardRecorder
from tests.test_training import GRPO_SMALL, make_cfg, make_run

GROUP = 4  # GRPO_SMALL's num_generations; its batch of 8 completions holds two prompts
# Rewards that differ within a group on the tiny model: a hot sampler, and DAPO's length penalty
# spread over the whole completion length (correctness and format alone are all 0 here).
SPREAD = [
    "grpo.temperature=2.0",
    "grpo.reward_weights={correctness: 0.5, format: 0.5, overlong: 1.0}",
    "grpo.overlong_buffer=24",
]


@pytest.fixture
def trl_advantages(monkeypatch):
    """The advantages TRL computed for each generation batch, in the batch's order (a spy: TRL runs unchanged)."""
    from trl import GRPOTrainer

    seen: list[list[float]] = []
    original = GRPOTrainer._generate_and_score_completions

    def spy(self, inputs):
        out = original(self, inputs)
        seen.append(out["advantages"].tolist())
        return out

    monkeypatch.setattr(GRPOTrainer, "_generate_and_score_completions", spy)
    return seen


def groups_by_step(rows: list[dict]) -> dict[int, dict[int, list[dict]]]:
    out: dict[int, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        out[row["step"]][row["group"]].append(row)
    return out


@pytest.mark.parametrize(
    "settings",
    [
        [],  # scale_rewards "group", sum_then_normalize: TRL's defaults
        ["grpo.trainer_args.scale_rewards=none"],
        ["grpo.trainer_args.scale_rewards=batch", "grpo.trainer_args.multi_objective_aggregation=normalize_then_sum"],
    ],
    ids=["group", "none", "batch-normalize_then_sum"],
)
def test_grpo_samples_hold_whole_groups_with_the_advantages_trl_trained_on(tmp_path, trl_advantages, settings):
    cfg = make_cfg("grpo_only", *GRPO_SMALL, *SPREAD, "grpo.max_steps=1", "telemetry.samples_per_log=2", *settings)
    run = make_run(tmp_path, cfg)
    run_grpo(cfg, run)

    rows = read_jsonl(run.samples_path)
    groups = groups_by_step(rows)
    assert list(groups) == [1] and sorted(groups[1]) == [0, 1]
    assert len(trl_advantages) == 1  # one generation batch for the one step
    assert any(m["group_std"] > 0.1 for members in groups[1].values() for m in members)  # a spread to check
    for group, members in groups[1].items():
        assert len(members) == GROUP and len({m["prompt"] for m in members}) == 1
        totals = [m["reward"] for m in members]
        mean = sum(totals) / GROUP
        std = math.sqrt(sum((t - mean) ** 2 for t in totals) / (GROUP - 1))
        for j, m in enumerate(members):
            assert m["group_size"] == GROUP and m["tokens"] > 0
            assert m["group_mean"] == pytest.approx(mean) and m["group_std"] == pytest.approx(std)
            # The very number TRL multiplied into this completion's loss (batch order: group by group).
            assert m["advantage"] == pytest.approx(trl_advantages[0][group * GROUP + j], abs=1e-4)
            if not settings:
                assert m["advantage"] == pytest.approx((m["reward"] - mean) / (std + 1e-4), abs=1e-5)
            elif settings == ["grpo.trainer_args.scale_rewards=none"]:
                assert m["advantage"] == pytest.approx(m["reward"] - mean, abs=1e-5)


def reward_a(prompts, completions, **kwargs):
    return [1.0 if "4" in c else 0.0 for c in completions]


def reward_b(prompts, completions, **kwargs):
    return [float("nan") if c == "odd" else (None if c == "none" else 0.5) for c in completions]


def score(recorder: RewardRecorder, prompts, completions, **kwargs) -> None:
    for func in recorder.wrapped():
        func(prompts=prompts, completions=completions, **kwargs)


def test_odd_batches_never_raise_and_write_what_they_can():
    recorder = RewardRecorder([reward_a, reward_b], [1.0, 0.5], num_generations=3)
    # Two whole groups and a partial one (7 rows, groups of 3); NaN and None rewards; no answers, no ids.
    prompts = ["p1"] * 3 + ["p2"] * 3 + ["p3"]
    completions = ["4", "none", "odd", "x", "x", "x", "4"]
    score(recorder, prompts, completions)
    rows = recorder.samples(limit=5)
    assert [(r["prompt"], r["group"]) for r in rows] == [("p1", 0)] * 3 + [("p2", 1)] * 3  # p3's part left out
    first = rows[:3]
    # A missing reward counts 0 in TRL's weighted total; NaN is written as null, never as NaN.
    assert [r["reward"] for r in first] == [1.25, 0.0, 0.0]
    assert first[2]["rewards"] == {"reward_a": 0.0, "reward_b": None}
    assert first[0]["group_mean"] == pytest.approx(1.25 / 3)
    # Identical rewards: std 0, advantage 0 for every completion (the group teaches nothing).
    assert {r["group_std"] for r in rows[3:]} == {0.0} and {r["advantage"] for r in rows[3:]} == {0.0}
    assert all(r["tokens"] is None and r["answer"] is None for r in rows)

    # limit counts prompts: one whole group.
    assert {r["group"] for r in recorder.samples(limit=1)} == {0}


@pytest.mark.parametrize(
    "prompts, completions",
    [
        (["p1", "p2"], ["4", "x"]),  # fewer completions than a group (a share of several processes)
        (["p1", "p2", "p2"], ["4", "x"]),  # lists of different lengths
        (["p1", "p2", "p1"], ["4", "x", "4"]),  # not one prompt repeated: no group as TRL forms them
    ],
)
def test_without_a_whole_group_one_completion_per_prompt_is_written(prompts, completions):
    recorder = RewardRecorder([reward_a], [1.0], num_generations=3)
    score(recorder, prompts, completions, completion_ids=[[1, 2], "bad"])
    rows = recorder.samples(limit=4)
    assert [r["prompt"] for r in rows] == ["p1", "p2"]
    assert all("group" not in r for r in rows)


def test_a_reward_function_returning_too_few_values_costs_its_rewards_only():
    recorder = RewardRecorder([reward_a, lambda prompts, completions, **kw: [1.0]], [1.0, 1.0], num_generations=2)
    score(recorder, ["p"] * 2, ["4", "x"])
    rows = recorder.samples(limit=1)
    assert [r["reward"] for r in rows] == [2.0, 0.0]
    assert rows[1]["rewards"]["<lambda>"] is None
