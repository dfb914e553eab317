"""The Trace view (key 5): passes grouped by graph, events, toggles, filter, search, jump, diff."""

from __future__ import annotations

import pytest

textual = pytest.importorskip("textual")

from graphlab.trace import analysis  # noqa: E402
from tests.tui.conftest import screen_text  # noqa: E402
from tests.tui.view_sessions import dynamic_session, huge_session, no_pass_session  # noqa: E402
from tui.app import Workbench  # noqa: E402
from tui.widgets.trace_events import bar  # noqa: E402

SIZE = (160, 48)


@pytest.fixture(scope="module")
def dynamic():
    return dynamic_session()


async def _open(app, pilot):
    await pilot.pause()
    await pilot.press("5")
    await app.workers.wait_for_complete()
    await pilot.pause()
    return app.query_one("#trace-view")


def _shown(view):
    """The events the table shows, in order."""
    table = view.events_table
    return [table.source.events[table.source_index(p)] for p in range(len(table))]


async def test_passes_grouped_by_graph_signature(dynamic):
    traces = dynamic.models[0].traces
    groups = analysis.group_by_signature(traces)
    assert 1 < len(groups) < len(traces)  # the loop ran a different number of times
    app = Workbench(dynamic)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        text = screen_text(app)
        assert f"{len(traces)} passes · {len(groups)} distinct graphs" in text
        for g, members in enumerate(groups.values()):
            assert f"graph {g + 1}" in text
            assert f"{len(members)} pass{'es' if len(members) > 1 else ''}" in text
        # the passes of one group sit together under it
        view = app.query_one("#trace-view")
        labels = [row[1].split()[:2] for row in view.passes_table.source.rows]
        assert labels == [
            ["graph", "1"], ["pass", "1"], ["pass", "4"],
            ["graph", "2"], ["pass", "2"],
            ["graph", "3"], ["pass", "3"],
        ]  # fmt: skip


