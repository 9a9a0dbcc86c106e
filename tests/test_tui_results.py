"""The Results screen shows core's one results table: the same columns, order and numbers as
`rdtui results` and the exports, its paired differences included."""

from __future__ import annotations

from textual.widgets import DataTable

from core.store.runstore import RunStore
from tests.conftest import rdtui
from tests.test_results import finished_run
from tests.test_tui_app import app_for, table_rows
from tests.test_tui_support import wait_for


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Each Markdown table in the text as rows of cells, header first (the rule line dropped)."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        if current is None:
            current = []
            tables.append(current)
        if not line.startswith("|---"):
            current.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return tables


def shown_table(table: DataTable) -> list[list[str]]:
    return [[str(column.label) for column in table.columns.values()], *table_rows(table)]


async def test_results_screen_shows_the_cli_table_cell_for_cell(runs_dir):
    store = RunStore(runs_dir)
    finished_run(store, "base_model", 5, samples=4)
    finished_run(store, "sft_traces", 12, samples=4)
    finished_run(store, "grpo_only", 16, samples=4, first=2)
    cli = rdtui("--runs-dir", str(runs_dir), "results", "--format", "md")
    assert cli.returncode == 0, cli.stderr
    main, paired = markdown_tables(cli.stdout)
    assert main[0][:3] == ["condition", "run", "synth_test"] and "synth_test pass@4" in main[0]
    assert len(paired) > 1  # the three conditions answered the same problems

    app = app_for(runs_dir)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count == 3, what="the runs")
        await pilot.press("t")
        screen = app.screen
        await wait_for(pilot, lambda: screen.rows, what="results rows")
        results = screen.query_one("#results-table", DataTable)
        pairs = screen.query_one("#paired-table", DataTable)
        assert shown_table(results) == main
        assert shown_table(pairs) == paired
        assert pairs.display

        column = list(results.columns).index("synth_test")
        results.move_cursor(column=column)
        await pilot.press("s", "s")  # by accuracy, best first: the number each cell starts with
        accuracies = [float(row[column].split()[0]) for row in table_rows(results) if row[column] != "-"]
        assert accuracies == sorted(accuracies, reverse=True) and accuracies[0] == 80.0
        assert table_rows(results)[-1][column] == "-"  # conditions without results stay last
