"""The Transfers view (key 6): the ledger of copies and syncs, totals, advice, empty cases."""

from __future__ import annotations

from pathlib import Path

import pytest

textual = pytest.importorskip("textual")

from tests.tui.conftest import screen_text  # noqa: E402
from tests.tui.view_sessions import (  # noqa: E402
    COPIES,
    SYNCS,
    no_pass_session,
    quiet_session,
    transfer_session,
)
from tui.app import Workbench  # noqa: E402
from tui.widgets.transfers_ledger import rate, relative_site  # noqa: E402

SIZE = (200, 60)
ROOT = Path(__file__).resolve().parents[2]
SESSIONS = "tests/tui/view_sessions.py"


@pytest.fixture(scope="module")
def transfers():
    return transfer_session(steps=2)


@pytest.fixture(autouse=True)
def _in_repo_root(monkeypatch):
    # NOTE: call sites are shown relative to the current directory: make it the same everywhere.
    monkeypatch.chdir(ROOT)


async def _open(app, pilot):
    await pilot.pause()
    await pilot.press("6")
    await pilot.pause()
    return app.query_one("#transfers-view")


def _totals(app) -> str:
    return str(app.query_one("#transfers-totals").content)


def _rows(view) -> list[list[str]]:
    table = view.ledger
    return [[str(c) for c in table.source.row(table.source_index(p))] for p in range(len(table))]


async def test_ledger_has_exact_bytes_directions_and_call_sites(transfers):
    app = Workbench(transfers)
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        text = screen_text(app)
        assert f"pass 2 of Linear · {COPIES} copies, {SYNCS} host syncs" in text
        rows = _rows(view)
        copies = [r for r in rows if r[1] == "copy"]
        syncs = [r for r in rows if r[1] == "sync"]
        assert len(copies) == COPIES and len(syncs) == SYNCS
        # a (4, 3) float32 output is 48 bytes; the copy is pageable and blocking
        assert {tuple(r[2:4]) for r in copies} == {("cpu → cpu:1", "48")}
        assert {tuple(r[6:9]) for r in copies} == {("pageable", "blocking", "to")}
        assert all(r[-1].startswith(f"{SESSIONS}:") for r in rows)
        # .item() on cpu:1 is a 4-byte sync that blocks the host
        assert {tuple(r[2:4]) for r in syncs} == {("cpu:1 → host", "4")}
        assert {(r[7], r[8]) for r in syncs} == {("blocking", "item")}
        assert "cpu:1 → host" in text and f"{SESSIONS}:" in text
        assert str(ROOT) not in text  # nothing absolute when under the current directory


async def test_totals_by_pair_and_site_and_advice(transfers):
    report = transfers.models[0].traces[1].transfer_report()
    assert len(report.advice) == 2
    app = Workbench(transfers)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        totals = _totals(app)
        nbytes = COPIES * 48
        assert f"pass 2 of Linear: {COPIES} copies, {nbytes} B, " in totals
        assert f"cpu → cpu:1: {COPIES} copies, {nbytes} B" in totals
        copy_site, sync_site = (s.call_site for s in report.by_site)
        assert f"{relative_site(copy_site)}: {COPIES} copies, {nbytes} B" in totals
        assert f"{relative_site(sync_site)}: {SYNCS} syncs (item)" in totals
        for line in report.advice:
            # the report's own words, with the call site made relative
            site = copy_site if copy_site in line else sync_site
            assert line.replace(site, relative_site(site)) in totals
        assert "batch them into one copy" in totals and ".item() inside a loop" in totals


async def test_toggle_all_passes(transfers):
    app = Workbench(transfers)
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        text = screen_text(app)
        assert f"all 2 passes of Linear · {2 * COPIES} copies, {2 * SYNCS} host syncs" in text
        rows = _rows(view)
        assert [r[0] for r in rows].count("1") == COPIES + SYNCS  # the pass column
        totals = _totals(app)
        assert f"cpu → cpu:1: {2 * COPIES} copies, {2 * COPIES * 48:,} B" in totals
        assert "passes 1, 2: " in totals  # advice is per pass, saying which passes
        await pilot.press("a")
        await pilot.pause()
        assert len(view.ledger) == COPIES + SYNCS


async def test_enter_shows_module_and_search(transfers):
    app = Workbench(transfers)
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        chosen = []
        app.query_one("#modules-view").select_module = chosen.append
        view.ledger.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert chosen == [""]  # the copies ran outside the model: its root
        message = view.search("item")
        assert message.startswith(f"'item': match 1 of {SYNCS}")
        assert _rows(view)[view.ledger.cursor][8] == "item"
        assert view.search("nothing like this") == "no copy or sync matches 'nothing like this'"
        assert "->" in view.selection_dot().source


async def test_pass_without_transfers_says_so():
    app = Workbench(quiet_session())
    async with app.run_test(size=SIZE) as pilot:
        view = await _open(app, pilot)
        assert "There were no transfers and no host syncs in pass 1 of Linear" in screen_text(app)
        assert view.search("x") == "no transfers to search"


async def test_no_recorded_pass_says_so():
    app = Workbench(no_pass_session())
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        assert "Linear has no recorded pass" in screen_text(app)


async def test_demo_shows_host_to_device_copies(demo_session):
    app = Workbench(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        text = screen_text(app)
        assert "cpu → cpu:1" in text and "samples/demo_session.py:" in text
        assert "tensor condition" in _totals(app)  # the chimera's while loop syncs


def test_relative_site_and_rate(tmp_path):
    inside = tmp_path / "pkg" / "train.py"
    assert relative_site(f"{inside}:12", tmp_path) == "pkg/train.py:12"
    assert relative_site("/elsewhere/x.py:3", tmp_path) == "/elsewhere/x.py:3"
    assert relative_site("", tmp_path) == "?"
    assert rate(5.4e9) == "5.40 GB/s" and rate(4.12e7) == "41.20 MB/s" and rate(None) == "-"
