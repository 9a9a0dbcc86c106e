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
from textual.widgets import DataTable


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
            component, post = self._get_styles_to_render_cell(
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
            # As DataTable's Styled(Padding(cell)) renders it: the cell's style over the row's and
            # the cursor's, the post style (the cursor's colours, by priority) over everything.
            under = base_style + Style.from_meta({"row": row_index, "column": column_index}) + component
            text, style, _ = line
            pad = self.cell_padding
            room = max(0, width - 2 * pad)
            if cell_len(text) > room:
                if line[2]:  # cut with an ellipsis: Rich's rendering
                    return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
                text = set_cell_size(text, room)
            fill = under + post
            segments = []
            if pad:
                segments.append(Segment(" " * pad, fill))
            segments.append(Segment(text, under + style + post))
            segments.append(Segment(" " * (width - pad - cell_len(text)), fill))
            lines = self._cell_render_cache[cache_key] = [segments]
        return lines

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
