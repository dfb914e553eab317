"""Snapshot tests (pytest-textual-snapshot): every view at 80×24 and 160×48 on the demo session.

The session is deterministic (seeded, no timings, call sites relative to the checkout), so the SVG
screenshots in ``__snapshots__`` only change when what the workbench shows changes. After an
intended change: ``python -m pytest tests/tui/test_snapshots.py --snapshot-update`` and look at
the new SVGs (``snapshot_report.html``).
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytest_textual_snapshot")

from tui.app import Workbench  # noqa: E402
from tui.views import VIEWS  # noqa: E402

SIZES = [(80, 24), (160, 48)]


def keys(*presses: str):
    """A ``run_before`` that presses ``presses``, then waits for every worker to finish (views
    compute some panels in workers) so the screenshot is deterministic."""

    async def run_before(pilot) -> None:
        for key in presses:
            await pilot.press(key)
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("key", [str(i + 1) for i in range(len(VIEWS))],
                         ids=[tab for tab, _ in VIEWS])  # fmt: skip
def test_view(snap_compare, demo_session, key, size):
    assert snap_compare(Workbench(demo_session), run_before=keys(key), terminal_size=size)


def test_tied_model_parameters(snap_compare, demo_session):
    """The tied net (second model) on the Tied view: groups, uses and the sum."""
    assert snap_compare(Workbench(demo_session), run_before=keys("m", "4"), terminal_size=(160, 48))


def test_help_screen(snap_compare, demo_session):
    assert snap_compare(Workbench(demo_session), run_before=keys("question_mark"),
                        terminal_size=(100, 40))  # fmt: skip
