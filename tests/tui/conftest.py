"""Fixtures for the workbench tests: a deterministic demo session and screen reading."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(scope="session")
def demo_session():
    """The demo session (2 steps per model on ``cpu:1``, no timings): deterministic data."""
    pytest.importorskip("textual")
    sys.path.insert(0, str(SAMPLES))
    try:
        import demo_session as demo
    finally:
        sys.path.remove(str(SAMPLES))
    session = demo.build(steps=2, device="cpu:1", log=lambda *a: None, timing=False)
    return _fixed_copy_times(session)


def _fixed_copy_times(session):
    """The session with every copy taking nbytes / 1 GB/s and every sync 1 µs.

    Transfers and syncs are timed even with ``timing=False`` (their cost is what they are
    recorded for); fixed times make screenshots of the session deterministic.
    """
    import dataclasses

    from graphlab.inspect import Session
    from graphlab.trace import SyncEvent, Trace, TransferEvent

    def fixed(ev):
        if isinstance(ev, TransferEvent):
            return dataclasses.replace(ev, seconds=ev.nbytes / 1e9, bandwidth=1e9)
        if isinstance(ev, SyncEvent):
            return dataclasses.replace(ev, seconds=1e-6)
        return ev

    def retimed(t):
        return Trace(
            [fixed(e) for e in t.events], index=t.index, roots=t.roots, level=t.level,
            timing=t.timing, dropped=t.dropped, interrupted=t.interrupted,
        )  # fmt: skip

    models = [dataclasses.replace(m, traces=tuple(map(retimed, m.traces))) for m in session.models]
    return Session(session.name, tuple(models), session.source)


def screen_text(app) -> str:
    """What the app's current screen shows, as plain text lines."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def shown(pilot, text: str, pauses: int = 100) -> str:
    """The screen's text once it shows ``text`` (a worker's result reaches the screen a few
    message rounds after the worker ends; on a busy machine, more), or as it is after
    ``pauses`` rounds."""
    for _ in range(pauses):
        screen = screen_text(pilot.app)
        if text in screen:
            return screen
        await pilot.pause(0.01)
    return screen_text(pilot.app)
