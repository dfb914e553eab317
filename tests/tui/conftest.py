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
    return demo.build(steps=2, device="cpu:1", log=lambda *a: None, timing=False)


def screen_text(app) -> str:
    """What the app's current screen shows, as plain text lines."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())
