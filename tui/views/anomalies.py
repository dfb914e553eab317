"""The Anomalies view: where NaN and Inf appear in a pass, and where they came from.

Needs statistics (level "stats" or "values"): every ``OpEvent`` then carries ``Stats`` of its
outputs and every ``BackwardEvent`` of the gradients it produced, with NaN and Inf counted. The
view lists the events with a non-finite output, and marks **origins**: events whose output is
non-finite although everything that went in was finite — for an op, the outputs of the events
that produced its inputs (found by value id); for a backward step, the gradient that flowed into
it (the gradients earlier backward steps produced for its forward op's output). The first origin
is where to look; the events after it usually only propagate it. Inputs made outside the pass
(data, constants, parameters) have no recorded statistics and count as finite. The panel under
the table shows the statistics of what went into the highlighted event.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Label, Static

from graphlab.trace.events import Stats

from ..fmt import count, num
from ..widgets.virtual_table import Column, ListSource, VirtualTable
from .base import View

__all__ = ["Anomaly", "AnomaliesView", "PassScan", "scan_pass"]

# NOTE: what tells the story first (pass, event, op, counts, cause), so 80 columns show it.
COLUMNS = [
    Column("pass", 4, "right"),
    Column("event", 6, "right"),
    Column("op", 20),
    Column("NaN", 7, "right"),
    Column("Inf", 7, "right"),
    Column("cause", 10),
    Column("module", 26),
    Column("kind", 8),
    Column("elements", 9, "right"),
]


def _bad(st: Stats | None) -> bool:
    return st is not None and (st.nan > 0 or st.inf > 0)


@dataclass(frozen=True, slots=True)
class Anomaly:
    """An event of a pass with NaN/Inf in its output (op) or its gradients (backward step)."""

    event: object  # OpEvent | BackwardEvent
    nan: int
    inf: int
    count: int
    origin: bool  # everything that went in was finite


def _out_stats(op, vid: int) -> Stats | None:
    """The statistics of output ``vid`` of ``op`` (None when not recorded)."""
    for i, ref in enumerate(op.outputs):
        if ref.vid == vid:
            return op.stats[i] if op.stats and i < len(op.stats) else None
    return None


@dataclass(slots=True)
class PassScan:
    """What one walk over a pass found: its anomalies, and the indexes to explain them.

    The walk allocates next to nothing per event (a 100,000-event trace holds ~1M objects, and
    every allocation burst makes the garbage collector walk them all); the per-value gradient
    index that explains a backward step is built only when one is shown.
    """

    level: str
    events: tuple = ()
    anomalies: list[Anomaly] = field(default_factory=list)
    checked: int = 0  # events with statistics
    ops: dict[int, object] = field(default_factory=dict)  # event id -> OpEvent
    producer: dict[int, object] = field(default_factory=dict)  # vid -> the op that wrote it
    earlier: dict[int, list] = field(default_factory=dict)  # vid -> earlier writers (in place)
    bad_grads: set[int] = field(default_factory=set)  # vids that got a NaN/Inf gradient
    _grads: dict[int, list] | None = None

    @property
    def first_origin(self) -> Anomaly | None:
        """The earliest event that turned finite inputs into NaN/Inf."""
        return next((a for a in self.anomalies if a.origin), None)

    def producer_before(self, vid: int, event_id: int):
        """The op that last wrote value ``vid`` before event ``event_id`` (None: not in the
        pass)."""
        op = self.producer.get(vid)
        if op is None or op.id < event_id:
            return op
        return next((e for e in reversed(self.earlier.get(vid, ())) if e.id < event_id), None)

    def grads_into(self, vid: int, event_id: int) -> list[tuple[object, Stats | None]]:
        """``(backward step, stats)`` of the gradients for value ``vid`` made before
        ``event_id`` (their sum is the gradient that flowed on)."""
        if self._grads is None:
            self._grads = {}
            for ev in self.events:
                fwd = self.ops.get(ev.forward_id) if ev.kind == "backward" else None
                # NOTE: the gradients line up with the forward op's inputs (None: a constant).
                if fwd is not None and ev.stats and len(ev.stats) == len(fwd.inputs):
                    for ref, st in zip(fwd.inputs, ev.stats):
                        if hasattr(ref, "vid") and st is not None:
                            self._grads.setdefault(ref.vid, []).append((ev, st))
        return [(b, st) for b, st in self._grads.get(vid, ()) if b.id < event_id]

    def inputs_of(self, event) -> list[tuple[str, str, Stats | None]]:
        """``(what, where from, stats)`` for everything that went into ``event``."""
        if event.kind == "op":
            return [self._forward_input(i, ref, event.id) for i, ref in enumerate(event.inputs)
                    if hasattr(ref, "vid")]  # fmt: skip
        out = []
        fwd = self.ops.get(event.forward_id)
        if fwd is None:
            return [("gradient in", "its forward op is not in the trace", None)]
        for ref in fwd.outputs:
            came = self.grads_into(ref.vid, event.id)
            if not came:
                out.append((f"gradient of v{ref.vid}", "the backward seed (not recorded)", None))
            for b, st in came:
                out.append((f"gradient of v{ref.vid}", f"#{b.id} {b.op}", st))
        for i, ref in enumerate(fwd.inputs):
            if hasattr(ref, "vid"):
                what, where, st = self._forward_input(i, ref, fwd.id)
                out.append((f"forward {what}", where, st))
        return out

    def _forward_input(self, i: int, ref, event_id: int) -> tuple[str, str, Stats | None]:
        op = self.producer_before(ref.vid, event_id)
        what = f"input {i} (v{ref.vid})"
        if op is not None:
            where = f"#{op.id} {op.op} in {op.scope or '(top level)'}"
            return what, where, _out_stats(op, ref.vid)
        if ref.param:
            return what, f"parameter {ref.param} (value not recorded)", None
        return what, "made outside the pass (data or constant; not recorded)", None


def scan_pass(trace) -> PassScan:
    """Walk ``trace`` once: its NaN/Inf events, their origins, and the value indexes."""
    scan = PassScan(level=trace.level)
    if trace.level == "meta":
        return scan
    scan.events = events = trace.events
    producer, bad_grads = scan.producer, scan.bad_grads
    for ev in events:
        if ev.kind == "op":
            scan.ops[ev.id] = ev
            stats = ev.stats
            if stats:
                scan.checked += 1
                if any(_bad(st) for st in stats):
                    # NOTE: checked before this op's outputs are indexed (an in-place op's
                    # output keeps its input's value id).
                    scan.anomalies.append(_anomaly(ev, stats, not _bad_inputs(scan, ev)))
            for ref in ev.outputs:
                old = producer.get(ref.vid)
                if old is not None:
                    scan.earlier.setdefault(ref.vid, []).append(old)
                producer[ref.vid] = ev
        elif ev.kind == "backward" and ev.stats:
            scan.checked += 1
            stats = ev.stats
            if not any(_bad(st) for st in stats):
                continue
            fwd = scan.ops.get(ev.forward_id)
            # NOTE: a backward step reads the incoming gradient and the forward op's saved
            # inputs (x in d(xW)/dW): it is an origin only when all of them were finite.
            incoming = fwd is not None and any(r.vid in bad_grads for r in fwd.outputs)
            saved = fwd is not None and _bad_inputs(scan, fwd)
            scan.anomalies.append(_anomaly(ev, stats, not (incoming or saved)))
            if fwd is not None and len(stats) == len(fwd.inputs):
                bad_grads.update(
                    ref.vid for ref, st in zip(fwd.inputs, stats) if hasattr(ref, "vid")
                    and _bad(st)
                )  # fmt: skip
    return scan


def _bad_inputs(scan: PassScan, op) -> bool:
    """Whether a value ``op`` read came out of an earlier op of the pass with NaN/Inf."""
    for ref in op.inputs:
        if hasattr(ref, "vid"):
            src = scan.producer_before(ref.vid, op.id)
            if src is not None and _bad(_out_stats(src, ref.vid)):
                return True
    return False


def _anomaly(ev, stats, origin: bool) -> Anomaly:
    real = [st for st in stats if st is not None]
    return Anomaly(
        ev,
        sum(st.nan for st in real),
        sum(st.inf for st in real),
        sum(st.count for st in real),
        origin,
    )


#: ops whose input must stay above a bound (at or below it they give NaN or Inf)
_DOMAIN = {"Log": 0.0, "Sqrt": 0.0, "Rsqrt": 0.0, "Log1p": -1.0}
#: float32's exp overflows to Inf above this
_EXP_MAX = 88.72


def _hint(ev, inputs: list[tuple[str, str, Stats | None]]) -> str:
    """A likely cause for an origin op, read from its inputs' statistics ("" when none fits)."""
    first = inputs[0][2] if inputs else None
    if ev.kind != "op" or first is None:
        return ""
    if ev.op in _DOMAIN and first.min <= _DOMAIN[ev.op]:
        return f"{ev.op} needs inputs > {_DOMAIN[ev.op]:g}, and its input reaches {num(first.min)}"
    if ev.op == "Exp" and first.max > _EXP_MAX:
        return f"exp overflows float32 above {_EXP_MAX}, and its input reaches {num(first.max)}"
    divisor = inputs[1][2] if ev.op == "Div" and len(inputs) > 1 else None
    if divisor is not None and divisor.min <= 0 <= divisor.max:
        return "the divisor's range includes 0"
    return ""


