"""The Curves tab as a GRPO overview: small multiples of the metrics TRL logs, fitted to the
terminal, with last/min/max, and the chosen metrics and smoothing remembered per user."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from tests.test_tui_app import app_for, chart, open_run, plot_text
from tests.test_tui_support import (
    GRPO_KEYS,
    SFT_KEYS,
    T0,
    make_run,
    wait_for,
    write_trl_metrics,
)
from tui.metrics import GRPO_OVERVIEW, SFT_OVERVIEW, default_chosen, title
from tui.widgets.curves import SMOOTHING, CurvesPane
from tui.widgets.plot import CurvePlot


def trl_source(module: str) -> str:
    spec = importlib.util.find_spec("trl")  # found, not imported: the app never imports trl
    return (Path(spec.origin).parent / "trainer" / f"{module}.py").read_text()


def test_overview_names_are_the_names_trl_logs():
    logged = set(re.findall(r'_metrics\[mode\]\[f?"([^"]+)"\]', trl_source("grpo_trainer")))
    logged |= {"loss", "grad_norm", "learning_rate"}  # from transformers' Trainer.log
    for name in GRPO_OVERVIEW:
        pattern = name.replace("*", "{reward_func_name}")
        assert pattern in logged, f"{name} is not a metric TRL's GRPOTrainer logs"
    sft = set(re.findall(r'_metrics\[mode\]\["([^"]+)"\]', trl_source("sft_trainer"))) | {
        "loss",
        "grad_norm",
        "learning_rate",
    }
    assert set(SFT_OVERVIEW) <= sft
    assert set(GRPO_KEYS) - {"epoch", "loss", "grad_norm", "learning_rate"} <= {
        k.replace("{reward_func_name}", fn) for k in logged for fn in ("correctness", "format")
    }


def test_default_sets_follow_the_kind_of_run():
    assert default_chosen(GRPO_KEYS) == [
        "reward",
        "rewards/correctness/mean",
        "rewards/format/mean",
        "reward_std",
        "frac_reward_zero_std",
        "completions/mean_length",
        "completions/clipped_ratio",
        "kl",
        "entropy",
        "learning_rate",
        "loss",
    ]
    assert default_chosen(SFT_KEYS) == ["loss", "mean_token_accuracy", "grad_norm", "learning_rate"]
    assert title("rewards/correctness/mean") == "reward: correctness"
    assert title("completions/mean_length") == "completion length"


def fully_shown(pane: CurvesPane) -> list[CurvePlot]:
    box = pane.query_one("#curve-plots")
    return [
        p
        for p in pane.query(CurvePlot)
        if p.size.height >= 5
        and p.region.y >= box.region.y
        and p.region.bottom <= box.region.bottom
        and p.region.right <= box.region.right
    ]


# Issue 14: small multiples that fit 80x24, at least six at 120x40. At 80x24 two columns of three
# rows fit; at 120x40 three columns of four rows hold the whole default set (11 charts with two
# reward functions), so nothing needs scrolling there.
@pytest.mark.parametrize(("size", "at_least"), [((80, 24), 6), ((120, 40), len(default_chosen(GRPO_KEYS)))])
async def test_grpo_run_opens_on_small_multiples_that_fit_the_terminal(runs_dir, size, at_least):
    run_dir = make_run(runs_dir, "grpo_only-a", "grpo_only")
    write_trl_metrics(run_dir, GRPO_KEYS, 40, "grpo")
    app = app_for(runs_dir)
    async with app.run_test(size=size) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a")
        pane = screen.query_one(CurvesPane)
        await wait_for(pilot, lambda: len(fully_shown(pane)) >= at_least, what=f"{at_least} charts on screen")
        shown = [p.metric for p in fully_shown(pane)]
        assert shown[:6] == [
            "reward",
            "rewards/correctness/mean",
            "rewards/format/mean",
            "reward_std",
            "frac_reward_zero_std",
            "completions/mean_length",
        ]
        reward = chart(pane, "reward")
        head = plot_text(reward).splitlines()[0]
        values = [(s, r["reward"]) for s, r in enumerate(read_values(run_dir, "reward"), 1)]
        last, lo, hi = values[-1][1], min(v for _, v in values), max(v for _, v in values)
        assert head.split() == ["reward", f"{last:.3g}", f"↓{lo:.3g}", f"↑{hi:.3g}"]
        assert " 20 " in plot_text(reward).splitlines()[-1]  # a middle step tick


async def test_the_grid_refits_when_the_terminal_or_the_chart_area_changes_size(runs_dir):
    write_trl_metrics(make_run(runs_dir, "grpo_only-a", "grpo_only"), GRPO_KEYS, 40, "grpo")
    everything = len(default_chosen(GRPO_KEYS))
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = (await open_run(pilot, app, "grpo_only-a")).query_one(CurvesPane)
        await wait_for(pilot, lambda: len(fully_shown(pane)) == 6, what="six charts at 80x24")
        await pilot.resize_terminal(120, 40)
        await wait_for(pilot, lambda: len(fully_shown(pane)) == everything, what="every chart at 120x40")
        box = pane.query_one("#curve-plots")
        await pilot.press("m")  # the picker takes columns from the charts: none may be cut at the right
        await wait_for(pilot, lambda: pane.query_one("#curve-picker").has_focus)
        await wait_for(
            pilot,
            lambda: all(p.region.right <= box.region.right for p in pane.query(CurvePlot)) and fully_shown(pane),
            what="charts refitted beside the picker",
        )
        await pilot.press("m")
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: len(fully_shown(pane)) == 6, what="six charts again at 80x24")


def read_values(run_dir: Path, key: str) -> list[dict]:
    import json

    return [r for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines()) if key in r]


async def test_sft_run_opens_on_loss_accuracy_grad_norm_and_learning_rate(runs_dir):
    run_dir = make_run(runs_dir, "sft_traces-a", "sft_traces", stage="sft")
    write_trl_metrics(run_dir, SFT_KEYS, 30, "sft")
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = (await open_run(pilot, app, "sft_traces-a")).query_one(CurvesPane)
        await wait_for(pilot, lambda: len(fully_shown(pane)) == 4, what="the SFT charts")
        assert [p.metric for p in pane.query(CurvePlot)] == [
            "loss",
            "mean_token_accuracy",
            "grad_norm",
            "learning_rate",
        ]


async def test_chosen_metrics_and_smoothing_are_remembered_per_kind_of_run(runs_dir):
    write_trl_metrics(make_run(runs_dir, "grpo_only-a", "grpo_only", created=T0), GRPO_KEYS, 20, "grpo")
    write_trl_metrics(make_run(runs_dir, "grpo_only-b", "grpo_only", created=T0 + 1), GRPO_KEYS, 20, "grpo")
    write_trl_metrics(make_run(runs_dir, "sft_traces-c", "sft_traces", created=T0 + 2), SFT_KEYS, 20, "sft")
    app = app_for(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = (await open_run(pilot, app, "grpo_only-a")).query_one(CurvesPane)
        await wait_for(pilot, lambda: chart(pane, "kl") is not None)
        await pilot.press("s", "s", "m")  # smoothing 0.9; open the picker
        picker = pane.query_one("#curve-picker")
        await wait_for(pilot, lambda: picker.has_focus)
        kl = next(i for i in range(picker.option_count) if picker.get_option_at_index(i).value == "kl")
        picker.highlighted = kl
        await pilot.press("space", "m")  # drop KL
        await wait_for(pilot, lambda: chart(pane, "kl") is None, what="KL gone")
    app = app_for(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = (await open_run(pilot, app, "grpo_only-b")).query_one(CurvesPane)
        await wait_for(pilot, lambda: chart(pane, "reward") is not None)
        assert SMOOTHING[pane.smoothing_index] == 0.9 and chart(pane, "kl") is None
        assert "smoothing 0.9" in str(pane.query_one("#curves-status").render())
        await pilot.press("escape")
        sft = (await open_run(pilot, app, "sft_traces-c")).query_one(CurvesPane)
        await wait_for(pilot, lambda: chart(sft, "loss") is not None)
        assert sft.smoothing_index == 0  # an SFT run keeps its own view


async def test_smoothing_chosen_before_the_first_metrics_arrive_is_kept_and_saved(runs_dir):
    """`s` pressed before the run's first metrics are read wins over the saved view, and is saved
    for that kind of run once the metrics say which kind it is."""
    run_dir = make_run(runs_dir, "grpo_only-a", "grpo_only", created=T0)  # no metrics yet
    app = app_for(runs_dir)
    app.settings = {"curves": {"grpo": {"smoothing": 0.9}}}
    async with app.run_test(size=(120, 40)) as pilot:
        pane = (await open_run(pilot, app, "grpo_only-a")).query_one(CurvesPane)
        await pilot.press("s")  # 0 -> 0.6
        write_trl_metrics(run_dir, GRPO_KEYS, 20, "grpo")
        await wait_for(pilot, lambda: chart(pane, "reward") is not None, what="the first metrics")
        assert SMOOTHING[pane.smoothing_index] == 0.6  # not the saved 0.9
        assert app.settings["curves"]["grpo"]["smoothing"] == 0.6
