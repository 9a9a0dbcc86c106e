"""Home: every run with its status, progress, latest reward or loss and pass@1, live."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import work
from textual._two_way_dict import TwoWayDict
from textual.app import ComposeResult
from textual.binding import Binding
from textual.geometry import Size
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from core.store.runstore import FINISHED
from tui.feeds.rowcache import RowCache
from tui.feeds.runs import RunRow, RunsBatch, RunsFeed
from tui.runs_table import LABELS, SELECTED, Layout, cell, measure, plan_layout, row_cells
from tui.widgets.footer import KeysFooter
from tui.widgets.linetable import LineTable

SORTS = [
    ("newest", lambda row: -row.record.created_at),
    ("condition", lambda row: (row.record.condition, -row.record.created_at)),
    ("status", lambda row: (row.status, -row.record.created_at)),
    ("latest", lambda row: -(row.latest if row.latest is not None else float("-inf"))),
    ("pass@1", lambda row: -(row.pass1 if row.pass1 is not None else float("-inf"))),
]


LIVE_SORTS = ("status", "latest", "pass@1")  # orders that change as runs progress
PENDING_AFTER_S = 1.0
FILTER_HINT = "filter runs by id, condition, status, profile, backend or stage; esc clears"


class RunsTable(LineTable):
    """The runs table: home/end and g/G move the cursor to the first and last run (a row table has
    no columns to jump between), and rows are reordered in place by run."""

    BINDINGS = [
        Binding("home,g", "scroll_top", "First run", show=False),
        Binding("end,G", "scroll_bottom", "Last run", show=False),
    ]

    def action_select_cursor(self) -> None:
        """enter opens the run at once. Through DataTable's posted RowSelected, a key sent in the
        same burst (over a laggy link) was handled by this list before the run's screen was up (m18)."""
        screen = self.screen
        if isinstance(screen, RunsScreen):
            screen.action_open()

    # Every column has a set width (runs_table.plan_layout) and every row is one line, so there is
    # nothing to measure. DataTable measures each cell of each new row, and re-measures a whole
    # column whenever an updated cell got narrower: with a thousand runs that was most of the first
    # paint, and filling in pass@1 cost a column re-measure per run.
    def _update_dimensions(self, new_rows: Any) -> None:
        self._new_rows.clear()
        width = sum(column.get_render_width(self) for column in self.columns.values())
        self.virtual_size = Size(width, self._total_row_height + (self.header_height if self.show_header else 0))

    def _update_column_widths(self, updated_cells: Any) -> None:
        return

    def order_rows(self, key: Callable[[str], Any]) -> None:
        """Reorder the rows by a key of their run id, without rebuilding them: DataTable.sort
        hands its key the cells only, and rebuilding a thousand rows took most of a second."""
        ordered = sorted(self._data, key=lambda row_key: key(row_key.value))
        self._row_locations = TwoWayDict({row_key: index for index, row_key in enumerate(ordered)})
        # Only the caches of what sits where are dropped; the cells' renderings (cached by run and
        # column) stay valid, so a sort repaints without rendering any cell again.
        for cache in (
            self._row_render_cache,
            self._row_renderable_cache,
            self._line_cache,
            self._offset_cache,
            self._ordered_row_cache,
        ):
            cache.clear()
        self.refresh()


