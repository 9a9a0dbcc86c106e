"""The runs and results tables draw one-line cells themselves (tui.widgets.linetable): every line
they paint must be what Textual's DataTable paints for the same rows, character by character and
style by style, with the cursor, a frozen column, the header and text too long for its column."""

from __future__ import annotations

from rich.text import Text
from textual.app import App
from textual.widgets import DataTable

from tui.widgets.linetable import LineTable
from tui.widgets.styles import plain, status_text

ROWS = [
    [plain("grpo_only-20261201-140515-e0fb"), status_text("running"), plain("reward 0.8123"), plain("▁▂▃▅▇█")],
    [plain("sft_traces-b"), status_text("failed"), plain("-"), plain("●")],
    [plain("a name far too long for its column"), status_text("succeeded"), plain("loss 1.2"), plain("")],
    [Text("cut short with an ellipsis", overflow="ellipsis"), status_text("lost"), plain("x"), plain("y")],
    ["[b]markup[/b]", Text("right", justify="right"), Text("two\nlines"), Text("tab\there")],
    [plain("wide 漢字漢字漢字漢字"), status_text("corrupt"), plain("1.0"), plain("2.0")],
]


def styled_cells(table: DataTable) -> list[list[tuple[str, object]]]:
    """Every painted line as (character, style) pairs: the same picture whatever the segments."""
    lines = []
    for y in range(table.size.height):
        cells = []
        for segment in table.render_line(y):
            cells += [(char, segment.style) for char in segment.text]
        lines.append(cells)
    return lines


class Tables(App):
    CSS = "DataTable { height: 8; width: 60; }"

    def __init__(self, cursor_row: int, fixed_columns: int, cell_padding: int) -> None:
        super().__init__()
        self.options = dict(cursor_type="row", fixed_columns=fixed_columns, cell_padding=cell_padding)
        self.cursor_row = cursor_row

    def compose(self):
        yield DataTable(id="textual", **self.options)
        yield LineTable(id="ours", **self.options)

    def on_mount(self) -> None:
        for table in self.query(DataTable):
            for label, width in (("run", 16), ("status", 9), ("latest", 13), ("trend", 8)):
                table.add_column(Text(label), key=label, width=width)
            for n, row in enumerate(ROWS):
                table.add_row(*row, key=str(n))
            table.move_cursor(row=self.cursor_row)


async def test_line_table_paints_what_data_table_paints():
    for cursor_row, fixed_columns, cell_padding in ((0, 0, 0), (2, 1, 1), (4, 0, 1), (5, 1, 0)):
        app = Tables(cursor_row, fixed_columns, cell_padding)
        async with app.run_test(size=(130, 20)) as pilot:
            await pilot.pause()
            textual, ours = app.query_one("#textual", DataTable), app.query_one("#ours", DataTable)
            textual.focus()  # each drawn focused (the cursor's colours depend on focus)
            await pilot.pause()
            want = styled_cells(textual)
            ours.focus()
            await pilot.pause()
            got = styled_cells(ours)
            assert len(got) == len(want) and any(want)
            for y, (line_got, line_want) in enumerate(zip(got, want, strict=True)):
                assert line_got == line_want, (cursor_row, fixed_columns, cell_padding, y)


async def test_line_table_draws_plain_cells_without_rich_rendering():
    """The fast path is taken for the cells rdtui shows (a test of the test above: were every cell
    handed back to DataTable's renderer, the pictures would match trivially)."""
    app = Tables(0, 0, 0)
    async with app.run_test(size=(130, 20)) as pilot:
        await pilot.pause()
        ours = app.query_one("#ours", LineTable)
        handled = [ours._one_line_cell(row, column) is not None for row in range(len(ROWS)) for column in range(4)]
        assert all(handled[:12])  # the first three rows: one-line cells in one style
        assert not any(handled[17:20])  # markup, right-justified, two lines, a tab
        # A row of such cells is drawn whole, never cell by cell through _render_cell: only the
        # cell cut with an ellipsis (row 3) and the row with markup and the like (row 4) are.
        cells_rendered = []
        render_cell = ours._render_cell
        ours._render_cell = lambda row, column, *args, **kwargs: (
            cells_rendered.append(row) or render_cell(row, column, *args, **kwargs)
        )
        ours._row_render_cache.clear()
        ours._line_cache.clear()
        styled_cells(ours)
        assert sorted(cells_rendered) == [3, 4, 4, 4, 4]
