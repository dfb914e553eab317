"""The Parameters view: the table (sorting, filtering, search), the inspector, big tensors."""

from __future__ import annotations

import pytest

textual = pytest.importorskip("textual")

import graphlab as gl  # noqa: E402
import graphlab.inspect as gi  # noqa: E402
from graphlab import nn  # noqa: E402
from tests.tui.conftest import screen_text  # noqa: E402
from tui.app import Workbench  # noqa: E402
from tui.fmt import num  # noqa: E402
from tui.views.parameters import ParametersView  # noqa: E402
from tui.widgets.histogram import Histogram  # noqa: E402
from tui.widgets.search_bar import SearchBar  # noqa: E402
from tui.widgets.tensor_pager import TensorPager, format_value  # noqa: E402

SIZE = (160, 48)


def _view(app) -> ParametersView:
    return app.query_one("#parameters-view", ParametersView)


def _names(app) -> list[str]:
    """The parameter names in the table, top to bottom, as shown."""
    table = _view(app).table
    return [table.source.row(table.source_index(i))[0] for i in range(len(table))]


async def _open(pilot, *keys) -> None:
    await pilot.pause()
    await pilot.press("2", *keys)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_table_shows_every_name_with_statistics(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot)
        snap = app.snapshot
        rows = snap.parameter_table()
        assert _names(app) == [r.name for r in rows]
        text = screen_text(app)
        assert "chimera: 10 parameter names, 4,712 elements (tied counted once)" in text
        first = rows[0]
        line = next(ln for ln in text.splitlines() if ln.startswith("0.net.0.weight "))
        stats = (first.stats.mean, first.stats.std, first.stats.min, first.stats.max)
        for cell in ("64×20", "float32", "cpu", "1,280", *map(num, stats), num(first.grad_norm)):
            assert cell in line
        # the inspector shows the row under the cursor
        assert "64×20 float32 cpu · 1,280 · requires grad" in text
        assert "0.net.0.weight values │ gradient (64×20)" in text


async def test_sorting_by_key_click_and_reverse(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot)
        view, rows = _view(app), app.snapshot.parameter_table()
        await pilot.press("s")  # sort by name
        await pilot.pause()
        assert _names(app) == sorted(r.name for r in rows)
        assert "name ▲" in screen_text(app) and "sorted by name ▲" in screen_text(app)
        await pilot.press("r")
        await pilot.pause()
        assert _names(app) == sorted((r.name for r in rows), reverse=True)
        await pilot.press("s", "s", "s", "s")  # shape, dtype, device, count
        await pilot.pause()
        assert view.sort_column == 4
        counts = [next(r.count for r in rows if r.name == n) for n in _names(app)]
        assert counts == sorted(counts, reverse=True)
        # a click on a header sorts by that column; a second click reverses
        table = view.table
        x = sum(c.width + 1 for c in table.columns[:9]) + 2  # inside "grad norm"
        await pilot.click(table, offset=(x, 0))
        await pilot.pause()
        assert (view.sort_column, view.sort_reverse) == (9, False)
        norms = [next(r.grad_norm for r in rows if r.name == n) for n in _names(app)]
        assert norms == sorted(norms)
        await pilot.click(table, offset=(x, 0))
        await pilot.pause()
        assert view.sort_reverse
        # cycling past the last column goes back to model order
        await pilot.press("s")
        await pilot.pause()
        assert view.sort_column == 10
        await pilot.press("s")
        await pilot.pause()
        assert view.sort_column is None and _names(app) == [r.name for r in rows]


async def test_filter_input_search_and_escape(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "f", *"bias", "enter")
        assert _names(app) == [r.name for r in app.snapshot.parameter_table() if "bias" in r.name]
        assert "filter 'bias': 5 shown" in screen_text(app)
        assert _view(app).table.has_focus  # Enter goes back to the table
        # "/" searches by filtering; words must all match
        app.query_one(SearchBar).post_message(SearchBar.Submitted("linear weight"))
        await pilot.pause()
        assert _names(app) == ["0.linear.weight", "2.linear.weight"]
        assert _view(app).query_one("#param-filter").value == "linear weight"
        assert _view(app).search("nothing-like-this") == (
            "no parameter name matches 'nothing-like-this' (Escape clears the filter)"
        )
        await pilot.pause()
        assert _names(app) == []
        text = screen_text(app)
        assert "no parameter matches 'nothing-like-this' (Escape clears)" in text
        assert "nothing to inspect" in text
        await pilot.press("escape")
        await pilot.pause()
        assert len(_names(app)) == 10


async def test_sort_and_filter_together(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot)
        view = _view(app)
        view.sort(4, reverse=True)  # count, largest first
        assert view.search("weight") == "5 of 10 parameter names match 'weight'"
        await pilot.pause()
        assert _names(app) == [
            "0.net.2.weight", "0.net.0.weight", "0.linear.weight", "2.linear.weight", "1.weight",
        ]  # fmt: skip
        with pytest.raises(ValueError, match="column must be 0..10 or None"):
            view.sort(11)


