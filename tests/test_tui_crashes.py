"""The app never crashes on what it finds in the run store or the environment; any other crash
exits non-zero and names the file holding its traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable

from tests.test_tui_app import app_for, open_run, plot_text, runs_rows
from tests.test_tui_support import REPO, make_run, wait_for, write_summary
from tui.screens.run_detail import RunDetailScreen
from tui.screens.runs import RunsScreen
from tui.widgets.curves import CurvesPane
from tui.widgets.plot import CurvePlot


async def test_no_color_opening_a_run_draws_its_curves_in_monochrome(runs_dir, monkeypatch):
    make_run(runs_dir, "grpo_only-a", "grpo_only", metrics=30, log_lines=5)
    monkeypatch.setenv("NO_COLOR", "1")
    app = app_for(runs_dir)
    assert app.no_color
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a")
        pane = screen.query_one(CurvesPane)
        await wait_for(pilot, lambda: len(pane.query(CurvePlot)) >= 1, what="a plot")
        plot = pane.query(CurvePlot).first()
        await wait_for(pilot, lambda: any("\u2800" < ch <= "\u28ff" for ch in plot_text(plot)), what="dots")
        await pilot.pause(0.3)  # a few frames through the monochrome filter
        assert app.is_running and app.return_code is None


def test_any_other_crash_exits_non_zero_and_names_the_saved_traceback(runs_dir, tmp_path):
    """A bug in the app itself (here a screen that raises when mounted): exit status 1, and the
    traceback in the file the last line names."""
    script = f"""
import sys
from tui.app import RdtuiApp
from tui.entry import run_app

class Broken(RdtuiApp):
    def on_mount(self):
        super().on_mount()
        raise RuntimeError("a bug in the app")

