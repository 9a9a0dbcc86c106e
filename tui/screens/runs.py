"""Home: every run with its status, progress, latest reward or loss and pass@1, live."""

from __future__ import annotations

import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from core.runstore import FINISHED, Run
from core.runview import run_summary
from tui.feeds import RunRow, RunsBatch, RunsFeed
from tui.widgets.styles import sparkline, status_text

COLUMNS = [("sel", " "), ("run", "run"), ("condition", "condition"), ("where", "profile/backend"),
           ("status", "status"), ("stage", "stage"), ("progress", "progress"), ("eta", "ETA"),
           ("latest", "latest"), ("trend", "trend"), ("pass1", "pass@1")]
SORTS = [
    ("newest", lambda row: -row.record.created_at),
    ("condition", lambda row: (row.record.condition, -row.record.created_at)),
    ("status", lambda row: (row.status, -row.record.created_at)),
    ("latest", lambda row: -(row.latest if row.latest is not None else float("-inf"))),
    ("pass@1", lambda row: -(row.pass1 if row.pass1 is not None else float("-inf"))),
]


def short_id(record) -> str:
    prefix = f"{record.condition}-"
    return record.id[len(prefix):] if record.id.startswith(prefix) else record.id


def format_score(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.1f}" if value <= 1 else f"{value:.1f}"


