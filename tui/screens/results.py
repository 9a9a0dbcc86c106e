"""The study's headline table: core's one results table (core/reporting/results.py: the same columns
and numbers as `rdtui results` and the exports), with its paired differences; sortable, exportable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tui.config_edit import OVERRIDES_DIR
from tui.widgets.footer import KeysFooter
from tui.widgets.styles import plain

FORMATS = {".md": "md", ".csv": "csv", ".json": "json"}
LIVE_SECONDS = 2.0


def default_export(config_path: Path, name: str = "results.md") -> Path:
    """A file in .rdtui/exports beside config.yaml: git ignores .rdtui (see config_edit)."""
    return config_path.resolve().parent / OVERRIDES_DIR / "exports" / name


MISSING = "-"
_LEADING_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def cell_value(text: str) -> float | str | None:
    """What a cell sorts by: the number it starts with (`75.7 [70.1, 80.9] (N=300)` -> 75.7), else
    its text; None for a missing value."""
    if text == MISSING:
        return None
    number = _LEADING_NUMBER.match(text)
    return float(number.group()) if number else text


def sort_order(values: list[float | str | None], reverse: bool) -> list[int]:
    """Row order by one column: numbers by value, then text; missing values always last."""

    def key(i: int) -> tuple:
        value = values[i]
        return (0, value, "") if isinstance(value, float) else (1, 0, str(value))

    present = [i for i, v in enumerate(values) if v is not None]
    return sorted(present, key=key, reverse=reverse) + [i for i, v in enumerate(values) if v is None]


class ResultsScreen(Screen):
    HELP_TITLE = "Results"
    HELP_TEXT = (
        "One row per condition from its latest finished run (the base model row included), "
        "updated as runs finish. s sorts by the column under the cursor (again: reverse); x exports "
        "the table to a file you name (.md, .csv or .json), never overwriting one without asking; p writes "
        "the results figure (as rdtui plot results: .png, .svg or .pdf; needs matplotlib) the same way."
    )
    BINDINGS = [
        Binding("escape", "app.back", "Back"),
        Binding("s", "sort", "Sort by column"),
        Binding("x", "export", "Export…"),
        Binding("p", "plot", "Plot…"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Any] = []
        self.sorted_by: tuple[str, bool] | None = None

    def compose(self) -> ComposeResult:
        yield Static(" Results", classes="screen-title")
        yield Static("Collecting results…", classes="pane-status", id="results-status", markup=False)
        yield DataTable(id="results-table", cursor_type="cell", fixed_columns=1)  # condition stays in view
        yield Static("", id="paired-heading", markup=False)
        yield DataTable(id="paired-table", cursor_type="row", fixed_columns=2)
        yield KeysFooter()

    def on_mount(self) -> None:
        self._seen = self._store_state()
        self.collect()
        self.set_interval(LIVE_SECONDS, self._follow)

    def _store_state(self) -> tuple:
        """What the runs list knows of every run (status, score): when it changes, results may too."""
        screen = self.app.runs_screen()
        rows = screen.rows.values() if screen is not None else ()
        return tuple(sorted((row.record.id, row.status, row.pass1) for row in rows))

    def _follow(self) -> None:
        state = self._store_state()
        if state != self._seen:
            self._seen = state
            self.collect()

    @work(thread=True, exclusive=True)
    def collect(self) -> None:
        try:
            from core.reporting.results import collect_results
        except ImportError as exc:
            self.app.call_from_thread(
                self._status, f"Results are unavailable: core.reporting.results is missing ({exc})."
            )
            return
        try:
            rows = collect_results(self.app.store, self._study())
        except Exception as exc:
            self.app.call_from_thread(self._status, f"Cannot collect results: {exc}")
            return
        self.app.call_from_thread(self._fill, rows)

    def _study(self):
        """The study orders the rows and adds conditions without results; a broken config only loses that."""
        from core.config import load_study
        from core.errors import RdtuiError

        try:
            return load_study(self.app.config_path)
        except RdtuiError:
            return None

    def _status(self, text: str) -> None:
        self.query_one("#results-status", Static).update(text)

    def _fill(self, rows: list[Any]) -> None:
        from core.reporting.results import PAIRED_HEADING, paired_table, results_table

        self.rows = rows
        self.query_one("#paired-heading", Static).update(f" {PAIRED_HEADING}")
        table = self.query_one("#results-table", DataTable)
        where = table.cursor_coordinate
        cells, columns = results_table(rows)
        self._show_table(table, cells, columns)
        table.move_cursor(row=where.row, column=where.column)
        pair_cells, pair_columns = paired_table(rows)
        self._show_table(self.query_one("#paired-table", DataTable), pair_cells, pair_columns)
        for widget in (self.query_one("#paired-heading"), self.query_one("#paired-table")):
            widget.display = bool(pair_cells)
        self._status(
            f"{len(rows)} row(s) from {self.app.store.root} · live · s sort · x export · p plot"
            if rows
            else f"No finished runs in {self.app.store.root} yet."
        )

    @staticmethod
    def _show_table(table: DataTable, cells: list[dict[str, str]], columns: list[str]) -> None:
        table.clear(columns=True)
        for name in columns:
            table.add_column(name, key=name)
        for n, row in enumerate(cells):
            table.add_row(*(plain(row.get(c, MISSING)) for c in columns), key=str(n))

    def action_sort(self) -> None:
        from core.reporting.results import results_table

        table = self.query_one("#results-table", DataTable)
        if not table.row_count:
            return
        where = table.cursor_coordinate
        column = table.coordinate_to_cell_key(where).column_key.value
        reverse = self.sorted_by == (column, False)
        self.sorted_by = (column, reverse)
        cells = results_table(self.rows)[0]
        order = sort_order([cell_value(c.get(column, MISSING)) for c in cells], reverse)
        self._fill([self.rows[i] for i in order])
        table.move_cursor(column=where.column)

    def action_export(self) -> None:
        if not self.rows:
            self.notify("Nothing to export yet.", severity="warning")
            return
        from tui.screens.dialogs import choose_output_file

        choose_output_file(
            self.app,
            "Export results to (.md, .csv or .json):",
            default_export(Path(self.app.config_path)),
            tuple(FORMATS),
            lambda path: self._write_export(path, FORMATS[path.suffix.lower()]),
        )

    def action_plot(self) -> None:
        """The results figure (rdtui plot results) of the rows shown, to a file you name."""
        run_ids = [row.run_id for row in self.rows if row.run_id]
        if not run_ids:
            self.notify("Nothing to plot yet: no condition has a finished evaluation.", severity="warning")
            return
        from tui.figures import plot_to_chosen_file

        plot_to_chosen_file(self.app, "results", run_ids, default_export(Path(self.app.config_path), "results.png"))

    def _write_export(self, path: Path, fmt: str) -> None:
        from core.reporting.results import render_results
        from tui.config_edit import ignore_overrides_dir

        try:
            ignore_overrides_dir(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render_results(self.rows, fmt), encoding="utf-8")
        except OSError as exc:
            self.notify(f"{path}: cannot write ({exc.strerror or exc})", severity="error", markup=False)
            return
        self.notify(f"Wrote {path}", markup=False, timeout=10)