sys.exit(run_app(Broken({str(runs_dir)!r}, {str(REPO / "config.yaml")!r}), headless=True))
"""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("rdtui: the app crashed; the traceback above is saved to ")
    saved = Path(last.rsplit(" ", 1)[-1])
    assert saved.parent == tmp_path / "state" / "rdtui"
    assert "RuntimeError: a bug in the app" in saved.read_text()


async def test_a_copied_run_folder_is_a_second_row_live_and_at_start(runs_dir):
    """`cp -r RUN RUN.bak`: two folders, one id inside. Both are rows (keyed by folder), sorting works."""
    original = make_run(runs_dir, "baseline-a", "baseline", metrics=5, created=1_750_000_100)
    make_run(runs_dir, "grpo_only-b", "grpo_only", metrics=5, created=1_750_000_200)
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        shutil.copytree(original, runs_dir / "baseline-a.bak")
        await wait_for(pilot, lambda: table.row_count == 3, what="the copy as a row of its own")
        for _ in range(5):
            await pilot.press("s")
        assert app.is_running and table.row_count == 3
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        assert "3 runs" in str(app.screen.query_one("#runs-title").render())
        await pilot.press("s", "s")
        screen = await open_run(pilot, app, "baseline-a.bak")
        await wait_for(pilot, lambda: screen.record is not None)
        assert screen.record.id == "baseline-a.bak"


def rows_by_folder(table: DataTable) -> dict[str, dict[str, str]]:
    return dict(zip((row.key.value for row in table.ordered_rows), runs_rows(table)))


BAD_RECORDS = {
    "empty-object": "{}",
    "a-list": "[]",
    "null": "null",
    "binary": b"\x00\xff\xfe garbage",
    "truncated": '{"id": "x", "condition": ',
    "progress-text": {"progress": "x"},
    "created-text": {"created_at": "yesterday"},
    "pid-text": {"pid": "abc"},
    "extra-list": {"extra": [1, 2]},
    "step-text": {"status": "running", "progress": {"step": "a"}},
    "status-unknown": {"status": "exploded"},
    "deep": "[" * 100_000,
}


def write_bad_record(run_dir: Path, bad) -> None:
    path = run_dir / "run.json"
    if isinstance(bad, dict):
        data = json.loads(path.read_text())
        data.update(bad)
        path.write_text(json.dumps(data))
    else:
        path.write_bytes(bad if isinstance(bad, bytes) else bad.encode())


async def test_corrupt_run_records_are_rows_marked_corrupt_and_the_rest_still_works(runs_dir):
    make_run(runs_dir, "grpo_only-good", "grpo_only", metrics=10, created=1_750_000_100)
    for n, (name, bad) in enumerate(BAD_RECORDS.items()):
        write_bad_record(make_run(runs_dir, f"bad-{name}", "baseline", created=1_750_000_200 + n), bad)
    app = app_for(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 1 + len(BAD_RECORDS), what="every folder as a row")
        rows = rows_by_folder(table)
        assert rows["grpo_only-good"]["status"] == "succeeded"
        assert all(rows[f"bad-{name}"]["status"] == "corrupt" for name in BAD_RECORDS)
        for _ in range(5):
            await pilot.press("s")
        screen = await open_run(pilot, app, "bad-pid-text")
        await wait_for(pilot, lambda: screen.record is not None)
        status = str(screen.query_one("#detail-status").render())
        assert "corrupt" in status and "pid" in status
        for key in "2345":
            await pilot.press(key)
            await pilot.pause(0.2)
        await pilot.press("escape")
        # a good run going bad while the app is open becomes a corrupt row too
        write_bad_record(runs_dir / "grpo_only-good", "{}")
        await wait_for(
            pilot,
            lambda: rows_by_folder(table)["grpo_only-good"]["status"] == "corrupt",
            what="the broken record marked",
        )
        assert app.is_running


BAD_SUMMARIES = [
    {"pass@k": []},
    {"accuracy": "0.5"},
    {"ci95": [0.1]},
    {"pass@k": {"x": 0.4}},
    {"n_problems": [1], "benchmark_size": "many"},
]


async def test_odd_eval_summaries_journals_and_markup_in_store_text_never_crash(runs_dir):
    run_dir = make_run(runs_dir, "grpo_only-a", "grpo_only", metrics=10, created=1_750_000_100)
    write_summary(run_dir, "gsm8k_test", accuracy=0.5, pass4=0.6)
    for n, bad in enumerate(BAD_SUMMARIES):
        (run_dir / "eval" / f"bad{n}.json").write_text(json.dumps({"benchmark": f"bad{n}", **bad}))
    (run_dir / "eval" / "gsm8k_test.jsonl").write_text(
        json.dumps({"id": "[/b]", "correct": "[red]", "extracted": ["[/]"], "gold": "[bold"}) + "\n" + "[1, 2]\n"
    )
    (run_dir / "samples.jsonl").write_text(
        json.dumps({"step": "[/i]", "prompt": "[/link]", "completion": "[b]x[/]", "rewards": {"[/]": "x"}}) + "\n"
    )
    with open(run_dir / "metrics.jsonl", "a") as fh:
        fh.write(json.dumps({"step": 11, "[/b]": 1.0, "loss": float("nan"), "reward": 1e308, "kl": 10**400}) + "\n")
        fh.write('{"step": Infinity, "reward": -Infinity}\n{"step": 12, "reward": -1e308}\n')
    (run_dir / "config.yaml").write_text("study:\n  name: '[/b]'\n[/x]: 1\n")
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a")
        await pilot.press("m")
        await pilot.pause(0.3)
        await pilot.press("m")
        for key in "2345":
            await pilot.press(key)
            await pilot.pause(0.5)
        await pilot.press("4", "enter")
        await pilot.pause(0.3)
        await pilot.press("escape", "escape", "escape", "t")
        await pilot.pause(2.0)
        assert app.is_running and app.return_code is None
        assert screen is not None


@pytest.mark.parametrize("term", ["linux", "dumb", "screen"])
async def test_odd_terminals_and_tiny_sizes_never_crash(runs_dir, monkeypatch, term):
    monkeypatch.setenv("TERM", term)
    make_run(runs_dir, "grpo_only-a", "grpo_only", metrics=40, log_lines=40)
    app = app_for(runs_dir)
    async with app.run_test(size=(20, 6)) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a")
        for size in ((10, 3), (1, 1), (200, 60), (40, 12)):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.2)
        for key in "12345":
            await pilot.press(key)
            await pilot.pause(0.1)
        await pilot.press("escape", "question_mark")
        await pilot.resize_terminal(12, 4)
        await pilot.pause(0.2)
        assert app.is_running and isinstance(screen, RunDetailScreen)


async def test_deleted_run_folder_keeps_its_curves_on_screen(runs_dir):
    """m8: the toast says what was read stays on screen; the curves must stay too."""
    run_dir = make_run(runs_dir, "grpo_only-a", "grpo_only", metrics=30, log_lines=10)
    app = app_for(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a")
        pane = screen.query_one(CurvesPane)
        await wait_for(pilot, lambda: len(pane.query(CurvePlot)) >= 1, what="plots")
        shutil.rmtree(run_dir)
        await wait_for(pilot, lambda: screen.deleted, what="the deletion")
        await pilot.pause(1.0)
        assert len(pane.query(CurvePlot)) >= 1
        assert "No metrics yet" not in str(screen.query_one("#curves-status").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 0, what="the row to go")
