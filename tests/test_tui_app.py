"""The app driven through Textual's Pilot on fabricated run folders: every screen and the main flows."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys

import pytest
from rich.console import Console
from rich.text import Text
from textual.content import Content
from textual.widgets import DataTable, Input, Tree

from core.store.jsonl import JsonlWriter
from core.store.runstore import RunStore
from tests.test_tui_support import (
    REPO,
    has_trend,
    make_run,
    study_copy,
    wait_for,
    write_metrics,
    write_summary,
)
from tui.app import RdtuiApp
from tui.screens.run_detail import RunDetailScreen
from tui.screens.runs import RunsScreen
from tui.widgets.curves import CurvesPane
from tui.widgets.logview import LogView
from tui.widgets.plot import CurvePlot

SIZES = [(120, 40), (80, 24)]


def app_for(runs_dir, config=REPO / "config.yaml") -> RdtuiApp:
    return RdtuiApp(runs_dir, config, poll_seconds=0.2)


def table_rows(table: DataTable) -> list[list[str]]:
    """The rows in the order on screen."""
    return [[str(cell) for cell in table.get_row(row.key)] for row in table.ordered_rows]


def runs_rows(table: DataTable) -> list[dict[str, str]]:
    """The runs table's rows by column key: which columns are shown depends on the terminal's width."""
    return [dict(zip((str(key.value) for key in table.columns), row)) for row in table_rows(table)]


def chart(pane, metric: str) -> CurvePlot | None:
    """The Curves tab's chart of one metric (None when it is not shown)."""
    return next((plot for plot in pane.query(CurvePlot) if plot.metric == metric), None)


def plot_text(plot: CurvePlot) -> str:
    return "\n".join(plot.render_line(y).text for y in range(plot.size.height))


def shown(widget) -> str:
    """The text a Static shows, whatever it was given (a string, Text or a Rich renderable)."""
    visual = widget.content
    if isinstance(visual, (str, Text, Content)):
        return str(visual)
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(visual)
    return console.export_text()


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


@pytest.fixture
def study_runs(runs_dir):
    make_run(runs_dir, "grpo_only-a", "grpo_only", metrics=60, log_lines=50, created=1_750_000_100)
    make_run(
        runs_dir,
        "baseline-b",
        "baseline",
        status="running",
        stage="sft",
        metrics=10,
        progress={"step": 10, "total": 60, "eta_s": 125},
        created=1_750_000_200,
    )
    make_run(runs_dir, "sft_traces-c", "sft_traces", status="failed", error="CUDA out of memory", created=1_750_000_300)
    return runs_dir


@pytest.mark.parametrize("size", SIZES)
async def test_runs_screen_lists_every_run_with_its_latest_value(study_runs, size):
    app = app_for(study_runs)
    async with app.run_test(size=size) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 3 and "reward" in str(table_rows(table)), what="rows")
        rows = {row["condition"]: row for row in runs_rows(table)}
        assert rows["grpo_only"]["status"] == "succeeded"
        assert rows["grpo_only"]["latest"].startswith("reward 0.")
        assert rows["baseline"]["progress"] == "10/60" and rows["baseline"]["status"] in ("running", "lost")
        assert rows["sft_traces"]["status"] == "failed"
        # newest first
        assert [r["condition"] for r in runs_rows(table)] == ["sft_traces", "baseline", "grpo_only"]


async def test_runs_screen_filters_sorts_selects_and_follows_new_runs(study_runs):
    app = app_for(study_runs)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        await pilot.press("slash", *"fail")
        await wait_for(pilot, lambda: table.row_count == 1)
        assert runs_rows(table)[0]["condition"] == "sft_traces"
        await pilot.press("escape")
        assert table.row_count == 3
        await pilot.press("s")  # sort by condition
        assert [r["condition"] for r in runs_rows(table)] == ["baseline", "grpo_only", "sft_traces"]
        assert table.cursor_row == 2  # the cursor stays on the run it was on (sft_traces)
        table.move_cursor(row=0)
        await pilot.press("space")
        assert app.screen.selected == {"baseline-b"}
        make_run(study_runs, "re_distill-d", "re_distill", status="queued", created=1_750_000_400)
        await wait_for(pilot, lambda: table.row_count == 4, what="a run created after start")
        shutil.rmtree(study_runs / "grpo_only-a")
        await wait_for(pilot, lambda: table.row_count == 3, what="a deleted run to disappear")


