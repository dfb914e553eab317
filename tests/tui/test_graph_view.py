"""The Graph view (key 7): an op's producers and consumers as a diagram, radius keys, DOT."""

from __future__ import annotations

import pytest

textual = pytest.importorskip("textual")

from graphlab.inspect import session  # noqa: E402
from graphlab.trace import Trace  # noqa: E402
from graphlab.trace.events import OpEvent, SyncEvent, ValueRef  # noqa: E402
from tests.tui.conftest import screen_text  # noqa: E402
from tests.tui.view_sessions import (  # noqa: E402
    dynamic_session,
    huge_session,
    no_pass_session,
)
from tui.app import Workbench  # noqa: E402
from tui.widgets.graph_neighbourhood import OpIndex, draw  # noqa: E402

SIZE = (180, 70)


@pytest.fixture(scope="module")
def dynamic():
    return dynamic_session()


async def _open(app, pilot, key="7"):
    await pilot.pause()
    await pilot.press(key)
    await pilot.pause()
    return app.query_one("#graph-view")


async def _choose(view, pilot, op_id: int):
    index = view.ops_table.source.index
    view.ops_table.move_to_source(index.position[op_id])
    await pilot.pause()


def _diagram(app) -> str:
    return str(app.query_one("#graph-diagram").content)


def _second_linear(trace) -> OpEvent:
    return [ev for ev in trace.events if getattr(ev, "op", "") == "Linear"][1]


async def test_neighbourhood_diagram(dynamic):
    trace = dynamic.models[0].traces[-1]
    linear = _second_linear(trace)  # X = self.linear(X) again: reads Relu, read by Abs and Div
    app = Workbench(dynamic)
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        await _choose(view, pilot, linear.id)
        ops = [ev for ev in trace.events if isinstance(ev, OpEvent)]
        k = ops.index(linear)
        relu, absolute, div = ops[k - 1], ops[k + 1], ops[k + 4]  # Abs, Sum, Gt, Div
        assert (relu.op, absolute.op, div.op) == ("Relu", "Abs", "Div")
        diagram = _diagram(app)
        lines = diagram.splitlines()
        row = {name: next(i for i, line in enumerate(lines) if line.startswith(name))
               for name in ("up 1", "op", "down 1")}  # fmt: skip
        assert row["up 1"] < row["op"] < row["down 1"]
        assert f"#{relu.id} Relu" in lines[row["up 1"]]
        assert f"╔═ #{linear.id} Linear" in lines[row["op"]]
        assert f"#{absolute.id} Abs" in lines[row["down 1"]]
        assert f"#{div.id} Div" in lines[row["down 1"]]
        # parameters are leaves of the op that reads them; inputs name their producer
        assert "◇ linear.weight 20×20" in diagram and "◇ linear.bias 20" in diagram
        assert f"← #{relu.id} 2×20" in diagram and "→ 2×20 float32" in diagram
        assert "linear · Linear" in diagram  # module scope and class
        # one connector fans out from the Linear to both consumers
        assert "├" in diagram and diagram.count("▼") >= 3
        title = screen_text(app)
        assert f"#{linear.id} Linear in linear (Linear) · 1 hop" in title
        assert "1 producer, 2 consumers" in title
        assert "e: export" in title


async def test_radius_keys(dynamic):
    trace = dynamic.models[0].traces[-1]
    linear = _second_linear(trace)
    app = Workbench(dynamic)
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        await _choose(view, pilot, linear.id)
        assert "up 2" not in _diagram(app)
        await pilot.press("plus")
        await pilot.pause()
        assert view.radius == 2
        diagram = _diagram(app)
        assert "up 2" in diagram and "down 2" in diagram
        assert "Add" in diagram  # two hops up: Add made the Relu's input
        assert "2 hops" in screen_text(app)
        await pilot.press("minus", "minus")
        await pilot.pause()
        assert view.radius == 1  # never below one hop
        assert "up 2" not in _diagram(app)


async def test_starts_on_the_trace_views_event(dynamic):
    app = Workbench(dynamic)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot, key="5")
        trace_view = app.query_one("#trace-view")
        assert trace_view.search("MatMul").startswith("'MatMul': match 1")
        matmul = trace_view.highlighted_event
        await pilot.press("7")
        await pilot.pause()
        assert f"╔═ #{matmul.id} MatMul" in _diagram(app)
        assert "○ input 20×20" in _diagram(app)  # the constant rand_weight is a leaf


async def test_selection_dot_is_the_same_neighbourhood(dynamic):
    trace = dynamic.models[0].traces[-1]
    linear = _second_linear(trace)
    app = Workbench(dynamic)
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        await _choose(view, pilot, linear.id)
        source = view.selection_dot().source
        assert source.startswith("digraph")
        for op in ("Relu", "Linear", "Abs", "Div"):
            assert op in source
        assert "MatMul" not in source and "Sum" not in source  # outside one hop
        assert "linear.weight" in source
        await pilot.press("e")
        await pilot.pause()
        assert "Graph selection (DOT)" in screen_text(app)


async def test_search_moves_to_the_next_op(dynamic):
    app = Workbench(dynamic)
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        first = view.search("div")
        assert first.startswith("'div': match 1 of")
        second = view.search("div")
        assert second.startswith("'div': match 2 of")
        await pilot.pause()
        div = view.ops_table.source.index.ops[view.ops_table.cursor_index]
        assert div.op == "Div"
        assert f"╔═ #{div.id} Div" in _diagram(app)
        assert view.search("nothing") == "no op matches 'nothing'"


async def test_pass_without_ops_and_without_pass():
    sync = SyncEvent(0, "cpu", "item", 4, 1e-6, "", "x.py:1")
    from graphlab import nn

    only_sync = session(nn.Linear(2, 2), traces=[Trace([sync])], name="syncs")
    app = Workbench(only_sync)
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        assert "pass 1 of Linear ran no op: nothing to draw" in screen_text(app)
        assert view.selection_dot() is None
    app = Workbench(no_pass_session())
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        assert "Linear has no recorded pass" in screen_text(app)


@pytest.mark.slow
async def test_100000_event_pass_pages_and_draws():
    app = Workbench(huge_session(100_000))
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        await pilot.press("pagedown", "end")
        await pilot.pause()
        assert "╔═ #99999" in _diagram(app)
        assert "#99998" in _diagram(app)  # its producer


def _ref(vid: int) -> ValueRef:
    return ValueRef(vid, (2,), "float32", "cpu", 8)


def test_in_place_writes_split_producers_and_consumers():
    # v1 = A(v0); B reads v1; C rewrites v1 in place; D reads v1 (C's version)
    ops = [
        OpEvent(0, "A", "", "", (_ref(0),), (_ref(1),)),
        OpEvent(1, "B", "", "", (_ref(1),), (_ref(2),)),
        OpEvent(2, "C", "", "", (_ref(1),), (_ref(1),)),
        OpEvent(3, "D", "", "", (_ref(1), _ref(2)), (_ref(3),)),
    ]
    index = OpIndex(ops)
    assert index.consumers(0) == [1, 2]  # A's value is read by B and by C (which rewrites it)
    assert index.producers(3) == [2, 1]  # D reads C's v1 and B's v2
    assert index.consumers(2) == [3]
    hood = index.neighbourhood(3, 2)
    assert hood.hops == {-2: [0], -1: [1, 2], 0: [3]}
    text = draw(hood).plain
    assert "← #2 2" in text and "○ tensor 2" in text
    with pytest.raises(ValueError, match="radius must be an int >= 1"):
        index.neighbourhood(0, 0)