async def test_tied_rows_and_a_new_model(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "m")
        assert app.snapshot.name == "tied"
        _view(app).search("tied")
        await pilot.pause()
        assert _names(app) == ["2.weight", "2.bias", "4.weight", "4.bias"]
        text = screen_text(app)
        assert "#0 ×2" in text and "#1 ×2" in text
        assert "2.weight  tied #0 with 4.weight" in text


async def test_inspector_histogram_pager_and_modes(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "down", "down")  # 0.net.2.weight, 32×64
        view = _view(app)
        assert view.selected.name == "0.net.2.weight"
        value = app.snapshot.parameters["0.net.2.weight"]
        grad = app.snapshot.gradients["0.net.2.weight"]
        hist = app.query_one(Histogram)
        assert hist.counts.sum() == value.size
        pager = app.query_one(TensorPager)
        window = pager.source.window
        assert pager.source.row(0) == [
            "[0, :]",
            *(format_value(float(v)) for v in value[0, :window]),
            "│",
            *(format_value(float(v)) for v in grad[0, :window]),
        ]
        await pilot.press("g")  # value only
        await pilot.pause()
        assert view.mode == "value" and pager.source.row(31)[0] == "[31, :]"
        assert "│" not in pager.source.row(31)
        await pilot.press("g")  # gradient only
        await pilot.pause()
        assert view.mode == "grad" and "0.net.2.weight gradient (32×64)" in screen_text(app)
        assert "gradient: " in screen_text(app)  # the histogram's caption
        assert hist.counts.sum() == grad.size
        await pilot.press("g")  # both again
        await pilot.pause()
        assert view.mode == "both" and "│" in pager.source.row(0)


async def test_lazy_parameters_and_no_gradients():
    model = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.Linear(3, 2))
    app = Workbench(gi.session(model))
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot)
        text = screen_text(app)
        assert (
            next(ln for ln in text.splitlines() if ln.startswith("0.weight")).split()[1] == "lazy"
        )
        assert "uninitialized lazy parameter" in text
        assert "lazy: no values to bin yet" in text
        assert "lazy: no values until the first call" in text
        _view(app).search("lazy")
        await pilot.pause()
        assert _names(app) == ["0.weight", "0.bias"]
        await pilot.press("escape", "down", "down")  # 2.weight: values but no gradient
        await pilot.pause()
        assert _view(app).selected.name == "2.weight"
        text = screen_text(app)
        assert "grad  none (no backward reached it yet)" in text
        assert "(no gradient)" in text  # the pager shows the values alone
        await pilot.press("g", "g")  # the gradient alone
        await pilot.pause()
        assert "no gradient to bin" in screen_text(app)
        # sorting by grad norm keeps the rows without one (all here), in model order
        _view(app).sort(9)
        assert _names(app) == ["0.weight", "0.bias", "2.weight", "2.bias"]


async def test_model_without_parameters_and_no_model():
    app = Workbench(gi.session(nn.ReLU()))
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot)
        assert "ReLU has no parameters" in screen_text(app)
    app = Workbench(gi.Session(name="empty", models=()))
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot)
        assert "no model: the session holds none" in screen_text(app)


async def test_a_ten_million_element_parameter_pages_without_converting():
    gl.manual_seed(0)
    model = nn.Linear(10_000, 1_000)  # weight: 10^7 elements
    app = Workbench(gi.session(model))
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot)  # statistics were computed in a worker
        view = _view(app)
        assert view.selected.name == "weight" and view.selected.count == 10**7
        weight = app.snapshot.parameters["weight"]
        assert app.query_one(Histogram).counts.sum() == 10**7
        pager = app.query_one(TensorPager)
        await pilot.press("g")  # values only (there is no gradient anyway)
        pager.focus()
        await pilot.press("end", "right", "right")
        await pilot.pause()
        src = pager.source
        assert len(src) == 1_000 and pager.cursor_index == 999
        assert src.start == 2 * src.window
        assert src.row(999)[1:] == [
            format_value(float(v)) for v in weight[999, src.start : src.start + src.window]
        ]
        text = screen_text(app)
        assert "[999, :]" in text
        assert f"columns {src.start}–{src.start + src.window - 1} of 10000" in text
        await pilot.press("pageup")
        await pilot.pause()
        assert pager.cursor_index < 999


async def test_help_lists_the_views_keys(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "question_mark")
        lines = app.screen.lines  # the help screen's lines (it scrolls past the window)
        for key, text in (("s", "Sort by the next column"), ("r", "Reverse the sort"),
                          ("f", "Filter parameters"), ("escape", "Clear the filter"),
                          ("g", "Values / gradient / both"),
                          ("right", "Next columns of the last axis")):  # fmt: skip
            assert f"  {key:<12} {text}" in lines
        assert "Sort by the next column" in screen_text(app)
