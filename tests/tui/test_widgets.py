"""The workbench's value widgets: the histogram and the tensor pager (and its source)."""

from __future__ import annotations

import numpy as np
import pytest

textual = pytest.importorskip("textual")

from textual.app import App, ComposeResult  # noqa: E402

from tui.widgets import histogram as histogram_mod  # noqa: E402
from tui.widgets.histogram import BARS, Histogram, bar_rows, histogram_counts  # noqa: E402
from tui.widgets.tensor_pager import TensorPager, TensorSource, format_value  # noqa: E402

# ----- histogram_counts and bar_rows ----------------------------------------------------------


def test_histogram_counts_match_numpy_and_leave_out_non_finite():
    a = np.array([0.0, 1.0, 1.0, 2.0, np.nan, np.inf, -np.inf], dtype=np.float32)
    counts, edges, left_out = histogram_counts(a, 4)
    assert counts.tolist() == [1, 0, 2, 1]
    assert edges[0] == 0.0 and edges[-1] == 2.0
    assert left_out == 3


def test_histogram_counts_use_a_given_range():
    a = np.arange(10, dtype=np.float64)
    counts, edges, left_out = histogram_counts(a, 2, value_range=(0.0, 4.0))
    assert counts.tolist() == [2, 3]  # 5..9 fall outside the range
    assert left_out == 5


def test_histogram_counts_edge_cases():
    counts, _, _ = histogram_counts(np.full((3, 3), 7.0), 5)
    assert counts.sum() == 9  # one value: numpy widens the range around it
    counts, _, left_out = histogram_counts(np.array([np.nan, np.nan]), 3)
    assert counts.tolist() == [0, 0, 0] and left_out == 2
    counts, _, _ = histogram_counts(np.array([True, False, True]), 2)
    assert counts.tolist() == [1, 2]
    counts, _, _ = histogram_counts(np.array([1, 2, 3], dtype=np.int64), 3)
    assert counts.tolist() == [1, 1, 1]
    with pytest.raises(TypeError, match="complex"):
        histogram_counts(np.array([1j]), 3)
    with pytest.raises(ValueError, match="bins must be >= 1"):
        histogram_counts(np.zeros(3), 0)


def test_bar_rows_scale_to_the_peak_and_keep_small_bins_visible():
    rows = bar_rows(np.array([0, 1, 1000, 500]), 2)
    assert len(rows) == 2 and all(len(r) == 4 for r in rows)
    assert rows[0][2] == rows[1][2] == BARS[8]  # the peak fills both lines
    assert rows[1][1] == BARS[1] and rows[0][1] == " "  # 1 of 1000: a sliver, not nothing
    assert rows[0][0] == rows[1][0] == " "
    assert rows[1][3] == BARS[8] and rows[0][3] == " "  # half the peak: the lower line
    assert bar_rows(np.zeros(3, dtype=np.int64), 2) == ["   ", "   "]


# ----- the Histogram widget -------------------------------------------------------------------


class _HistApp(App):
    def compose(self) -> ComposeResult:
        yield Histogram(id="h")


async def test_histogram_widget_bins_to_its_width_and_follows_resizes():
    app = _HistApp()
    async with app.run_test(size=(50, 10)) as pilot:
        hist = app.query_one(Histogram)
        assert hist.message == "nothing selected"
        data = np.random.default_rng(0).normal(size=10_000).astype(np.float32)
        hist.show_array(data, "values")
        await pilot.pause()
        assert hist.counts.size == 50 and hist.counts.sum() == 10_000
        lines = [s.text for s in app.screen._compositor.render_strips()]
        assert lines[0].startswith("values: 50 bins, peak ")
        assert BARS[8] in "".join(lines[1:-1])
        await pilot.resize_terminal(30, 10)
        await pilot.pause()
        assert hist.counts.size == 30 and hist.counts.sum() == 10_000
        hist.show_message("lazy: no values to bin yet")
        await pilot.pause()
        assert hist.counts is None
        assert "lazy: no values to bin yet" in app.screen._compositor.render_strips()[0].text
        hist.show_array(np.array(["a"]), "names")
        assert hist.message == "names: no histogram for dtype <U1"


async def test_histogram_widget_bins_big_arrays_in_a_worker(monkeypatch):
    monkeypatch.setattr(histogram_mod, "THREAD_THRESHOLD", 100)
    app = _HistApp()
    async with app.run_test(size=(40, 8)) as pilot:
        hist = app.query_one(Histogram)
        hist.show_array(np.arange(1000, dtype=np.float32), "values", value_range=(0.0, 999.0))
        assert hist.counts is None  # binning in the worker
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert hist.counts.size == 40 and hist.counts.sum() == 1000


# ----- TensorSource ---------------------------------------------------------------------------


def test_format_value():
    assert format_value(0.123456) == "0.1235"
    assert format_value(1e-7) == "1e-07"
    assert format_value(3) == "3"
    assert format_value(True) == "True"


def test_source_of_a_matrix_pages_the_last_axis():
    a = np.arange(6 * 20, dtype=np.float32).reshape(6, 20)
    src = TensorSource([a], window=8, start=4)
    assert len(src) == 6
    assert [c.label for c in src.columns()] == ["index", *map(str, range(4, 12))]
    assert src.row(2) == ["[2, :]", *(format_value(float(v)) for v in a[2, 4:12])]
    end = TensorSource([a], window=8, start=100)  # clamped: the last full window
    assert end.start == 12 and end.row(5)[-1] == format_value(float(a[5, 19]))


