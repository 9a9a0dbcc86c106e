"""SVG snapshots of the key screens (pytest-textual-snapshot); `--snapshot-update` rewrites them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_tui_support import (
    GRPO_KEYS,
    REPO,
    has_trend,
    make_run,
    wait_for,
    write_summary,
    write_trl_metrics,
)
from tui.app import RdtuiApp


@pytest.fixture
def snapshot_app(tmp_path, monkeypatch):
    """Finished runs with fixed ids and times, in a runs folder named relative to the test's cwd."""
    monkeypatch.chdir(tmp_path)
    runs = tmp_path / "runs"
    make_run(runs, "grpo_only-20250615-1200-aa11", "grpo_only", metrics=120, log_lines=300, created=1_750_000_100)
    done = make_run(
        runs, "sft_traces-20250615-1300-bb22", "sft_traces", stage="eval", metrics=60, created=1_750_000_200
    )
    write_summary(done, "gsm8k_test", accuracy=0.738, pass4=0.81)
    make_run(
        runs,
        "baseline-20250615-1400-cc33",
        "baseline",
        status="failed",
        stage="sft",
        error="CUDA out of memory",
        created=1_750_000_300,
    )
    return RdtuiApp("runs", REPO / "config.yaml", poll_seconds=0.2)


async def runs_loaded(pilot) -> None:
    table = pilot.app.screen.query_one("DataTable")
    # The cells read after the records (latest value and trend from metrics, pass@1 from the eval
    # summary) must be in before the shot; the column widths never depend on them.
    await wait_for(
        pilot,
        lambda: (
            table.row_count == 3
            and table.has_focus
            and all(has_trend(str(table.get_row_at(r))) for r in (1, 2))
            and "73.8" in str(table.get_row_at(1))
        ),
    )
    await pilot.pause(0.2)


def test_runs_screen_80x24(snap_compare, snapshot_app):
    assert snap_compare(snapshot_app, terminal_size=(80, 24), run_before=runs_loaded)


async def open_grpo_overview(pilot) -> None:
    """The GRPO run (bottom row) with every metric TRL logs, on its Curves tab."""
    await runs_loaded(pilot)
    pilot.app.screen.query_one("DataTable").move_cursor(row=2)
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(pilot.app.screen.query("CurvePlot")) >= 10)
    await pilot.pause(0.5)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_grpo_overview(snap_compare, snapshot_app, size):
    write_trl_metrics(Path("runs/grpo_only-20250615-1200-aa11"), GRPO_KEYS, 120, "grpo")
    assert snap_compare(snapshot_app, terminal_size=size, run_before=open_grpo_overview)


def test_run_detail_log_80x24(snap_compare, snapshot_app):
    async def open_log(pilot) -> None:
        await runs_loaded(pilot)
        pilot.app.screen.query_one("DataTable").move_cursor(row=2)
        await pilot.press("enter", "2")
        await wait_for(pilot, lambda: len(pilot.app.screen.query_one("LogView").lines) == 300)
        await pilot.press("slash", *"step 29", "enter")
        await pilot.pause(0.3)

    assert snap_compare(snapshot_app, terminal_size=(80, 24), run_before=open_log)


def test_help_80x24(snap_compare, snapshot_app):
    async def help_open(pilot) -> None:
        await runs_loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.2)

    assert snap_compare(snapshot_app, terminal_size=(80, 24), run_before=help_open)


def test_system_panel_120x40(snap_compare, snapshot_app):
    from tests.test_tui_system import write_system

    write_system(Path("runs/grpo_only-20250615-1200-aa11"), 600)

    async def open_system(pilot) -> None:
        await runs_loaded(pilot)
        pilot.app.screen.query_one("DataTable").move_cursor(row=2)
        await pilot.press("enter", "6")
        await wait_for(pilot, lambda: len(pilot.app.screen.query_one("#system-pane").query("CurvePlot")) >= 6)
        await pilot.pause(0.5)

    assert snap_compare(snapshot_app, terminal_size=(120, 40), run_before=open_system)


def test_compare_view_120x40(snap_compare, tmp_path, monkeypatch):
    from tests.test_tui_compare import SNAPSHOT, write_journal, write_samples

    monkeypatch.chdir(tmp_path)
    runs = tmp_path / "runs"
    for name, lr, where, accuracy, verdicts, said in (
        ("grpo_only-20250615-1200-aa11", "1.0e-05", "defaults config.yaml:50", 0.4, [True, False], "four"),
        ("grpo_only-20250615-1300-bb22", "2.0e-04", "override .rdtui/overrides.yaml:2", 0.8, [True, True], "4"),
    ):
        run_dir = make_run(
            runs,
            name,
            "grpo_only",
            metrics=60,
            created=1_750_000_100 + accuracy * 100,
            snapshot=SNAPSHOT.format(lr=lr, where=where),
        )
        write_summary(run_dir, "gsm8k_test", accuracy=accuracy, pass4=0.9)
        write_journal(run_dir, "gsm8k_test", verdicts * 20)
        write_samples(run_dir, said)
    app = RdtuiApp("runs", REPO / "config.yaml", poll_seconds=0.2)

    async def open_compare(pilot) -> None:
        table = pilot.app.screen.query_one("DataTable")
        await wait_for(
            pilot,
            lambda: table.row_count == 2 and "80.0" in str(table.get_row_at(0)) and "40.0" in str(table.get_row_at(1)),
        )
        await pilot.press("space", "enter", "7")  # select the newer run, open the older beside it
        await wait_for(
            pilot,
            lambda: (
                pilot.app.screen.query("ComparePane")
                and pilot.app.screen.query_one("ComparePane").comparison is not None
            ),
            timeout=30,
        )
        await pilot.pause(0.5)

    assert snap_compare(app, terminal_size=(120, 40), run_before=open_compare)