class RunsScreen(Screen):
    HELP_TITLE = "Runs"
    HELP_TEXT = ("Every run in the store, live. Select several with space and press enter to overlay "
                 "their curves. Runs launched elsewhere (the command line, Modal) appear here too.")
    BINDINGS = [
        Binding("enter", "open", "Open", show=True),
        Binding("space", "toggle_select", "Select"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("l", "launch", "Launch"),
        Binding("c", "cancel", "Cancel run"),
        Binding("r", "resume", "Resume run"),
        Binding("e", "config", "Config"),
        Binding("t", "results", "Results"),
        Binding("escape", "clear", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, RunRow] = {}
        self.shown: dict[str, list] = {}        # run id -> the cells on screen, to update only what changed
        self.selected: set[str] = set()
        self.sort_index = 0
        self.filter_text = ""
        self.feed: RunsFeed | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="runs-title")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=False)
        yield Static(id="runs-empty")
        yield Input(placeholder="filter runs (id, condition, status, profile); esc clears", id="runs-filter")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.query_one("#runs-filter").display = False
        self._update_title()
        self.feed = self.app.poller.add(RunsFeed(self.app.store.root, self.apply))

    def on_unmount(self) -> None:
        if self.feed is not None:
            self.app.poller.remove(self.feed)

    # ---- data ----
    def apply(self, batch: RunsBatch) -> None:
        table = self.query_one(DataTable)
        now = time.time()
        for run_id in batch.removed:
            self.rows.pop(run_id, None)
            self.shown.pop(run_id, None)
            self.selected.discard(run_id)
            if run_id in table.rows:
                table.remove_row(run_id)
        new_rows = []
        for run_id, row in batch.rows.items():
            self.rows[run_id] = row
            if not self._passes(row):
                if run_id in table.rows:
                    table.remove_row(run_id)
                continue
            cells = self._cells(row, now)
            if run_id in table.rows:
                old = self.shown.get(run_id, [])
                for n, ((key, _), value) in enumerate(zip(COLUMNS, cells)):
                    if n >= len(old) or old[n] != value:
                        table.update_cell(run_id, key, value)
                self.shown[run_id] = cells
            else:
                new_rows.append((run_id, cells))
        if new_rows:
            if table.row_count == 0:
                self._fill([self.rows[run_id] for run_id, _ in new_rows])
            else:
                for run_id, cells in new_rows:
                    table.add_row(*cells, key=run_id)
                    self.shown[run_id] = cells
        self._update_title()

    def _cells(self, row: RunRow, now: float) -> list:
        record = row.record
        summary = run_summary(Run(self.app.store.root / record.id, record), now)
        latest = f"{row.metric} {row.latest:.4g}" if row.latest is not None else "-"
        return [
            "●" if record.id in self.selected else " ",
            short_id(record),
            record.condition,
            f"{record.profile}/{record.backend}",
            status_text(row.status),
            summary["stage"] or "-",
            summary["progress"],
            summary["eta"],
            latest,
            sparkline(row.spark),
            format_score(row.pass1),
        ]

    def _passes(self, row: RunRow) -> bool:
        if not self.filter_text:
            return True
        record = row.record
        hay = f"{record.id} {record.condition} {row.status} {record.profile} {record.backend} {record.stage or ''}"
        return all(word in hay.lower() for word in self.filter_text.lower().split())

    def _fill(self, rows: list[RunRow]) -> None:
        """(Re)build the table in the current sort order, keeping the cursor on the same run."""
        table = self.query_one(DataTable)
        current = self.cursor_run_id()
        key = SORTS[self.sort_index][1]
        rows = sorted((r for r in rows if self._passes(r)), key=key)
        now = time.time()
        table.clear()
        self.shown = {}
        for r in rows:
            cells = self.shown[r.record.id] = self._cells(r, now)
            table.add_row(*cells, key=r.record.id)
        if current in table.rows:
            table.move_cursor(row=table.get_row_index(current))
        self._update_title()

    def _update_title(self) -> None:
        table = self.query_one(DataTable)
        name = SORTS[self.sort_index][0]
        shown, total = table.row_count, len(self.rows)
        counts = f"{shown} of {total} runs" if self.filter_text else f"{total} runs"
        active = sum(1 for r in self.rows.values() if r.status in ("running", "queued"))
        filt = f" · filter: {self.filter_text!r}" if self.filter_text else ""
        sel = f" · {len(self.selected)} selected" if self.selected else ""
        self.query_one("#runs-title", Static).update(
            Text(f" rdtui · {self.app.store.root} · {counts} ({active} active) · sort: {name}{filt}{sel}"))
        empty = self.query_one("#runs-empty", Static)
        if total == 0 and self.feed is not None and self.feed.polled_once:
            empty.update(f"No runs in {self.app.store.root}. Press l to launch conditions, "
                         "or run `rdtui run CONDITION` in a shell.")
            empty.display = True
        elif shown == 0 and total:
            empty.update("No run matches the filter (esc clears it).")
            empty.display = True
        else:
            empty.display = False

    def cursor_run_id(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            return None

    # ---- actions ----
    def action_open(self) -> None:
        run_id = self.cursor_run_id()
        if run_id is None:
            return
        from tui.screens.run_detail import RunDetailScreen

        others = sorted(self.selected - {run_id}, key=lambda r: self.rows[r].record.created_at)
        self.app.push_screen(RunDetailScreen([run_id, *others]))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_toggle_select(self) -> None:
        run_id = self.cursor_run_id()
        if run_id is None:
            return
        self.selected ^= {run_id}
        table = self.query_one(DataTable)
        mark = self.shown[run_id][0] = "●" if run_id in self.selected else " "
        table.update_cell(run_id, "sel", mark)
        table.action_cursor_down()
        self._update_title()

    def action_filter(self) -> None:
        box = self.query_one("#runs-filter", Input)
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "runs-filter":
            self.filter_text = event.value.strip()
            self._fill(list(self.rows.values()))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "runs-filter":
            event.input.display = False
            self.query_one(DataTable).focus()

    def action_clear(self) -> None:
        box = self.query_one("#runs-filter", Input)
        if box.display or self.filter_text:
            box.value = ""
            box.display = False
            self.filter_text = ""
            self._fill(list(self.rows.values()))
            self.query_one(DataTable).focus()

    def action_sort(self) -> None:
        self.sort_index = (self.sort_index + 1) % len(SORTS)
        self._fill(list(self.rows.values()))

    def action_launch(self) -> None:
        self.app.open_launch()

    def action_config(self) -> None:
        self.app.open_config_editor()

    def action_results(self) -> None:
        self.app.open_results()

    def action_cancel(self) -> None:
        self._control("cancel")

    def action_resume(self) -> None:
        self._control("resume")

    def _control(self, what: str) -> None:
        run_id = self.cursor_run_id()
        if run_id is None:
            return
        row = self.rows[run_id]
        if what == "cancel" and row.status in FINISHED:
            self.notify(f"{run_id} is already {row.status}.", severity="warning")
            return
        if what == "resume" and row.status not in ("failed", "cancelled", "lost"):
            self.notify(f"Only a failed, cancelled or lost run can be resumed; {run_id} is {row.status}.",
                        severity="warning")
            return
        from tui.screens.dialogs import ConfirmScreen

        question = (f"Cancel {run_id}? Its process and children are stopped; checkpoints stay."
                    if what == "cancel" else f"Resume {run_id} from its last checkpoint?")

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_control(what, run_id)

        self.app.push_screen(ConfirmScreen(question), answered)

    @work(thread=True, exclusive=False)
    def run_control(self, what: str, run_id: str) -> None:
        try:
            from core import launch
        except ImportError as exc:
            self.app.call_from_thread(self.notify, f"Cannot {what}: core.launch is unavailable ({exc}).",
                                      severity="error")
            return
        try:
            (launch.cancel_run if what == "cancel" else launch.resume_run)(self.app.store, run_id)
        except Exception as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.app.call_from_thread(self.notify, f"{what} {run_id} failed: {message}", severity="error",
                                      markup=False)
            return
        self.app.call_from_thread(self.notify, f"{'Cancelled' if what == 'cancel' else 'Resumed'} {run_id}.",
                                  markup=False)
        self.app.poller.poke()
