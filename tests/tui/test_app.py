"""The workbench app: tabs, number keys, model and pass selection, help, search, export, errors."""

from __future__ import annotations

import pytest

textual = pytest.importorskip("textual")

from tests.tui.conftest import screen_text, shown  # noqa: E402
from tui.app import Workbench  # noqa: E402
from tui.views import TAB_LABELS, VIEWS  # noqa: E402


async def test_number_keys_switch_views(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for i, (tab, view) in enumerate(VIEWS):
            await pilot.press(str(i + 1))
            await pilot.pause()
            assert app.active_view is app.query_one(f"#{tab}-view")
            assert f"{i + 1} {TAB_LABELS.get(tab, view.TITLE)}" in screen_text(app)


async def test_status_names_model_and_pass(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "chimera" in text and "pass 2/2" in text
        assert "8 NaN/Inf" in text  # all eight tabs fit
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert "pass 1/2" in screen_text(app)
        await pilot.press("m")
        await pilot.pause()
        assert app.snapshot.name == "tied"
        assert "tied" in screen_text(app)


async def test_help_lists_every_binding(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        for word in ("Help", "Search", "Export", "Quit", "Prev pass", "Next pass"):
            assert word in text
        await pilot.press("escape")
        await pilot.pause()
        assert "Keys (Esc closes)" not in screen_text(app)


async def test_loader_error_shows_traceback_and_app_stays_usable():
    def broken():
        raise ValueError("no such session: demo.h5 is corrupt")

    app = Workbench(loader=broken)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        text = await shown(pilot, "Could not load the session")
        assert "Could not load the session" in text
        assert "demo.h5 is corrupt" in text
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        assert app.active_view.TITLE == "Parameters"


async def test_loader_runs_in_a_worker(demo_session):
    app = Workbench(loader=lambda: demo_session)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.session is demo_session
        assert "chimera" in screen_text(app)


def _deferred(session, gates: dict):
    """``session`` with every pass deferred: its decode waits for ``gates[index]`` (an Event)
    and raises if that gate holds an exception instead."""
    import dataclasses
    import threading

    from graphlab.trace import Trace

    def later(t):
        gate = gates.setdefault(t.index, threading.Event())

        def decode():
            gate.wait(10)
            if getattr(gate, "error", None):
                raise gate.error
            return t

        return Trace.deferred(decode, count=len(t.events), index=t.index, roots=t.roots,
                              level=t.level, timing=t.timing)  # fmt: skip

    models = [dataclasses.replace(m, traces=tuple(map(later, m.traces))) for m in session.models]
    return dataclasses.replace(session, models=tuple(models))


async def test_models_show_while_passes_decode_and_event_views_wait(demo_session):
    gates: dict = {}
    deferred = _deferred(demo_session, gates)
    loaded = gates["loader"] = __import__("threading").Event()
    app = Workbench(loader=lambda: loaded.wait(10) and deferred)
    async with app.run_test(size=(120, 40)) as pilot:
        try:
            await pilot.pause()
            # the loader has not returned: a loading indicator, not "no model"
            assert app.session is None and app.query_one("#modules-view").loading
            assert "no model" not in screen_text(app) and "loading…" in screen_text(app)
            loaded.set()
            while app.session is None:
                await pilot.pause(0.02)
            await pilot.pause()
            text = screen_text(app)
            assert "NestMLP" in text and "3,952 params" in text  # the tree is there
            assert "decoding its 91 events" in text and "decoding…" in text  # the ops wait
            await pilot.press("5")
            await pilot.pause()
            trace_view = app.query_one("#trace-view")
            assert trace_view.loading and trace_view._dirty
        finally:
            for gate in gates.values():
                gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not trace_view.loading and app.decoded_at is not None
        assert all(t.decoded for t in deferred.traces)
        text = screen_text(app)
        assert "decoding" not in text and "Linear" in text


async def test_a_pass_that_cannot_be_decoded_is_left_out_with_its_error(demo_session):
    gates: dict = {}
    deferred = _deferred(demo_session, gates)
    chimera = deferred.models[0]
    bad = chimera.traces[-1].index
    for index in [t.index for t in deferred.traces]:
        gates.setdefault(index, __import__("threading").Event()).set()
    gates[bad].error = ValueError("pass record damaged")
    app = Workbench(loader=lambda: deferred)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "pass record damaged" in screen_text(app)
        assert [t.index for t in app.snapshot.traces] == [t.index for t in chimera.traces[:-1]]
        await pilot.press("escape")
        await pilot.press("5")
        await pilot.pause()
        assert "pass 1/1" in screen_text(app)


async def test_start_error_screen(demo_session):
    app = Workbench(demo_session, error=("script.py raised", "Traceback ...\nKeyError: 'x'"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "KeyError: 'x'" in screen_text(app)


def test_needs_a_session_or_loader():
    with pytest.raises(ValueError, match="session or a loader"):
        Workbench()


async def test_corrupt_session_file_shows_an_error_screen(tmp_path):
    from exporters.session import load_session

    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"not an hdf5 file at all")
    app = Workbench(loader=lambda: load_session(bad))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        text = await shown(pilot, "Could not load the session")
        assert "Could not load the session" in text and "broken.h5" in text
        assert list(tmp_path.iterdir()) == [bad]  # nothing written


async def test_export_writes_only_when_asked(demo_session, tmp_path):
    from textual.widgets import Input

    from exporters.session import load_session
    from tui.screens.export import ExportScreen

    app = Workbench(demo_session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        assert "Session (HDF5)" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ExportScreen)
        assert list(tmp_path.iterdir()) == []
        await pilot.press("e")
        await pilot.pause()
        target = tmp_path / "demo.h5"
        app.screen.query_one("#export-path", Input).value = str(target)
        await pilot.click("#export-go")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not isinstance(app.screen, ExportScreen)
    assert [m.name for m in load_session(target).models] == [m.name for m in demo_session.models]


async def test_export_of_the_selected_pass_as_dot(demo_session, tmp_path):
    from textual.widgets import Input, RadioSet

    app = Workbench(demo_session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e")
        await pilot.pause()
        labels = [str(b.label) for b in app.screen.query("RadioButton")]
        index = labels.index("Pass graph (DOT)")
        app.screen.query("RadioButton")[index].value = True
        await pilot.pause()
        assert app.screen.query_one(RadioSet).pressed_index == index
        target = tmp_path / "pass.dot"
        app.screen.query_one("#export-path", Input).value = str(target)
        await pilot.click("#export-go")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert target.read_text().startswith("digraph")


async def test_the_mouse_switches_tabs_and_models(demo_session):
    from textual.widgets import Tab

    app = Workbench(demo_session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        tab = next(t for t in app.query(Tab) if str(t.label).endswith("Trace"))
        await pilot.click(tab)
        await pilot.pause()
        assert app.active_view.TITLE == "Trace"
        await pilot.click("#model", offset=(app.query_one("#model").size.width - 2, 0))
        await pilot.pause()
        assert app.snapshot.name == "tied"
        await pilot.click("#model", offset=(1, 0))
        await pilot.pause()
        assert app.snapshot.name == "chimera"
