"""The Gradients view: how big each parameter's gradient is, which look wrong, and how they moved.

Top: one bar per parameter (grouped under its module; a tied parameter once, with its other
names), the L2 norm of its stored ``.grad`` — or, with ``g``, of the gradient the selected pass's
backward produced — with flags:

- **vanishing**: ``‖g‖ < VANISHING_FLOOR``, or ``‖g‖ / ‖w‖ < VANISHING_RATIO``. At that ratio an
  SGD step with a learning rate of 0.1 or less moves the weight by under 1e-7 of its size, about
  float32's resolution (ε ≈ 1.2e-7): the update is lost to rounding. The absolute floor covers
  weights of norm 0 (zero-initialized biases), where the ratio means nothing.
- **exploding**: a NaN/Inf norm, or ``‖g‖ > EXPLODING_RATIO × max(‖w‖, 1)``: one step with
  learning rate 0.1 would move the weight by more than its own norm (or by more than 1 for
  weights smaller than 1).

Middle: dead ReLUs of the selected pass — a ReLU-like op (``Relu``, ``Clamp(min=0)``) whose
whole output is zero (level "stats": its maximum is 0), and at level "values" the units (last
axis of a 2-D/3-D output, channel axis 1 of a 4-D/5-D one) that are zero for the whole batch.
Bottom: each parameter's gradient norm in every recorded pass of the model, as a sparkline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Label, Static

from ..fmt import num
from ..widgets.bar_chart import Bar, BarChart
from ..widgets.virtual_table import Column, ListSource, VirtualTable
from .base import View

__all__ = [
    "EXPLODING_RATIO",
    "VANISHING_FLOOR",
    "VANISHING_RATIO",
    "DeadRelu",
    "GradRow",
    "GradientsView",
    "dead_relus",
    "grad_flag",
    "pass_grad_norms",
    "sparkline",
]

VANISHING_RATIO = 1e-6
VANISHING_FLOOR = 1e-10
EXPLODING_RATIO = 10.0
#: dead ReLUs listed under the chart (the rest are counted)
MAX_RELU_LINES = 4
_SPARKS = "▁▂▃▄▅▆▇█"


def _norm(a: np.ndarray) -> float:
    return float(np.sqrt(np.sum(np.square(a, dtype=np.float64))))


def grad_flag(grad_norm: float | None, param_norm: float | None) -> str:
    """``"vanishing"``, ``"exploding"`` or ``""`` for a gradient of norm ``grad_norm`` on a
    weight of norm ``param_norm`` (thresholds in the module docstring)."""
    if grad_norm is None:
        return ""
    if not math.isfinite(grad_norm):
        return "exploding"
    w = param_norm if param_norm is not None and math.isfinite(param_norm) else 0.0
    if grad_norm < VANISHING_FLOOR or grad_norm < VANISHING_RATIO * w:
        return "vanishing"
    if grad_norm > EXPLODING_RATIO * max(w, 1.0):
        return "exploding"
    return ""


def pass_grad_norms(trace) -> dict[str, tuple[float, bool]]:
    """``{first name: (norm, exact)}`` of each parameter's gradient in ``trace``'s backward.

    The gradient of a parameter used several times is the sum of its uses' contributions
    (``BackwardEvent.param_grads``): its norm is computed from the summed values when the
    recorder kept them (``exact``), else it is the sum of the uses' norms, an upper bound
    (triangle inequality; ``exact`` False).
    """
    uses: dict[str, list] = {}
    for ev in trace.events:
        if ev.kind == "backward":
            for pg in ev.param_grads:
                uses.setdefault(pg.name, []).append(pg)
    out = {}
    for name, pgs in uses.items():
        if len(pgs) == 1:
            out[name] = (float(pgs[0].norm), True)
        elif all(pg.value is not None for pg in pgs):
            total = np.zeros(pgs[0].value.shape, dtype=np.float64)
            for pg in pgs:
                total += pg.value
            out[name] = (_norm(total), True)
        else:
            out[name] = (float(sum(pg.norm for pg in pgs)), False)
    return out


@dataclass(frozen=True, slots=True)
class GradRow:
    """One parameter (a tied one once): its names, module, and the two norms compared."""

    name: str
    aliases: tuple[str, ...]
    module: str
    module_class: str
    grad_norm: float | None  # None: no gradient
    param_norm: float | None
    exact: bool = True  # False: grad_norm is an upper bound (see pass_grad_norms)

    @property
    def flag(self) -> str:
        """``"vanishing"``, ``"exploding"``, ``"no grad"`` or ``""``."""
        return "no grad" if self.grad_norm is None else grad_flag(self.grad_norm, self.param_norm)


@dataclass(frozen=True, slots=True)
class DeadRelu:
    """A ReLU-like op of a pass with dead output: all of it, or ``dead`` of its ``units``."""

    event_id: int
    op: str
    scope: str
    scope_class: str
    dead: int | None  # dead units (level "values"), None at level "stats"
    units: int | None
    all_dead: bool


def _relu_like(ev) -> bool:
    if ev.op == "Relu":
        return True
    return ev.op == "Clamp" and dict(ev.attrs).get("min") == 0


def dead_relus(trace) -> tuple[list[DeadRelu], int] | None:
    """The dead ReLUs of ``trace`` and how many ReLU-like ops it ran; None at level "meta"."""
    if trace.level == "meta":
        return None
    found, checked = [], 0
    for ev in trace.events:
        if ev.kind != "op" or not _relu_like(ev) or not ev.stats:
            continue
        checked += 1
        st = ev.stats[0]
        all_dead = st.count > 0 and st.max == 0 and st.min == 0
        dead = units = None
        if ev.values:
            a = np.asarray(ev.values[0])
            if a.ndim >= 2:
                axis = a.ndim - 1 if a.ndim <= 3 else 1
                alive = np.moveaxis(a != 0, axis, 0).reshape(a.shape[axis], -1).any(axis=1)
                units, dead = int(alive.size), int(alive.size - np.count_nonzero(alive))
        if all_dead or dead:
            found.append(DeadRelu(ev.id, ev.op, ev.scope, ev.scope_class, dead, units, all_dead))
    return found, checked


def sparkline(values: Sequence[float | None], log: bool = False) -> str:
    """One character per value, ``▁`` (smallest) to ``█`` (largest); None is a blank."""
    finite = [v for v in values if v is not None and math.isfinite(v) and (v > 0 or not log)]
    if not finite:
        return "".join(" " if v is None else "!" for v in values)
    f = (lambda v: math.log10(v)) if log else (lambda v: v)
    lo, hi = f(min(finite)), f(max(finite))
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif not math.isfinite(v):
            out.append("!")
        elif log and v <= 0:
            out.append(_SPARKS[0])
        else:
            step = 0 if hi == lo else (f(v) - lo) / (hi - lo) * (len(_SPARKS) - 1)
            out.append(_SPARKS[int(round(step))])
    return "".join(out)


def _module_of(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else ""


class GradientsView(View):
    """Per-parameter gradient norms (bars), flags, dead ReLUs and the norms' history."""

    TITLE = "Gradients"
    KEY = "3"
    DEFAULT_CSS = """
    GradientsView #grad-chart { height: 2fr; }
    GradientsView #grad-relu { height: auto; max-height: 6; padding: 0 1; }
    GradientsView #grad-history { height: 1fr; }
    """
    BINDINGS = [
        Binding("l", "toggle_log", "Log scale"),
        Binding("g", "toggle_source", "Stored .grad / selected pass"),
        Binding("s", "toggle_sort", "Sort by norm / model order"),
    ]

    #: where the bars come from: "grad" (the stored .grad) or "pass" (the selected pass)
    source: reactive[str] = reactive("grad", init=False)
    sorted_by_norm: reactive[bool] = reactive(False, init=False)

    def __init__(self, *, id: str | None = None):  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self._param_norms: tuple[object, tuple[dict, dict]] | None = None
        self._pass_norms: dict[int, tuple[object, dict]] = {}
        self._rows: list[GradRow] = []
        self._aliases: dict[str, tuple[str, ...]] = {}
        self._history_names: list[str] = []

    def compose(self) -> ComposeResult:
        yield Label("", id="grad-title", classes="view-title", markup=False)
        yield Static("", id="grad-note", classes="view-note", markup=False)
        yield BarChart(id="grad-chart")
        yield Static("", id="grad-relu", markup=False)
        yield Label("", id="grad-history-title", classes="view-title", markup=False)
        yield VirtualTable(self._history_columns(1), id="grad-history")

    # ----- data -------------------------------------------------------------------------------
    def _norms_of_pass(self, trace) -> dict[str, tuple[float, bool]]:
        hit = self._pass_norms.get(id(trace))
        if hit is None or hit[0] is not trace:
            hit = self._pass_norms[id(trace)] = (trace, pass_grad_norms(trace))
        return hit[1]

    def _norms(self) -> tuple[dict[str, float], dict[str, float]]:
        """``(weight norms, .grad norms)`` by name, computed once per model; tied names share
        one array, which is reduced once."""
        snap = self.snapshot
        if self._param_norms is None or self._param_norms[0] is not snap:
            done: dict[int, float] = {}

            def norm(a: np.ndarray) -> float:
                if id(a) not in done:
                    done[id(a)] = _norm(a)
                return done[id(a)]

            weights = {n: norm(a) for n, a in snap.parameters.items()}
            grads = {n: norm(a) for n, a in snap.gradients.items()}
            self._param_norms = (snap, (weights, grads))
            self._pass_norms = {}  # NOTE: a new model: drop the old model's passes
        return self._param_norms[1]

    def grad_rows(self) -> list[GradRow]:
        """One row per distinct parameter of the model, in model order (bars' data)."""
        snap = self.snapshot
        weights, grads = self._norms()
        from_pass = self._norms_of_pass(self.trace) if self.source == "pass" and self.trace else {}
        rows, seen = [], set()
        for name, info in snap.tensor_info.items():
            if info.kind != "parameter" or name in seen:
                continue
            aliases = snap.aliases(name)
            seen.update(aliases)
            exact = True
            if self.source == "pass":
                norm, exact = from_pass.get(name, (None, True))
            else:
                norm = grads.get(name)
            module = _module_of(name)
            rows.append(
                GradRow(name, aliases, module, info.module_class, norm, weights.get(name), exact)
            )
        return rows

    # ----- painting ---------------------------------------------------------------------------
    def refresh_data(self) -> None:
        chart = self.query_one("#grad-chart", BarChart)
        title = self.query_one("#grad-title", Label)
        note = self.query_one("#grad-note", Static)
        snap = self.snapshot
        if snap is None:
            title.update("Gradients")
            note.update("No model to show: the session holds none.")
            chart.display = False
            self._show_relus()
            self._show_history()
            return
        self._rows = self.grad_rows()
        self._aliases = {r.name: r.aliases for r in self._rows}
        what = "stored .grad" if self.source == "grad" else f"pass {self._pass_label()}"
        title.update(f"Gradient norms of {snap.name} ({what}, L2)")
        has_grad = any(r.grad_norm is not None for r in self._rows)
        chart.display = has_grad
        note.update(self._note(has_grad))
        if has_grad:
            chart.set_bars(self._bars())
        self._show_relus()
        self._show_history()
        if not has_grad and self.app.focused in (None, chart):
            self.query_one("#grad-history", VirtualTable).focus()

    def focus_first(self) -> None:
        """Focus the bars, or the history table while there are none."""
        chart = self.query_one("#grad-chart", BarChart)
        (chart if chart.display else self.query_one("#grad-history", VirtualTable)).focus()

    def _pass_label(self) -> str:
        if self.trace is None or self.pass_position is None:
            return "(none recorded)"
        return f"{self.pass_position + 1}/{len(self.snapshot.traces)}"

    def _note(self, has_grad: bool) -> Content:
        if not has_grad:
            if self.source == "pass":
                why = (
                    "the model has no recorded pass"
                    if self.trace is None
                    else "the selected pass ran no backward"
                )
            else:
                why = "no parameter of the model has a .grad"
            hint = "."
            if self.source == "grad" and self.trace is not None and self._norms_of_pass(self.trace):
                hint = "; press g for the selected pass's gradients."
            return Content.styled(
                f"No gradients: {why}. Call loss.backward() (inside graphlab.inspect."
                f"record_session or graphlab.record()) to compute them{hint}",
                "bold $text",
            )
        flags = [r.flag for r in self._rows]
        parts: list = []
        for flag, style in (("vanishing", "bold $warning"), ("exploding", "bold $error")):
            n = flags.count(flag)
            parts += [(f"{n} {flag}", style if n else ""), " · "]
        parts.append(f"{flags.count('no grad')} without gradient · ")
        parts.append(
            f"vanishing: ‖g‖<{VANISHING_FLOOR:g} or ‖g‖/‖w‖<{VANISHING_RATIO:g}; exploding: "
            f"NaN/Inf or ‖g‖>{EXPLODING_RATIO:g}·max(‖w‖,1)"
        )
        if any(not r.exact for r in self._rows):
            parts.append(" · ≤: sum of per-use norms (values not kept)")
        return Content.assemble(*parts)

    def _bars(self) -> list[Bar]:
        def bar(r: GradRow, label: str) -> Bar:
            flag = r.flag
            level = {"vanishing": "warning", "exploding": "error"}.get(flag, "")
            notes = [flag] if flag else []
            if len(r.aliases) > 1:
                notes.append("= " + ", ".join(r.aliases[1:]))
            if not r.exact:
                notes.append("≤ bound")
            if r.param_norm and r.grad_norm is not None and math.isfinite(r.grad_norm):
                notes.append(f"‖g‖/‖w‖ {num(r.grad_norm / r.param_norm)}")
            return Bar(label, r.grad_norm, "  ".join(notes), level, key=r.name)

        if self.sorted_by_norm:
            rows = sorted(self._rows, key=lambda r: -1.0 if r.grad_norm is None else r.grad_norm)
            return [bar(r, r.name) for r in reversed(rows)]
        bars, module = [], None
        for r in self._rows:
            if r.module != module:
                module = r.module
                bars.append(Bar(module or "(root)", None, r.module_class, heading=True, key=module))
            bars.append(bar(r, "  " + r.name.rsplit(".", 1)[-1]))
        return bars

    def _show_relus(self) -> None:
        box = self.query_one("#grad-relu", Static)
        if self.trace is None:
            box.update("Dead ReLUs: no recorded pass to look at.")
            return
        result = dead_relus(self.trace)
        if result is None:
            box.update(
                'Dead ReLUs: the pass was recorded at level "meta" (no statistics); record '
                'with graphlab.set_trace_options(level="stats") to see them.'
            )
            return
        found, checked = result
        if not found:
            box.update(f"Dead ReLUs: none ({checked} ReLU-like ops checked in this pass).")
            return
        parts: list = [(f"Dead ReLUs: {len(found)} of {checked} in this pass", "bold")]
        for d in found[:MAX_RELU_LINES]:
            where = f"{d.scope or '(top level)'} ({d.scope_class})" if d.scope_class else d.scope
            if d.all_dead:
                what = "all outputs are 0 for this batch (max 0): no gradient flows through it"
            else:
                what = f"{d.dead} of {d.units} units are 0 for the whole batch"
            parts.append((f"\n  #{d.event_id} {d.op} in {where}: {what}", "$warning"))
        if len(found) > MAX_RELU_LINES:
            parts.append(f"\n  … and {len(found) - MAX_RELU_LINES} more")
        box.update(Content.assemble(*parts))

    @staticmethod
    def _history_columns(passes: int) -> list[Column]:
        return [
            Column("parameter", 28),
            Column("‖g‖ by pass →", max(14, passes)),
            Column("this pass", 10, "right"),
            Column("min", 10, "right"),
            Column("max", 10, "right"),
        ]

    def _show_history(self) -> None:
        table = self.query_one("#grad-history", VirtualTable)
        title = self.query_one("#grad-history-title", Label)
        snap = self.snapshot
        traces = snap.traces if snap is not None else ()
        if not traces:
            title.update("Norms per pass: no recorded pass (record one to compare passes)")
            table.set_source(ListSource([]))
            return
        missing = [t for t in traces if self._pass_norms.get(id(t), (None,))[0] is not t]
        if missing:
            # NOTE: one walk over every event of every pass: in a worker, so a long recording
            # (64 passes of 100,000 events) never holds up the bars above.
            title.update(f"Norms per pass: reading {len(missing)} of {len(traces)} passes…")
            table.set_source(ListSource([]))
            self._read_passes(snap, missing)
            return
        per_pass = [self._norms_of_pass(t) for t in traces]
        with_bwd = sum(1 for p in per_pass if p)
        title.update(
            f"Norms per pass ({len(traces)} passes, {with_bwd} with backward; oldest → newest, "
            "uses summed)"
        )
        log = self.query_one("#grad-chart", BarChart).log_scale
        rows = []
        self._history_names = []
        for r in self._rows:
            series = [p[r.name][0] if r.name in p else None for p in per_pass]
            known = [v for v in series if v is not None and math.isfinite(v)]
            this = series[self.pass_position] if self.pass_position is not None else None
            rows.append(
                (
                    r.name,
                    sparkline(series, log),
                    num(this),
                    num(min(known)) if known else "-",
                    num(max(known)) if known else "-",
                )
            )
            self._history_names.append(r.name)
        table.set_source(ListSource(rows), self._history_columns(len(traces)))

    @work(thread=True, exclusive=True, group="grad-history")
    def _read_passes(self, snap, traces: list) -> None:
        norms = [(t, pass_grad_norms(t)) for t in traces]
        try:
            self.app.call_from_thread(self._passes_read, snap, norms)
        except RuntimeError:  # NOTE: the app closed while this ran: nothing left to show
            pass

    def _passes_read(self, snap, norms: list) -> None:
        if snap is not self.snapshot:
            return  # NOTE: another model was chosen meanwhile; its own worker is on the way
        for trace, result in norms:
            self._pass_norms[id(trace)] = (trace, result)
        self._show_history()

    # ----- keys and messages ------------------------------------------------------------------
    def action_toggle_log(self) -> None:
        chart = self.query_one("#grad-chart", BarChart)
        chart.log_scale = not chart.log_scale
        self.notify(f"{'log' if chart.log_scale else 'linear'} scale", timeout=2)
        if self.snapshot is not None:
            self._show_history()

    def action_toggle_source(self) -> None:
        self.source = "pass" if self.source == "grad" else "grad"

    def action_toggle_sort(self) -> None:
        self.sorted_by_norm = not self.sorted_by_norm

    def watch_source(self) -> None:
        self._refresh_data()

    def watch_sorted_by_norm(self) -> None:
        self._refresh_data()

    @on(BarChart.Selected, "#grad-chart")
    def _bar_selected(self, event: BarChart.Selected) -> None:
        event.stop()
        bar = event.bar
        if bar is not None:
            self.post_message(View.JumpToModule(bar.key if bar.heading else _module_of(bar.key)))

    @on(VirtualTable.Selected, "#grad-history")
    def _history_selected(self, event: VirtualTable.Selected) -> None:
        event.stop()
        if event.index is not None and event.index < len(self._history_names):
            self.post_message(View.JumpToModule(_module_of(self._history_names[event.index])))

    def search(self, text: str) -> str:
        """Move the bar cursor to the first parameter whose name contains ``text``."""
        chart = self.query_one("#grad-chart", BarChart)
        needle = text.lower()
        hits = [
            i
            for i, b in enumerate(chart.bars)
            if not b.heading
            and any(needle in n.lower() for n in self._aliases.get(b.key, (b.key,)))
        ]
        if not hits:
            return f"no parameter matching {text!r}"
        chart.move_to(hits[0])
        chart.focus()
        return f"{chart.bars[hits[0]].key}: match 1 of {len(hits)}"

    def selection_dot(self):
        """The selected pass's gradient flow (``exporters.dot.trace_graph(backward=True)``)."""
        if self.trace is None or not any(ev.kind == "backward" for ev in self.trace.events):
            return None
        from exporters import dot

        return dot.trace_graph(self.trace, backward=True, name="gradients")
