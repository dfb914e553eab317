"""The Trace view (key 5): a model's recorded passes, grouped by graph, and one pass's events.

Left, the passes of the selected model grouped by graph signature
(:func:`graphlab.trace.analysis.group_by_signature`: passes that ran the same ops on the same
shapes share a group; data-dependent control flow makes new ones). Right, the selected pass's
events in a :class:`~tui.widgets.virtual_table.VirtualTable` over a lazy source, so 100,000 events
open at once. Keys: ``d`` all / forward / backward, ``f`` filter by op or module, ``/`` search and
``n`` next match, ``s`` only the highlighted event's module, Enter shows the event's module, ``c``
marks a pass: choosing another then shows their diff (:func:`graphlab.trace.analysis.diff`).
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Input, Static

from graphlab.trace import analysis
from graphlab.trace.events import OpEvent

from ..fmt import count
from ..widgets.trace_events import DIRECTIONS, EVENT_COLUMNS, EventRows, TraceCache, scope_label
from ..widgets.virtual_table import Column, ListSource, VirtualTable
from .base import View

__all__ = ["TraceView"]

_PASS_COLUMNS = (
    Column("", 2),
    Column("pass", 10),
    Column("events", 8, "right"),
    Column("ops", 6, "right"),
)
_DIFF_STYLES = {"+": "$success", "-": "$error", "~": "$warning", "@": "$primary"}


def _group_passes(traces) -> tuple[dict[str, list[int]], list[int]]:
    """``(signature -> pass positions, op count of each pass)``: the slow part, for a worker."""
    groups = analysis.group_by_signature(traces)
    ops = [sum(isinstance(ev, OpEvent) for ev in t.events) for t in traces]
    return groups, ops


class TraceView(View):
    """Passes grouped by graph on the left; the selected pass's events on the right."""

    TITLE = "Trace"
    KEY = "5"
    DEFAULT_CSS = """
    TraceView #trace-body { height: 1fr; }
    TraceView #trace-passes-pane { width: 32; border-right: solid $panel-lighten-2; }
    TraceView #trace-groups { color: $text-muted; padding: 0 1; }
    TraceView #trace-filter { height: 1; border: none; padding: 0 1; background: $panel; }
    TraceView #trace-filter:focus { background: $boost; }
    TraceView #trace-diff-box {
        height: auto; max-height: 16; display: none; border-top: solid $primary;
    }
    TraceView #trace-diff-box.-open { display: block; }
    TraceView #trace-diff { padding: 0 1; }
    """
    BINDINGS = [
        Binding("d", "direction", "Fwd/bwd"),
        Binding("f", "focus_filter", "Filter"),
        Binding("n", "next_match", "Next match"),
        Binding("s", "only_module", "This module"),
        Binding("c", "mark", "Mark/compare"),
        Binding("escape", "leave_filter", "Back to the events", show=False),
    ]

    def __init__(self, *, id: str | None = None):  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self._rows: TraceCache[EventRows] = TraceCache(EventRows)
        self._groups: dict[int, tuple[object, tuple]] = {}  # id(snapshot) -> (snapshot, groups)
        self._pass_of_row: list[int] = []
        self._shown_trace = None
        self._shown_snapshot = None
        self.direction = "all"
        self.filter_text = ""
        self.scope: str | None = None
        self.marked: int | None = None
        self._last_search = ""
        self._diffs: dict[tuple[int, int], analysis.Diff] = {}

    # ----- layout -----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("", classes="view-title", id="trace-title")
        yield Static("", classes="view-note", id="trace-note")
        with Horizontal(id="trace-body"):
            with Vertical(id="trace-passes-pane"):
                yield Static("", id="trace-groups")
                yield VirtualTable(_PASS_COLUMNS, id="trace-passes")
            with Vertical(id="trace-events-pane"):
                yield Input(placeholder="filter: op or module words (f)", id="trace-filter")
                yield VirtualTable(EVENT_COLUMNS, id="trace-events")
                with VerticalScroll(id="trace-diff-box"):
                    yield Static("", id="trace-diff")

    @property
    def events_table(self) -> VirtualTable:
        """The table of the selected pass's events."""
        return self.query_one("#trace-events", VirtualTable)

    @property
    def passes_table(self) -> VirtualTable:
        """The table of the model's passes, grouped by graph."""
        return self.query_one("#trace-passes", VirtualTable)

    def focus_first(self) -> None:
        """Focus the events (the passes are a Tab away)."""
        self.events_table.focus()

    # ----- data -------------------------------------------------------------------------------
    def refresh_data(self) -> None:
        snap, trace = self.snapshot, self.trace
        title = self.query_one("#trace-title", Static)
        note = self.query_one("#trace-note", Static)
        body = self.query_one("#trace-body")
        if snap is not self._shown_snapshot:
            self._shown_snapshot = snap
            self.marked, self.scope = None, None
            self._diffs.clear()
        if snap is None:
            title.update("Trace")
            note.update("No model is loaded: nothing was recorded.")
            body.display = False
            return
        if not snap.traces or trace is None:
            title.update(f"Trace of {snap.name}")
            note.update(
                f"{snap.name} has no recorded pass: call the model inside "
                "graphlab.inspect.record_session() (or with the recorder enabled) to trace it."
            )
            body.display = False
            return
        body.display = True
        note.update("Enter: the event's module · c: mark a pass, Enter on another: diff")
        self._fill_passes()
        rows = self._rows.get(trace)
        table = self.events_table
        if trace is not self._shown_trace:
            self._shown_trace = trace
            self.scope = None
            table.set_source(rows)
        self._apply_order()
        self._show_diff()

    def _groups_of(self, snap):
        hit = self._groups.get(id(snap))
        if hit is not None and hit[0] is snap:
            return hit[1]
        if len(snap.traces) == 1:
            # NOTE: one pass is one graph; hashing a huge pass to say so would cost seconds.
            one = ({"": [0]}, [sum(isinstance(ev, OpEvent) for ev in snap.traces[0].events)])
            self._groups[id(snap)] = (snap, one)
            return one
        self._group_in_worker(snap)
        return None

    @work(thread=True, exclusive=True, group="trace-groups")
    def _group_in_worker(self, snap) -> None:
        groups = _group_passes(snap.traces)
        self.app.call_from_thread(self._groups_ready, snap, groups)

    def _groups_ready(self, snap, groups) -> None:
        self._groups[id(snap)] = (snap, groups)
        if snap is self.snapshot and self.is_mounted:
            self._fill_passes()

    def _fill_passes(self) -> None:
        snap = self.snapshot
        traces = snap.traces
        grouped = self._groups_of(snap)
        header = self.query_one("#trace-groups", Static)
        rows: list[list] = []
        where: list[int] = []
        n = len(traces)
        if grouped is None:
            header.update(f"{n} passes · grouping by graph signature…")
            for p in range(n):
                rows.append([self._marks(p), f"pass {p + 1}", count(len(traces[p])), "…"])
                where.append(p)
        else:
            groups, ops = grouped
            distinct = len(groups)
            header.update(
                f"{n} pass{'es' if n != 1 else ''} · {distinct} distinct "
                f"graph{'s' if distinct != 1 else ''}"
            )
            for g, members in enumerate(groups.values()):
                label = f"graph {g + 1}"
                size = f"{len(members)} pass{'es' if len(members) != 1 else ''}"
                rows.append(["", label, size, ""])
                where.append(members[0])
                for p in members:
                    rows.append(
                        [self._marks(p), f"  pass {p + 1}", count(len(traces[p])), count(ops[p])]
                    )
                    where.append(p)
        self._pass_of_row = where
        table = self.passes_table
        table.set_source(ListSource(rows))
        if self.pass_position is not None:
            # NOTE: the pass's own row, not its group's header (which maps to the same pass).
            at = [i for i, p in enumerate(where) if p == self.pass_position]
            table.cursor = at[-1] if at else 0

    def _marks(self, position: int) -> str:
        current = "▶" if position == self.pass_position else " "
        return current + ("◆" if position == self.marked else "")

    def _apply_order(self) -> None:
        trace = self.trace
        if trace is None:
            return
        rows = self._rows.get(trace)
        table = self.events_table
        table.set_order(rows.positions(self.direction, self.filter_text, self.scope))
        shown = len(table)
        what = [self.direction]
        if self.filter_text.strip():
            what.append(f"filter {self.filter_text.strip()!r}")
        if self.scope:
            what.append(f"module {self.scope}")
        self.query_one("#trace-title", Static).update(
            f"{self.snapshot.name} · pass {self.pass_position + 1} of "
            f"{len(self.snapshot.traces)} · {count(len(rows))} events · showing "
            f"{count(shown)} ({', '.join(what)})"
        )

    # ----- compare two passes -----------------------------------------------------------------
    def _show_diff(self) -> None:
        box = self.query_one("#trace-diff-box")
        marked, current = self.marked, self.pass_position
        traces = self.snapshot.traces if self.snapshot is not None else ()
        if marked is None or current is None or marked == current or marked >= len(traces):
            box.set_class(False, "-open")
            return
        key = (marked, current)
        if key not in self._diffs:
            self._diffs[key] = analysis.diff(traces[marked], traces[current])
        d = self._diffs[key]
        head = (
            f"diff: pass {marked + 1} (marked ◆) → pass {current + 1}: {len(d.added)} added, "
            f"{len(d.removed)} removed, {len(d.changed)} changed shape"
        )
        lines = [Content.styled(head, "bold")]
        for line in str(d).splitlines()[2:]:
            lines.append(Content.styled(line, _DIFF_STYLES.get(line[:1], "")))
        self.query_one("#trace-diff", Static).update(Content("\n").join(lines))
        box.set_class(True, "-open")

    def action_mark(self) -> None:
        """Mark the pass highlighted on the left (or unmark it); the diff follows the choice."""
        if self.snapshot is None or not self.snapshot.traces:
            self.app.bell()
            return
        row = self.passes_table.cursor_index
        position = self._pass_of_row[row] if row is not None else self.pass_position
        self.marked = None if self.marked == position else position
        if self.marked is not None:
            self.notify(f"pass {position + 1} marked: choose another pass (Enter) to compare")
        self._fill_passes()
        self._show_diff()

    @on(VirtualTable.Selected, "#trace-passes")
    def _pass_selected(self, event: VirtualTable.Selected) -> None:
        event.stop()
        if event.index is None:
            return
        position = self._pass_of_row[event.index]
        if position != self.pass_position:
            self.post_message(View.PassChosen(position))

    # ----- events: direction, filter, module, search ------------------------------------------
    @property
    def highlighted_event(self):
        """The event under the cursor of the events table (None when nothing is shown)."""
        if self.trace is None or not self.is_mounted:
            return None
        table = self.events_table
        rows = table.source
        # NOTE: a hidden view catches up only when shown: its table may still hold another pass.
        if not isinstance(rows, EventRows) or rows.trace is not self.trace:
            return None
        index = table.cursor_index
        return None if index is None else rows.events[index]

    def action_direction(self) -> None:
        """Cycle all → forward → backward events."""
        self.direction = DIRECTIONS[(DIRECTIONS.index(self.direction) + 1) % len(DIRECTIONS)]
        self._apply_order()

    def action_focus_filter(self) -> None:
        """Put the cursor in the filter line."""
        self.query_one("#trace-filter", Input).focus()

    def action_leave_filter(self) -> None:
        """Leave the filter line (its text stays applied)."""
        self.events_table.focus()

    @on(Input.Changed, "#trace-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.filter_text = event.value
        self._apply_order()

    @on(Input.Submitted, "#trace-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.events_table.focus()

    def action_only_module(self) -> None:
        """Show only the highlighted event's module (and the modules inside it); again: all."""
        if self.scope is not None:
            self.scope = None
        else:
            ev = self.highlighted_event
            if ev is None:
                self.app.bell()
                return
            scope = getattr(ev, "scope", "")
            if not scope:
                self.notify("this event ran at the top level, which holds every event")
                return
            self.scope = scope
        self._apply_order()

    @on(VirtualTable.Selected, "#trace-events")
    def _event_selected(self, event: VirtualTable.Selected) -> None:
        event.stop()
        ev = self.highlighted_event
        if ev is not None:
            self.post_message(View.JumpToModule(getattr(ev, "scope", "")))

    def search(self, text: str) -> str:
        """Move to the next shown event whose op, kind or module contains ``text``."""
        self._last_search = text
        table = self.events_table
        here = table.cursor_index
        rows = table.source
        on_match = (
            isinstance(rows, EventRows) and here is not None and text.lower() in rows.key(here)
        )
        return self._find(text, from_next=on_match)

    def _find(self, text: str, from_next: bool) -> str:
        table = self.events_table
        rows = table.source
        if self.trace is None or not isinstance(rows, EventRows):
            return "no recorded pass to search"
        start = table.cursor + (1 if from_next else 0)
        found, rank, hits = rows.find(len(table), table.source_index, start, text)
        if found is None:
            return f"no shown event matches {text!r}"
        table.cursor = found
        table.focus()
        ev = rows.events[table.source_index(found)]
        return (
            f"{text!r}: match {rank} of {hits} (#{ev.id} {ev.kind} "
            f"{getattr(ev, 'op', '')} in {scope_label(getattr(ev, 'scope', ''))})"
        )

    def action_next_match(self) -> None:
        """Jump to the next event matching the last search."""
        if not self._last_search:
            self.notify("search first with /", severity="warning")
            return
        self.notify(self._find(self._last_search, from_next=True), title="search Trace")

    # ----- export -----------------------------------------------------------------------------
    def selection_dot(self):
        """The selected pass (only the chosen module with ``s``; backward with ``d``) as DOT."""
        if self.trace is None or self.snapshot is None:
            return None
        from exporters import dot

        sub = self.trace.filter(scope=self.scope) if self.scope else self.trace
        name = f"{self.snapshot.name} pass {self.pass_position + 1}"
        if self.scope:
            name += f" {self.scope}"
        return dot.trace_graph(sub, backward=self.direction == "backward", name=name)
