"""The Transfers view (key 6): every copy between devices and every host sync of a pass.

A ledger (one row per :class:`~graphlab.trace.events.TransferEvent` or
:class:`~graphlab.trace.events.SyncEvent`: bytes, time, bandwidth, direction, pinned or pageable
memory, blocking, reason, module, call site), then the totals by device pair and by call site
and the advice of :meth:`graphlab.trace.Trace.transfer_report`. ``a`` switches between the
selected pass and all passes of the model; Enter on a row shows its module.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from graphlab.trace.analysis import transfer_report
from graphlab.trace.events import SyncEvent, TransferEvent

from ..widgets.trace_events import TraceCache
from ..widgets.transfers_ledger import (
    LEDGER_COLUMNS,
    LedgerRow,
    ledger_cells,
    relative_site,
    report_lines,
)
from ..widgets.virtual_table import VirtualTable
from .base import View

__all__ = ["TransfersView"]


def _ledger_of(trace) -> tuple:
    return tuple(ev for ev in trace.events if isinstance(ev, (TransferEvent, SyncEvent)))


class _Ledger:
    """The rows of the ledger (a lazy table source over ``(pass, event)`` pairs)."""

    def __init__(self, entries: list[LedgerRow], with_pass: bool):
        self.entries = entries
        self.with_pass = with_pass

    def __len__(self) -> int:
        return len(self.entries)

    def row(self, i: int) -> list:
        position, ev = self.entries[i]
        return ledger_cells(position, ev, self.with_pass)

    def key(self, i: int) -> str:
        """The lower-case text search looks in: direction, reason, module, call site."""
        _, ev = self.entries[i]
        where = f"{ev.src} {ev.dst}" if isinstance(ev, TransferEvent) else ev.device
        return f"{ev.kind} {where} {ev.reason} {ev.scope} {relative_site(ev.call_site)}".lower()


class TransfersView(View):
    """The ledger of copies and syncs of the selected pass (``a``: all passes), with totals."""

    TITLE = "Transfers"
    KEY = "6"
    DEFAULT_CSS = """
    TransfersView #transfers-ledger { height: 1fr; min-height: 5; }
    TransfersView #transfers-totals-box {
        height: auto; max-height: 45%; border-top: solid $primary;
    }
    TransfersView #transfers-totals { padding: 0 1; }
    """
    BINDINGS = [
        Binding("a", "toggle_all", "This pass/all"),
    ]

    def __init__(self, *, id: str | None = None):  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.all_passes = False
        self._events: TraceCache[tuple] = TraceCache(_ledger_of, size=256)
        self._reports = TraceCache(transfer_report, size=256)

    def compose(self) -> ComposeResult:
        yield Static("", classes="view-title", id="transfers-title")
        yield Static("", classes="view-note", id="transfers-note")
        yield VirtualTable(LEDGER_COLUMNS[1:], id="transfers-ledger")
        with VerticalScroll(id="transfers-totals-box"):
            yield Static("", id="transfers-totals")

    @property
    def ledger(self) -> VirtualTable:
        """The table of copies and syncs."""
        return self.query_one("#transfers-ledger", VirtualTable)

    # ----- data -------------------------------------------------------------------------------
    def refresh_data(self) -> None:
        snap, trace = self.snapshot, self.trace
        title = self.query_one("#transfers-title", Static)
        note = self.query_one("#transfers-note", Static)
        table = self.ledger
        box = self.query_one("#transfers-totals-box")
        if snap is None or trace is None:
            title.update("Transfers")
            note.update(
                "No model is loaded."
                if snap is None
                else f"{snap.name} has no recorded pass: "
                "call it inside graphlab.inspect.record_session() to record its copies and syncs."
            )
            table.display = box.display = False
            return
        if self.all_passes:
            positions = list(range(len(snap.traces)))
            what = f"all {len(positions)} passes of {snap.name}"
        else:
            positions = [self.pass_position]
            what = f"pass {self.pass_position + 1} of {snap.name}"
        entries = [(p, ev) for p in positions for ev in self._events.get(snap.traces[p])]
        copies = sum(isinstance(ev, TransferEvent) for _, ev in entries)
        title.update(f"Transfers · {what} · {copies} copies, {len(entries) - copies} host syncs")
        if not entries:
            note.update(
                f"There were no transfers and no host syncs in {what}: nothing moved between "
                "devices and the host never waited for a value."
            )
            table.display = box.display = False
            return
        note.update("a: this pass / all passes · Enter: the row's module · /: search · e: export")
        table.display = box.display = True
        columns = LEDGER_COLUMNS if self.all_passes else LEDGER_COLUMNS[1:]
        table.set_source(_Ledger(entries, self.all_passes), columns)
        self.query_one("#transfers-totals", Static).update(self._totals(positions, what))

    def _totals(self, positions: list[int], what: str):
        traces = self.snapshot.traces
        if len(positions) == 1:
            return report_lines(self._reports.get(traces[positions[0]]), what)
        report = transfer_report([ev for p in positions for ev in self._events.get(traces[p])])
        # NOTE: advice counts per pass ("N syncs from one line in one pass"), so it is taken from
        # each pass's own report and each line lists the passes it holds for.
        advice: dict[str, list[int]] = {}
        for p in positions:
            for line in self._reports.get(traces[p]).advice:
                advice.setdefault(line, []).append(p)
        return report_lines(report, what, list(advice.items()))

    def action_toggle_all(self) -> None:
        """Show the selected pass only, or every pass of the model."""
        self.all_passes = not self.all_passes
        self.refresh_data()

    # ----- rows -------------------------------------------------------------------------------
    @on(VirtualTable.Selected, "#transfers-ledger")
    def _row_selected(self, event: VirtualTable.Selected) -> None:
        event.stop()
        source = self.ledger.source
        if event.index is not None and isinstance(source, _Ledger):
            self.post_message(View.JumpToModule(source.entries[event.index][1].scope))

    def search(self, text: str) -> str:
        """Move to the next row whose direction, reason, module or call site contains ``text``."""
        table = self.ledger
        source = table.source
        if not isinstance(source, _Ledger) or not table.display:
            return "no transfers to search"
        needle = text.lower()
        hits = [p for p in range(len(table)) if needle in source.key(table.source_index(p))]
        if not hits:
            return f"no copy or sync matches {text!r}"
        after = [p for p in hits if p > table.cursor]
        found = after[0] if after else hits[0]
        table.cursor = found
        table.focus()
        _, ev = source.entries[table.source_index(found)]
        return f"{text!r}: match {hits.index(found) + 1} of {len(hits)} (#{ev.id} {ev.kind})"

    def selection_dot(self):
        """The selected pass's graph (its copies are the red diamonds), or None without a pass."""
        if self.trace is None or self.snapshot is None:
            return None
        from exporters import dot

        return dot.trace_graph(self.trace, name=f"{self.snapshot.name} transfers")
