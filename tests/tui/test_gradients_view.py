"""The Gradients view (key 3): norm bars, flags, dead ReLUs, history, and the empty cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

textual = pytest.importorskip("textual")

import graphlab as gl  # noqa: E402
from graphlab import nn  # noqa: E402
from graphlab.inspect import record_session, session  # noqa: E402
from tests.tui.conftest import screen_text  # noqa: E402
from tui.app import Workbench  # noqa: E402
from tui.fmt import num  # noqa: E402
from tui.views.gradients import (  # noqa: E402
    EXPLODING_RATIO,
    VANISHING_FLOOR,
    VANISHING_RATIO,
    dead_relus,
    grad_flag,
    pass_grad_norms,
    sparkline,
)
from tui.widgets.bar_chart import Bar, BarChart, bar_cells  # noqa: E402

SIZE = (160, 48)


def _norm(a) -> float:
    return float(np.sqrt(np.sum(np.square(a, dtype=np.float64))))


def dead_relu_session(level: str = "stats", bias=-100.0, backward: bool = True):
    """Linear(4, 8) → ReLU → Linear(8, 1); ``bias`` (a number or 8 numbers) on the first Linear:
    very negative kills the ReLU, and no gradient reaches the first layer."""
    gl.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    with gl.no_grad():
        net[0].bias.copy_(gl.tensor(np.broadcast_to(np.float32(bias), (8,)).copy()))
    with record_session("dead", level=level, timing=False) as rec:
        out = net(gl.rand(16, 4))  # inputs in [0, 1): |w·x| < 100
        if backward:
            out.mean().backward()
    return rec.session


async def _open(app, pilot, key="3"):
    await pilot.pause()
    await pilot.press(key)
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


# ----- the pieces -----------------------------------------------------------------------------


def test_grad_flag_thresholds():
    assert grad_flag(None, 1.0) == ""
    assert grad_flag(0.0, 1.0) == "vanishing"
    assert grad_flag(VANISHING_FLOOR / 2, 0.0) == "vanishing"  # absolute floor, weight norm 0
    assert grad_flag(0.5 * VANISHING_RATIO * 10.0, 10.0) == "vanishing"
    assert grad_flag(2 * VANISHING_RATIO * 10.0, 10.0) == ""
    assert grad_flag(1.0, 0.0) == ""  # a zero-initialized bias with an ordinary gradient
    assert grad_flag(EXPLODING_RATIO * 1.5, 0.1) == "exploding"  # max(‖w‖, 1) = 1
    assert grad_flag(EXPLODING_RATIO * 0.9 * 5.0, 5.0) == ""
    assert grad_flag(math.nan, 1.0) == "exploding"
    assert grad_flag(math.inf, 1.0) == "exploding"


def test_bar_cells_linear_log_and_non_finite():
    assert bar_cells(5.0, 1.0, 10.0, 40, log=False) == pytest.approx(20.0)
    assert bar_cells(10.0, 1e-3, 10.0, 40, log=True) == pytest.approx(40.0)
    # the log axis starts a decade below the smallest value: 1e-4 .. 10, 5 decades
    assert bar_cells(1e-1, 1e-3, 10.0, 40, log=True) == pytest.approx(24.0)
    assert bar_cells(1e-3, 1e-3, 10.0, 40, log=True) == pytest.approx(8.0)
    assert bar_cells(1e-30, 1e-30, 10.0, 40, log=True) == pytest.approx(1 / 8)  # ≥ 12 decades
    assert bar_cells(0.0, 1e-3, 10.0, 40, log=True) == 0.0
    assert bar_cells(math.nan, 1.0, 10.0, 40, log=False) == 0.0
    assert bar_cells(math.inf, 1.0, 10.0, 40, log=False) == 40.0


def test_sparkline():
    assert sparkline([1.0, 2.0, 3.0]) == "▁▅█"  # 3.5 of 7 steps rounds to 4
    assert sparkline([1.0, None, 4.0]) == "▁ █"
    assert sparkline([1.0, math.nan]) == "▁!"
    assert sparkline([1.0, 10.0, 100.0], log=True) == "▁▅█"
    assert sparkline([None, None]) == "  "


def test_pass_grad_norms_sum_uses_as_arrays(demo_session):
    tied = demo_session.model("tied")
    norms = pass_grad_norms(tied.traces[-1])
    grad = tied.gradients["2.weight"]
    norm, exact = norms["2.weight"]
    assert exact and norm == pytest.approx(_norm(grad), rel=1e-6)
    uses = [pg.norm for ev in tied.traces[-1].events if ev.kind == "backward"
            for pg in ev.param_grads if pg.name == "2.weight"]  # fmt: skip
    assert len(uses) == 2 and norm < sum(uses)  # the norm of the sum, not the sum of norms
    assert "4.weight" not in norms  # one entry per tensor, under its first name


def test_dead_relus_stats_and_values():
    found, checked = dead_relus(dead_relu_session().models[0].traces[0])
    assert checked == 1 and len(found) == 1
    assert found[0].all_dead and found[0].scope == "1" and found[0].dead is None
    half = dead_relu_session(level="values", bias=[-100.0] * 3 + [100.0] * 5)
    found, _ = dead_relus(half.models[0].traces[0])
    assert len(found) == 1 and not found[0].all_dead
    assert (found[0].dead, found[0].units) == (3, 8)
    assert dead_relus(dead_relu_session(level="meta").models[0].traces[0]) is None
    assert dead_relus(dead_relu_session(bias=0.5).models[0].traces[0]) == ([], 1)


async def test_bar_chart_widget_paints_and_moves():
    from textual.app import App

    bars = [Bar("layer", None, "Linear", heading=True, key="layer"),
            Bar("  weight", 2.0, "exploding", "error", key="layer.weight"),
            Bar("  bias", 0.5, key="layer.bias")]  # fmt: skip

    class One(App):
        def compose(self):
            yield BarChart(bars)

    app = One()
    async with app.run_test(size=(60, 6)) as pilot:
        chart = app.query_one(BarChart)
        chart.focus()
        lines = screen_text(app).splitlines()
        assert lines[0].startswith("layer") and "Linear" in lines[0]
        assert "█" * 10 in lines[1] and "exploding" in lines[1]
        assert lines[1].count("█") > lines[2].count("█")  # sized by value
        await pilot.press("end")
        assert chart.cursor == 2
        await pilot.press("home", "down")
        assert chart.cursor == 1


# ----- the view on the demo ---------------------------------------------------------------------


async def test_bars_show_stored_grad_norms_by_module(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        text = screen_text(app)
        snap = app.snapshot
        assert "Gradient norms of chimera (stored .grad, L2)" in text
        assert "0.net.0  Linear" in text  # the module heading above its parameters
        for name in ("0.net.0.weight", "2.linear.bias"):
            assert num(_norm(snap.gradients[name])) in text
        assert "0 vanishing" in text and "0 exploding" in text
        assert "Dead ReLUs: none (3 ReLU-like ops checked in this pass)" in text
        assert "Norms per pass (2 passes, 2 with backward; oldest → newest" in text
        history = app.query_one("#grad-history")
        assert len(history) == len([n for n in snap.tensor_info if "." in n])


async def test_tied_parameter_is_one_bar_with_its_aliases(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        await _open(app, pilot)
        chart = app.query_one("#grad-chart", BarChart)
        keys = [b.key for b in chart.bars if not b.heading]
        assert "2.weight" in keys and "4.weight" not in keys
        assert "= 4.weight" in screen_text(app)


async def test_log_scale_key(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        chart = app.query_one("#grad-chart", BarChart)
        smallest = min((b for b in chart.bars if b.value), key=lambda b: b.value)
        linear = chart.cells(smallest, 100)
        await pilot.press("l")
        assert chart.log_scale
        assert chart.cells(smallest, 100) > linear
        await pilot.press("l")
        assert not chart.log_scale


async def test_source_key_switches_to_the_selected_pass(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        await pilot.press("left_square_bracket")  # pass 1: its gradients differ from .grad
        await pilot.press("g")
        await pilot.pause()
        assert "Gradient norms of chimera (pass 1/2, L2)" in screen_text(app)
        expected = pass_grad_norms(app.snapshot.traces[0])
        chart = app.query_one("#grad-chart", BarChart)
        shown = {b.key: b.value for b in chart.bars if not b.heading}
        assert shown["0.net.0.weight"] == pytest.approx(expected["0.net.0.weight"][0])
        assert shown["0.net.0.weight"] != pytest.approx(
            _norm(app.snapshot.gradients["0.net.0.weight"])
        )
        await pilot.press("g")
        await pilot.pause()
        assert "stored .grad" in screen_text(app)


async def test_sort_key_orders_by_norm(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        chart = app.query_one("#grad-chart", BarChart)
        values = [b.value for b in chart.bars]
        assert not any(b.heading for b in chart.bars)
        assert values == sorted(values, reverse=True)
        await pilot.press("s")
        await pilot.pause()
        assert chart.bars[0].heading


async def test_enter_on_a_bar_jumps_to_its_module(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        seen = []
        app.query_one("#modules-view").select_module = seen.append
        chart = app.query_one("#grad-chart", BarChart)
        chart.focus()
        chart.move_to(2)  # 0.net.0's bias
        await pilot.press("enter")
        await pilot.pause()
        assert seen == ["0.net.0"]
        assert app.query_one("#tabs").active == "modules"


async def test_enter_on_a_history_row_jumps_to_its_module(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        seen = []
        app.query_one("#modules-view").select_module = seen.append
        table = app.query_one("#grad-history")
        table.focus()
        await pilot.press("end", "enter")
        await pilot.pause()
        assert seen == ["2.linear"]


async def test_search_and_export(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        view = app.active_view
        assert view.search("linear.bias") == "0.linear.bias: match 1 of 2"
        chart = app.query_one("#grad-chart", BarChart)
        assert chart.bars[chart.cursor].key == "0.linear.bias"
        assert "no parameter matching" in view.search("nothing-like-this")
        assert "digraph" in view.selection_dot().source


# ----- flags and edge cases ---------------------------------------------------------------------


async def test_dead_relu_and_vanishing_gradient_are_flagged():
    app = Workbench(dead_relu_session())
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        text = screen_text(app)
        assert "Dead ReLUs: 1 of 1 in this pass" in text
        assert "#1 Relu in 1 (ReLU): all outputs are 0 for this batch" in text
        # no gradient flows back through the dead ReLU, and the next layer's weight sees zeros
        assert "3 vanishing · 0 exploding" in text
        chart = app.query_one("#grad-chart", BarChart)
        flagged = {b.key for b in chart.bars if "vanishing" in b.note}
        assert flagged == {"0.weight", "0.bias", "2.weight"}


async def test_exploding_nan_gradient_is_flagged():
    class LogLayer(nn.Module):
        def forward(self, x):
            return gl.log(x)

    gl.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3), LogLayer(), nn.Linear(3, 1))
    with record_session("nan", level="stats", timing=False) as rec, np.errstate(invalid="ignore"):
        net(gl.randn(8, 4)).sum().backward()
    app = Workbench(rec.session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        chart = app.query_one("#grad-chart", BarChart)
        bar = next(b for b in chart.bars if b.key == "2.weight")
        assert math.isnan(bar.value) and "exploding" in bar.note and bar.level == "error"
        assert "░" in screen_text(app)  # a NaN draws a hatched bar


async def test_values_level_counts_dead_units():
    app = Workbench(dead_relu_session(level="values", bias=[-100.0] * 3 + [100.0] * 5))
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        assert "3 of 8 units are 0 for the whole batch" in screen_text(app)


async def test_meta_level_says_statistics_are_needed():
    app = Workbench(dead_relu_session(level="meta"))
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        text = screen_text(app)
        assert 'recorded at level "meta"' in text and 'level="stats"' in text


async def test_no_gradients_says_call_backward():
    app = Workbench(dead_relu_session(bias=0.5, backward=False))
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        text = screen_text(app)
        assert "No gradients: no parameter of the model has a .grad" in text
        assert "Call loss.backward()" in text
        assert not app.query_one("#grad-chart").display
        assert "0 with backward" in text
        await pilot.press("g")
        await pilot.pause()
        assert "No gradients: the selected pass ran no backward" in screen_text(app)


async def test_no_recorded_pass():
    gl.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 2))
    net(gl.randn(2, 3)).sum().backward()
    app = Workbench(session(net))
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        text = screen_text(app)
        assert num(_norm(app.snapshot.gradients["0.weight"])) in text  # .grad needs no pass
        assert "Dead ReLUs: no recorded pass to look at" in text
        assert "Norms per pass: no recorded pass" in text
        await pilot.press("g")
        await pilot.pause()
        assert "No gradients: the model has no recorded pass" in screen_text(app)
        assert app.active_view.selection_dot() is None


async def test_help_lists_the_views_keys(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=(120, 50)) as pilot:
        await _open(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        assert "Gradients view" in text
        for line in ("l            Log scale", "g            Stored .grad / selected pass",
                     "s            Sort by norm / model order"):  # fmt: skip
            assert line in text
