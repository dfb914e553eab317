"""The Modules view: lazy tree, ×N folding, shared modules, details, select_module, search."""

from __future__ import annotations

import pytest

textual = pytest.importorskip("textual")

import graphlab as gl  # noqa: E402
import graphlab.inspect as gi  # noqa: E402
from graphlab import nn  # noqa: E402
from tests.tui.conftest import screen_text  # noqa: E402
from tui.app import Workbench  # noqa: E402
from tui.views import View  # noqa: E402
from tui.views.modules import ModulesView  # noqa: E402
from tui.widgets.search_bar import SearchBar  # noqa: E402
from tui.widgets.virtual_table import VirtualTable  # noqa: E402

SIZE = (160, 48)


def _recorded(model, x, name="m"):
    """A session of ``model`` with one recorded forward+backward pass on ``x``."""
    with gi.record_session(name, level="stats", timing=False) as rec:
        model(x).sum().backward()
    return rec.session


@pytest.fixture(scope="module")
def blocks_session():
    """12 identical blocks then a different head (a fold of 12 and a lone module)."""
    gl.manual_seed(0)
    blocks = [nn.Sequential(nn.Linear(8, 8), nn.ReLU()) for _ in range(12)]
    return _recorded(nn.Sequential(*blocks, nn.Linear(8, 2)), gl.randn(4, 8))


def _notes(app) -> list[str]:
    """The messages of the app's notifications from now on (toasts wrap: read them here)."""
    seen: list[str] = []
    notify = app.notify

    def record(message, **kwargs):
        seen.append(str(message))
        return notify(message, **kwargs)

    app.notify = record
    return seen


def _view(app) -> ModulesView:
    return app.query_one("#modules-view", ModulesView)


def _cursor_path(app) -> str:
    node = _view(app).tree.cursor_node
    return node.data.node.path


def _ops(app) -> list[list[str]]:
    table = app.query_one("#module-ops", VirtualTable)
    return [table.source.row(table.source_index(i)) for i in range(len(table))]


def _params(app) -> list[list]:
    table = app.query_one("#module-params", VirtualTable)
    return [[str(c) for c in table.source.row(i)] for i in range(len(table))]


