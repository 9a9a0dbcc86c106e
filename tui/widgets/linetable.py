"""A DataTable that draws one-line text cells itself.

DataTable renders every cell through Rich's console (a Padding inside a Styled, split and cropped
into lines): about a millisecond per cell, so repainting a screenful of a 10-column table after a
sort or a refill took a tenth of a second and more. Nearly every cell rdtui shows is one line of
text in one style, whose segments can be written down directly; anything else (markup strings,
spans, several lines, row labels) still goes through DataTable's own renderer.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


def plain_line(cell: object) -> tuple[str, Style, bool] | None:
    """The text, style and whether an overlong text ends in an ellipsis, of a cell that is one
    line of text in one style (None for any other cell)."""
    if type(cell) is not Text or cell.spans or cell.justify not in (None, "default", "left"):
        return None
    if not cell.plain.isprintable():  # line breaks, tabs, control characters: Rich's rendering
        return None
    style = cell.style
    return cell.plain, Style.parse(style) if isinstance(style, str) else style, cell.overflow == "ellipsis"


class LineTable(DataTable):
    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        line = self._one_line_cell(row_index, column_index)
        if line is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._header_row_key if row_index == -1 else self._row_locations.get_key(row_index)
        # DataTable's own cache key: its invalidation (updates, hover, focus) applies unchanged.
        cache_key = (
            row_key,
            self._column_locations.get_key(column_index),
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        lines = self._cell_render_cache.get(cache_key)
        if lines is None:
            fixed = row_index != -1 and (row_index < self.fixed_rows or column_index < self.fixed_columns)
            component, post = self._cell_styles(row_index, fixed, hover, cursor)
            segments = self._line_segments(line, row_index, column_index, base_style, component, post, width)
            if segments is None:  # cut with an ellipsis: Rich's rendering
                return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            lines = self._cell_render_cache[cache_key] = [segments]
        return lines

    def _cell_styles(self, row_index: int, fixed: bool, hover: bool, cursor: bool) -> tuple[Style, Style]:
        """DataTable's styles for a cell (not a row label): the cursor's and the hover's under the
        cell, and the post style over it."""
        return self._get_styles_to_render_cell(
            row_index == -1,
            False,
            fixed,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )

    def _line_segments(
        self,
        line: tuple[str, Style, bool],
        row_index: int,
        column_index: int,
        base_style: Style,
        component: Style,
        post: Style,
        width: int,
    ) -> list[Segment] | None:
        """A one-line cell's segments, or None when Rich must cut it with an ellipsis.

        As DataTable's Styled(Padding(cell)) renders it: the cell's style over the row's and the
        cursor's, the post style (the cursor's colours, by priority) over everything, and the
        cell's position (meta, for the mouse). The position is added last: no other style has
        meta, so the result is the same, and the sums before it repeat from cell to cell (Rich
        caches them) where DataTable's order made every one new."""
        text, style, ellipsis = line
        pad = self.cell_padding
        room = max(0, width - 2 * pad)
        if cell_len(text) > room:
            if ellipsis:
                return None
            text = set_cell_size(text, room)
        under = base_style + component
        position = Style.from_meta({"row": row_index, "column": column_index})
        fill = under + post + position
        segments = []
        if pad:
            segments.append(Segment(" " * pad, fill))
        segments.append(Segment(text, under + style + post + position))
        segments.append(Segment(" " * (width - pad - cell_len(text)), fill))
        return segments

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[list[list[Segment]], list[list[Segment]]]:
        """A row of one-line cells under a row cursor, with no labels or frozen columns (the runs
        table): the row's cursor styles are worked out once instead of once per cell, and the
        header and background styles DataTable looks up for every row, unused here, are not.
        Any other row is DataTable's, cell by cell through _render_cell."""
        if self.cursor_type != "row" or self.fixed_columns or (self._labelled_row_exists and self.show_row_labels):
            return super()._render_line_in_row(row_key, line_no, base_style, cursor_location, hover_location)
        # DataTable's own cache key: its invalidation applies unchanged.
        cache_key = (
            row_key,
            line_no,
            base_style,
            cursor_location,
            hover_location,
            self.cursor_type,
            self.show_cursor,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cached = self._row_render_cache.get(cache_key)
        if cached is not None:
            return cached
        found = self._row_locations.get(row_key)
        row_index = -1 if found is None else found  # -1: the header
        columns = self.ordered_columns
        cells = []
        for column_index in range(len(columns)):
            line = self._one_line_cell(row_index, column_index)
            if line is None:
                return super()._render_line_in_row(row_key, line_no, base_style, cursor_location, hover_location)
            cells.append(line)
        row_style = self._get_row_style(row_index, base_style)
        # A row cursor covers every cell of its row (DataTable._should_highlight).
        cursor, hover = cursor_location.row == row_index, hover_location.row == row_index
        component, post = self._cell_styles(row_index, row_index != -1 and row_index < self.fixed_rows, hover, cursor)
        row: list[list[Segment]] = []
        table_width = self._row_label_column_width
        for column_index, (column, line) in enumerate(zip(columns, cells)):
            width = column.get_render_width(self)
            table_width += width
            segments = self._line_segments(line, row_index, column_index, row_style, component, post, width)
            if segments is None:
                segments = self._render_cell(row_index, column_index, row_style, width, cursor, hover)[line_no]
            row.append(segments)
        # The rest of the line in the row's style, as DataTable extends it.
        extend, _ = self._get_styles_to_render_cell(
            row_index == -1, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor, False, False
        )
        extend = row_style + extend + Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
        row.append([Segment(" " * max(0, self.size.width - table_width), extend)])
        pair: tuple[list[list[Segment]], list[list[Segment]]] = ([], row)
        self._row_render_cache[cache_key] = pair
        return pair

    def _one_line_cell(self, row_index: int, column_index: int) -> tuple[str, Style, bool] | None:
        if column_index < 0:
            return None  # row labels: DataTable's own rendering
        if row_index == -1:
            if self.header_height != 1:
                return None
            return plain_line(self.ordered_columns[column_index].label)
        row_key = self._row_locations.get_key(row_index)
        row = self.rows.get(row_key) if row_key is not None else None
        if row is None or row.height != 1:
            return None
        cells = self._get_row_renderables(row_index).cells
        return plain_line(cells[column_index]) if column_index < len(cells) else None