def _stats_line(st: Stats | None) -> str:
    if st is None:
        return "no statistics"
    return (
        f"NaN {count(st.nan)}  Inf {count(st.inf)}  of {count(st.count)}  ·  finite: min "
        f"{num(st.min)}  max {num(st.max)}  mean {num(st.mean)}  std {num(st.std)}"
    )


class AnomaliesView(View, can_focus=True):
    """Events with NaN/Inf in the selected pass (or all passes), their origin and its inputs.

    The view itself takes the focus while its table is hidden (no NaN, no pass), so its keys
    (``a`` for all passes) still work.
    """

    TITLE = "Anomalies"
    KEY = "8"
    DEFAULT_CSS = """
    AnomaliesView #anom-table { height: 1fr; }
    AnomaliesView #anom-detail { height: auto; max-height: 14; padding: 0 1;
                                 border-top: solid $primary; }
    """
    BINDINGS = [
        Binding("a", "toggle_all", "All passes / this pass"),
        Binding("o", "first_origin", "Go to the first origin"),
        Binding("p", "choose_pass", "Select the row's pass"),
    ]

    all_passes: reactive[bool] = reactive(False, init=False)

    def __init__(self, *, id: str | None = None):  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self._scans: dict[int, tuple[object, PassScan]] = {}
        self.rows: list[tuple[int, Anomaly]] = []  # (pass position, anomaly) per table row

    def compose(self) -> ComposeResult:
        yield Label("", id="anom-title", classes="view-title", markup=False)
        yield Static("", id="anom-note", classes="view-note", markup=False)
        yield VirtualTable(COLUMNS, id="anom-table")
        yield Static("", id="anom-detail", markup=False)

    def scan(self, position: int) -> PassScan:
        """The (cached) scan of the model's pass at ``position``."""
        trace = self.snapshot.traces[position]
        hit = self._scans.get(id(trace))
        if hit is None or hit[0] is not trace:
            hit = self._scans[id(trace)] = (trace, scan_pass(trace))
        return hit[1]

    def _scanned(self, position: int) -> bool:
        trace = self.snapshot.traces[position]
        return self._scans.get(id(trace), (None,))[0] is trace

    @work(thread=True, exclusive=True, group="anomaly-scan")
    def _scan_passes(self, snap, traces: list) -> None:
        scans = [(t, scan_pass(t)) for t in traces]
        try:
            self.app.call_from_thread(self._passes_scanned, snap, scans)
        except RuntimeError:  # NOTE: the app closed while this ran: nothing left to show
            pass

    def _passes_scanned(self, snap, scans: list) -> None:
        for trace, scan in scans:
            self._scans[id(trace)] = (trace, scan)
        if snap is self.snapshot:
            self._refresh_data()

    def focus_first(self) -> None:
        """Focus the table, or the view itself while the table is hidden."""
        table = self.query_one("#anom-table", VirtualTable)
        (table if table.display else self).focus()

    # ----- painting ---------------------------------------------------------------------------
    def refresh_data(self) -> None:
        self._refresh_rows()
        table = self.query_one("#anom-table", VirtualTable)
        focused = self.app.focused
        if not table.display and (focused is None or focused is table):
            self.focus()

    def _refresh_rows(self) -> None:
        title = self.query_one("#anom-title", Label)
        note = self.query_one("#anom-note", Static)
        table = self.query_one("#anom-table", VirtualTable)
        detail = self.query_one("#anom-detail", Static)
        snap = self.snapshot
        self.rows = []
        table.set_source(ListSource([]))
        if snap is None or not snap.traces or self.pass_position is None:
            title.update("NaN / Inf")
            note.update(
                "No model to show."
                if snap is None
                else f"{snap.name} has no recorded pass: "
                "run a forward and backward while recording (graphlab.inspect.record_session, "
                "or graphlab.record()) to look for NaN and Inf."
            )
            table.display = detail.display = False
            return
        positions = range(len(snap.traces)) if self.all_passes else [self.pass_position]
        where = (
            f"all {len(snap.traces)} passes" if self.all_passes
            else f"pass {self.pass_position + 1}/{len(snap.traces)}"
        )  # fmt: skip
        title.update(f"NaN / Inf in {snap.name}, {where}")
        missing = [p for p in positions if not self._scanned(p)]
        if len(missing) > 1:
            # NOTE: every event of every pass: in a worker, the screen stays live meanwhile.
            note.update(f"Scanning {len(missing)} passes for NaN and Inf…")
            table.display = detail.display = False
            self._scan_passes(snap, [snap.traces[p] for p in missing])
            return
        scans = [(p, self.scan(p)) for p in positions]
        meta = [p for p, s in scans if s.level == "meta"]
        for p, s in scans:
            self.rows += [(p, a) for a in s.anomalies]
        note.update(self._note(scans, meta))
        table.display = bool(self.rows)
        detail.display = bool(self.rows)
        if self.rows:
            table.set_source(ListSource([self._row(p, a) for p, a in self.rows]), COLUMNS)
            self.action_first_origin()

    def _note(self, scans: list, meta: list[int]) -> Content:
        if len(meta) == len(scans):
            return Content.styled(
                'Recorded at level "meta": no statistics, so NaN and Inf cannot be seen. Record '
                'with graphlab.set_trace_options(level="stats") (or record_session(level='
                '"stats")), or run the step under graphlab.autograd.detect_anomaly() to stop at '
                "the first NaN/Inf.",
                "bold $warning",
            )
        checked = sum(s.checked for _, s in scans)
        skipped = f"; {len(meta)} pass(es) at level meta skipped" if meta else ""
        if not self.rows:
            return Content.styled(
                f"No NaN or Inf: {count(checked)} ops and backward steps checked{skipped}.",
                "$success",
            )
        origins = sum(1 for _, a in self.rows if a.origin)
        return Content.assemble(
            (f"{len(self.rows)} events with NaN/Inf, {origins} origin(s)", "bold $error"),
            f" ({count(checked)} events checked{skipped}). ORIGIN: finite inputs, non-finite "
            "output; the others propagate it. o: first origin, Enter: its module.",
        )

    @staticmethod
    def _row(position: int, a: Anomaly) -> tuple:
        ev = a.event
        kind = "forward" if ev.kind == "op" else "backward"
        module = ev.scope or "(top level)"
        if ev.kind == "op" and ev.scope_class:
            module += f" ({ev.scope_class})"
        return (
            str(position + 1), f"#{ev.id}", ev.op, count(a.nan), count(a.inf),
            "ORIGIN" if a.origin else "propagated", module, kind, count(a.count),
        )  # fmt: skip

    def _show_detail(self, row: int | None) -> None:
        detail = self.query_one("#anom-detail", Static)
        if row is None or row >= len(self.rows):
            detail.update("")
            return
        position, a = self.rows[row]
        ev = a.event
        scan = self.scan(position)
        head = f"#{ev.id} {ev.op} in {ev.scope or '(top level)'} (pass {position + 1}): "
        if a.origin:
            head += "its inputs were finite, its output is not"
            first = scan.first_origin
            if first is a:
                head += " (the first origin)"
        else:
            head += "NaN/Inf came in from an earlier event"
        parts: list = [(head, "bold $error" if a.origin else "bold")]
        outs = ev.stats or ()
        label = "output" if ev.kind == "op" else "gradient"
        for i, st in enumerate(outs):
            if st is not None:
                parts.append(f"\n  {label} {i}: {_stats_line(st)}")
        inputs = scan.inputs_of(ev)
        hint = _hint(ev, inputs) if a.origin else ""
        if hint:
            parts.append((f"\n  likely cause: {hint}", "bold $warning"))
        parts.append(("\n  what went in:" if inputs else "\n  no tensor inputs", "bold"))
        for what, where, st in inputs:
            style = "$error" if _bad(st) else ""
            parts.append((f"\n    {what} from {where}: {_stats_line(st)}", style))
        detail.update(Content.assemble(*parts))

    # ----- keys and messages ------------------------------------------------------------------
    @on(VirtualTable.Highlighted, "#anom-table")
    def _highlighted(self, event: VirtualTable.Highlighted) -> None:
        event.stop()
        # NOTE: read the cursor now: a Highlighted posted before the rows changed is stale.
        self._show_detail(event.table.cursor_index)

    @on(VirtualTable.Selected, "#anom-table")
    def _selected(self, event: VirtualTable.Selected) -> None:
        event.stop()
        if event.index is not None and event.index < len(self.rows):
            self.post_message(View.JumpToModule(self.rows[event.index][1].event.scope))

    def action_toggle_all(self) -> None:
        self.all_passes = not self.all_passes

    def watch_all_passes(self) -> None:
        self._refresh_data()

    def action_first_origin(self) -> None:
        table = self.query_one("#anom-table", VirtualTable)
        first = next((i for i, (_, a) in enumerate(self.rows) if a.origin), 0)
        if self.rows:
            table.move_to_source(first)
            self._show_detail(first)

    def action_choose_pass(self) -> None:
        table = self.query_one("#anom-table", VirtualTable)
        row = table.cursor_index
        if row is None or row >= len(self.rows):
            self.app.bell()
            return
        self.post_message(View.PassChosen(self.rows[row][0]))

    def search(self, text: str) -> str:
        """Move to the first NaN/Inf event whose op or module contains ``text``."""
        needle = text.lower()
        hits = [
            i for i, (_, a) in enumerate(self.rows)
            if needle in a.event.op.lower() or needle in a.event.scope.lower()
        ]  # fmt: skip
        if not hits:
            return f"no NaN/Inf event matching {text!r}"
        self.query_one("#anom-table", VirtualTable).move_to_source(hits[0])
        return f"#{self.rows[hits[0]][1].event.id}: match 1 of {len(hits)}"