async def test_events_table_shows_ops_scopes_and_shapes(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        text = screen_text(app)
        assert "chimera · pass 2 of 2 · 91 events · showing 91 (all)" in text
        assert "0.net.0" in text and "Linear" in text
        assert "16×20, 64×20, 64 → 16×64" in text
        assert "bool() on cpu" in text  # the while loop's syncs are events too
        assert view.highlighted_event.id == 0


async def test_direction_toggle(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        await pilot.press("d")
        await pilot.pause()
        shown = _shown(view)
        assert "(forward)" in screen_text(app)
        assert shown and all(ev.kind != "backward" for ev in shown)
        await pilot.press("d")
        await pilot.pause()
        shown = _shown(view)
        assert "(backward)" in screen_text(app)
        assert shown and all(ev.kind == "backward" for ev in shown)
        assert "LinearBackward0" in screen_text(app)
        await pilot.press("d")
        await pilot.pause()
        assert len(view.events_table) == len(app.trace.events)


async def test_filter_by_op_and_scope(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        await pilot.press("f")
        await pilot.press(*"net relu")
        await pilot.press("enter")
        await pilot.pause()
        shown = _shown(view)
        assert [ev.scope for ev in shown if ev.kind == "op"] == ["0.net.1", "0.net.3"]
        assert all("Relu" in ev.op for ev in shown)  # ReluBackward0 too
        assert "filter 'net relu'" in screen_text(app)
        assert view.events_table.has_focus  # Enter went back to the events
        await pilot.press("f", *["backspace"] * 8, "escape")
        await pilot.pause()
        assert len(view.events_table) == len(app.trace.events)


async def test_search_jumps_to_next_match(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        abs_ids = [ev.id for ev in app.trace.events if getattr(ev, "op", "") == "Abs"]
        await pilot.press("slash", *"Abs", "enter")
        await pilot.pause()
        assert view.highlighted_event.id == abs_ids[0]
        await pilot.press("n")
        await pilot.pause()
        assert view.highlighted_event.id == abs_ids[1]
        # searching again for the same text moves on too
        assert view.search("abs").startswith("'abs': match 3 of")
        assert view.highlighted_event.id == abs_ids[2]
        assert view.search("no such op") == "no shown event matches 'no such op'"


async def test_enter_on_event_jumps_to_its_module(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        chosen = []
        app.query_one("#modules-view").select_module = chosen.append
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert chosen == ["0.net.2"]  # the app showed Modules and selected the event's module
        assert view.highlighted_event.scope == "0.net.2"


async def test_choosing_a_pass_on_the_left_selects_it(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        assert app.pass_position == 1
        view.passes_table.focus()
        await pilot.press("up", "enter")
        await pilot.pause()
        assert app.pass_position == 0
        assert "chimera · pass 1 of 2 · 83 events" in screen_text(app)
        assert "pass 1/2" in screen_text(app)  # the app's status follows


async def test_mark_then_choose_shows_the_diff(dynamic):
    traces = dynamic.models[0].traces
    d = analysis.diff(traces[1], traces[2])
    assert d.added and not d.identical
    app = Workbench(dynamic)
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        app.pass_position = 1
        await pilot.pause()
        view.passes_table.focus()
        await pilot.press("c")  # mark pass 2 (the highlighted one)
        await pilot.pause()
        assert view.marked == 1
        assert "◆" in screen_text(app)
        # choose pass 3 (its own row, in another group)
        row = [i for i, p in enumerate(view._pass_of_row) if p == 2][-1]
        view.passes_table.cursor = row
        await pilot.press("enter")
        await pilot.pause()
        assert app.pass_position == 2
        text = screen_text(app)
        summary = (
            f"diff: pass 2 (marked ◆) → pass 3: {len(d.added)} added, {len(d.removed)} removed, "
            f"{len(d.changed)} changed shape"
        )
        assert summary in text
        added = d.added[0]
        assert f"+ #{added.id} (root) {added.op}(" in text
        # c on the marked pass again unmarks it and closes the diff
        view.passes_table.cursor = [i for i, p in enumerate(view._pass_of_row) if p == 1][-1]
        await pilot.press("c")
        await pilot.pause()
        assert view.marked is None
        assert "diff: pass" not in screen_text(app)


async def test_only_this_module_and_selection_dot(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        whole = view.selection_dot().source
        assert "digraph" in whole and "MatMul" in whole
        await pilot.press("down", "s")  # event 1 runs in 0.net.1
        await pilot.pause()
        shown = _shown(view)
        assert {ev.scope for ev in shown} == {"0.net.1"}
        assert "module 0.net.1" in screen_text(app)
        part = view.selection_dot().source
        assert "Relu" in part and "MatMul" not in part
        await pilot.press("s")
        await pilot.pause()
        assert len(view.events_table) == len(app.trace.events)
        await pilot.press("d", "d")  # backward: the gradient graph
        await pilot.pause()
        assert "Backward0" in view.selection_dot().source


async def test_export_offers_the_selection(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        assert "Trace selection (DOT)" in screen_text(app)


async def test_help_lists_the_view_keys(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=(120, 60)) as pilot:
        await _open(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        for description in ("Fwd/bwd", "Filter", "Next match", "This module", "Mark/compare"):
            assert description in text


async def test_no_recorded_pass_says_so():
    app = Workbench(no_pass_session())
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        assert "Linear has no recorded pass" in screen_text(app)


@pytest.mark.slow
async def test_100000_events_open_and_page():
    sess = huge_session(100_000)
    app = Workbench(sess)
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        assert "100,000 events" in screen_text(app)
        await pilot.press("pagedown", "pagedown", "end")
        await pilot.pause()
        assert view.highlighted_event.id == 99_999
        assert "99999" in screen_text(app)
        await pilot.press("d")  # forward: every event (all are ops)
        await pilot.press("slash", *"layers.49", "enter")
        await pilot.pause()
        assert view.highlighted_event.scope == "layers.49"
        await pilot.press("home", "pageup")
        await pilot.pause()
        assert view.highlighted_event.id == 0


def test_bar_is_proportional():
    assert bar(1.0, 4) == "████"
    assert bar(0.5, 4) == "██"
    assert bar(0.0, 4) == ""
    assert bar(1e-9, 4) == "▏"  # a fast event still shows
