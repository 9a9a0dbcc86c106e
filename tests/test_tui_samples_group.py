"""The Samples tab shows a GRPO group together (review m17): its prompt, gold and spread, one line per
completion, the zero-std note, `enter` for one completion in full; files without groups read as before."""

from __future__ import annotations

import json
import math

from textual.widgets import DataTable

from core.store.jsonl import JsonlWriter
from tests.test_tui_app import app_for, open_run, shown
from tests.test_tui_support import make_run, wait_for
from tui.screens.run_detail import RunDetailScreen

LONG_PROMPT = "What is 3+4? Put the final answer in \\boxed{}. " + "Explain every step of the reasoning. " * 4


def group_rows(step: int, group: int, prompt: str, correct: list[int], gold: str = "7") -> list[dict]:
    """One prompt's completions as the trainer writes them (core/training/telemetry.py)."""
    totals = [0.5 * c + 0.5 for c in correct]  # correctness and format (always 1), weighted 0.5 each
    mean = sum(totals) / len(totals)
    std = math.sqrt(sum((t - mean) ** 2 for t in totals) / (len(totals) - 1))
    return [
        {
            "t": 1,
            "stage": "grpo",
            "step": step,
            "prompt": prompt,
            "completion": f"<think>\nreasoning number {n}\n</think>\nThe answer is \\boxed{{{7 if c else 8}}} (try {n})",
            "answer": gold,
            "rewards": {"correctness": float(c), "format": 1.0},
            "reward": total,
            "group": group,
            "group_size": len(correct),
            "group_mean": mean,
            "group_std": std,
            "advantage": (total - mean) / (std + 1e-4),
            "scale_rewards": "group",
            "tokens": 20 + n,
        }
        for n, (c, total) in enumerate(zip(correct, totals))
    ]


SPREAD = [1, 0, 1, 1, 0, 0, 1, 0]
ALL_RIGHT = [1] * 8


async def samples_tab(pilot, app, run_id: str) -> RunDetailScreen:
    screen = await open_run(pilot, app, run_id)
    await pilot.press("3")
    return screen


def completion_lines(table: DataTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_a_grpo_group_is_shown_together_at_80x24(runs_dir):
    run_dir = make_run(runs_dir, "grpo_only-a", "grpo_only")
    JsonlWriter(run_dir / "samples.jsonl").append_many(
        group_rows(10, 0, LONG_PROMPT, SPREAD) + group_rows(10, 1, "What is 2+2?", ALL_RIGHT, gold="4")
    )
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await samples_tab(pilot, app, "grpo_only-a")
        head = screen.query_one("#group-head")
        table = screen.query_one("#group-list", DataTable)
        await wait_for(pilot, lambda: "group 2/2" in shown(head), what="the newest group")
        # The newest group: every completion right, so every reward equal and nothing to learn.
        assert "prompt: What is 2+2?" in shown(head) and "gold 4" in shown(head)
        assert "8/8 scored >0" in shown(head) and "teaches nothing" in shown(head)
        assert table.row_count == 8 and app.focused is table

        await pilot.press("p")
        await wait_for(pilot, lambda: "group 1/2" in shown(head), what="the previous group")
        text = shown(head)
        assert "teaches nothing" not in text and "std 0.267" in text and "4/8 tied at 1" in text
        assert "8/8 scored >0" in text  # the format reward alone is above 0
        # The header's lines never wrap, however long the prompt: one row each on screen.
        assert head.size.height == 2
        # Every completion on a line of its own, all visible at once: total, each reward, advantage, length.
        lines = completion_lines(table)
        assert len(lines) == 8 and table.size.height >= 9
        assert lines[0][:6] == ["1", "1", "1", "1", "+0.94", "20"] and lines[1][:6] == [
            "2",
            "0.5",
            "0",
            "1",
            "-0.94",
            "21",
        ]
        assert lines[1][6] == "▸ The answer is \\boxed{8} (try 1)"  # the think block folded to a mark

        # The highlighted completion below, in full; enter gives it the whole pane, escape goes back.
        await pilot.press("down")
        body = screen.query_one("#sample-text")
        assert "advantage -0.94 · 21 tokens" in shown(body) and "reasoning number 1" not in shown(body)
        await pilot.press("t")
        assert "reasoning number 1" in shown(body)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not head.display and not table.display, what="the completion in full")
        assert "\\boxed{8} (try 1)" in shown(body)
        await pilot.press("escape")
        await wait_for(pilot, lambda: table.display and app.focused is table, what="back to the group")
        assert isinstance(app.screen, RunDetailScreen) and table.cursor_row == 1
        await pilot.press("n")
        await wait_for(pilot, lambda: "group 2/2" in shown(head), what="the next group")
        await pilot.press("2", "3")  # back on the tab, the keys act on the group's completions
        await wait_for(pilot, lambda: app.focused is table, what="the completions focused")