def test_source_of_a_vector_wraps_rows_and_pads_the_last():
    a = np.arange(10)
    src = TensorSource([a], window=4)
    assert len(src) == 3
    assert src.row(0) == ["[0:]", "0", "1", "2", "3"]
    assert src.row(2) == ["[8:]", "8", "9", "", ""]
    assert [c.label for c in src.columns()][1:] == ["+0", "+1", "+2", "+3"]


def test_source_of_higher_rank_and_scalars():
    a = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    src = TensorSource([a], window=4)
    assert len(src) == 6
    assert src.row(5) == ["[1, 2, :]", "20", "21", "22", "23"]
    scalar = TensorSource([np.array(2.5)])
    assert len(scalar) == 1 and scalar.row(0) == ["()", "2.5"]
    assert [c.label for c in scalar.columns()] == ["index", "value"]


def test_source_shows_value_and_gradient_side_by_side():
    value = np.arange(8.0).reshape(2, 4)
    grad = -value
    src = TensorSource([value, grad], window=2, tags=["", "∇"])
    assert [c.label for c in src.columns()] == ["index", "0", "1", "│", "∇0", "∇1"]
    assert src.row(1) == ["[1, :]", "4", "5", "│", "-4", "-5"]
    with pytest.raises(ValueError, match="one shape"):
        TensorSource([value, grad.T])
    with pytest.raises(ValueError, match="at least one array"):
        TensorSource([])


def test_source_of_a_huge_tensor_reads_only_the_rows_asked_for():
    # 10^8 elements as a broadcast view (no memory): a row reads 10 of them
    huge = np.broadcast_to(np.arange(10, dtype=np.float32), (10**7, 10))
    src = TensorSource([huge], window=8)
    assert len(src) == 10**7
    assert src.row(10**7 - 1) == ["[9999999, :]", *map(format_value, map(float, range(8)))]
    assert src.index_width() == len("[9999999, :]")


# ----- the TensorPager widget -----------------------------------------------------------------


class _PagerApp(App):
    def compose(self) -> ComposeResult:
        yield TensorPager(id="p")


async def test_pager_pages_columns_and_rows():
    app = _PagerApp()
    async with app.run_test(size=(60, 12)) as pilot:
        pager = app.query_one(TensorPager)
        a = np.arange(50 * 100, dtype=np.float32).reshape(50, 100)
        pager.show(a, label="w")
        pager.focus()
        await pilot.pause()
        src = pager.source
        window = src.window
        assert 1 < window < 100 and src.start == 0
        assert pager.border_title == f"w values (50×100) · columns 0–{window - 1} of 100 (←/→)"
        await pilot.press("right")
        await pilot.pause()
        assert pager.source.start == window
        await pilot.press("end")
        await pilot.pause()
        assert pager.cursor_index == 49
        assert pager.source.row(49)[1] == format_value(float(a[49, window]))
        await pilot.press("left", "left")
        await pilot.pause()
        assert pager.source.start == 0 and pager.cursor_index == 49  # the row is kept
        text = "\n".join(s.text for s in app.screen._compositor.render_strips())
        assert "[49, :]" in text and format_value(float(a[49, 0])) in text


async def test_pager_modes_and_messages():
    app = _PagerApp()
    async with app.run_test(size=(120, 10)) as pilot:
        pager = app.query_one(TensorPager)
        value = np.arange(12.0).reshape(3, 4)
        pager.show(value, -value, mode="both", label="w")
        await pilot.pause()
        assert [c.label for c in pager.columns][:6] == ["index", "0", "1", "2", "3", "│"]
        assert pager.source.row(2)[-1] == "-11"
        pager.set_mode("grad")
        await pilot.pause()
        assert pager.border_title == "w gradient (3×4)"
        assert pager.source.row(0)[1:] == ["-0", "-1", "-2", "-3"]
        pager.show(value, None, mode="grad", label="w")
        await pilot.pause()
        assert pager.border_title == "w: no gradient" and len(pager) == 0
        pager.set_mode("both")
        await pilot.pause()
        assert pager.border_title == "w values (3×4) (no gradient)"
        with pytest.raises(ValueError, match="mode must be one of"):
            pager.set_mode("values")
        pager.show_message("lazy: no values until the first call")
        await pilot.pause()
        assert len(pager) == 0 and pager.columns[0].label.startswith("lazy")
        await pilot.press("right")  # nothing to page: a bell, no error


async def test_histogram_widget_reuses_what_it_binned(monkeypatch):
    calls = []
    real = histogram_mod.histogram_counts

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(histogram_mod, "histogram_counts", counting)
    app = _HistApp()
    async with app.run_test(size=(40, 8)) as pilot:
        hist = app.query_one(Histogram)
        a, b = np.arange(100.0), np.ones(10)
        hist.show_array(a, "a")
        hist.show_array(b, "b")
        hist.show_array(a, "a")  # back to the first: no new binning
        await pilot.pause()
        assert calls == [40, 40] and hist.counts.sum() == 100
