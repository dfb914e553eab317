"""The Parameters view (key 2): every parameter name in a sortable, filterable table, and an
inspector of the selected one — statistics, a histogram, and its values and gradient, paged.

Rows come from :meth:`Snapshot.parameter_table` (one per name: tied names are rows of one tensor,
marked with their tie group). Its statistics read every element, so for models past
:data:`THREAD_ELEMENTS` elements the table is computed in a worker thread; results are kept per
snapshot, so coming back to a model costs nothing.
"""

from __future__ import annotations

import math
import re
from operator import itemgetter

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input, Static

from graphlab.inspect.tables import ParameterRow

from ..fmt import count, num, shape
from ..widgets.histogram import Histogram
from ..widgets.tensor_pager import MODES, TensorPager
from ..widgets.virtual_table import Column, VirtualTable
from .base import View

__all__ = ["COLUMNS", "THREAD_ELEMENTS", "ParametersView", "sort_key"]

#: models with more parameter elements than this get their statistics in a worker thread
THREAD_ELEMENTS = 1 << 20

#: the table's columns after the name (whose width follows the longest name)
COLUMNS = (
    Column("shape", 12),
    Column("dtype", 8),
    Column("device", 7),
    Column("count", 11, "right"),
    Column("mean", 10, "right"),
    Column("std", 10, "right"),
    Column("min", 10, "right"),
    Column("max", 10, "right"),
    Column("grad norm", 10, "right"),
    Column("tie", 6),
)
_STATS = ("mean", "std", "min", "max")


def _natural(name: str) -> list:
    # NOTE: "layers.10" after "layers.9": digit runs compare as numbers (str/int alternate, so
    # two keys always compare like with like)
    return [int(p) if i % 2 else p for i, p in enumerate(re.split(r"(\d+)", name))]