async def test_groups_arriving_live_are_followed_and_a_partial_group_says_so(runs_dir):
    run_dir = make_run(runs_dir, "grpo_only-a", "grpo_only", status="running")
    rows = group_rows(20, 0, "What is 5+2?", SPREAD)
    writer = JsonlWriter(run_dir / "samples.jsonl")
    writer.append_many(group_rows(10, 0, "What is 3+4?", ALL_RIGHT))
    app = app_for(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await samples_tab(pilot, app, "grpo_only-a")
        head = screen.query_one("#group-head")
        await wait_for(pilot, lambda: "step 10" in shown(head), what="the first group")
        writer.append_many(rows[:3])  # a write the reader caught halfway
        await wait_for(pilot, lambda: "step 20" in shown(head) and "3 of 8 completions" in shown(head))
        writer.append_many(rows[3:])
        table = screen.query_one("#group-list", DataTable)
        await wait_for(pilot, lambda: table.row_count == 8, what="the rest of the group")
        assert "completions" not in shown(head).split("prompt:")[0]


async def test_a_file_without_groups_reads_as_before_and_sft_samples_sit_beside_groups(runs_dir):
    old = make_run(runs_dir, "grpo_only-a", "grpo_only")
    JsonlWriter(old / "samples.jsonl").append_many(  # written before groups: one completion per prompt
        [
            {"t": 1, "stage": "grpo", "step": s, "prompt": f"What is {s}+1?", "completion": "x", "rewards": {"f": 1}}
            for s in (10, 20)
        ]
    )
    mixed = make_run(runs_dir, "sft_then_grpo-b", "sft_then_grpo", created=1_750_000_100)
    JsonlWriter(mixed / "samples.jsonl").append_many(
        [{"t": 1, "stage": "sft", "step": 3, "prompt": "SFT prompt", "completion": "y", "rewards": {}}]
        + group_rows(5, 0, "What is 3+4?", SPREAD)
    )
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await samples_tab(pilot, app, "grpo_only-a")
        body = screen.query_one("#sample-text")
        listed = screen.query_one("#samples-list", DataTable)
        await wait_for(pilot, lambda: "step 20" in shown(body), what="the newest sample")
        assert listed.display and listed.row_count == 2 and not screen.query_one("#group-list").display
        await pilot.press("p")  # n/p step samples in a run without groups
        assert "step 10" in shown(body) and "What is 10+1?" in shown(body)

        await pilot.press("escape")
        screen = await samples_tab(pilot, app, "sft_then_grpo-b")
        head = screen.query_one("#group-head")
        await wait_for(pilot, lambda: "group 1/1" in shown(head), what="the group")
        await pilot.press("p")  # the SFT samples come before the groups
        body = screen.query_one("#sample-text")
        await wait_for(pilot, lambda: "SFT prompt" in shown(body), what="the SFT samples")
        assert screen.query_one("#samples-list").display and not head.display


async def test_odd_group_fields_never_crash(runs_dir):
    run_dir = make_run(runs_dir, "grpo_only-a", "grpo_only")
    odd = [
        {"step": 1, "group": 0, "group_size": 3, "reward": "NaN", "advantage": None, "rewards": [1]},
        {"step": 1, "group": 0, "group_size": 3, "reward": float("nan"), "advantage": float("inf"), "tokens": "x"},
        {"step": 1, "group": "0", "group_size": 3, "prompt": "[/b]"},  # not a group: listed on its own
        {"step": 2, "group": True, "group_size": 2},
        {"step": 3, "group": 1, "group_size": 0},
        {"step": [4], "group": 2, "group_size": 2, "completion": "<think>never closed", "group_std": "x"},
    ]
    (run_dir / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in odd))
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await samples_tab(pilot, app, "grpo_only-a")
        head = screen.query_one("#group-head")
        await wait_for(pilot, lambda: "group 2/2" in shown(head), what="the last group")
        assert "cut off" in str(screen.query_one("#group-list", DataTable).get_row_at(0)[-1])
        for key in ("p", "enter", "t", "escape", "p", "p", "down", "n", "n", "n"):
            await pilot.press(key)
        await pilot.pause(0.3)
        assert app.is_running and isinstance(app.screen, RunDetailScreen)


def test_a_missing_reward_reads_as_a_dash_in_the_full_view_too():
    """The group's table shows a reward that could not be computed as '-'; so does the full view."""
    from rich.console import Console

    from tui.widgets.samples import render_sample

    console = Console(width=80, record=True)
    console.print(render_sample({"step": 1, "rewards": {"correctness": None}, "reward": None, "group": 0}, True))
    text = console.export_text()
    assert "correctness -" in text and "None" not in text
