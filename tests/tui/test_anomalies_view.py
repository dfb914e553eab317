"""The Anomalies view (key 8): NaN/Inf events, their first origin and what went into it."""

from __future__ import annotations

import numpy as np
import pytest

textual = pytest.importorskip("textual")

import graphlab as gl  # noqa: E402
from graphlab import nn  # noqa: E402
from graphlab.inspect import record_session, session  # noqa: E402
from tests.tui.conftest import screen_text  # noqa: E402
from tui.app import Workbench  # noqa: E402
from tui.views.anomalies import scan_pass  # noqa: E402

SIZE = (160, 48)


class LogLayer(nn.Module):
    """``log(x)``: NaN for the negative entries of its input."""

    def forward(self, x):
        return gl.log(x)


class SqrtLayer(nn.Module):
    """``sqrt(x)``: finite at 0, but its gradient there is infinite."""

    def forward(self, x):
        return gl.sqrt(x)


def nan_session(clean_first: bool = False, level: str = "stats"):
    """Linear → log → Linear, at ``level``; the Linear's output has negative entries, so the log
    makes NaN (optionally after a first pass on positive inputs of the log, with no NaN)."""
    gl.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3), LogLayer(), nn.Linear(3, 1))
    with record_session("nan", level=level, timing=False) as rec, np.errstate(all="ignore"):
        if clean_first:
            with gl.no_grad():
                saved = net[0].bias.detach().clone()
                net[0].bias.fill_(100.0)  # all inputs of the log positive
            net(gl.randn(8, 4)).mean().backward()
            with gl.no_grad():
                net[0].bias.copy_(saved)
        net(gl.randn(8, 4)).mean().backward()
    return rec.session


def sqrt_session():
    gl.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), SqrtLayer(), nn.Linear(3, 1))
    with gl.no_grad():
        net[0].bias.fill_(-100.0)  # ReLU output all 0: sqrt(0) = 0, d sqrt/dx = inf
    with record_session("sqrt", level="stats", timing=False) as rec, np.errstate(all="ignore"):
        net(gl.rand(8, 4)).mean().backward()
    return rec.session


async def _open(app, pilot, *keys):
    await pilot.pause()
    for key in ("8", *keys):
        await pilot.press(key)
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def test_scan_finds_the_forward_origin():
    trace = nan_session().models[0].traces[-1]
    scan = scan_pass(trace)
    origin = scan.first_origin
    assert origin.event.op == "Log" and origin.event.scope == "1" and origin.nan > 0
    later = [a for a in scan.anomalies if a is not origin]
    assert later and not any(a.origin for a in later)  # the rest only propagate it
    assert any(a.event.kind == "backward" for a in later)
    ((what, where, st),) = scan.inputs_of(origin.event)
    assert where.startswith("#0 Linear in 0") and st.nan == 0 and st.min < 0


def test_scan_finds_a_backward_origin():
    scan = scan_pass(sqrt_session().models[0].traces[-1])
    origin = scan.first_origin
    assert origin.event.kind == "backward" and origin.event.op == "SqrtBackward0"
    assert origin.inf > 0
    assert not any(a.event.kind == "op" for a in scan.anomalies)  # the forward pass is finite


def test_scan_at_meta_sees_nothing():
    scan = scan_pass(nan_session(level="meta").models[0].traces[-1])
    assert scan.level == "meta" and scan.anomalies == [] and scan.checked == 0


async def test_nan_pass_shows_origin_and_its_inputs():
    app = Workbench(nan_session())
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        text = screen_text(app)
        assert "NaN / Inf in Sequential, pass 1/1" in text
        assert "1 origin(s)" in text
        origin_line = next(line for line in text.splitlines() if "ORIGIN " in line)
        assert "#1" in origin_line and "Log" in origin_line and "1 (LogLayer)" in origin_line
        # the detail panel: the origin, the likely cause, and the statistics of its input
        assert "#1 Log in 1 (pass 1): its inputs were finite, its output is not" in text
        assert "(the first origin)" in text
        assert "likely cause: Log needs inputs > 0" in text
        assert "input 0 (v3) from #0 Linear in 0: NaN 0  Inf 0" in text
        assert "propagated" in text


async def test_cursor_keys_show_each_event_inputs_and_o_returns():
    app = Workbench(nan_session())
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        table = app.query_one("#anom-table")
        table.focus()
        await pilot.press("end")
        await pilot.pause()
        text = screen_text(app)
        assert "NaN/Inf came in from an earlier event" in text
        assert "what went in:" in text and "from #1 Log in 1" in text
        await pilot.press("o")
        await pilot.pause()
        assert table.cursor == 0
        assert "(the first origin)" in screen_text(app)


async def test_backward_origin_in_the_view():
    app = Workbench(sqrt_session())
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        text = screen_text(app)
        origin_line = next(line for line in text.splitlines() if "ORIGIN " in line)
        assert "backward" in origin_line and "SqrtBackward0" in origin_line
        assert "gradient of v" in text and "forward input 0" in text


async def test_enter_jumps_to_the_module():
    app = Workbench(nan_session())
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        seen = []
        app.query_one("#modules-view").select_module = seen.append
        app.query_one("#anom-table").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert seen == ["1"]
        assert app.query_one("#tabs").active == "modules"


async def test_all_passes_toggle_and_choosing_a_pass():
    sess = nan_session(clean_first=True)
    assert len(sess.models[0].traces) == 2
    app = Workbench(sess)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot, "left_square_bracket")  # the clean pass
        await pilot.pause()
        text = screen_text(app)
        assert "pass 1/2" in text and "No NaN or Inf:" in text
        await pilot.press("a")
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = screen_text(app)
        assert "NaN / Inf in Sequential, all 2 passes" in text
        view = app.active_view
        assert view.rows and {p for p, _ in view.rows} == {1}
        app.query_one("#anom-table").focus()
        await pilot.press("p")  # make the highlighted row's pass the selected one
        await pilot.pause()
        assert app.pass_position == 1
        await pilot.press("a")
        await pilot.pause()
        assert "pass 2/2" in screen_text(app)


async def test_search():
    app = Workbench(nan_session())
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        view = app.active_view
        assert view.search("linearbackward") == "#5: match 1 of 1"
        assert app.query_one("#anom-table").cursor_index == 3
        assert "no NaN/Inf event matching" in view.search("conv")


async def test_clean_demo_pass(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        assert "No NaN or Inf: 73 ops and backward steps checked." in screen_text(app)
        assert not app.query_one("#anom-table").display


async def test_meta_level_says_stats_are_needed():
    app = Workbench(nan_session(level="meta"))
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        text = screen_text(app)
        assert 'Recorded at level "meta": no statistics' in text
        assert 'graphlab.set_trace_options(level="stats")' in text
        assert "graphlab.autograd.detect_anomaly()" in text


async def test_no_recorded_pass():
    gl.manual_seed(0)
    app = Workbench(session(nn.Linear(2, 2)))
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        assert "has no recorded pass" in screen_text(app)
        await pilot.press("p")  # nothing to choose: a bell, no error
        await pilot.press("o")
        await pilot.pause()
        assert app.pass_position is None


async def test_help_lists_the_views_keys():
    app = Workbench(nan_session())
    async with app.run_test(size=(120, 50)) as pilot:
        await _open(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        for line in ("a            All passes / this pass", "o            Go to the first origin",
                     "p            Select the row's pass"):  # fmt: skip
            assert line in text