def column_widths(table: DataTable) -> dict[str, int]:
    return {str(key.value): column.get_render_width(table) for key, column in table.columns.items()}


async def test_runs_table_fits_the_terminal_and_follows_resizes(runs_dir):
    make_run(runs_dir, "sft_then_grpo-20250615-120000-ab12", "sft_then_grpo", metrics=40, created=1_750_000_100)
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: has_trend(str(table_rows(table))), what="the trend")
        await pilot.pause()
        keys = list(column_widths(table))
        assert keys == ["sel", "run", "condition", "status", "stage", "progress", "latest", "trend", "pass1"]
        assert table.virtual_size.width <= table.size.width  # nothing hidden off to the right
        assert runs_rows(table)[0]["run"] == "ab12" and runs_rows(table)[0]["progress"] == "40/40"
        await pilot.resize_terminal(160, 40)
        await wait_for(pilot, lambda: "where" in table.columns, what="the wide layout")
        row = runs_rows(table)[0]
        assert row["run"] == "20250615-120000-ab12" and row["where"] == "local/local" and "eta" in row
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: list(column_widths(table)) == keys, what="the narrow layout again")


async def test_runs_table_keeps_its_layout_when_metrics_and_scores_arrive(runs_dir):
    """Column widths never depend on whether metrics were read before or after the first paint."""
    late = make_run(runs_dir, "grpo_only-20250615-1200-aa11", "grpo_only", created=1_750_000_100)
    make_run(runs_dir, "baseline-20250615-1400-cc33", "baseline", status="failed", created=1_750_000_300)
    async with app_for(runs_dir).run_test(size=(80, 24)) as pilot:
        table = pilot.app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        before = column_widths(table)
        write_metrics(late, 1, 30)
        write_summary(late, "gsm8k_test", accuracy=0.738, pass4=0.81)
        await wait_for(
            pilot,
            lambda: "73.8" in str(table_rows(table)) and has_trend(str(table_rows(table))),
            what="the metrics and the score",
        )
        assert column_widths(table) == before
    async with app_for(runs_dir).run_test(size=(80, 24)) as pilot:
        table = pilot.app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: "73.8" in str(table_rows(table)), what="a fresh start with every file there")
        assert column_widths(table) == before


async def test_empty_store_says_how_to_start(runs_dir):
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        empty = app.screen.query_one("#runs-empty")
        await wait_for(pilot, lambda: empty.display)
        assert "Press l to launch" in str(empty.render())


async def open_run(pilot, app, run_id: str, *also: str) -> RunDetailScreen:
    table = app.screen.query_one(DataTable)
    await wait_for(pilot, lambda: run_id in table.rows)
    for other in also:
        table.move_cursor(row=table.get_row_index(other))
        await pilot.press("space")
    table.move_cursor(row=table.get_row_index(run_id))
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
    return app.screen


