"""A histogram of an array's values drawn with unicode bars, one bin per column of the widget.

The counts come from :func:`numpy.histogram` with as many bins as the widget is wide, recomputed
when it is resized. Arrays past :data:`THREAD_THRESHOLD` elements are binned in a worker thread
(a 10^8-element tensor takes about a second), and the widget says so meanwhile.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.widget import Widget

from ..fmt import count, num

__all__ = ["BARS", "THREAD_THRESHOLD", "Histogram", "bar_rows", "histogram_counts"]

#: the eighths of a cell, empty to full
BARS = " ▁▂▃▄▅▆▇█"
#: arrays with more elements than this are binned in a worker thread
THREAD_THRESHOLD = 1 << 20
#: histograms kept, so that moving back to a tensor (or its gradient) costs nothing
CACHE_SIZE = 16


def _numeric(a: np.ndarray) -> np.ndarray | None:
    """``a`` as something ``numpy.histogram`` bins (bools as 0/1), or None (complex, strings)."""
    if a.dtype.kind == "b":
        return a.view(np.uint8)
    if a.dtype.kind in "iuf":
        return a
    return None


def histogram_counts(
    a: np.ndarray, bins: int, value_range: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """``(counts, edges, left_out)``: ``bins`` equal bins over the finite values of ``a``.

    ``value_range`` (min, max of the finite values, e.g. from already computed statistics) saves
    a pass over the data; NaN and ±Inf fall outside every bin and are counted in ``left_out``.
    Raises TypeError for dtypes that have no order (complex, strings).
    """
    data = _numeric(np.asarray(a))
    if data is None:
        raise TypeError(
            f"histogram_counts: expected a real (bool, int or float) array, got dtype {a.dtype}"
        )
    if bins < 1:
        raise ValueError(f"histogram_counts: bins must be >= 1, got {bins}")
    flat = data.reshape(-1)
    if value_range is None or not all(np.isfinite(value_range)):
        finite = flat[np.isfinite(flat)] if flat.dtype.kind == "f" else flat
        if finite.size == 0:
            return np.zeros(bins, dtype=np.int64), np.linspace(0.0, 1.0, bins + 1), flat.size
        value_range = (float(finite.min()), float(finite.max()))
    counts, edges = np.histogram(flat, bins=bins, range=value_range)
    return counts, edges, int(flat.size - counts.sum())


def bar_rows(counts: np.ndarray, height: int) -> list[str]:
    """The bars of ``counts`` as ``height`` lines of text, top line first.

    Bars are scaled to the largest count; a bin with any count shows at least a sliver, so a
    lone outlier stays visible next to a peak of millions.
    """
    height = max(1, height)
    peak = int(counts.max()) if counts.size else 0
    if peak == 0:
        return [" " * counts.size for _ in range(height)]
    eighths = np.ceil(counts.astype(np.float64) * (height * 8) / peak).astype(np.int64)
    lines = []
    for level in range(height - 1, -1, -1):
        fill = np.clip(eighths - level * 8, 0, 8)
        lines.append("".join(BARS[f] for f in fill.tolist()))
    return lines


class Histogram(Widget):
    """A bar chart of the values of one host array (:meth:`show_array`), or a message.

    The first line is a caption (what is shown, bins, peak count, values left out), the last
    the range of the values; the bars fill the lines between.
    """

    DEFAULT_CSS = """
    Histogram { height: 1fr; min-height: 4; }
    Histogram > .histogram--bar { color: $primary; }
    Histogram > .histogram--axis { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"histogram--bar", "histogram--axis"}

    def __init__(self, *, id: str | None = None, classes: str | None = None):  # noqa: A002
        super().__init__(id=id, classes=classes)
        self._array: np.ndarray | None = None
        self._label = ""
        self._range: tuple[float, float] | None = None
        self._message = "nothing selected"
        self._counts: np.ndarray | None = None
        self._edges: np.ndarray | None = None
        self._left_out = 0
        self._token = 0  # NOTE: bumped per request, so a stale worker's result is dropped
        self._cache: dict[tuple, tuple] = {}  # (id(array), bins, range) -> (array, result…)

    # ----- data -------------------------------------------------------------------------------
    def show_array(
        self, array: np.ndarray, label: str = "", value_range: tuple[float, float] | None = None
    ) -> None:
        """Show the histogram of ``array`` (``label`` names it in the caption).

        ``value_range``: the finite min and max if already known (skips a pass over the data).
        """
        self._array, self._label, self._range = array, label, value_range
        self._message = ""
        if _numeric(np.asarray(array)) is None:
            self.show_message(f"{label}: no histogram for dtype {array.dtype}")
            return
        self._counts = None
        self._bin()

    def show_message(self, text: str) -> None:
        """Show ``text`` instead of a histogram (nothing selected, lazy, no gradient…)."""
        self._array, self._counts, self._message = None, None, text
        self._token += 1
        self.refresh()

    @property
    def counts(self) -> np.ndarray | None:
        """The counts drawn now (None while computing or showing a message)."""
        return self._counts

    @property
    def message(self) -> str:
        """The message shown instead of bars ('' when bars are shown)."""
        return self._message

    def _bins(self) -> int:
        return max(1, self.size.width)

    def _bin(self) -> None:
        if self._array is None or not self.is_mounted:
            return
        self._token += 1
        token, array, bins, value_range = self._token, self._array, self._bins(), self._range
        cached = self._cache.get((id(array), bins, value_range))
        if cached is not None:
            self._set(token, *cached[1:])
            return
        if array.size <= THREAD_THRESHOLD:
            self._keep(array, bins, value_range, histogram_counts(array, bins, value_range))
            self._set(token, *self._cache[(id(array), bins, value_range)][1:])
            return

        def work() -> None:
            result = histogram_counts(array, bins, value_range)
            self.app.call_from_thread(self._keep, array, bins, value_range, result)
            self.app.call_from_thread(self._set, token, *result)

        self.refresh()
        self.run_worker(work, thread=True, exclusive=True, group="histogram")

    def _keep(self, array: np.ndarray, bins: int, value_range, result: tuple) -> None:
        # NOTE: the entry holds the array, so its id() cannot be reused while it is cached
        if len(self._cache) >= CACHE_SIZE:
            self._cache.pop(next(iter(self._cache)))
        self._cache[(id(array), bins, value_range)] = (array, *result)

    def _set(self, token: int, counts: np.ndarray, edges: np.ndarray, left_out: int) -> None:
        if token != self._token:
            return
        self._counts, self._edges, self._left_out = counts, edges, left_out
        self.refresh()

    def on_mount(self) -> None:
        self._bin()

    def on_resize(self) -> None:
        if self._array is not None and (self._counts is None or self._counts.size != self._bins()):
            self._bin()

    # ----- painting ---------------------------------------------------------------------------
    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        axis = self.get_component_rich_style("histogram--axis", partial=True)
        if self._array is None:
            return Text(self._message, style=axis)
        if self._counts is None:
            return Text(f"{self._label}: binning {count(self._array.size)} values…", style=axis)
        counts, edges = self._counts, self._edges
        caption = f"{self._label}: {counts.size} bins, peak {count(int(counts.max()))}"
        if self._left_out:
            caption += f", {count(self._left_out)} NaN/Inf left out"
        out = Text(caption + "\n", style=axis, no_wrap=True, overflow="ellipsis")
        bar = self.get_component_rich_style("histogram--bar", partial=True)
        for line in bar_rows(counts, height - 2):
            out.append(line[:width] + "\n", style=bar)
        lo, hi = num(float(edges[0])), num(float(edges[-1]))
        out.append(lo + hi.rjust(max(1, width - len(lo))), style=axis)
        return out
