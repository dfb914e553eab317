"""A table that renders only the rows on screen: 100,000 rows cost what 30 do.

Textual's ``DataTable`` builds every row up front; a trace of 100,000 events would take seconds.
:class:`VirtualTable` is a Line-API ``ScrollView`` over a :class:`TableSource` — anything with a
length and a ``row(i)`` — and asks for a row's cells only when that row is painted. Sorting and
filtering permute row indices; the source is never copied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

__all__ = ["Column", "TableSource", "VirtualTable"]

Cell = str | Text


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its header, width in cells, and alignment (``"left"`` or ``"right"``)."""

    label: str
    width: int
    align: str = "left"


class TableSource(Protocol):
    """What a :class:`VirtualTable` shows: ``len(source)`` rows, each ``source.row(i)``."""

    def __len__(self) -> int: ...

    def row(self, i: int) -> Sequence[Cell]: ...


class ListSource:
    """A :class:`TableSource` over a list of ready-made rows."""

    def __init__(self, rows: Sequence[Sequence[Cell]]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def row(self, i: int) -> Sequence[Cell]:
        return self.rows[i]


def _cell_segments(cell: Cell, width: int, align: str, console) -> list[Segment]:
    """The segments of one cell, cut or padded to ``width`` cells (plain strings fast)."""
    if isinstance(cell, str):
        if cell_len(cell) > width:
            cell = set_cell_size(cell, width - 1) + "…" if width > 0 else ""
        pad = " " * (width - cell_len(cell))
        return [Segment(pad + cell + " ")] if align == "right" else [Segment(cell + pad + " ")]
    text = cell.copy()
    text.no_wrap = True
    if text.cell_len > width:
        text.truncate(width, overflow="ellipsis")
    pad = width - text.cell_len
    if pad > 0:
        if align == "right":
            text = Text(" " * pad) + text
        else:
            text.append(" " * pad)
    text.append(" ")
    return list(text.render(console))


#: row-cursor keys shared by the line-based widgets (their actions: cursor, page, jump)
CURSOR_BINDINGS = [
    Binding("up", "cursor(-1)", "Up", show=False),
    Binding("down", "cursor(1)", "Down", show=False),
    Binding("pageup", "page(-1)", "Page up", show=False),
    Binding("pagedown", "page(1)", "Page down", show=False),
    Binding("home", "jump(0)", "First", show=False),
    Binding("end", "jump(-1)", "Last", show=False),
]


class VirtualTable(ScrollView, can_focus=True):
    """A scrolling table over a :class:`TableSource`, with a row cursor, sorting and filtering.

    The first line is the header (stays on screen). ``cursor`` is a position in the *view* (after
    sorting/filtering); :attr:`cursor_index` is the source row under it. Posts
    :class:`VirtualTable.Highlighted` when the cursor moves and :class:`VirtualTable.Selected` on
    Enter or a click.
    """

    DEFAULT_CSS = """
    VirtualTable { height: 1fr; }
    VirtualTable > .virtual-table--header { text-style: bold; background: $panel; }
    VirtualTable > .virtual-table--cursor { background: $accent 40%; text-style: bold; }
    VirtualTable:focus > .virtual-table--cursor { background: $accent; color: $text; }
    """
    COMPONENT_CLASSES = {
        "virtual-table--header",
        "virtual-table--cursor",
    }
    BINDINGS = [*CURSOR_BINDINGS, Binding("enter", "select", "Select", show=False)]

    cursor: reactive[int] = reactive(0, always_update=True)

    class Highlighted(Message):
        """The cursor moved to source row ``index`` (None when the table is empty)."""

        def __init__(self, table: VirtualTable, index: int | None):
            super().__init__()
            self.table = table
            self.index = index

        @property
        def control(self) -> VirtualTable:
            return self.table

    class Selected(Highlighted):
        """Enter (or a click) on source row ``index``."""

    def __init__(
        self,
        columns: Sequence[Column],
        source: TableSource | None = None,
        *,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's name
        classes: str | None = None,
    ):
        super().__init__(name=name, id=id, classes=classes)
        self.columns = list(columns)
        self.source: TableSource = source if source is not None else ListSource([])
        self._order: list[int] | None = None  # None: identity (no sort, no filter)
        self._strips: dict[tuple, Strip] = {}  # (source row, cursor?, focus?) -> painted row
        self.sort_column: int | None = None
        self.sort_reverse = False
        self._update_size()

    # ----- data -------------------------------------------------------------------------------
    def set_source(self, source: TableSource, columns: Sequence[Column] | None = None) -> None:
        """Show ``source`` (and new ``columns``); clears sorting and filtering."""
        if columns is not None:
            self.columns = list(columns)
        self.source = source
        self._order = None
        self.sort_column = None
        self._update_size()
        self.cursor = 0
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def __len__(self) -> int:
        return len(self.source) if self._order is None else len(self._order)

    def __bool__(self) -> bool:
        # NOTE: without this, an empty table is falsy (__len__ is 0), and Textual drops the
        # messages it sends to `@on(..., selector)` handlers (`if not message._sender`).
        return True

    def source_index(self, position: int) -> int:
        """The source row shown at view ``position``."""
        return position if self._order is None else self._order[position]

    @property
    def cursor_index(self) -> int | None:
        """The source row under the cursor, or None when nothing is shown."""
        return self.source_index(self.cursor) if len(self) else None

    def set_order(self, order: Sequence[int] | None) -> None:
        """Show the source rows ``order`` (a permutation or subset), or all of them (None)."""
        keep = self.cursor_index
        self._order = None if order is None else list(order)
        self._update_size()
        self.refresh()
        self.move_to_source(keep)

    def sort_by(self, column: int, key: Callable[[int], object], reverse: bool = False) -> None:
        """Sort the shown rows by ``key(source_index)``; the cursor keeps its row."""
        rows = range(len(self.source)) if self._order is None else self._order
        self.sort_column, self.sort_reverse = column, reverse
        self.set_order(sorted(rows, key=key, reverse=reverse))

    def move_to_source(self, index: int | None) -> bool:
        """Put the cursor on source row ``index`` if it is shown; returns whether it is."""
        if index is None:
            self.cursor = 0
            return False
        if self._order is None:
            found = index if 0 <= index < len(self.source) else None
        else:
            try:
                found = self._order.index(index)
            except ValueError:
                found = None
        self.cursor = 0 if found is None else found
        return found is not None

    # ----- geometry and painting --------------------------------------------------------------
    @property
    def total_width(self) -> int:
        return sum(c.width + 1 for c in self.columns)

    def _update_size(self) -> None:
        size = Size(self.total_width, len(self) + 1)
        if size == self.virtual_size:
            return
        width, height = self.styles.width, self.styles.height
        sized_by_content = (width is not None and width.is_auto) or (
            height is not None and height.is_auto
        )
        if not self.is_mounted or sized_by_content:
            self.virtual_size = size
            return
        # NOTE: setting virtual_size lays out the whole screen (~25 ms at 160x48), which a
        # table showing new data pays on every cursor move elsewhere (the Parameters view's
        # pager). A table whose own size does not follow its content only needs a layout when
        # a scrollbar appears or goes; otherwise updating the scrollbars is enough.
        bars = (self.show_vertical_scrollbar, self.show_horizontal_scrollbar)
        self.set_reactive(VirtualTable.virtual_size, size)
        self._refresh_scrollbars()
        if (self.show_vertical_scrollbar, self.show_horizontal_scrollbar) != bars:
            self.refresh(layout=True)
        else:
            self._scroll_update(size)

    @property
    def page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self) - 1)) if len(self) else 0

    def watch_cursor(self, value: int) -> None:
        top = int(self.scroll_y)
        if value < top:
            self.scroll_to(y=value, animate=False)
        elif value >= top + self.page_rows:
            self.scroll_to(y=value - self.page_rows + 1, animate=False)
        self.refresh(self.size.region)
        self.post_message(self.Highlighted(self, self.cursor_index))

    def _line(self, cells: Sequence[Cell], style: Style | None) -> Strip:
        console = self.app.console
        segments: list[Segment] = []
        for col, cell in zip(self.columns, cells, strict=False):
            segments.extend(_cell_segments(cell, col.width, col.align, console))
        strip = Strip(segments, self.total_width)
        if style is not None:
            strip = strip.apply_style(style)
        return strip

    def _row_strip(self, position: int) -> Strip:
        """The painted row at view ``position`` (cached: a row is built once per data change)."""
        index = self.source_index(position)
        cursor = position == self.cursor
        key = (index, cursor, self.has_focus)
        strip = self._strips.get(key)
        if strip is None:
            style = self.get_component_rich_style("virtual-table--cursor") if cursor else None
            strip = self._line(self.source.row(index), style)
            if len(self._strips) > 4096:
                self._strips.clear()
            self._strips[key] = strip
        return strip

    def refresh(self, *regions, **kwargs):
        """Repaint. With no region (a caller saying "the data changed") the row cache is
        dropped too; scrolling and cursor moves pass a region and keep it."""
        if not regions and hasattr(self, "_strips"):
            self._strips.clear()
        return super().refresh(*regions, **kwargs)

    def _header(self) -> list[Cell]:
        out: list[Cell] = []
        for i, col in enumerate(self.columns):
            mark = ""
            if i == self.sort_column:
                mark = " ▼" if self.sort_reverse else " ▲"
            out.append(col.label + mark)
        return out

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            style = self.get_component_rich_style("virtual-table--header")
            strip = self._line(self._header(), style)
        else:
            position = scroll_y + y - 1
            if position >= len(self):
                return Strip.blank(width, base)
            strip = self._row_strip(position)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    # ----- keys and mouse ---------------------------------------------------------------------
    def action_cursor(self, step: int) -> None:
        self.cursor += step

    def action_page(self, direction: int) -> None:
        self.cursor += direction * self.page_rows

    def action_jump(self, where: int) -> None:
        self.cursor = len(self) - 1 if where < 0 else 0

    def action_select(self) -> None:
        self.post_message(self.Selected(self, self.cursor_index))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            self._header_clicked(offset.x + int(self.scroll_x))
            return
        position = int(self.scroll_y) + offset.y - 1
        if position < len(self):
            self.cursor = position
            if event.chain >= 2:
                self.action_select()

    def _header_clicked(self, x: int) -> None:
        left = 0
        for i, col in enumerate(self.columns):
            if left <= x < left + col.width + 1:
                self.post_message(self.HeaderClicked(self, i))
                return
            left += col.width + 1

    class HeaderClicked(Message):
        """The header of column ``column`` was clicked (the owner decides how to sort)."""

        def __init__(self, table: VirtualTable, column: int):
            super().__init__()
            self.table = table
            self.column = column

        @property
        def control(self) -> VirtualTable:
            return self.table
