"""Findings of the app review (reviews/app.md) that were still open: the log prompt (m13), the
launch plan (m15), which config file the app uses (m16), a tab key typed while a run opens (m18),
and keys typed in one burst with the / that opens the runs filter."""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.widgets import DataTable, Input
from textual.widgets._footer import FooterKey

from tests.test_tui_app import app_for, notices, runs_rows, shown
from tests.test_tui_support import make_run, study_copy, wait_for, write_summary
from tui.screens.run_detail import RunDetailScreen
from tui.widgets.footer import KeysFooter
from tui.widgets.logview import LogView


async def test_log_prompt_is_replaced_by_typing_and_the_match_counter_survives_a_filter(runs_dir):
    make_run(runs_dir, "grpo_only-a", "grpo_only", log_lines=50)
    app = app_for(runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count == 1)
        await pilot.press("enter", "2")
        view = app.screen.query_one(LogView)
        await wait_for(pilot, lambda: len(view.lines) == 50, what="the log")
        await pilot.press("slash", *"loss 0.1", "enter")  # steps 5..9 print loss 0.1xxx
        assert view.matches and view.match_index == len(view.matches) - 1
        await pilot.press("ampersand", *"step 4", "enter")
        assert view.filter_text == "step 4"
        await pilot.press("ampersand")
        box = app.screen.query_one("#log-prompt", Input)
        assert box.value == "step 4" and box.selection == (0, len("step 4"))  # shown, and selected
        await pilot.press(*"step 1", "enter")  # typing replaces the old filter
        assert view.filter_text == "step 1"
        await pilot.press("ampersand", "backspace", "enter")  # and two keys clear it
        assert view.filter_text == ""
        status = shown(app.screen.query_one("#log-status"))
        assert "0/" not in status and f"{len(view.matches)}/{len(view.matches)}" in status


