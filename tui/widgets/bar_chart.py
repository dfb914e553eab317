"""A horizontal bar chart that paints only the rows on screen, its bars sized to the widget.

:class:`BarChart` shows one :class:`Bar` per line: a label, a bar, the value and a note (a flag
such as "vanishing"). Heading rows (a module's name above its parameters) have no bar. Bars are
drawn with eighth-block characters, so a bar 40 cells wide resolves 320 steps; a NaN or infinite
value is a hatched full-width bar. On a log scale (:attr:`BarChart.log_scale`) the axis runs from
one decade below the smallest positive value to the largest, so norms spread over ten decades
all get readable bars. Like :class:`~tui.widgets.virtual_table.VirtualTable` it is a
Line-API ``ScrollView``: 10,000 bars cost what 30 do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..fmt import num
from .virtual_table import CURSOR_BINDINGS

__all__ = ["Bar", "BarChart", "bar_cells"]

_EIGHTHS = " ▏▎▍▌▋▊▉"
#: widths of the value column and of the gaps around the bar
_VALUE_WIDTH = 10
#: on a log scale, at most this many decades are drawn (smaller values get the shortest bar)
LOG_DECADES = 12


@dataclass(frozen=True, slots=True)
class Bar:
    """One line of a :class:`BarChart`.

    ``value`` None draws no bar (a heading, or a value that does not exist: ``note`` says why);
    ``level`` is ``""``, ``"warning"`` or ``"error"`` (the bar's and the note's colour);
    ``heading`` rows are drawn bold across the whole width; ``key`` is the owner's handle (a
    parameter name) for messages.
    """

    label: str
    value: float | None
    note: str = ""
    level: str = ""
    heading: bool = False
    key: str = ""


def bar_cells(value: float, low: float, high: float, width: int, log: bool) -> float:
    """How many cells (fractional) the bar of ``value`` fills, for values in ``[low, high]``.

    Linear: ``value / high`` of ``width``. Log: the position of ``log10(value)`` between
    ``log10(low / 10)`` (one decade below the smallest value, so that one still has a bar) and
    ``log10(high)``, at most ``LOG_DECADES`` decades; at least one eighth of a cell for a
    positive value. Zero, negative and NaN values draw nothing; +Inf fills the width.
    """
    if width <= 0 or not value > 0:  # NOTE: also catches NaN
        return 0.0
    if math.isinf(value) or not math.isfinite(high) or high <= 0:
        return float(width)
    if not log:
        return width * min(1.0, value / high)
    low = max(low / 10, high / 10**LOG_DECADES)
    if high <= low:
        return float(width)
    span = math.log10(high) - math.log10(low)
    frac = (math.log10(max(value, low)) - math.log10(low)) / span
    return max(1 / 8, width * min(1.0, frac))


def _bar_text(cells: float, width: int) -> str:
    whole = int(cells)
    rest = int((cells - whole) * 8)
    text = "█" * whole + (_EIGHTHS[rest] if rest and whole < width else "")
    return text.ljust(width)


class BarChart(ScrollView, can_focus=True):
    """Horizontal bars with a cursor; :attr:`log_scale` switches between linear and log bars.

    Posts :class:`BarChart.Highlighted` when the cursor moves and :class:`BarChart.Selected` on
    Enter or a double click (both carry the bar's position and :class:`Bar`).
    """

    DEFAULT_CSS = """
    BarChart { height: 1fr; overflow-x: hidden; }
    BarChart > .bar-chart--bar { color: $primary; }
    BarChart > .bar-chart--warning { color: $warning; }
    BarChart > .bar-chart--error { color: $error; }
    BarChart > .bar-chart--heading { text-style: bold; color: $text; }
    BarChart > .bar-chart--muted { color: $text-muted; }
    BarChart > .bar-chart--cursor { background: $accent 40%; }
    BarChart:focus > .bar-chart--cursor { background: $accent; }
    """
    COMPONENT_CLASSES = {
        "bar-chart--bar",
        "bar-chart--warning",
        "bar-chart--error",
        "bar-chart--heading",
        "bar-chart--muted",
        "bar-chart--cursor",
    }
    BINDINGS = [*CURSOR_BINDINGS, Binding("enter", "select", "Select bar", show=False)]

    cursor: reactive[int] = reactive(0, always_update=True)
    log_scale: reactive[bool] = reactive(False)

    class Highlighted(Message):
        """The cursor moved to bar ``index`` (None when the chart is empty)."""

        def __init__(self, chart: BarChart, index: int | None):
            super().__init__()
            self.chart = chart
            self.index = index

        @property
        def bar(self) -> Bar | None:
            """The bar under the cursor."""
            return None if self.index is None else self.chart.bars[self.index]

        @property
        def control(self) -> BarChart:
            return self.chart

    class Selected(Highlighted):
        """Enter (or a double click) on bar ``index``."""

    def __init__(
        self,
        bars: Sequence[Bar] = (),
        *,
        log_scale: bool = False,
        id: str | None = None,  # noqa: A002 - Textual's name
        classes: str | None = None,
    ):
        super().__init__(id=id, classes=classes)
        self.bars: list[Bar] = []
        self._low = self._high = 0.0
        self._longest = (0, 0)  # the longest label and note of the non-heading bars
        self.set_reactive(BarChart.log_scale, log_scale)
        self.set_bars(bars)

    # ----- data -------------------------------------------------------------------------------
    def set_bars(self, bars: Sequence[Bar]) -> None:
        """Show ``bars`` (the cursor goes to the first one)."""
        self.bars = list(bars)
        values = [b.value for b in self.bars if b.value is not None and b.value > 0]
        finite = [v for v in values if math.isfinite(v)]
        self._high = max(finite) if finite else (math.inf if values else 0.0)
        self._low = min(finite) if finite else 0.0
        rows = [b for b in self.bars if not b.heading]
        self._longest = (
            max((len(b.label) for b in rows), default=0),
            max((len(b.note) for b in rows), default=0),
        )
        self.virtual_size = Size(0, len(self.bars))
        self.cursor = 0
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def move_to(self, index: int) -> None:
        """Put the cursor on bar ``index``."""
        self.cursor = index

    def cells(self, bar: Bar, width: int) -> float:
        """The (fractional) number of cells ``bar`` fills in a bar area ``width`` cells wide."""
        if bar.value is None:
            return 0.0
        return bar_cells(bar.value, self._low, self._high, width, self.log_scale)

    def watch_log_scale(self) -> None:
        self.refresh()

    # ----- geometry and painting --------------------------------------------------------------
    @property
    def page_rows(self) -> int:
        """Bars on one screen."""
        return max(1, self.scrollable_content_region.height)

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.bars) - 1)) if self.bars else 0

    def watch_cursor(self, value: int) -> None:
        top = int(self.scroll_y)
        if value < top:
            self.scroll_to(y=value, animate=False)
        elif value >= top + self.page_rows:
            self.scroll_to(y=value - self.page_rows + 1, animate=False)
        self.refresh()
        self.post_message(self.Highlighted(self, value if self.bars else None))

    def _columns(self, width: int) -> tuple[int, int, int]:
        """Widths of the label, bar and note columns for a line ``width`` cells wide."""
        longest, note = self._longest
        label = max(8, min(longest, width // 3))
        note = min(note, max(0, width // 4))
        bar = max(1, width - label - _VALUE_WIDTH - note - 3)
        return label, bar, note

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        position = int(self.scroll_y) + y
        if position >= len(self.bars):
            return Strip.blank(width, base)
        bar = self.bars[position]
        text = self._line_text(bar, width)
        strip = Strip(list(text.render(self.app.console)), text.cell_len)
        if position == self.cursor:
            strip = strip.apply_style(self.get_component_rich_style("bar-chart--cursor"))
        return strip.crop_extend(0, width, base).simplify()

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"bar-chart--{name}")

    def _line_text(self, bar: Bar, width: int) -> Text:
        text = Text(no_wrap=True)
        if bar.heading:
            text.append(bar.label, self._style("heading"))
            if bar.note:
                text.append("  " + bar.note, self._style("muted"))
            text.truncate(width, overflow="ellipsis")
            return text
        label_w, bar_w, note_w = self._columns(width)
        label = Text(bar.label)
        label.truncate(label_w, overflow="ellipsis", pad=True)
        text.append_text(label)
        text.append(" ")
        colour = self._style(bar.level or "bar")
        if bar.value is not None and not math.isfinite(bar.value):
            text.append("░" * bar_w, colour)
        else:
            text.append(_bar_text(self.cells(bar, bar_w), bar_w), colour)
        text.append(" ")
        value = "-" if bar.value is None else num(bar.value)
        text.append(value.rjust(_VALUE_WIDTH), self._style(bar.level) if bar.level else None)
        if bar.note and note_w:
            note = Text(" " + bar.note, self._style(bar.level or "muted"))
            note.truncate(note_w + 1, overflow="ellipsis")
            text.append_text(note)
        return text

    # ----- keys and mouse ---------------------------------------------------------------------
    def action_cursor(self, step: int) -> None:
        self.cursor += step

    def action_page(self, direction: int) -> None:
        self.cursor += direction * self.page_rows

    def action_jump(self, where: int) -> None:
        self.cursor = len(self.bars) - 1 if where < 0 else 0

    def action_select(self) -> None:
        if self.bars:
            self.post_message(self.Selected(self, self.cursor))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        position = int(self.scroll_y) + offset.y
        if position < len(self.bars):
            self.cursor = position
            if event.chain >= 2:
                self.action_select()
