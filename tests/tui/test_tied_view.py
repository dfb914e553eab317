"""The Tied view (key 4): each use of a shared tensor, its gradient, their sum, and ``.grad``."""

from __future__ import annotations

import numpy as np
import pytest

textual = pytest.importorskip("textual")

import graphlab as gl  # noqa: E402
from graphlab import nn  # noqa: E402
from graphlab.inspect import record_session, session  # noqa: E402
from tests.tui.conftest import screen_text  # noqa: E402
from tui.app import Workbench  # noqa: E402
from tui.fmt import num  # noqa: E402
from tui.views.tied import tied_groups  # noqa: E402

SIZE = (160, 48)


def _norm(a) -> float:
    return float(np.sqrt(np.sum(np.square(a, dtype=np.float64))))


class TiedAutoencoder(nn.Module):
    """An encoder and a decoder sharing one weight by assignment (two modules, one tensor)."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(6, 6)
        self.dec = nn.Linear(6, 6)
        self.dec.weight = self.enc.weight

    def forward(self, x):
        return self.dec(gl.relu(self.enc(x)))


def autoencoder_session(backward: bool = True, level: str = "stats"):
    gl.manual_seed(0)
    net = TiedAutoencoder()
    with record_session("tied", level=level, timing=False) as rec:
        loss = (net(gl.randn(5, 6)) ** 2).mean()
        if backward:
            loss.backward()
    return rec.session


async def _open(app, pilot, *keys):
    await pilot.pause()
    for key in ("4", *keys):
        await pilot.press(key)
    await pilot.pause()


async def test_demo_tied_net_sum_equals_grad(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot, "m")
        text = screen_text(app)
        snap = app.snapshot
        assert snap.name == "tied"
        assert "Tied parameters of tied: 2 group(s), pass 2/2" in text
        assert "2.weight = 4.weight" in text and "2.bias = 4.bias" in text
        assert "8×8 float32 · 2 use(s)" in text
        assert "#2 Linear" in text and "#4 Linear" in text and "2 (Linear)" in text
        # each use's contribution, as recorded
        trace = snap.traces[-1]
        uses = [pg for ev in trace.events if ev.kind == "backward" for pg in ev.param_grads
                if pg.name == "2.weight"]  # fmt: skip
        assert len(uses) == 2
        for pg in uses:
            assert num(pg.norm) in text
        # the shown sum is .grad, to the bit
        grad = snap.gradients["4.weight"]
        assert num(_norm(grad)) in text
        assert text.count("✓ Σ = .grad, bit for bit (max |Σ − .grad| = 0)") == 2
        view = app.active_view
        assert all(g.max_diff == 0.0 for g in view.groups)
        np.testing.assert_array_equal(view.groups[0].total, grad)
        assert "arrays add, norms don't: ‖Σ‖ ≤" in text


async def test_an_earlier_pass_differs_from_grad(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot, "m", "left_square_bracket")
        await pilot.pause()
        text = screen_text(app)
        assert "pass 1/2" in text
        assert text.count("✗ Σ ≠ .grad (max |Σ − .grad| = ") == 2
        assert "it equals Σ for the last pass after zero_grad()" in text
        assert all(g.matches is False for g in app.active_view.groups)


async def test_shared_weight_of_two_modules_shows_both_scopes():
    app = Workbench(autoencoder_session())
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        text = screen_text(app)
        assert "enc.weight = dec.weight" in text
        assert "enc (Linear)" in text and "dec (Linear)" in text
        (group,) = app.active_view.groups
        assert [u.scope for u in group.uses] == ["enc", "dec"]
        assert group.max_diff == 0.0 and group.matches
        assert num(_norm(app.snapshot.gradients["dec.weight"])) in text


def test_tied_groups_reads_the_uses_once(demo_session):
    snap = demo_session.model("tied")
    groups = tied_groups(snap, snap.traces[-1])
    assert [g.names for g in groups] == [("2.weight", "4.weight"), ("2.bias", "4.bias")]
    assert [u.event_id for u in groups[0].uses] == [2, 4]
    assert all(len(u.norms) == 1 for u in groups[0].uses)
    no_pass = tied_groups(snap, None)
    assert no_pass[0].uses == () and no_pass[0].total is None and no_pass[0].grad is not None


async def test_enter_jumps_to_the_use_module():
    app = Workbench(autoencoder_session())
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        seen = []
        app.query_one("#modules-view").select_module = seen.append
        table = app.query_one("#tied-table")
        table.focus()
        await pilot.press("down", "down", "enter")  # use 2: the decoder
        await pilot.pause()
        assert seen == ["dec"]
        assert app.query_one("#tabs").active == "modules"


async def test_search_and_export(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot, "m")
        view = app.active_view
        assert view.search("4.bias") == "2.bias = 4.bias: match 1 of 1"
        table = app.query_one("#tied-table")
        assert table.cursor_index == view._group_rows[1][0]
        assert "no tied parameter matching" in view.search("zzz")
        assert "digraph" in view.selection_dot().source


async def test_no_tied_parameters_says_so(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        text = screen_text(app)
        assert "Tied parameters of chimera: none" in text
        assert "No tied parameters: every parameter of chimera has exactly one name" in text
        assert not app.query_one("#tied-table").display


async def test_no_recorded_pass():
    gl.manual_seed(0)
    net = TiedAutoencoder()
    (net(gl.randn(2, 6)) ** 2).mean().backward()
    app = Workbench(session(net))
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        text = screen_text(app)
        assert "no recorded pass" in text
        assert "No recorded pass: record a forward and backward" in text
        assert num(_norm(app.snapshot.gradients["enc.weight"])) in text  # .grad still shown
        assert app.active_view.selection_dot() is None


async def test_pass_without_backward():
    app = Workbench(autoencoder_session(backward=False))
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        text = screen_text(app)
        assert "This pass ran no backward: call loss.backward()" in text
        assert "no gradient came back to this use" in text
        assert "no .grad (call loss.backward())" in text
