"""The Graph view (key 7): the neighbourhood of one op as a text diagram.

Left, the op events of the selected pass (it starts on the op highlighted in the Trace view).
Right, the chosen op in a double box, the ops that made its inputs above it and the ops that read
its outputs below it, ``radius`` hops each way (``+``/``-``), with module scopes and shapes;
parameters (◇) and inputs (○) are leaves inside the box of the op that reads them. ``e`` exports
the same neighbourhood as a Graphviz graph.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.widgets import Static

from graphlab.trace import Trace
from graphlab.trace.events import BackwardEvent, OpEvent

from ..fmt import shape
from ..widgets.graph_neighbourhood import OpIndex, draw
from ..widgets.trace_events import TraceCache, scope_label
from ..widgets.virtual_table import Column, VirtualTable
from .base import View

__all__ = ["GraphView"]

_OP_COLUMNS = (
    Column("id", 6, "right"),
    Column("op", 14),
    Column("module", 14),
    Column("out", 10),
)
MAX_RADIUS = 6


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class _OpRows:
    """The pass's op events as rows of the op list (a lazy table source)."""

    def __init__(self, index: OpIndex):
        self.index = index

    def __len__(self) -> int:
        return len(self.index)

    def row(self, i: int) -> list:
        ev = self.index.ops[i]
        out = ", ".join(shape(v.shape) for v in ev.outputs)
        return [str(ev.id), ev.op, scope_label(ev.scope), out]


class GraphView(View):
    """An op list on the left; the chosen op's producers and consumers drawn on the right."""

    TITLE = "Graph"
    KEY = "7"
    DEFAULT_CSS = """
    GraphView #graph-body { height: 1fr; }
    GraphView #graph-ops-pane {
        width: 36%; max-width: 48; min-width: 24; border-right: solid $panel-lighten-2;
    }
    GraphView #graph-canvas { width: 1fr; height: 1fr; padding: 0 1; }
    GraphView #graph-diagram { width: auto; height: auto; }
    """
    BINDINGS = [
        Binding("plus,equals_sign", "radius(1)", "More hops"),
        Binding("minus", "radius(-1)", "Fewer hops"),
    ]

    def __init__(self, *, id: str | None = None):  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.radius = 1
        self._indexes: TraceCache[OpIndex] = TraceCache(lambda t: OpIndex(t.events))
        self._shown_trace = None
        self._followed: tuple | None = None  # (trace, event id) last taken from the Trace view

    def compose(self) -> ComposeResult:
        yield Static("", classes="view-title", id="graph-title")
        yield Static("", classes="view-note", id="graph-note")
        with Horizontal(id="graph-body"):
            with Vertical(id="graph-ops-pane"):
                yield VirtualTable(_OP_COLUMNS, id="graph-ops")
            with ScrollableContainer(id="graph-canvas"):
                yield Static("", id="graph-diagram")

    @property
    def ops_table(self) -> VirtualTable:
        """The list of the pass's op events."""
        return self.query_one("#graph-ops", VirtualTable)

    # ----- data -------------------------------------------------------------------------------
    def refresh_data(self) -> None:
        snap, trace = self.snapshot, self.trace
        note = self.query_one("#graph-note", Static)
        body = self.query_one("#graph-body")
        if snap is None or trace is None:
            self.query_one("#graph-title", Static).update("Graph")
            note.update(
                "No model is loaded."
                if snap is None
                else f"{snap.name} has no recorded pass: there is no graph to draw."
            )
            body.display = False
            return
        index = self._indexes.get(trace)
        if not len(index):
            self.query_one("#graph-title", Static).update(f"Graph · {snap.name}")
            note.update(f"pass {self.pass_position + 1} of {snap.name} ran no op: nothing to draw.")
            body.display = False
            return
        body.display = True
        note.update("↑/↓: op · +/-: hops · /: search · e: export this neighbourhood (DOT)")
        table = self.ops_table
        if trace is not self._shown_trace:
            self._shown_trace = trace
            table.set_source(_OpRows(index))
        self._follow_trace_view()
        self._draw()

    def on_show(self) -> None:
        # NOTE: Textual also runs View.on_show (handlers run for every class of the MRO).
        if self.trace is not None and self._shown_trace is self.trace:
            self._follow_trace_view()

    def _follow_trace_view(self) -> None:
        """Start on the op the Trace view highlights, when that changed since last time."""
        from .trace import TraceView

        views = self.app.query(TraceView)
        ev = views.first().highlighted_event if views else None
        if isinstance(ev, BackwardEvent):
            ev = next(
                (op for op in self._indexes.get(self.trace).ops if op.id == ev.forward_id), None
            )
        if not isinstance(ev, OpEvent) or self._followed == (self.trace, ev.id):
            return
        self._followed = (self.trace, ev.id)
        position = self._indexes.get(self.trace).position.get(ev.id)
        if position is not None:
            self.ops_table.move_to_source(position)

    @on(VirtualTable.Highlighted, "#graph-ops")
    def _op_highlighted(self, event: VirtualTable.Highlighted) -> None:
        event.stop()
        self._draw()

    def _neighbourhood(self):
        if self.trace is None or not self.is_mounted:
            return None
        table = self.ops_table
        source = table.source
        if not isinstance(source, _OpRows) or table.cursor_index is None:
            return None
        return source.index.neighbourhood(table.cursor_index, self.radius)

    def _draw(self) -> None:
        hood = self._neighbourhood()
        if hood is None:
            return
        ev = hood.index.ops[hood.center]
        where = f"{scope_label(ev.scope)}" + (f" ({ev.scope_class})" if ev.scope_class else "")
        self.query_one("#graph-title", Static).update(
            f"#{ev.id} {ev.op} in {where} · {_plural(self.radius, 'hop')} · "
            f"{_plural(hood.producers, 'producer')}, {_plural(hood.consumers, 'consumer')}"
        )
        self.query_one("#graph-diagram", Static).update(draw(hood))

    def action_radius(self, step: int) -> None:
        """Draw one hop more (``+``) or fewer (``-``) around the op."""
        radius = max(1, min(MAX_RADIUS, self.radius + step))
        if radius == self.radius:
            self.app.bell()
            return
        self.radius = radius
        self._draw()

    # ----- search and export ------------------------------------------------------------------
    def search(self, text: str) -> str:
        """Move to the next op whose name or module contains ``text``."""
        table = self.ops_table
        source = table.source
        if self.trace is None or not isinstance(source, _OpRows) or not len(source):
            return "no op to search"
        needle = text.lower()
        ops = source.index.ops

        def hit(p: int) -> bool:
            ev = ops[table.source_index(p)]
            return needle in f"{ev.op} {scope_label(ev.scope)}".lower()

        hits = [p for p in range(len(table)) if hit(p)]
        if not hits:
            return f"no op matches {text!r}"
        after = [p for p in hits if p > table.cursor]
        found = after[0] if after else hits[0]
        table.cursor = found
        table.focus()
        ev = ops[table.source_index(found)]
        return f"{text!r}: match {hits.index(found) + 1} of {len(hits)} (#{ev.id} {ev.op})"

    def selection_dot(self):
        """The drawn neighbourhood (same ops, same radius) as a Graphviz graph."""
        hood = self._neighbourhood()
        if hood is None:
            return None
        from exporters import dot

        trace = self.trace
        sub = Trace(hood.events, index=trace.index, roots=trace.roots, level=trace.level,
                    timing=trace.timing)  # fmt: skip
        center = hood.index.ops[hood.center]
        return dot.trace_graph(sub, fold=False, name=f"op {center.id} {center.op} ±{self.radius}")
