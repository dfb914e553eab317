"""A paged view of a tensor's values: only the cells on screen are ever read or formatted.

:class:`TensorSource` is a :class:`~tui.widgets.virtual_table.TableSource` over a host array of
any size and rank, computing a row's cells when the table paints it, so a 10^8-element tensor
opens as fast as a 10-element one. A rank-2 (or higher) array shows one row per index of its
leading axes (``[3, 1, :]``) and a window of its last axis's columns, paged left and right; a
vector shows ``window`` values per row; a scalar one cell. Given a gradient too, each row shows the
value's window and the gradient's window side by side.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from textual.binding import Binding

from .virtual_table import Column, ListSource, VirtualTable

__all__ = ["MODES", "TensorPager", "TensorSource", "format_value"]

#: what a pager shows: the value, its gradient, or both side by side
MODES = ("value", "grad", "both")
CELL = 10  # characters per value cell: "-1.234e-05"


def format_value(x) -> str:
    """One element as text: 4 significant digits for floats, ints and bools as they are."""
    if isinstance(x, float):
        return f"{x:.4g}"
    if isinstance(x, complex):
        return f"{x:.3g}"
    return str(x)


class TensorSource:
    """Rows of ``arrays`` (one array, or a value and its gradient of the same shape).

    ``window``: values of each array per row (the columns that fit); ``start``: the first column
    of the last axis shown (rank >= 2). ``tags``: a header prefix per array (``""``, ``"∇"``).
    """

    def __init__(
        self,
        arrays: Sequence[np.ndarray],
        *,
        window: int = 8,
        start: int = 0,
        tags: Sequence[str] | None = None,
    ):
        if not arrays:
            raise ValueError("TensorSource: expected at least one array, got none")
        shapes = {tuple(a.shape) for a in arrays}
        if len(shapes) != 1:
            raise ValueError(
                f"TensorSource: arrays shown side by side must have one shape, got {shapes}"
            )
        self.arrays = list(arrays)
        self.shape: tuple[int, ...] = tuple(arrays[0].shape)
        self.tags = list(tags) if tags is not None else [""] * len(arrays)
        self.window = max(1, window)
        self.start = start
        rank = len(self.shape)
        if rank >= 2:
            self.last = self.shape[-1]
            self.window = min(self.window, max(1, self.last))
            self.start = max(0, min(start, max(0, self.last - self.window)))
            self.rows = math.prod(self.shape[:-1])
        elif rank == 1:
            self.last = self.shape[0]
            self.window = min(self.window, max(1, self.last))
            self.start = 0
            self.rows = math.ceil(self.last / self.window)
        else:
            self.last, self.window, self.start, self.rows = 1, 1, 0, 1

    def __len__(self) -> int:
        return self.rows

    @property
    def rank(self) -> int:
        """The arrays' number of dimensions."""
        return len(self.shape)

    @property
    def stop(self) -> int:
        """One past the last column shown (rank >= 2), or ``start + window`` for vectors."""
        return min(self.last, self.start + self.window)

    def index_label(self, i: int) -> str:
        """The index prefix of row ``i``: ``[3, 1, :]``, ``[16:]`` for a vector, ``()``."""
        if self.rank == 0:
            return "()"
        if self.rank == 1:
            return f"[{i * self.window}:]"
        idx = np.unravel_index(i, self.shape[:-1])
        return "[" + ", ".join(str(int(k)) for k in idx) + ", :]"

    def index_width(self) -> int:
        """Characters the index column needs (the label of the last row)."""
        return max(5, len(self.index_label(max(0, self.rows - 1))))

    def columns(self) -> list[Column]:
        """The table's columns for the current window."""
        cols = [Column("index", self.index_width())]
        for n, tag in enumerate(self.tags):
            if n:
                cols.append(Column("│", 1))
            if self.rank == 0:
                cols.append(Column(f"{tag}value", CELL, "right"))
            elif self.rank == 1:
                cols += [Column(f"{tag}+{k}", CELL, "right") for k in range(self.window)]
            else:
                cols += [Column(f"{tag}{c}", CELL, "right") for c in range(self.start, self.stop)]
        return cols

    def _values(self, a: np.ndarray, i: int) -> list:
        if self.rank == 0:
            return [a.item()]
        if self.rank == 1:
            return a[i * self.window : (i + 1) * self.window].tolist()
        idx = tuple(int(k) for k in np.unravel_index(i, self.shape[:-1]))
        return a[idx][self.start : self.stop].tolist()

    def row(self, i: int) -> list[str]:
        """The cells of row ``i``: the index, then each array's values in the window."""
        cells = [self.index_label(i)]
        for n, a in enumerate(self.arrays):
            if n:
                cells.append("│")
            values = [format_value(v) for v in self._values(a, i)]
            if self.rank == 1 and len(values) < self.window:  # the last, short row
                values += [""] * (self.window - len(values))
            cells += values
        return cells

    def element(self, i: int, column: int, array: int = 0):
        """The element at row ``i``, window column ``column`` (for tests and tools)."""
        return self._values(self.arrays[array], i)[column]