@pytest.mark.parametrize("size", SIZES)
async def test_curves_overlay_selected_runs_and_redraw_on_new_points(study_runs, size):
    app = app_for(study_runs)
    async with app.run_test(size=size) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a", "baseline-b")
        pane = screen.query_one(CurvesPane)
        await wait_for(pilot, lambda: chart(pane, "reward") is not None, what="plots")
        reward = chart(pane, "reward")
        await wait_for(pilot, lambda: reward.size.height > 0)
        text = plot_text(reward)
        legend = str(pane.query_one("#curves-status").render())
        assert "grpo_only" in legend and "baseline" in legend  # legend of both runs
        assert any("\u2800" < ch <= "\u28ff" for ch in text)  # braille dots drawn
        assert "60" in text  # x axis reaches the last step
        write_metrics(study_runs / "grpo_only-a", 61, 120)
        await wait_for(pilot, lambda: "120" in plot_text(reward), what="the new points on the plot")
        await pilot.press("y", "plus", "s")
        assert pane.log_y and pane.zoom == 1 and pane.smoothing_index == 1
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_corrupt_metrics_line_is_reported_and_skipped(runs_dir):
    run_dir = make_run(runs_dir, "grpo_only-a", "grpo_only", metrics=20)
    with open(run_dir / "metrics.jsonl", "a") as fh:
        fh.write('{"step": 21, "loss": oops}\n')
    write_metrics(run_dir, 22, 30)
    app = app_for(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a")
        status = screen.query_one("#curves-status")
        await wait_for(pilot, lambda: "corrupt" in str(status.render()))
        assert "1 corrupt metrics line skipped" in str(status.render())
        await wait_for(
            pilot, lambda: any("corrupt line in metrics.jsonl" in n for n in notices(app)), what="the notice"
        )
        assert len(screen.query_one(CurvesPane).curves["grpo_only-a"].metrics["loss"]) == 29


async def test_log_opens_at_tail_and_searches_filters_wraps_follows(runs_dir):
    run_dir = make_run(runs_dir, "grpo_only-a", "grpo_only", log_lines=5000)
    app = app_for(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a")
        await pilot.press("2")
        view = screen.query_one(LogView)
        await wait_for(pilot, lambda: len(view.lines) == 5000)
        await pilot.pause(0.2)
        assert view.is_vertical_scroll_end
        assert "step 4999" in view.render_line(view.size.height - 1).text
        await pilot.press("slash", *"step 12:", "enter")
        assert view.matches and "step 12:" in view.lines[view._rows[view.matches[view.match_index]][0]]
        await pilot.press("ampersand", *"step 49", "enter")
        assert view.shown_count == 111  # step 49, 490-499, 4900-4999
        await pilot.press("ampersand", "ctrl+a", "ctrl+k", "enter")
        assert view.shown_count == 5000
        await pilot.press("w")
        assert view.wrap
        await pilot.press("G")
        with open(run_dir / "log.txt", "a") as fh:
            fh.write("a brand new line\n")
        await wait_for(pilot, lambda: view.lines[-1] == "a brand new line", what="the appended line")
        await pilot.pause(0.1)
        assert view.is_vertical_scroll_end


async def test_log_with_invalid_utf8_and_a_megabyte_line_is_shown_with_notes(runs_dir):
    run_dir = make_run(runs_dir, "grpo_only-a", "grpo_only")
    (run_dir / "log.txt").write_bytes(b"before\nbad \xff\xfe bytes\n" + b"x" * 1_000_000 + b"\nafter\n")
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a")
        await pilot.press("2")
        view = screen.query_one(LogView)
        await wait_for(pilot, lambda: view.lines[-1:] == ["after"])
        status = str(screen.query_one("#log-status").render())
        assert "not UTF-8" in status and "cut for display" in status
        assert "bad \ufffd\ufffd bytes" in view.lines
        assert any("998,000 more characters" in line for line in view.lines)


async def test_deleted_run_folder_keeps_the_screen_and_says_so(runs_dir):
    run_dir = make_run(runs_dir, "grpo_only-a", "grpo_only", metrics=10, log_lines=10)
    app = app_for(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a")
        await wait_for(pilot, lambda: screen.record is not None)
        shutil.rmtree(run_dir)
        await wait_for(pilot, lambda: screen.deleted, what="the deletion to be noticed")
        assert "run folder deleted" in str(screen.query_one("#detail-status").render())
        # A notice reaches the app as a message of its own: it may land a moment after the status line.
        await wait_for(pilot, lambda: any("was deleted" in n for n in notices(app)), what="the notice")
        for key in "2345":
            await pilot.press(key)
        await pilot.pause(0.5)
        assert app.is_running and isinstance(app.screen, RunDetailScreen)


async def test_samples_fold_and_unfold_the_think_block(runs_dir):
    run_dir = make_run(runs_dir, "grpo_only-a", "grpo_only")
    JsonlWriter(run_dir / "samples.jsonl").append_many(
        [
            {
                "t": 1,
                "stage": "grpo",
                "step": step,
                "prompt": f"What is {step}+1?",
                "completion": f"<think>\nadd one to {step}\n</think>\nThe answer is \\boxed{{{step + 1}}}",
                "answer": str(step + 1),
                "rewards": {"correctness": 1.0, "format": 1.0},
            }
            for step in (10, 20)
        ]
    )
    app = app_for(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a")
        await pilot.press("3")
        body = screen.query_one("#sample-text")
        await wait_for(pilot, lambda: "step 20" in shown(body))
        text = shown(body)
        assert "▸ <think>" in text and "add one to 20" not in text and "\\boxed{21}" in text
        await pilot.press("t")
        assert "add one to 20" in shown(body)
        await pilot.press("p")
        assert "step 10" in shown(body)


async def test_eval_tab_shows_pass_at_k_and_the_journal(runs_dir):
    run_dir = make_run(runs_dir, "grpo_only-a", "grpo_only")
    write_summary(run_dir, "gsm8k_test", accuracy=0.757, pass4=0.84)
    JsonlWriter(run_dir / "eval" / "gsm8k_test.jsonl").append_many(
        [{"type": "header", "settings_hash": "abc", "settings": {}}]
        + [
            {
                "id": str(i),
                "prompt_hash": "h",
                "gold": "4",
                "completions": [f"<think>x</think> {i}"],
                "extracted": [str(i)],
                "correct": [i % 2 == 0],
                "rules": ["boxed"],
                "tokens": [9],
                "finish_reasons": ["stop"],
            }
            for i in range(6)
        ]
    )
    app = app_for(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a")
        await pilot.press("4")
        summary = screen.query_one("#eval-summary", DataTable)
        journal = screen.query_one("#eval-journal", DataTable)
        await wait_for(pilot, lambda: journal.row_count == 6)
        row = table_rows(summary)[0]
        assert row[:3] == ["gsm8k_test", "1319/1319", "75.7"] and "@4:84.0" in row[3] and row[5] == "[73.3, 78.0]"
        assert "@4:80.0" in row[4]
        assert [r[2] for r in table_rows(journal)][:2] == ["✓", "✗"]
        journal.focus()
        journal.move_cursor(row=1)
        await pilot.press("enter")  # the detail opens once the question is looked up, in a worker
        await wait_for(pilot, lambda: app.screen.query("#text-body Static"), what="the problem")
        assert "gold: 4" in shown(app.screen.query_one("#text-body Static"))


async def test_config_tab_shows_each_value_with_its_provenance(runs_dir):
    from core.config import load_study, resolve_full, snapshot_text

    snapshot = snapshot_text(resolve_full(load_study(REPO / "config.yaml"), "re_distill", "local"))
    make_run(runs_dir, "re_distill-a", "re_distill", snapshot=snapshot)
    app = app_for(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, app, "re_distill-a")
        await pilot.press("5")
        table = screen.query_one("#config-table", DataTable)
        await wait_for(pilot, lambda: table.row_count > 20)
        rows = {r[0]: r for r in table_rows(table)}
        assert rows["sft.dataset"][1] == '"openr1_verified"'
        assert rows["sft.dataset"][2].startswith("conditions.re_distill config.yaml:")
        assert rows["sft.learning_rate"][2].startswith("profiles.local")


async def edit_leaf(pilot, screen, key: str, value: str) -> None:
    tree = screen.query_one(Tree)
    node = next(n for n in walk(tree.root) if isinstance(n.data, tuple) and n.data[0] == key)
    node.parent.expand()
    await pilot.pause(0.1)
    tree.move_cursor(node)
    tree.focus()
    await pilot.press("enter")
    box = screen.query_one("#editor-edit", Input)
    await wait_for(pilot, lambda: box.has_focus)
    box.value = value
    await pilot.press("enter")


def walk(node):
    yield node
    for child in node.children:
        yield from walk(child)


def leaf(screen, key: str) -> tuple:
    return next(leaf for leaf in screen.checked.leaves if leaf[0] == key)


async def test_config_editor_edits_the_override_layer_with_validation_and_diff(runs_dir, tmp_path):
    config = study_copy(tmp_path)
    app = app_for(runs_dir, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e")
        screen = app.screen
        await wait_for(pilot, lambda: screen.checked.leaves, what="the resolved tree")
        assert leaf(screen, "sft.learning_rate")[2] == "profiles.local"
        messages = screen.query_one("#editor-messages")
        await edit_leaf(pilot, screen, "sft.learning_rate", "-1")
        await wait_for(pilot, lambda: screen.checked.issues, what="the validation error")
        # the same message `rdtui config check` prints, naming the real file and line
        assert (
            screen.checked.issues[0]
            == ".rdtui/overrides.yaml:2: sft.learning_rate: input should be greater than 0 (got -1)"
            or screen.checked.issues[0].endswith(
                "overrides.yaml:2: sft.learning_rate: input should be greater than 0 (got -1)"
            )
        )
        assert "error" in str(messages.render())
        await edit_leaf(pilot, screen, "sft.learning_rate", "1e-4")
        await wait_for(pilot, lambda: not screen.checked.issues and leaf(screen, "sft.learning_rate")[1] == 1e-4)
        assert leaf(screen, "sft.learning_rate")[2] == "override"
        await pilot.press("ctrl+s")
        diff = shown(app.screen.query_one("#confirm-detail Static"))
        assert "+sft:" in diff and "+  learning_rate: 0.0001" in diff
        await pilot.press("y")
        path = config.parent / ".rdtui" / "overrides.yaml"
        await wait_for(pilot, path.exists)
        assert "learning_rate: 0.0001" in path.read_text()
        assert (config.parent / ".rdtui" / ".gitignore").read_text().strip().endswith("*")
        assert not list(config.parent.glob(".*check-*")) and not list(path.parent.glob(".*check-*"))


async def test_config_editor_edits_config_yaml_keeping_its_comments(runs_dir, tmp_path):
    config = study_copy(tmp_path)
    before = config.read_text()
    app = app_for(runs_dir, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("e")
        screen = app.screen
        await wait_for(pilot, lambda: screen.checked.leaves)
        await pilot.press("t")
        await edit_leaf(pilot, screen, "lora.r", "32")
        await wait_for(pilot, lambda: leaf(screen, "lora.r")[1] == 32)
        where = leaf(screen, "lora.r")[3]
        assert where.endswith("config.yaml:25") and ".check-" not in where
        await pilot.press("ctrl+s", "y")
        await wait_for(pilot, lambda: config.read_text() != before)
    after = config.read_text()
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert changed == [("    r: 64", "    r: 32")]
    assert len(before.splitlines()) == len(after.splitlines())


async def test_help_and_command_palette_list_the_screen_keys(study_runs):
    app = app_for(study_runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        text = shown(app.screen.query_one("#help-keys"))
        assert "Launch" in text and "Filter" in text and "Cancel" in text
        await pilot.press("escape", "colon")
        await pilot.pause(0.3)
        from textual.command import CommandPalette

        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"results", "enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ResultsScreen")
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_launch_screen_shows_differences_and_validation(runs_dir, tmp_path):
    config = study_copy(tmp_path)
    app = app_for(runs_dir, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("l")
        screen = app.screen
        plan_text = screen.query_one("#launch-plan-text")
        await wait_for(pilot, lambda: screen.study is not None)
        await pilot.press("down", "space")  # baseline
        await wait_for(pilot, lambda: "✓ baseline" in shown(plan_text))
        assert "sft.dataset = orca_math" in shown(plan_text)  # as config.yaml writes it, not repr
        screen.query_one("#launch-overrides", Input).value = "sft.learning_rate=-3"
        await wait_for(pilot, lambda: "✗ baseline" in shown(plan_text))
        assert "sft.learning_rate" in shown(plan_text)
        await pilot.press("enter")
        assert any("error" in n for n in notices(app))
        assert not list(runs_dir.iterdir())


def spawn_sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)


async def test_cancel_and_resume_a_run_from_the_runs_screen(runs_dir):
    from core.config import load_study, resolve_full, snapshot_text
    from core.store.runstore import process_start_ticks

    snapshot = snapshot_text(resolve_full(load_study(REPO / "config.yaml"), "base_model", "local"))
    run_dir = make_run(runs_dir, "base_model-a", "base_model", status="running", stage="eval", snapshot=snapshot)
    sleeper = spawn_sleeper()
    run = RunStore(runs_dir).get("base_model-a")
    run.update(pid=sleeper.pid, pid_start=process_start_ticks(sleeper.pid), host=os.uname().nodename)
    app = app_for(runs_dir)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.screen.query_one(DataTable)
            await wait_for(pilot, lambda: table.row_count == 1)
            await pilot.press("c")
            assert "Cancel base_model-a?" in str(app.screen.query_one("#confirm-question").render())
            await pilot.press("y")
            await wait_for(pilot, lambda: runs_rows(table)[0]["status"] == "cancelled")
            assert sleeper.wait(timeout=10) is not None
            await pilot.press("r", "y")
            # resumed: queued again, then running (or failed, where the worker cannot train here)
            await wait_for(pilot, lambda: runs_rows(table)[0]["status"] != "cancelled", what="the resume")
            assert any("Resumed base_model-a" in n for n in notices(app))
            if run.reload().status in ("queued", "running"):
                await pilot.press("c", "y")
                await wait_for(pilot, lambda: run.reload().status in ("cancelled", "failed"))
    finally:
        sleeper.kill()
        record = run.reload()
        if record.pid and record.status == "running":
            os.killpg(record.pid, 9)
    assert run_dir.exists()


@pytest.mark.slow
async def test_launch_a_local_run_and_watch_it_succeed_with_its_curve(runs_dir):
    app = app_for(runs_dir, REPO / "config.yaml")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("l")
        screen = app.screen
        await wait_for(pilot, lambda: screen.study is not None)
        await pilot.press("down", "down", "space")  # sft_traces
        await wait_for(
            pilot, lambda: screen.plan is not None and [r.condition for r in screen.plan.runs] == ["sft_traces"]
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), timeout=30)
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 1, timeout=30)
        run_id = next(iter(table.rows)).value
        detail = await open_run(pilot, app, run_id)
        await wait_for(pilot, lambda: detail.status == "succeeded", timeout=900, what="the run to succeed")
        await wait_for(pilot, lambda: chart(detail.query_one(CurvesPane), "loss") is not None, timeout=10)
        plot = chart(detail.query_one(CurvesPane), "loss")
        await wait_for(pilot, lambda: any("\u2800" < ch <= "\u28ff" for ch in plot_text(plot)), timeout=10)


async def test_results_screen_exports_markdown_csv_and_json(runs_dir, tmp_path):
    pytest.importorskip("core.reporting.results")
    config = study_copy(tmp_path)
    run_dir = make_run(runs_dir, "grpo_only-a", "grpo_only", stage="eval")
    write_summary(run_dir, "gsm8k_test", accuracy=0.757, pass4=0.84)
    app = app_for(runs_dir, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        screen = app.screen
        await wait_for(pilot, lambda: screen.rows, what="results rows")
        table = screen.query_one(DataTable)
        rows = {r[0]: r for r in table_rows(table)}
        assert list(rows)[:2] == ["base_model", "baseline"]  # the study's order, base model included
        assert rows["grpo_only"][2].startswith("75.7 [") and "84.0" in rows["grpo_only"]  # accuracy [CI], pass@4
        table.move_cursor(column=list(table.columns).index("gsm8k_test"))
        await pilot.press("s", "s")  # by accuracy, best first
        assert table_rows(table)[0][0] == "grpo_only"
        await pilot.press("x", "enter")  # the default: .rdtui/exports/results.md
        exported = config.parent.resolve() / ".rdtui" / "exports" / "results.md"
        await wait_for(pilot, exported.exists, what="the export")
        assert "grpo_only" in exported.read_text()
        assert any(str(exported) in n for n in notices(app))  # the full path, said


def test_app_process_never_imports_heavy_libraries(study_runs, tmp_path):
    """Start the real app (every screen a user opens first) and list the heavy modules it loaded."""
    script = f"""
import asyncio, sys
from tui.app import RdtuiApp

async def main():
    app = RdtuiApp({str(study_runs)!r}, {str(REPO / "config.yaml")!r}, poll_seconds=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(1.0)
        app.screen.query_one("DataTable").move_cursor(row=0)
        await pilot.press("enter")
        for key in "12345":
            await pilot.press(key)
            await pilot.pause(0.3)
        await pilot.press("escape", "e")
        await pilot.pause(1.5)
        await pilot.press("escape", "l")
        await pilot.pause(1.5)
        await pilot.press("escape", "t")
        await pilot.pause(1.0)
heavy = ("torch", "transformers", "datasets", "trl", "peft", "vllm", "modal")
asyncio.run(main())
print(sorted(m for m in sys.modules if m.split(".")[0] in heavy))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