async def test_tree_labels_and_lazy_expansion(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "chimera Sequential  4,712 params  cpu" in text
        assert "0 NestMLP  3,952 params" in text
        tree = _view(app).tree
        nest = tree.root.children[0]
        assert nest.data.node.path == "0"
        assert len(nest.children) == 0  # not expanded: its children are not built
        assert "net Sequential" not in text
        await pilot.press("down", "space")
        await pilot.pause()
        assert [c.data.node.path for c in nest.children] == ["0.net", "0.linear"]
        assert "net Sequential  3,424 params" in screen_text(app)


async def test_selected_module_shows_parameters_and_ops(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("down", "down")  # (1): Linear(16, 20)
        await pilot.pause()
        assert _cursor_path(app) == "1"
        text = screen_text(app)
        assert "Linear · 340 parameters · on cpu · training" in text
        assert _params(app) == [
            ["weight", "20×16", "float32", "cpu", "320", ""],
            ["bias", "20", "float32", "cpu", "20", ""],
        ]
        trace = app.trace
        expected = [ev.id for ev in trace.events if getattr(ev, "scope", "") == "1"]
        assert [int(r[0]) for r in _ops(app)] == expected
        assert [r[2] for r in _ops(app)] == ["Linear", "LinearBackward0"]
        assert f"pass 2: 2 of {len(trace.events)} events ran in it" in text
        # the root holds every event of the pass
        await pilot.press("home")
        await pilot.pause()
        assert len(_ops(app)) == len(trace.events)
        assert len(_params(app)) == 10


async def test_pass_change_updates_ops_only(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("down", "down")
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert _cursor_path(app) == "1"
        assert "pass 1: 2 of" in screen_text(app)
        first = app.snapshot.traces[0]
        assert [int(r[0]) for r in _ops(app)] == [
            ev.id for ev in first.events if getattr(ev, "scope", "") == "1"
        ]


async def test_identical_blocks_fold_and_expand(blocks_session):
    app = Workbench(blocks_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tree = _view(app).tree
        fold, head = tree.root.children
        assert [m.path for m in fold.data.members] == [str(i) for i in range(12)]
        assert head.data.node.path == "12" and not head.data.members
        text = screen_text(app)
        assert "0…11 Sequential ×12  72 params each" in text
        # the fold's details cover all its members
        await pilot.press("down")
        await pilot.pause()
        assert "0 … 11: 12 identical Sequential modules" in screen_text(app)
        assert len(_params(app)) == 24
        trace = app.trace
        in_blocks = [ev for ev in trace.events if ev.scope and ev.scope.split(".")[0] != "12"]
        assert len(_ops(app)) == len(in_blocks)
        await pilot.press("space")
        await pilot.pause()
        assert [c.data.node.path for c in fold.children] == [str(i) for i in range(12)]
        assert "7 Sequential  72 params" in screen_text(app)


async def test_fold_needs_identical_shapes():
    gl.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 5), nn.Linear(5, 5))
    app = Workbench(gi.session(model))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        runs = [len(c.data.members) or 1 for c in _view(app).tree.root.children]
        assert runs == [2, 1, 1]


async def test_select_module_expands_the_path(blocks_session):
    app = Workbench(blocks_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        _view(app).select_module("7.0")
        await pilot.pause()
        assert _cursor_path(app) == "7.0"
        assert "7.0  Linear(in_features=8, out_features=8, bias=True)" in screen_text(app)
        assert _params(app)[0][:2] == ["weight", "8×8"]
        notes = _notes(app)
        _view(app).select_module("no.such")
        await pilot.pause()
        assert _cursor_path(app) == "7.0"
        assert notes == ["Sequential has no module at 'no.such'"]


async def test_jump_to_module_from_another_view(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("5")
        await pilot.pause()
        app.query_one("#trace-view", View).post_message(View.JumpToModule("0.net.2"))
        await pilot.pause()
        assert app.active_view is _view(app)
        assert _cursor_path(app) == "0.net.2"
        assert "0.net.2  Linear(in_features=64, out_features=32" in screen_text(app)


async def test_jump_before_the_view_was_shown(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("2", "m", "m")  # Modules is hidden while the model changes
        await pilot.pause()
        assert app.snapshot.name == "lazy"
        app.query_one("#parameters-view", View).post_message(View.JumpToModule("2"))
        await pilot.pause()
        assert _view(app).summary.snapshot is app.snapshot
        assert _cursor_path(app) == "2"


async def test_shared_module_is_marked_and_g_goes_to_it(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        await pilot.pause()
        assert app.snapshot.name == "tied"
        text = screen_text(app)
        assert "4 Linear  ↪ same module as 2" in text
        # tie marks: the root lists every name, each tied name points at the other
        rows = {r[0]: r for r in _params(app)}
        assert rows["2.weight"][5] == "4.weight" and rows["4.weight"][5] == "2.weight"
        assert rows["0.weight"][5] == ""
        _view(app).select_module("4")
        await pilot.pause()
        assert "same module as 2: one module at two positions" in screen_text(app)
        # its ops are recorded under its first position (both uses)
        assert {r[3] for r in _ops(app)} == {"2"}
        await pilot.press("g")
        await pilot.pause()
        assert _cursor_path(app) == "2"
        notes = _notes(app)
        await pilot.press("g")
        await pilot.pause()
        assert notes == ["the selected module is not shared (it has one position)"]


async def test_search_selects_matches_in_turn(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m", "m", "m")
        await pilot.pause()
        assert app.snapshot.name == "digits_cnn"
        notes = _notes(app)
        # NOTE: what the `/` bar sends on Enter (typing into it is the app's test)
        app.query_one(SearchBar).post_message(SearchBar.Submitted("conv"))
        await pilot.pause()
        assert _cursor_path(app) == "features.0"
        assert notes == ["2 modules match 'conv': 1/2 features.0 (Conv2d), n for the next"]
        await pilot.press("n")
        await pilot.pause()
        assert _cursor_path(app) == "features.3"
        assert notes[-1] == "2 modules match 'conv': 2/2 features.3 (Conv2d), n for the next"
        assert _view(app).search("classifier.4").startswith("1 modules match")
        await pilot.pause()
        assert _cursor_path(app) == "classifier.4"
        assert _view(app).search("transformer") == "no module path or class matches 'transformer'"


async def test_collapse_all(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        _view(app).select_module("0.net.2")
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        assert _cursor_path(app) == ""
        assert "net Sequential" not in screen_text(app)


async def test_lazy_module_and_no_pass():
    model = nn.Sequential(nn.LazyLinear(4), nn.ReLU())
    app = Workbench(gi.session(model))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "lazy inside" in text  # the root holds a lazy module
        assert "0 LazyLinear  0 params  cpu  lazy" in text
        await pilot.press("down")
        await pilot.pause()
        text = screen_text(app)
        assert "lazy: uninitialized parameters" in text
        assert "no recorded pass for this model: no ops to show" in text
        assert _params(app) == [
            ["weight", "lazy", "float32", "cpu", "-", ""],
            ["bias", "lazy", "float32", "cpu", "-", ""],
        ]
        assert _view(app).selection_dot() is None


async def test_no_model():
    app = Workbench(gi.Session(name="empty", models=()))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "no model: the session holds none" in screen_text(app)
        assert _view(app).search("x") == "no model to search"


async def test_wide_model_builds_only_what_is_expanded():
    # 1,001 modules, no two siblings alike (so nothing folds)
    model = nn.Sequential(*[nn.Sequential(nn.Linear(i + 1, 2), nn.ReLU()) for i in range(500)])
    app = Workbench(gi.session(model))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tree = _view(app).tree
        assert len(tree.root.children) == 500
        assert all(len(c.children) == 0 for c in tree.root.children)
        _view(app).select_module("499.0")
        await pilot.pause()
        assert _cursor_path(app) == "499.0"
        assert sum(len(c.children) for c in tree.root.children) == 2


async def test_selection_dot_is_the_modules_ops(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        _view(app).select_module("0.net")
        await pilot.pause()
        source = str(_view(app).selection_dot())
        assert "Linear" in source and "Relu" in source
        assert "FixedHiddenMLP" not in source and "MatMul" not in source


async def test_help_lists_the_views_keys(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        lines = app.screen.lines  # the help screen's lines (it scrolls past the window)
        for key, text in (("g", "Go to a shared module's first position"),
                          ("n", "Next search match"), ("c", "Collapse the tree")):  # fmt: skip
            assert f"  {key:<12} {text}" in lines
        assert "Collapse the tree" in screen_text(app)