class TensorPager(VirtualTable):
    """A :class:`VirtualTable` of a tensor's values (and gradient), sized to its width.

    :meth:`show` sets the arrays; the last axis is paged with ←/→ when it does not fit. The
    ``border_title`` says what is shown and which columns.
    """

    DEFAULT_CSS = """
    TensorPager { border: round $primary 50%; height: 1fr; }
    TensorPager:focus { border: round $primary; }
    """
    BINDINGS = [
        Binding("left", "columns(-1)", "Previous columns of the last axis"),
        Binding("right", "columns(1)", "Next columns of the last axis"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None):  # noqa: A002
        super().__init__([Column("values", 20)], id=id, classes=classes)
        self.value: np.ndarray | None = None
        self.grad: np.ndarray | None = None
        self.mode = "value"
        self.label = ""
        self._start = 0
        self.show_message("nothing selected")

    # ----- data -------------------------------------------------------------------------------
    def show(
        self,
        value: np.ndarray | None,
        grad: np.ndarray | None = None,
        mode: str = "value",
        label: str = "",
    ) -> None:
        """Page through ``value`` (and ``grad``): ``mode`` is one of :data:`MODES`."""
        if mode not in MODES:
            raise ValueError(f"TensorPager.show: mode must be one of {MODES}, got {mode!r}")
        self.value, self.grad, self.mode, self.label = value, grad, mode, label
        self._start = 0
        self._rebuild(keep_row=False)

    def show_message(self, text: str) -> None:
        """Show no values, only ``text`` (nothing selected, lazy, no gradient)."""
        self.value = self.grad = None
        self.set_source(ListSource([]), [Column(text, max(20, len(text)))])
        self.border_title = ""

    def set_mode(self, mode: str) -> None:
        """Show the value, the gradient, or both side by side (keeps the row and columns)."""
        if mode not in MODES:
            raise ValueError(f"TensorPager.set_mode: mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self._rebuild(keep_row=True)

    def _arrays(self) -> tuple[list[np.ndarray], list[str], str]:
        """The arrays to show in this mode, their header tags, and a note on what is missing."""
        if self.value is None:
            return [], [], ""
        if self.mode == "value" or (self.mode == "both" and self.grad is None):
            note = "" if self.mode == "value" else " (no gradient)"
            return [self.value], [""], note
        if self.grad is None:
            return [], [], "no gradient"
        if self.mode == "grad":
            return [self.grad], ["∇"], ""
        return [self.value, self.grad], ["", "∇"], ""

    def _window(self, n_arrays: int, index_width: int) -> int:
        width = self.scrollable_content_region.width or self.size.width or 80
        free = width - index_width - 1 - 2 * (n_arrays - 1)
        return max(1, free // (CELL + 1) // max(1, n_arrays))

    def _rebuild(self, keep_row: bool) -> None:
        if self.value is None:
            return
        arrays, tags, note = self._arrays()
        if not arrays:
            self.set_source(ListSource([]), [Column(note, 40)])
            self.border_title = f"{self.label}: {note}"
            return
        first = self.cursor_index or 0
        element = first * getattr(self.source, "window", 1) if keep_row else 0
        probe = TensorSource(arrays, window=1, tags=tags)
        window = self._window(len(arrays), probe.index_width())
        source = TensorSource(arrays, window=window, start=self._start, tags=tags)
        self._start = source.start
        self.set_source(source, source.columns())
        if keep_row:
            # NOTE: a vector's rows are chunks of `window` values; keep the same first element
            self.cursor = element // source.window if source.rank == 1 else first
        self.border_title = self._caption(source) + note

    def _caption(self, source: TensorSource) -> str:
        shape = "×".join(str(d) for d in source.shape) or "scalar"
        what = " │ ".join("gradient" if tag else "values" for tag in source.tags)
        head = f"{self.label} {what} ({shape})".strip()
        if source.rank >= 2 and source.window < source.last:
            return f"{head} · columns {source.start}–{source.stop - 1} of {source.last} (←/→)"
        return head

    # ----- keys and geometry ------------------------------------------------------------------
    def action_columns(self, direction: int) -> None:
        """Page the last axis by one window (rank >= 2 arrays wider than the pager)."""
        source = self.source
        if not isinstance(source, TensorSource) or source.rank < 2 or source.window >= source.last:
            self.app.bell()
            return
        start = max(0, min(source.start + direction * source.window, source.last - source.window))
        if start == source.start:
            self.app.bell()
            return
        self._start = start
        self._rebuild(keep_row=True)

    def on_resize(self) -> None:
        if isinstance(self.source, TensorSource):
            self._rebuild(keep_row=True)