class RunsScreen(Screen):
    HELP_TITLE = "Runs"
    HELP_TEXT = (
        "Every run in the store, live. Select several with space and press enter to overlay "
        "their curves. Runs launched elsewhere (the command line, Modal) appear here too."
    )
    BINDINGS = [
        Binding("enter", "open", "Open", show=True),
        Binding("space", "toggle_select", "Select"),
        # Priority: handled as the app reads it, so the keys typed in the same burst (a filter's
        # text) are read after the box has focus and go into it, not to the list (where an `l`
        # launched).
        Binding("slash", "filter", "Filter", priority=True),
        Binding("s", "sort", "Sort"),
        Binding("l", "launch", "Launch"),
        Binding("c", "cancel", "Cancel"),
        Binding("r", "resume", "Resume"),
        Binding("e", "config", "Config editor"),
        Binding("t", "results", "Results"),
        # Priority too, for the same reason: the keys typed right after them are the list's (an s
        # sorts), not more text for a box no longer shown. Both stand aside when the box is closed.
        Binding("enter", "close_filter", "Keep filter", priority=True),  # shown only in the box
        Binding("escape", "clear", "Clear filter", show=False, priority=True),
    ]

    # What the list shows: the sort (s) and the filter typed after / ; each change refills or
    # reorders the table through its watcher.
    sort_index: reactive[int] = reactive(0, init=False, repaint=False)
    filter_text: reactive[str] = reactive("", init=False, repaint=False)

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, RunRow] = {}
        self.shown: dict[str, dict] = {}  # run id -> the cells on screen, to update only what changed
        self.table_layout: Layout | None = None
        self.measured: dict[str, int] | None = None  # widest content per column (runs_table.measure)
        self.selected: set[str] = set()
        self.feed: RunsFeed | None = None
        self.painted = False  # whether the first batch of runs has been applied
        self.pending: dict[str, None] = {}  # runs of the first fill not in the table yet (_fill)
        self.wanted: str | None = None  # a run to put the cursor on once it shows up

    def compose(self) -> ComposeResult:
        yield Static(id="runs-title")
        yield RunsTable(id="runs", cursor_type="row", zebra_stripes=False, cell_padding=0)
        yield Static(id="runs-empty")
        yield KeysFooter()  # the filter box goes above it when first asked for (_filter_box)

    def on_mount(self) -> None:
        root = self.app.store.root
        # The first poll scores the runs a terminal this tall shows (its height bounds them).
        feed = RunsFeed(root, self.apply, cache=RowCache(root, RunRow), first_screen=max(1, self.app.size.height))
        self.feed = self.app.poller.add(feed, poll_now=True)
        self.app.flush_feeds()  # the runs, in the first paint
        if self.table_layout is None:  # nothing to read (or it could not be read): the columns still
            self._relayout()
        self._update_title()

    def on_unmount(self) -> None:
        if self.feed is not None:
            self.app.poller.remove(self.feed)

    def on_resize(self) -> None:
        self._relayout()

    def on_screen_resume(self) -> None:
        self._relayout()  # the terminal may have been resized under another screen

    # ---- data ----
    def apply(self, batch: RunsBatch) -> None:
        records_changed = bool(batch.removed) or any(
            run_id not in self.rows or self.rows[run_id].record != row.record for run_id, row in batch.rows.items()
        )
        for run_id in batch.removed:
            self.rows.pop(run_id, None)
            self.selected.discard(run_id)
        self.rows.update(batch.rows)
        if records_changed:
            self.measured = None  # the columns' content is measured again
        first = not self.painted
        self.painted = True
        if not (records_changed and self._relayout(first=first)):
            self._apply_rows(batch)
        self._update_title()
        if first:
            self.call_after_refresh(self._read_scores)
            self.set_timer(PENDING_AFTER_S, self._read_scores)  # if covered before its first paint
        if self.pending and any(r.metric is not None or r.pass1 is not None for r in batch.rows.values()):
            # The first scores are painted (read now, or kept from the last session): now the rest.
            self.call_after_refresh(self._add_pending)

    def _read_scores(self) -> None:
        """The rows are on screen: now the feed reads every run's metrics and scores (see RunsFeed)."""
        if self.feed is not None and not self.feed.scores_wanted:
            self.feed.scores_wanted = True
            self.app.poller.poke()

    def _apply_rows(self, batch: RunsBatch) -> None:
        """Update only the rows and cells the batch changed."""
        table = self.query_one(DataTable)
        for run_id in batch.removed:
            self.shown.pop(run_id, None)
            if run_id in table.rows:
                table.remove_row(run_id)
        new_rows, updated = [], False
        for run_id, row in batch.rows.items():
            if not self._passes(row):
                if run_id in table.rows:
                    table.remove_row(run_id)
                continue
            if run_id not in table.rows:
                if run_id not in self.pending:  # those are added in order, with this data
                    new_rows.append(row)
                continue
            cells, old = self._cells(row), self.shown.get(run_id, {})
            for key, value in cells.items():
                if old.get(key) != value:
                    table.update_cell(run_id, key, value)
                    updated = True
            self.shown[run_id] = cells
        if table.row_count == 0 and new_rows:
            self._fill(new_rows)
        elif new_rows:
            current = self.cursor_run_id()
            for row in new_rows:
                self._add_row(row)
            self._order(current)  # a new run goes to its sorted place (the top, for newest)
        elif updated and SORTS[self.sort_index][0] in LIVE_SORTS:
            self._order(self.cursor_run_id())  # a score or status that changed moves its run
        self._select_wanted()

    def _order(self, keep: str | None) -> None:
        """Rows in the current sort order; the cursor stays on run `keep`."""
        table = self.query_one(RunsTable)
        key = SORTS[self.sort_index][1]
        rows = self.rows
        table.order_rows(lambda run_id: key(rows[run_id]))
        if keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep))

    def select_when_shown(self, run_id: str) -> None:
        """Put the cursor on a run as soon as it is in the table (one just launched)."""
        self.wanted = run_id
        self._select_wanted()

    def _select_wanted(self) -> None:
        table = self.query_one(RunsTable)
        if self.wanted is not None and self.wanted in table.rows:
            table.move_cursor(row=table.get_row_index(self.wanted), scroll=True)
            self.wanted = None

    def _relayout(self, *, first: bool = False) -> bool:
        """Fit the columns to the terminal's width and the runs; rebuild the table if they change."""
        table = self.query_one(DataTable)
        width = self.app.size.width - table.styles.scrollbar_size_vertical
        if self.measured is None:
            self.measured = measure(row.record for row in self.rows.values())
        layout = plan_layout(width, self.measured)
        if layout == self.table_layout:
            return False
        self.table_layout = layout
        self._fill(list(self.rows.values()), new_columns=True, staged=first)
        return True

    def _cells(self, row: RunRow) -> dict:
        """The cells of the columns on screen, by column key."""
        cells = row_cells(row, self.table_layout.plan, row.record.id in self.selected)
        return {key: cells[key] for key, _ in self.table_layout.columns}

    def _add_row(self, row: RunRow) -> None:
        cells = self.shown[row.record.id] = self._cells(row)
        self.query_one(DataTable).add_row(*cells.values(), key=row.record.id)

    def _passes(self, row: RunRow) -> bool:
        if not self.filter_text:
            return True
        record = row.record
        hay = f"{record.id} {record.condition} {row.status} {record.profile} {record.backend} {record.stage or ''}"
        return all(word in hay.lower() for word in self.filter_text.lower().split())

    def _fill(self, rows: list[RunRow], *, new_columns: bool = False, staged: bool = False) -> None:
        """(Re)build the table in the current sort order, keeping the cursor on the same run.

        `staged` (the first fill): only a screenful of rows goes in before the first paint, the
        rest right after it; DataTable spends ~0.1 ms per row added, 0.1 s for a thousand runs.
        """
        table = self.query_one(DataTable)
        current = self.cursor_run_id()
        key = SORTS[self.sort_index][1]
        rows = sorted((r for r in rows if self._passes(r)), key=key)
        table.clear(columns=new_columns)
        if new_columns:
            for column, width in self.table_layout.columns:
                table.add_column(Text(LABELS[column]), key=column, width=width)  # Text: no markup to parse
        self.shown = {}
        cut = self.app.size.height if staged else len(rows)
        self.pending = dict.fromkeys(r.record.id for r in rows[cut:])
        for r in rows[:cut]:
            self._add_row(r)
        if self.pending:
            # The other rows go in once the first scores are on screen (see apply), or after a
            # second at the latest: adding them at once kept the run count and the scores of the
            # rows on screen off it for as long as that took.
            self.set_timer(PENDING_AFTER_S, self._add_pending)
        if current in table.rows:
            table.move_cursor(row=table.get_row_index(current))
        self._update_title()

    def _add_pending(self) -> None:
        """The rest of a staged fill, as the runs are now (a later fill may have taken them in)."""
        table = self.query_one(DataTable)
        pending, self.pending = self.pending, {}
        for run_id in pending:
            row = self.rows.get(run_id)
            if row is not None and run_id not in table.rows and self._passes(row):
                self._add_row(row)
        self._select_wanted()

    def _update_title(self) -> None:
        table = self.query_one(DataTable)
        name = SORTS[self.sort_index][0]
        shown, total = table.row_count, len(self.rows)
        runs = "run" if total == 1 else "runs"
        counts = f"{shown} of {total} {runs}" if self.filter_text else f"{total} {runs}"
        active = sum(1 for r in self.rows.values() if r.status in ("running", "queued"))
        filt = f" · filter: {self.filter_text!r}" if self.filter_text else ""
        sel = f" · {len(self.selected)} selected" if self.selected else ""
        # One line whatever it says (app.tcss): a repaint, not a layout. Asking for a layout here
        # left the title unpainted until some later frame (the first paint with a thousand runs
        # showed their rows two seconds before the count above them).
        self.query_one("#runs-title", Static).update(
            Text(f" rdtui · {self.app.store.root} · {counts} ({active} active) · sort: {name}{filt}{sel}"),
            layout=False,
        )
        empty = self.query_one("#runs-empty", Static)
        if total == 0 and self.feed is not None and self.feed.polled_once:
            empty.update(
                f"No runs in {self.app.store.root}. Press l to launch conditions, "
                "or run `rdtui run CONDITION` in a shell."
            )
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
        mark = self.shown[run_id]["sel"] = cell(SELECTED if run_id in self.selected else " ")
        table.update_cell(run_id, "sel", mark)
        table.action_cursor_down()
        self._update_title()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        typing = self.focused is not None and self.focused is self._filter_box()
        if action in ("filter", "open"):
            return not typing  # in the box a / is text and enter keeps the filter (priority bindings)
        if action == "close_filter":
            return typing
        if action == "clear":
            box = self._filter_box()
            return bool(self.filter_text) or (box is not None and box.display)
        return True

    async def action_filter(self) -> None:
        box = self._filter_box()
        if box is None:
            # Mounted when first asked for: an Input composed with the screen cost the first paint
            # its stylesheet and styles (a twentieth of it), for a box most sessions never open.
            box = Input(placeholder=FILTER_HINT, id="runs-filter")
            await self.mount(box, before=self.query_one(KeysFooter))
        box.display = True
        self.set_focus(box)  # now, not deferred: keys already queued behind the / are its text

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "runs-filter":
            self.filter_text = event.value.strip()

    def watch_filter_text(self) -> None:
        self._fill(list(self.rows.values()))

    def action_close_filter(self) -> None:
        """enter in the filter box: the filter stays, the list has the keys from now on."""
        box = self._filter_box()
        if box is not None:
            box.display = False
        self.set_focus(self.query_one(DataTable))  # now, not deferred: keys queued behind it are the list's

    def _filter_box(self) -> Input | None:
        """The filter box, once it has been opened."""
        found = self.query("#runs-filter")
        return found.only_one(Input) if found else None

    def action_clear(self) -> None:
        """esc, when there is a filter or an open box to clear (check_action)."""
        box = self._filter_box()
        if box is not None:
            box.value = ""
            box.display = False
            # Keys typed just before the esc may still wait in the box's own queue: it is
            # emptied again after them, or their text would be the filter.
            box.call_later(setattr, box, "value", "")
        self.filter_text = ""
        self.set_focus(self.query_one(DataTable))

    def action_sort(self) -> None:
        self.sort_index += 1

    def validate_sort_index(self, index: int) -> int:
        return index % len(SORTS)

    def watch_sort_index(self) -> None:
        if self.pending:
            self._fill(list(self.rows.values()))
        else:
            self._order(self.cursor_run_id())
        self._update_title()

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
            self.notify(
                f"Only a failed, cancelled or lost run can be resumed; {run_id} is {row.status}.", severity="warning"
            )
            return
        from tui.screens.dialogs import ConfirmScreen

        question = (
            f"Cancel {run_id}? Its process and children are stopped; checkpoints stay."
            if what == "cancel"
            else f"Resume {run_id} from its last checkpoint?"
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_control(what, run_id)

        self.app.push_screen(ConfirmScreen(question), answered)

    @work(thread=True, exclusive=False)
    def run_control(self, what: str, run_id: str) -> None:
        try:
            from core.execution import launch
        except ImportError as exc:
            self.app.call_from_thread(
                self.notify, f"Cannot {what}: core.execution.launch is unavailable ({exc}).", severity="error"
            )
            return
        try:
            (launch.cancel_run if what == "cancel" else launch.resume_run)(self.app.store, run_id)
        except Exception as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.app.call_from_thread(self.notify, f"{what} {run_id} failed: {message}", severity="error", markup=False)
            return
        self.app.call_from_thread(
            self.notify, f"{'Cancelled' if what == 'cancel' else 'Resumed'} {run_id}.", markup=False
        )
        self.app.poller.poke()