async def test_launch_plan_puts_the_users_own_settings_first(runs_dir, tmp_path):
    app = app_for(runs_dir, study_copy(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("l")
        screen = app.screen
        plan_text = screen.query_one("#launch-plan-text")
        await wait_for(pilot, lambda: screen.study is not None)
        screen.query_one("#launch-overrides", Input).value = "grpo.temperature=0.7 grpo.use_vllm=false"
        await pilot.press("down", "down", "down", "down", "space")  # grpo_only
        await wait_for(pilot, lambda: "✓ grpo_only" in shown(plan_text), what="the plan")
        lines = shown(plan_text).splitlines()
        assert lines[0] == "enter launches 1 run(s) on the local backend."
        mine = lines.index("  your settings:")
        theirs = lines.index("  set by the condition and profile:")
        assert mine < theirs
        users = [line.strip().split("   ")[0] for line in lines[mine + 1 : theirs]]
        assert users == ["grpo.temperature = 0.7", "grpo.use_vllm = false"] or users == [
            "grpo.use_vllm = false",
            "grpo.temperature = 0.7",
        ]
        assert "False" not in shown(plan_text)  # config syntax, not Python's repr


async def test_the_app_says_which_config_file_it_reads_and_how_to_choose_another(runs_dir, tmp_path):
    missing = tmp_path / "elsewhere" / "config.yaml"
    app = app_for(runs_dir, missing)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("l")
        screen = app.screen
        assert str(missing) in shown(screen.query_one(".screen-title"))
        plan_text = screen.query_one("#launch-plan-text")
        await wait_for(pilot, lambda: "--config" in shown(plan_text), what="the hint")
        assert f"The app reads {missing}" in shown(plan_text) and "RDTUI_CONFIG" in shown(plan_text)
        await pilot.press("escape", "e")
        await wait_for(pilot, lambda: any("--config" in n and str(missing) in n for n in notices(app)))


async def test_a_tab_key_typed_while_a_run_opens_is_kept(runs_dir):
    """m18: on a busy machine the key "2" is handled after the screen is composed and before its
    mount handler runs; the mount must not then move the focus back to Curves."""
    make_run(runs_dir, "grpo_only-a", "grpo_only", metrics=20, log_lines=20)

    class KeyBeforeMount(RunDetailScreen):
        async def on_mount(self) -> None:
            (binding,) = self._bindings.key_to_bindings["2"]
            await self.run_action(binding.action)  # what the key does, before the mount handler
            super().on_mount()

    app = app_for(runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count == 1)
        screen = KeyBeforeMount(["grpo_only-a"])
        await app.push_screen(screen)
        await wait_for(pilot, lambda: bool(screen.feeds), what="the mount handler")
        await pilot.pause(0.3)
        assert screen.query_one("TabbedContent").active == "log"
        assert isinstance(app.focused, LogView)


async def test_config_tab_at_80_columns_shows_provenance_and_finds_keys(runs_dir):
    from core.config import load_study, resolve_full, snapshot_text
    from tests.test_tui_app import REPO, open_run, table_rows

    snapshot = snapshot_text(resolve_full(load_study(REPO / "config.yaml"), "grpo_only", "local"))
    make_run(runs_dir, "grpo_only-a", "grpo_only", snapshot=snapshot)
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a")
        await pilot.press("5")
        table = screen.query_one("#config-table", DataTable)
        await wait_for(pilot, lambda: table.row_count > 20, what="the config")
        key_w, value_w, source_w = (c.get_render_width(table) for c in table.ordered_columns)
        assert key_w + value_w + source_w <= table.size.width  # "set by" on screen, not past the edge
        assert table.fixed_columns == 1
        total = table.row_count
        await pilot.press("slash", *"temperature")
        await wait_for(pilot, lambda: 0 < table.row_count < total, what="the rows narrowed")
        assert all("temperature" in " ".join(row).lower() for row in table_rows(table))
        await pilot.press("enter")  # keep the rows found, back in the table
        assert table.has_focus and table.row_count < total
        await pilot.press("escape")  # all rows again, and the run stays open
        await wait_for(pilot, lambda: table.row_count == total)
        assert app.screen is screen


async def test_sample_rewards_stay_on_one_line_at_80_columns(runs_dir):
    import io

    from rich.console import Console

    from core.store.jsonl import JsonlWriter
    from tests.test_tui_app import open_run

    run_dir = make_run(runs_dir, "grpo_only-a", "grpo_only")
    JsonlWriter(run_dir / "samples.jsonl").append(
        {
            "t": 1,
            "stage": "grpo",
            "step": 7,
            "prompt": "What is 2+2?",
            "completion": "The answer is \\boxed{4}",
            "answer": "4",
            "rewards": {"correctness": 0.0, "format": 1.0},
        }
    )
    app = app_for(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_run(pilot, app, "grpo_only-a")
        await pilot.press("3")
        body = screen.query_one("#sample-text")
        await wait_for(pilot, lambda: "step 7" in shown(body), what="the sample")
        console = Console(width=body.content_region.width, file=io.StringIO(), record=True)
        console.print(body.content)  # as wide as the pane shows it
        lines = console.export_text().splitlines()
        assert any("correctness 0" in line and "format 1" in line for line in lines), lines[:4]


async def test_a_problem_of_the_eval_journal_shows_its_question(runs_dir):
    import json

    from core.config import load_snapshot, load_study, resolve_full, snapshot_text
    from core.evaluation.benchmarks import load_benchmark
    from tests.test_tui_app import REPO, open_run

    snapshot = snapshot_text(resolve_full(load_study(REPO / "config.yaml"), "baseline", "local"))
    run_dir = make_run(runs_dir, "baseline-a", "baseline", snapshot=snapshot)
    rows = load_benchmark(load_snapshot(run_dir / "config.yaml"), "gsm8k_test").rows
    question = next(m["content"] for m in rows[3].prompt if m["role"] == "user")
    (run_dir / "eval").mkdir()
    with open(run_dir / "eval" / "gsm8k_test.jsonl", "w") as fh:
        fh.write(json.dumps({"type": "header"}) + "\n")
        for problem, gold in (("3", rows[3].answer), ("5", "not the gold of problem 5")):
            record = {"id": problem, "prompt_hash": "h", "gold": gold, "completions": ["x"], "extracted": ["1"]}
            fh.write(
                json.dumps({**record, "correct": [False], "rules": [None], "tokens": [1], "finish_reasons": ["stop"]})
            )
            fh.write("\n")
    app = app_for(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, app, "baseline-a")
        await pilot.press("4")
        journal = screen.query_one("#eval-journal", DataTable)
        await wait_for(pilot, lambda: journal.row_count == 2, what="the journal")
        journal.focus()
        journal.move_cursor(row=0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.query("#text-body Static"), what="problem 3")
        assert question[:60] in shown(app.screen.query_one("#text-body Static"))
        await pilot.press("escape")
        journal.move_cursor(row=1)
        await pilot.press("enter")  # a journal line the benchmark no longer matches: said, not guessed
        await wait_for(pilot, lambda: app.screen.query("#text-body Static"), what="problem 5")
        assert "no longer holds this problem" in shown(app.screen.query_one("#text-body Static"))


async def test_a_corrupt_line_in_the_system_readings_is_said_with_its_file(runs_dir):
    from tests.test_tui_app import open_run
    from tests.test_tui_system import write_system

    run_dir = make_run(runs_dir, "grpo_only-a", "grpo_only", metrics=10)
    write_system(run_dir, 30)
    with open(run_dir / "system.jsonl", "a") as fh:
        fh.write("{not json\n")
    app = app_for(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(pilot, app, "grpo_only-a")
        await wait_for(pilot, lambda: any("corrupt line in system.jsonl" in n for n in notices(app)))
        assert not any("metrics.jsonl" in n for n in notices(app))


async def test_a_run_screen_closed_before_its_first_paint_leaves_nothing_polled(runs_dir):
    """Its metrics are followed from its first paint on: closed sooner, none may be left behind."""
    make_run(runs_dir, "grpo_only-a", "grpo_only", metrics=20, log_lines=20)
    app = app_for(runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count == 1)
        before = app.poller.feeds
        await app.push_screen(RunDetailScreen(["grpo_only-a"]))
        await app.pop_screen()
        await pilot.pause(0.5)
        assert app.poller.feeds == before
        await pilot.press("enter")  # and opened for good, its metrics are followed
        await wait_for(pilot, lambda: len(app.poller.feeds) == len(before) + 4, what="the run's feeds")


async def test_a_tab_key_sent_with_the_enter_that_opens_a_run_goes_to_the_run(runs_dir):
    """m18 over a laggy link: enter and the tab key arrive in one burst, both already queued when
    the enter is handled; the key must act on the run's screen, not on the runs list behind it."""
    make_run(runs_dir, "grpo_only-a", "grpo_only", metrics=20, log_lines=20)
    app = app_for(runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count == 1)
        for key, character in (("enter", "\r"), ("2", "2")):
            app.post_message(events.Key(key, character))  # queued together, as the driver does
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and bool(app.screen.feeds))
        await pilot.pause(0.3)
        assert app.screen.query_one("TabbedContent").active == "log"


async def test_a_list_sorted_by_pass1_follows_scores_that_arrive_later(runs_dir):
    """Sorted by pass@1 before the scores were read (a store opened for the first time), the list
    reorders as they arrive instead of keeping the order of the runs without scores."""
    for n in range(3):
        make_run(runs_dir, f"grpo_only-{n}", "grpo_only", created=1_750_000_000 + n)
    app = app_for(runs_dir)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        await pilot.press(*"ssss")
        assert "sort: pass@1" in shown(app.screen.query_one("#runs-title"))
        for n, accuracy in enumerate((0.7, 0.2, 0.5)):
            write_summary(runs_dir / f"grpo_only-{n}", "gsm8k_test", accuracy=accuracy, pass4=0.9)
        await wait_for(pilot, lambda: [r["pass1"] for r in runs_rows(table)] == ["70.0", "50.0", "20.0"])


async def test_wide_and_control_characters_in_run_folders_keep_the_columns_aligned(runs_dir):
    """A copied run folder may be named anything: CJK and emoji take two cells, a tab or a control
    character is shown as '?', and the condition column starts at the same cell on every row."""
    names = ["测试运行-00", "weird-🚀-run", "tab\tname", "bell\x07x", "plain-run"]
    for n, name in enumerate(names):
        make_run(runs_dir, f"run-{n}", f"cond{n}", created=1_750_000_000 + n).rename(runs_dir / name)
    app = app_for(runs_dir)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == len(names))
        await pilot.pause(0.2)
        lines = [table.render_line(y).text for y in range(1, 1 + len(names))]
        starts = set()
        for line in lines:
            condition = next(f"cond{i}" for i in range(len(names)) if f"cond{i}" in line)
            starts.add(cell_len(line[: line.index(condition)]))
            assert "\t" not in line and "\x07" not in line
        assert len(starts) == 1, lines
        assert any("tab?name" in line for line in lines)


async def test_pass1_stays_on_screen_in_a_60_column_terminal(runs_dir):
    """Narrow terminals lose the stage and the trend, then the latest metric's name, before the
    score: with run ids as rdtui makes them and the study's longest condition name."""
    for n in range(30):  # a scrollbar too
        run_id = f"sft_then_grpo-20261201-1405{n:02d}-{n:04x}"  # shown as its 4-character tag
        run_dir = make_run(runs_dir, run_id, "sft_then_grpo", metrics=20, created=1_750_000_000 + n)
        write_summary(run_dir, "gsm8k_test", accuracy=0.5, pass4=0.6)
    app = app_for(runs_dir)
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 30)
        await wait_for(pilot, lambda: "50.0" in table.render_line(1).text, what="pass@1 on screen")
        assert "pass@1" in table.render_line(0).text and table.virtual_size.width <= table.size.width
        row = runs_rows(table)[0]
        assert row["run"] == "001d" and row["latest"] not in ("", "-") and "reward" not in row["latest"]
        await pilot.resize_terminal(100, 20)  # wide enough again: the metric is named
        await wait_for(pilot, lambda: runs_rows(table)[0]["latest"].startswith("reward "), what="reward named")


async def test_a_filter_typed_in_one_burst_with_its_slash_goes_into_the_filter_box(runs_dir):
    """The filter box is mounted when / is first pressed: the keys typed right after it, already
    queued when the / is handled, are the filter's text (an `l` among them is not the launch key)."""
    make_run(runs_dir, "grpo_only-a", "grpo_only", created=1_750_000_000)
    make_run(runs_dir, "sft_traces-b", "sft_traces", status="failed", created=1_750_000_100)
    app = app_for(runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        for key, character in (("slash", "/"), ("f", "f"), ("a", "a"), ("i", "i"), ("l", "l")):
            app.post_message(events.Key(key, character))  # queued together, as the driver does
        await wait_for(pilot, lambda: table.row_count == 1, what="the filtered list")
        await pilot.pause(0.2)
        assert app.screen.query_one("#runs-filter", Input).value == "fail"
        assert [r["condition"] for r in runs_rows(table)] == ["sft_traces"]
        assert len(app.screen_stack) == 1  # nothing launched
        await pilot.press("slash")  # in the box, a / is text
        assert app.screen.query_one("#runs-filter", Input).value == "fail/" and table.row_count == 0
        await pilot.press("escape")
        assert table.row_count == 2 and not app.screen.query_one("#runs-filter", Input).display


async def test_keys_typed_in_one_burst_after_the_filters_enter_or_escape_go_to_the_list(runs_dir):
    """enter (keep the filter) and esc (clear it) close the box at once: a key typed right after
    them, already queued, is the list's (s sorts), not more text for a box no longer shown."""
    make_run(runs_dir, "grpo_only-a", "grpo_only", created=1_750_000_000)
    make_run(runs_dir, "sft_traces-b", "sft_traces", status="failed", created=1_750_000_100)
    app = app_for(runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        screen, table = app.screen, app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        for key, character in (("slash", "/"), *((c, c) for c in "fail"), ("enter", "\r"), ("s", "s")):
            app.post_message(events.Key(key, character))  # queued together, as the driver does
        await wait_for(pilot, lambda: screen.sort_index == 1, what="the sort key after enter")
        await pilot.pause(0.2)
        box = screen.query_one("#runs-filter", Input)
        assert screen.filter_text == "fail" and box.value == "fail" and not box.display
        assert table.row_count == 1 and app.focused is table
        for key, character in (("slash", "/"), ("x", "x"), ("escape", "\x1b"), ("s", "s")):
            app.post_message(events.Key(key, character))
        await wait_for(pilot, lambda: screen.sort_index == 2, what="the sort key after esc")
        await pilot.pause(0.2)
        assert screen.filter_text == "" and box.value == "" and not box.display
        assert table.row_count == 2 and app.focused is table


async def test_the_key_bar_while_typing_a_filter_shows_what_enter_does_not_the_lists_letters(runs_dir):
    """In the filter box, s, l, space and / are text and enter keeps the filter: the key bar said
    `⏎ Open  space Select  / Filter  s Sort  l Launch` there. It shows them again on the list."""
    make_run(runs_dir, "grpo_only-a", "grpo_only", created=1_750_000_000)
    app = app_for(runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.query_one(DataTable).row_count == 1)
        bar = screen.query_one(KeysFooter)
        keys = lambda: [key.description for key in bar.query(FooterKey)]  # noqa: E731
        await wait_for(pilot, lambda: "Sort" in keys(), what="the list's keys")
        assert keys()[0] == "Open" and "Keep filter" not in keys()
        await pilot.press("slash", *"grpo")
        await wait_for(pilot, lambda: "Sort" not in keys(), what="the key bar of the filter box")
        assert keys() == ["Keep filter"]
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Sort" in keys(), what="the list's keys again")
        assert keys()[0] == "Open" and "Keep filter" not in keys() and screen.filter_text == "grpo"
