"""Comparing selected runs: config diff with provenance, evaluations side by side with the paired
difference on the same problems, and samples of the same prompt next to each other."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_tui_app import app_for, open_run, table_rows
from tests.test_tui_support import T0, make_run, wait_for, write_summary
from tui.widgets.compare import ComparePane, config_diff

SNAPSHOT = "study:\n  seed: 42  # study config.yaml:13\ngrpo:\n  learning_rate: {lr}  # {where}\n  beta: 0.0  # defaults config.yaml:40\n"


def write_journal(run_dir: Path, bench: str, verdicts: list[bool]) -> None:
    with open(run_dir / "eval" / f"{bench}.jsonl", "w") as fh:
        fh.write(json.dumps({"type": "header"}) + "\n")  # as the evaluator writes it; readers skip a headless file
        for n, ok in enumerate(verdicts):
            fh.write(
                json.dumps(
                    {
                        "id": f"p{n}",
                        "prompt_hash": f"h{n}",
                        "gold": "1",
                        "completions": ["x"],
                        "extracted": ["1" if ok else "2"],
                        "correct": [ok],
                        "rules": [None],
                        "tokens": [3],
                        "finish_reasons": ["stop"],
                    }
                )
                + "\n"
            )


def write_samples(run_dir: Path, completion: str) -> None:
    with open(run_dir / "samples.jsonl", "w") as fh:
        for prompt in ("What is 2+2?", "What is 3*3?"):
            fh.write(
                json.dumps(
                    {
                        "t": T0,
                        "stage": "grpo",
                        "step": 5,
                        "prompt": prompt,
                        "completion": f"{completion} ({prompt})",
                        "rewards": {"correctness": 1.0},
                    }
                )
                + "\n"
            )


def test_config_diff_keeps_only_differing_keys_with_their_layer():
    a = [("grpo.beta", "0.0", "defaults"), ("grpo.learning_rate", "1e-05", "defaults")]
    b = [("grpo.beta", "0.0", "defaults"), ("grpo.learning_rate", "0.0002", "override"), ("lora.r", "8", "x")]
    assert config_diff([a, b]) == [
        ("grpo.learning_rate", ["1e-05  (defaults)", "0.0002  (override)"]),
        ("lora.r", ["-", "8  (x)"]),
    ]


async def test_compare_tab_shows_config_diff_paired_eval_and_the_same_prompt(runs_dir):
    first = make_run(
        runs_dir,
        "grpo_only-a",
        "grpo_only",
        metrics=10,
        created=T0,
        snapshot=SNAPSHOT.format(lr="1.0e-05", where="defaults config.yaml:50"),
    )
    second = make_run(
        runs_dir,
        "grpo_only-b",
        "grpo_only",
        metrics=10,
        created=T0 + 1,
        snapshot=SNAPSHOT.format(lr="2.0e-04", where="override .rdtui/overrides.yaml:2"),
    )
    write_summary(first, "gsm8k_test", accuracy=0.4, pass4=0.5)
    write_summary(second, "gsm8k_test", accuracy=0.8, pass4=0.9)
    write_journal(first, "gsm8k_test", [True, False, False, True, False] * 8)
    write_journal(second, "gsm8k_test", [True, True, True, True, False] * 8)
    write_samples(first, "four")
    write_samples(second, "4")
    app = app_for(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a", "grpo_only-b")
        await pilot.press("7")
        pane = screen.query_one(ComparePane)
        await wait_for(pilot, lambda: pane.comparison is not None, timeout=30, what="the comparison")
        config = table_rows(pane.query_one("#compare-config"))
        assert [row[0] for row in config] == ["grpo.learning_rate"]
        assert "1e-05" in config[0][1] and "defaults" in config[0][1] and "override" in config[0][2]
        evals = table_rows(pane.query_one("#compare-eval"))
        assert evals[0][:3] == ["gsm8k_test", "40.0", "80.0"]
        assert evals[0][3].startswith("+40.0 [") and evals[0][3].endswith("n=40 *")
        samples = [str(s.render()) for s in pane.query(".compare-sample")]
        assert len(samples) == 2 and "four (What is 3*3?)" in samples[0] and "4 (What is 3*3?)" in samples[1]


async def test_one_run_has_no_compare_tab(runs_dir):
    make_run(runs_dir, "grpo_only-a", "grpo_only", metrics=10)
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a")
        await pilot.press("7")
        await pilot.pause(0.2)
        assert not screen.query(ComparePane) and screen._active_tab() == "curves"
