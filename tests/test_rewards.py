"""GRPO reward functions, called the way TRL calls them, and built from the real study config."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.config import load_study, resolve
from core.training.rewards import (
    REWARD_FUNCTIONS,
    RewardSettings,
    build_reward_functions,
    correctness,
    format,  # noqa: A004 - the reward's config name
    make_correctness,
    make_format,
    overlong,
)
from tests.conftest import CONFIG

GOOD = "<think>\n9 eggs, times 2 dollars.\n</think>\n\nShe makes \\boxed{18} dollars."
# TRL passes these to every reward function along with the dataset columns.
TRL_EXTRAS = {"trainer_state": object(), "log_extra": lambda column, values: None}


def _chat(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def test_correctness_reads_strings_and_chat_messages():
    completions = [GOOD, _chat(GOOD), "<think>\nstill going, \\boxed{18}", "</think> \\boxed{17}"]
    gold = ["Janet sells 9 eggs...\n#### 18"] * 4
    assert correctness(["p"] * 4, completions, answer=gold, **TRL_EXTRAS) == [1.0, 1.0, 0.0, 0.0]


def test_correctness_is_none_where_the_gold_is_unusable():
    assert correctness(["p", "p"], [GOOD, GOOD], answer=["", "18"], **TRL_EXTRAS) == [None, 1.0]


def test_correctness_needs_the_answer_column():
    with pytest.raises(ValueError, match="'answer'"):
        correctness(["p"], [GOOD], question=["q"])


def test_completion_cut_off_at_the_length_limit_scores_zero():
    reward = make_correctness(RewardSettings(max_completion_length=8))
    unfinished = "9 eggs so \\boxed{18} and then"  # pre-filled <think>, never closed, hit the limit
    assert reward(["p"], [unfinished], completion_ids=[[1] * 8], answer=["18"]) == [0.0]
    assert reward(["p"], [unfinished], completion_ids=[[1] * 5], answer=["18"]) == [1.0]
    assert reward(["p"], [GOOD], completion_ids=[[1] * 8], answer=["18"]) == [1.0]


def test_prompt_that_opens_the_think_block_marks_unclosed_completions_unfinished():
    prompt = "<|im_start|>assistant\n<think>\n"
    assert correctness([prompt], ["so \\boxed{18}"], answer=["18"]) == [0.0]
    assert correctness([prompt], ["9*2=18\n</think>\n\\boxed{18}"], answer=["18"]) == [1.0]


def test_grader_errors_and_undecided_checks_are_logged_as_metrics():
    logged = {}
    correctness(["p"], [GOOD], answer=["18"], log_metric=lambda name, value: logged.update({name: value}))
    assert logged == {"grader/errors": 0.0, "grader/undecided": 0.0}


def test_answers_that_once_ended_a_grpo_run_score_zero():
    """`\\boxed{. = }` raised inside the grader and killed sft_then_grpo at GRPO step 13."""
    logged = {}
    crashed = "8 - 6 = 3\n</think>\n\nThe answer is \\boxed{. = }."
    completions = [crashed, "<think>x</think> \\boxed{1 + 2 + ... + 10}", "The answer is ..", GOOD]
    rewards = correctness(
        ["p"] * 4,
        completions,
        answer=["5", "8", "5", "18"],
        log_metric=lambda name, value: logged.update({name: value}),
    )
    assert rewards == [0.0, 0.0, 0.0, 1.0]
    assert logged["grader/errors"] == 0.0


def test_a_grader_error_scores_zero_and_is_counted(monkeypatch):
    import core.grading.grader as grader

    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(grader, "extract_answer", broken)
    logged = {}
    rewards = correctness(
        ["p", "p"], [GOOD, "odd"], answer=["18", "18"], log_metric=lambda name, value: logged.update({name: value})
    )
    assert rewards == [0.0, 0.0] and logged["grader/errors"] == 2.0


def test_grading_section_reaches_the_reward():
    from core.training.rewards import RewardSettings, make_correctness

    two_boxes = "<think>x</think> First \\boxed{17}, no: \\boxed{18}"
    assert correctness(["p"], [two_boxes], answer=["18"]) == [1.0]
    strict = make_correctness(RewardSettings(multiple_boxes="all_agree"))
    assert strict(["p"], [two_boxes], answer=["18"]) == [0.0]


@pytest.mark.parametrize(
    ("completion", "score"),
    [
        (GOOD, 1.0),
        (_chat(GOOD), 1.0),
        ("reasoning here\n</think>\n\\boxed{18}", 1.0),  # pre-filled <think>
        ("<think>\nreasoning\n</think>\nShe makes 18 dollars.", 0.5),  # closed block, no box
        ("<think>\nreasoning \\boxed{18}", 0.0),  # never closed
        ("<think>\n\n</think>\n\\boxed{18}", 0.0),  # empty thought
        ("<think>a</think><think>b</think>\\boxed{18}", 0.0),  # two blocks
        ("Sure! <think>a</think>\\boxed{18}", 0.0),  # text before the block
        ("\\boxed{18}", 0.0),  # no think block
        ("<think>a</think> \\boxed{}", 0.5),  # empty box is no answer
    ],
)
def test_format_reward(completion, score):
    assert format(["p"], [completion]) == [score]


def test_format_partial_credit_comes_from_settings():
    reward = make_format(RewardSettings(format_partial_credit=0.25))
    assert reward(["p"], ["<think>x</think> 18"]) == [0.25]


def test_overlong_penalty_is_soft_near_the_limit():
    settings = RewardSettings(max_completion_length=100, overlong_buffer=20)
    reward = REWARD_FUNCTIONS["overlong"](settings)
    lengths = [10, 80, 90, 95, 100, 120]
    assert reward(["p"] * 6, ["x"] * 6, completion_ids=[[0] * n for n in lengths]) == [
        0.0,
        0.0,
        -0.5,
        -0.75,
        -1.0,
        -1.0,
    ]
    assert overlong(["p"], ["x"]) == [None]  # no token ids: cannot judge


def test_build_from_the_study_config():
    study = load_study(CONFIG)
    cfg = resolve(study, "grpo_only", "local")
    funcs, weights = build_reward_functions(cfg.grpo)
    assert [f.__name__ for f in funcs] == list(cfg.grpo.reward_weights)
    assert weights == [float(w) for w in cfg.grpo.reward_weights.values()]
    funcs_again, _ = build_reward_functions(cfg)  # the whole resolved config works too
    assert [f.__name__ for f in funcs_again] == [f.__name__ for f in funcs]
    fmt = dict(zip([f.__name__ for f in funcs], funcs))["format"]
    assert fmt(["p"], ["<think>x</think> 18"]) == [cfg.grpo.format_partial_credit]


def test_the_configs_grading_section_reaches_the_correctness_reward():
    from core.config import resolve_full

    two_boxes = "<think>x</think> First \\boxed{17}, no: \\boxed{18}"
    for policy, expected in (("last", [1.0]), ("all_agree", [0.0])):
        cfg = resolve_full(load_study(CONFIG), "grpo_only", "local", [f"grading.multiple_boxes={policy}"]).config
        funcs, _ = build_reward_functions(cfg)
        correctness_reward = dict(zip([f.__name__ for f in funcs], funcs))["correctness"]
        assert correctness_reward(["p"], [two_boxes], answer=["18"]) == expected


def test_unknown_reward_name_is_rejected():
    class Grpo:
        reward_weights = {"correctness": 1.0, "corectness": 0.5}
        format_partial_credit = 0.5
        max_completion_length = 64
        overlong_buffer = 8
        allow_last_number = False

    with pytest.raises(ValueError, match="unknown reward 'corectness'"):
        build_reward_functions(Grpo())


def test_importing_rewards_stays_light():
    code = "import sys, core.training.rewards; print(sorted(m for m in ('torch', 'sympy', 'math_verify') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