def _finite(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else x


def sort_key(row: ParameterRow, column: int):
    """The value column ``column`` (0 is the name) sorts ``row`` by; None when it has none."""
    if column == 0:
        return _natural(row.name)
    if 5 <= column <= 8:
        return None if row.stats is None else _finite(getattr(row.stats, _STATS[column - 5]))
    return {
        1: row.shape,
        2: row.dtype,
        3: row.device,
        4: row.count,
        9: _finite(row.grad_norm),
        10: row.tie_group,
    }[column]


def _tie(row: ParameterRow) -> str:
    return "" if row.tie_group is None else f"#{row.tie_group} ×{len(row.aliases)}"


class _RowSource:
    """The table's source: cells formatted when a row is painted."""

    def __init__(self, rows: list[ParameterRow]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def row(self, i: int) -> list:
        r = self.rows[i]
        if r.lazy:
            lazy = Text("lazy", style="italic")
            return [r.name, lazy, r.dtype, r.device, "-", "-", "-", "-", "-", "-", _tie(r)]
        stats = [num(getattr(r.stats, s)) if r.stats else "-" for s in _STATS]
        return [
            r.name, shape(r.shape), r.dtype, r.device, count(r.count), *stats,
            num(r.grad_norm), _tie(r),
        ]  # fmt: skip


def _stats_text(row: ParameterRow) -> str:
    """The inspector's text: what the name is, then value and gradient statistics."""
    head = row.name
    if row.tie_group is not None:
        others = [a for a in row.aliases if a != row.name]
        head += f"  tied #{row.tie_group} with {', '.join(others)}"
    if row.lazy:
        return (
            f"{head}\n{row.dtype} · {row.device}\nuninitialized lazy parameter: its shape and "
            "values come from the module's first call"
        )
    grad = "requires grad" if row.requires_grad else "no grad"
    lines = [
        head,
        f"{shape(row.shape)} {row.dtype} {row.device} · {count(row.count)} · {grad}",
        f"{'':<5}" + "".join(f"{s:>11}" for s in _STATS),
    ]
    v, g = row.stats, row.grad_stats
    lines.append(f"{'value':<5}" + "".join(f"{num(getattr(v, s)):>11}" for s in _STATS))
    if g is None:
        lines.append("grad  none (no backward reached it yet)")
        lines.append(f"NaN/Inf {count(v.nan)}/{count(v.inf)}")
    else:
        lines.append(f"{'grad':<5}" + "".join(f"{num(getattr(g, s)):>11}" for s in _STATS))
        lines.append(
            f"NaN/Inf {count(v.nan)}/{count(v.inf)} · grad {count(g.nan)}/{count(g.inf)} · "
            f"norm {num(row.grad_norm)}"
        )
    return "\n".join(lines)


class _StatsText(Widget):
    """The inspector's statistics: fixed height, so an update repaints without a re-layout
    (a Static's update lays out the whole screen, which page-down would pay for every row)."""

    def __init__(self, *, id: str | None = None):  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.text = ""

    def update(self, text: str) -> None:
        """Show ``text``."""
        self.text = text
        self.refresh()

    def render(self) -> Text:
        return Text(self.text, no_wrap=True, overflow="ellipsis")


class ParametersView(View):
    """Every parameter name with statistics; the selected one's histogram and values."""

    TITLE = "Parameters"
    KEY = "2"
    NEEDS_EVENTS = False  # NOTE: parameters and gradients only
    DEFAULT_CSS = """
    ParametersView #param-filter { margin: 0 1; }
    ParametersView #param-table { height: 1fr; min-height: 5; }
    ParametersView #param-inspector { height: 1fr; min-height: 10; }
    ParametersView #param-side { width: 51; }
    ParametersView #param-stats { height: 6; padding: 0 1; }
    ParametersView #param-hist { height: 1fr; padding: 0 1; }
    """
    BINDINGS = [
        Binding("s", "cycle_sort", "Sort by the next column"),
        Binding("r", "reverse_sort", "Reverse the sort"),
        Binding("f", "focus_filter", "Filter parameters"),
        Binding("escape", "clear_filter", "Clear the filter"),
        Binding("g", "cycle_mode", "Values / gradient / both"),
    ]

    def __init__(self, *, id: str | None = None):  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.rows: list[ParameterRow] = []
        self._hay: list[str] = []
        self._cache: dict[int, tuple[object, list[ParameterRow]]] = {}
        self._shown = None  # the snapshot whose rows are in the table
        self._pending = None  # the snapshot whose rows a worker is computing
        self.filter_text = ""
        self.sort_column: int | None = None
        self.sort_reverse = False
        self.mode = "both"

    def compose(self) -> ComposeResult:
        yield Static("", id="param-note", classes="view-note")
        yield Input(
            placeholder="filter: words in the name, shape, dtype or device; 'tied', 'lazy' "
            "(f: focus, Escape: clear)",
            id="param-filter",
            compact=True,
        )
        yield VirtualTable([Column("name", 24), *COLUMNS], id="param-table")
        with Horizontal(id="param-inspector"):
            with Vertical(id="param-side"):
                yield _StatsText(id="param-stats")
                yield Histogram(id="param-hist")
            yield TensorPager(id="param-values")

    @property
    def table(self) -> VirtualTable:
        """The parameter table."""
        return self.query_one("#param-table", VirtualTable)

    def focus_first(self) -> None:
        """Focus the table (not the filter, which would take the number keys)."""
        self.table.focus()

    # ----- data -------------------------------------------------------------------------------
    def refresh_data(self) -> None:
        snap = self.snapshot
        if snap is None:
            self._set_rows(None, [])
            self._note("no model: the session holds none")
            return
        if snap is self._shown:
            return  # NOTE: a new pass changes nothing here; keep sort, filter and cursor
        cached = self._cache.get(id(snap))
        if cached is not None and cached[0] is snap:
            self._set_rows(snap, cached[1])
            return
        elements = sum(i.count or 0 for i in snap.tensor_info.values() if i.kind == "parameter")
        if elements <= THREAD_ELEMENTS:
            self._rows_ready(snap, snap.parameter_table())
            return
        self._set_rows(None, [])
        self._note(f"{snap.name}: computing statistics of {count(elements)} elements…")
        if self._pending is not snap:
            self._pending = snap
            self._compute(snap)

    @work(thread=True, exclusive=True, group="parameter-table")
    def _compute(self, snap) -> None:
        rows = snap.parameter_table()
        self.app.call_from_thread(self._rows_ready, snap, rows)

    def _rows_ready(self, snap, rows: list[ParameterRow]) -> None:
        if len(self._cache) >= 8:
            self._cache.pop(next(iter(self._cache)))
        self._cache[id(snap)] = (snap, rows)
        if self._pending is snap:
            self._pending = None
        if snap is self.snapshot:
            self._set_rows(snap, rows)

    def _set_rows(self, snap, rows: list[ParameterRow]) -> None:
        self._shown, self.rows = snap, rows
        self._hay = [
            " ".join(
                [r.name, shape(r.shape), r.dtype, r.device]
                + (["tied"] if r.tie_group is not None else [])
                + (["lazy"] if r.lazy else [])
            ).lower()
            for r in rows
        ]
        width = max([12, *(len(r.name) for r in rows)])
        self.table.set_source(_RowSource(rows), [Column("name", min(width, 40)), *COLUMNS])
        self._apply()

    # ----- sorting and filtering --------------------------------------------------------------
    def matching(self) -> list[int]:
        """Rows (indices into :attr:`rows`) that pass the filter, in model order."""
        words = self.filter_text.lower().split()
        if not words:
            return list(range(len(self.rows)))
        return [i for i, h in enumerate(self._hay) if all(w in h for w in words)]

    def _apply(self) -> None:
        order = self.matching()
        column = self.sort_column
        if column is not None:
            keyed = [(sort_key(self.rows[i], column), i) for i in order]
            present = sorted(
                (k for k in keyed if k[0] is not None), key=itemgetter(0), reverse=self.sort_reverse
            )
            # NOTE: rows without the value (lazy, no gradient, NaN) go last either way
            order = [i for _, i in present] + [i for k, i in keyed if k is None]
        table = self.table
        table.sort_column, table.sort_reverse = column, self.sort_reverse
        plain = column is None and not self.filter_text.strip()
        table.set_order(None if plain else order)
        self._update_note(len(order))

    def _update_note(self, shown: int) -> None:
        snap = self.snapshot
        if snap is None:
            return
        if not self.rows:
            self._note(f"{snap.name} has no parameters")
            return
        parts = [
            f"{snap.name}: {len(self.rows)} parameter names, {count(snap.num_parameters)} "
            "elements (tied counted once)"
        ]
        if self.sort_column is not None:
            label = self.table.columns[self.sort_column].label
            parts.append(f"sorted by {label} {'▼' if self.sort_reverse else '▲'}")
        if self.filter_text.strip():
            if shown:
                parts.append(f"filter {self.filter_text.strip()!r}: {shown} shown")
            else:
                parts.append(f"no parameter matches {self.filter_text.strip()!r} (Escape clears)")
        self._note("  ·  ".join(parts))

    def _note(self, text: str) -> None:
        self.query_one("#param-note", Static).update(text)

    def set_filter(self, text: str) -> int:
        """Filter the table by ``text`` (words that must all match); returns the rows shown."""
        self.filter_text = text
        box = self.query_one("#param-filter", Input)
        if box.value != text:
            with box.prevent(Input.Changed):
                box.value = text
        self._apply()
        return len(self.matching())

    def sort(self, column: int | None, reverse: bool = False) -> None:
        """Sort by column ``column`` (0 is the name; None: model order)."""
        if column is not None and not 0 <= column < len(self.table.columns):
            raise ValueError(
                f"ParametersView.sort: column must be 0..{len(self.table.columns) - 1} or None, "
                f"got {column}"
            )
        self.sort_column, self.sort_reverse = column, reverse
        self._apply()

    @on(Input.Changed, "#param-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._apply()

    @on(Input.Submitted, "#param-filter")
    def _filter_submitted(self) -> None:
        self.table.focus()

    @on(VirtualTable.HeaderClicked, "#param-table")
    def _header_clicked(self, event: VirtualTable.HeaderClicked) -> None:
        same = event.column == self.sort_column
        self.sort(event.column, reverse=not self.sort_reverse if same else False)

    def action_cycle_sort(self) -> None:
        column = self.sort_column
        nxt = 0 if column is None else column + 1
        self.sort(None if nxt >= len(self.table.columns) else nxt, self.sort_reverse)

    def action_reverse_sort(self) -> None:
        if self.sort_column is None:
            self.app.bell()
            return
        self.sort(self.sort_column, not self.sort_reverse)

    def action_focus_filter(self) -> None:
        self.query_one("#param-filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.set_filter("")
        self.table.focus()

    def search(self, text: str) -> str:
        """Filter the table by ``text`` (the same as typing it in the filter)."""
        shown = self.set_filter(text)
        if shown:
            return f"{shown} of {len(self.rows)} parameter names match {text!r}"
        return f"no parameter name matches {text!r} (Escape clears the filter)"

    # ----- the inspector ----------------------------------------------------------------------
    @property
    def selected(self) -> ParameterRow | None:
        """The row under the cursor (None when the table is empty)."""
        index = self.table.cursor_index
        return None if index is None or index >= len(self.rows) else self.rows[index]

    @on(VirtualTable.Highlighted, "#param-table")
    def _highlighted(self, event: VirtualTable.Highlighted) -> None:
        event.stop()
        self._inspect()

    def action_cycle_mode(self) -> None:
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]
        self.query_one(TensorPager).set_mode(self.mode)
        self._histogram(self.selected)

    def _inspect(self) -> None:
        row = self.selected
        stats = self.query_one("#param-stats", _StatsText)
        pager = self.query_one(TensorPager)
        if row is None:
            text = "nothing to inspect" if self.rows else ""
            stats.update(text)
            self.query_one(Histogram).show_message(text)
            pager.show_message(text or "no parameters")
            return
        stats.update(_stats_text(row))
        value = self.snapshot.parameters.get(row.name)
        if value is None:
            message = "lazy: no values until the first call" if row.lazy else "no values stored"
            pager.show_message(message)
        else:
            pager.show(value, self.snapshot.gradients.get(row.name), self.mode, row.name)
        self._histogram(row)

    def _histogram(self, row: ParameterRow | None) -> None:
        hist = self.query_one(Histogram)
        if row is None or self.snapshot is None:
            return
        if row.lazy:
            hist.show_message("lazy: no values to bin yet")
            return
        grad = self.mode == "grad"
        store = self.snapshot.gradients if grad else self.snapshot.parameters
        array, stats = store.get(row.name), row.grad_stats if grad else row.stats
        if array is None:
            hist.show_message("no gradient to bin" if grad else "no values stored")
            return
        value_range = None if stats is None else (stats.min, stats.max)
        hist.show_array(array, "gradient" if grad else "values", value_range)
