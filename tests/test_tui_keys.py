"""Keys and layout a newcomer finds: essential keys always in the key bar, app keys first in help,
ctrl+p and : both open the palette (with "Open run…"), confirmations of what cannot be undone
default to No, one meaning per key, the launched run selected, Results live with a frozen column,
exports to a named file without silent overwrites, config files keeping their mode."""

from __future__ import annotations

import os
import stat

from textual.command import CommandPalette
from textual.widgets import DataTable, Input

from tests.test_tui_app import app_for, notices, open_run, runs_rows, table_rows
from tests.test_tui_support import T0, make_run, study_copy, wait_for, write_summary
from tui.screens.dialogs import ConfirmScreen
from tui.screens.help import HelpScreen, key_rows
from tui.screens.run_detail import RunDetailScreen
from tui.screens.runs import RunsScreen
from tui.widgets.footer import KeysFooter, shown_keys


def screen_lines(app) -> list[str]:
    """The text on screen, line by line, as the terminal shows it."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def test_essential_keys_lead_the_key_bar_and_fit_80_columns(runs_dir):
    make_run(runs_dir, "grpo_only-a", "grpo_only", metrics=5, log_lines=5)
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count == 1)
        keys = [b.description for b, _, _ in shown_keys(app.screen)]
        assert keys[:4] == ["Open", "Keys", "Quit", "Results"]
        essentials = ("Open", "Keys", "Quit", "Results")
        # The key bar is rebuilt after the first paint: waited for, not given a fixed time.
        await wait_for(
            pilot,
            lambda: all(f" {key} " in f" {screen_lines(app)[-1]} " for key in essentials),
            what=f"the essential keys in the bottom line at 80 columns ({essentials})",
        )
        await open_run(pilot, app, "grpo_only-a")
        assert [b.description for b, _, _ in shown_keys(app.screen)][:3] == ["Back", "Keys", "Quit"]


async def test_a_key_bar_rebuild_that_comes_after_its_screen_closed_does_nothing(runs_dir):
    """A run opened and closed at once: the rebuild its key bar had scheduled finds no screen (it
    crashed the app with NoScreen)."""
    make_run(runs_dir, "grpo_only-a", "grpo_only", metrics=5)
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count == 1)
        await app.push_screen(RunDetailScreen(["grpo_only-a"]))
        footer = app.screen.query_one(KeysFooter)
        await app.pop_screen()
        await pilot.pause()
        await footer._rebuild()
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen) and app.return_code is None


async def test_help_lists_the_screens_keys_before_generic_ones_without_eating_brackets(runs_dir):
    make_run(runs_dir, "grpo_only-a", "grpo_only", metrics=5)
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count == 1)
        rows = key_rows(app.screen)
        descriptions = [d for _, d in rows]
        assert descriptions[:4] == ["Open", "Keys", "Quit", "Results"]
        assert descriptions.index("Sort") < descriptions.index("Cursor up")  # app keys first
        quit_keys = dict((d, k) for k, d in rows)["Quit"]
        assert "q" in quit_keys.split(", ") and "^q" in quit_keys.split(", ")  # one row per action
        palette = [d for d in descriptions if "ommand" in d]
        assert palette == ["Command palette: every action, open run…"]  # listed once, with both keys
        await open_run(pilot, app, "grpo_only-a")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "([ and ] step through them)" in str(app.screen.query_one("#help-text").render())


async def test_ctrl_p_and_colon_open_the_palette_which_opens_a_run_by_name(runs_dir):
    make_run(runs_dir, "grpo_only-a", "grpo_only", metrics=5, created=T0)
    make_run(runs_dir, "baseline-b", "baseline", metrics=5, created=T0 + 1)
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count == 2)
        for key in ("ctrl+p", "colon"):
            await pilot.press(key)
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what=f"{key} opens the palette")
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        await pilot.press("ctrl+p", *"open run")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, CommandPalette) and "Open run" in str(app.screen.query_one(Input).placeholder)
            ),
            what="the run picker",
        )
        await pilot.press(*"grpo_only")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen), what="the run opened")
        assert app.screen.run_id == "grpo_only-a"


async def test_cancel_confirmation_defaults_to_no(runs_dir):
    make_run(runs_dir, "baseline-a", "baseline", status="running", progress={"step": 1, "total": 9})
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count == 1)
        answers = []
        app.push_screen(ConfirmScreen("Cancel baseline-a?"), answers.append)
        await pilot.pause(0.2)
        assert "enter: no" in str(app.screen.query_one("#confirm-keys").render())
        await pilot.press("enter")
        await wait_for(pilot, lambda: answers == [False], what="enter answering No")
        app.push_screen(ConfirmScreen("Launch?", default=True), answers.append)
        await pilot.pause(0.2)
        await pilot.press("enter")
        await wait_for(pilot, lambda: answers == [False, True])


async def test_a_new_run_takes_its_sorted_place_and_a_launched_one_gets_the_cursor(runs_dir):
    for n in range(30):
        make_run(runs_dir, f"baseline-{n:02d}", "baseline", created=T0 + n)
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 30)
        table.move_cursor(row=5)
        app.show_run_in_list("grpo_only-new")  # what the launch screen does once it launched
        make_run(runs_dir, "grpo_only-new", "grpo_only", status="queued", created=T0 + 100)
        await wait_for(pilot, lambda: table.row_count == 31, what="the new run")
        assert [row.key.value for row in table.ordered_rows][0] == "grpo_only-new"  # newest first
        assert table.cursor_row == 0
        await pilot.press("s")  # by condition: the cursor stays on the run
        assert runs_rows(table)[table.cursor_row]["condition"] == "grpo_only"
        await pilot.press("G")
        assert table.cursor_row == 30
        await pilot.press("g")
        assert table.cursor_row == 0


async def test_results_are_live_with_a_frozen_column_and_exports_never_overwrite_silently(runs_dir, tmp_path):
    config = study_copy(tmp_path)
    write_summary(
        make_run(runs_dir, "grpo_only-a", "grpo_only", stage="eval", created=T0), "gsm8k_test", accuracy=0.5, pass4=0.6
    )
    app = app_for(runs_dir, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count == 1)
        await pilot.press("t")
        screen = app.screen
        table = screen.query_one(DataTable)
        await wait_for(pilot, lambda: "50.0" in str(table_rows(table)), what="results")
        assert table.fixed_columns == 1
        write_summary(
            make_run(runs_dir, "sft_traces-b", "sft_traces", stage="eval", created=T0 + 1),
            "gsm8k_test",
            accuracy=0.625,
            pass4=0.7,
        )
        await wait_for(pilot, lambda: "62.5" in str(table_rows(table)), what="a new result, live")
        target = tmp_path / "out" / "table.csv"
        target.parent.mkdir()
        target.write_text("mine\n")
        await pilot.press("x")
        box = app.screen.query_one(Input)
        assert box.value.endswith(os.path.join(".rdtui", "exports", "results.md"))
        box.value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the overwrite question")
        await pilot.press("enter")  # default: No
        await pilot.pause(0.3)
        assert target.read_text() == "mine\n"
        await pilot.press("x")
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: "grpo_only" in target.read_text(), what="the replaced file")
        assert any(f"Wrote {target}" in n for n in notices(app))
        assert screen.BINDINGS and not {b.key for b in screen.BINDINGS} & {"c", "r"}  # one meaning per key


def test_saving_a_config_keeps_its_file_mode(tmp_path):
    from tui.config_edit import write_atomic

    path = tmp_path / "config.yaml"
    path.write_text("a: 1\n")
    os.chmod(path, 0o644)
    write_atomic(path, "a: 2\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 and path.read_text() == "a: 2\n"
    overrides = tmp_path / ".rdtui" / "overrides.yaml"
    write_atomic(overrides, "b: 1\n")
    assert stat.S_IMODE(overrides.stat().st_mode) == 0o666 & ~current_umask()
    assert (tmp_path / ".rdtui" / ".gitignore").read_text().endswith("*\n")
    assert not [p for p in tmp_path.rglob("*.tmp")]


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
