"""The Tied view: why a shared weight's gradient is a sum.

A tied parameter is one tensor under several names (one layer used at two places, or
``b.weight = a.weight``). Each use in the forward pass gets its own gradient in backward, and
autograd *adds* them into the tensor's one ``.grad``. For every group of aliased names
(``Snapshot.tied``) this view lists the ops of the selected pass that read the tensor (from the
``OpEvent`` inputs' ``ValueRef.param``/``aliases``, with their module scope), the gradient each
use contributed (``BackwardEvent.param_grads``), their sum
(:func:`graphlab.trace.analysis.grad_contributions`, added in backward order like the engine)
and the stored ``.grad`` (``Snapshot.gradients``), with the largest difference between the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Label, Static

from graphlab.trace.analysis import grad_contributions

from ..fmt import num, shape
from ..widgets.virtual_table import Column, ListSource, VirtualTable
from .base import View

__all__ = ["TiedGroup", "TiedUse", "TiedView", "tied_groups"]


def columns(width: int) -> list[Column]:
    """The table's columns for a view ``width`` cells wide: the check column takes the rest."""
    names, where = (22, 24) if width < 120 else (32, 32)
    return [
        Column("names / use", names),
        Column("op and module", where),
        Column("‖gradient‖", 10, "right"),
        Column("check", max(24, width - names - where - 10 - 6)),
    ]


def _norm(a: np.ndarray) -> float:
    return float(np.sqrt(np.sum(np.square(a, dtype=np.float64))))


@dataclass(frozen=True, slots=True)
class TiedUse:
    """One op of the pass that read the tied tensor, and the gradient(s) backward gave it."""

    event_id: int
    op: str
    scope: str
    scope_class: str
    norms: tuple[float, ...]  # one per ParamGrad of this use (empty: no gradient came back)


@dataclass(frozen=True, slots=True)
class TiedGroup:
    """A group of aliased names, its uses in one pass, their summed gradient and ``.grad``.

    ``total`` is None when the pass has no backward or kept no values; ``grad`` is None when the
    model holds no ``.grad``; ``max_diff`` is ``max |total - grad|`` when both exist.
    """

    names: tuple[str, ...]
    shape: tuple[int, ...] | None
    dtype: str
    uses: tuple[TiedUse, ...]
    total: np.ndarray | None
    grad: np.ndarray | None

    @property
    def max_diff(self) -> float | None:
        """``max |Σ uses − .grad|`` (None when either is missing or their shapes differ)."""
        if self.total is None or self.grad is None or self.total.shape != self.grad.shape:
            return None
        diff = np.abs(self.total.astype(np.float64) - self.grad.astype(np.float64))
        return float(diff.max()) if diff.size else 0.0

    @property
    def matches(self) -> bool | None:
        """Whether the sum equals ``.grad`` to float rounding (None when not comparable)."""
        d = self.max_diff
        if d is None:
            return None
        scale = float(np.max(np.abs(self.grad))) if self.grad.size else 0.0
        return d <= 1e-5 * scale + 1e-12


def tied_groups(snapshot, trace) -> list[TiedGroup]:
    """One :class:`TiedGroup` per group of ``snapshot.tied``, with its uses in ``trace``
    (None: no pass, so no uses). One walk over the events, whatever the number of groups."""
    group_of = {name: i for i, g in enumerate(snapshot.tied) for name in g}
    uses: dict[int, dict[int, list]] = {i: {} for i in range(len(snapshot.tied))}
    ops: dict[int, object] = {}
    relevant = []  # the events grad_contributions needs: tied uses and their backward steps
    has_backward = False
    for ev in trace.events if trace is not None else ():
        if ev.kind == "op":
            hit = False
            for ref in ev.inputs:
                g = group_of.get(getattr(ref, "param", None))
                if g is not None:
                    uses[g].setdefault(ev.id, [])
                    ops[ev.id] = ev
                    hit = True
            if hit:
                relevant.append(ev)
        elif ev.kind == "backward":
            has_backward = True
            keep = False
            for pg in ev.param_grads:
                g = group_of.get(pg.name)
                if g is not None:
                    uses[g].setdefault(pg.forward_id, []).append(pg.norm)
                    keep = True
            if keep:
                relevant.append(ev)
    out = []
    for i, names in enumerate(snapshot.tied):
        info = snapshot.tensor_info[names[0]]
        total = None
        if has_backward and uses[i]:
            try:
                total = grad_contributions(relevant, names[0]).total
            except (KeyError, ValueError):  # NOTE: this pass never used the tensor in backward
                total = None
        group_uses = tuple(
            TiedUse(fid, ops[fid].op, ops[fid].scope, ops[fid].scope_class, tuple(norms))
            if fid in ops
            else TiedUse(fid, "?", "", "", tuple(norms))
            for fid, norms in sorted(uses[i].items())
        )
        out.append(
            TiedGroup(
                names=tuple(names),
                shape=info.shape,
                dtype=info.dtype,
                uses=group_uses,
                total=total,
                grad=snapshot.gradients.get(names[0]),
            )
        )
    return out


class TiedView(View):
    """Groups of aliased parameter names, each use's gradient, their sum and ``.grad``."""

    TITLE = "Tied"
    KEY = "4"
    DEFAULT_CSS = """
    TiedView #tied-explain { height: auto; padding: 0 1; }
    TiedView > .tied--head { text-style: bold; }
    TiedView > .tied--ok { color: $success; }
    TiedView > .tied--bad { color: $warning; text-style: bold; }
    """
    COMPONENT_CLASSES = {"tied--head", "tied--ok", "tied--bad"}

    def __init__(self, *, id: str | None = None):  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self._targets: list[str | None] = []  # per table row: the scope a selection jumps to
        self._group_rows: list[tuple[int, tuple[str, ...]]] = []  # (row, names) per group
        self.groups: list[TiedGroup] = []

    def compose(self) -> ComposeResult:
        yield Label("", id="tied-title", classes="view-title", markup=False)
        yield Static("", id="tied-explain", markup=False)
        yield VirtualTable(columns(80), id="tied-table")

    def refresh_data(self) -> None:
        title = self.query_one("#tied-title", Label)
        explain = self.query_one("#tied-explain", Static)
        table = self.query_one("#tied-table", VirtualTable)
        snap = self.snapshot
        self._targets, self._group_rows, self.groups = [], [], []
        if snap is None:
            title.update("Tied parameters")
            explain.update("No model to show: the session holds none.")
            table.display = False
            return
        if not snap.tied:
            title.update(f"Tied parameters of {snap.name}: none")
            explain.update(
                f"No tied parameters: every parameter of {snap.name} has exactly one name. "
                "(Parameters are tied when one tensor has several names: one module used at "
                "two places, or an assignment such as decoder.weight = encoder.weight.)"
            )
            table.display = False
            return
        table.display = True
        self.groups = tied_groups(snap, self.trace)
        title.update(
            f"Tied parameters of {snap.name}: {len(self.groups)} group(s), "
            + ("no recorded pass" if self.trace is None else f"pass {self._pass_label()}")
        )
        explain.update(self._explanation())
        table.set_source(ListSource(self._rows()), columns(self.size.width))

    def _pass_label(self) -> str:
        return f"{self.pass_position + 1}/{len(self.snapshot.traces)}"

    def _explanation(self) -> Content:
        parts: list = [
            "One tensor, several names: each use in forward gets its own gradient in backward, "
            "and autograd adds them (+=) into the tensor's one .grad. Below: every use, its "
            "contribution, their sum Σ, and the stored .grad."
        ]
        if self.trace is None:
            parts.append(
                ("\nNo recorded pass: record a forward and backward (graphlab.inspect."
                 "record_session) to see each use's contribution.", "bold $warning")
            )  # fmt: skip
        elif not any(ev.kind == "backward" for ev in self.trace.events):
            parts.append(
                ("\nThis pass ran no backward: call loss.backward() inside the recording to see "
                 "the contributions.", "bold $warning")
            )  # fmt: skip
        elif any(g.matches is False for g in self.groups):
            parts.append(
                ("\n.grad is the gradient the model held when the session was saved: it equals "
                 "Σ for the last pass after zero_grad(); an earlier pass, or gradients "
                 "accumulated over several backward() calls, differ.", "$text-muted")
            )  # fmt: skip
        return Content.assemble(*parts)

    def _rows(self) -> list[tuple]:
        rows: list[tuple] = []
        for group in self.groups:
            head = " = ".join(group.names)
            uses = "no recorded pass" if self.trace is None else f"{len(group.uses)} use(s)"
            about = f"{shape(group.shape)} {group.dtype} · {uses}"
            self._group_rows.append((len(rows), group.names))
            self._add(rows, (self._styled(head, "head"), "", "", about), _module(group.names[0]))
            for n, use in enumerate(group.uses, 1):
                where = f"#{use.event_id} {use.op} in {use.scope or '(top level)'}"
                if use.scope_class:
                    where += f" ({use.scope_class})"
                if use.norms:
                    norm = (
                        num(sum(use.norms))
                        if len(use.norms) == 1
                        else " + ".join(num(x) for x in use.norms)
                    )
                    check = ""
                else:
                    norm, check = "-", "no gradient came back to this use"
                self._add(rows, (f"  use {n}", where, norm, check), use.scope)
            if self.trace is not None:
                self._add(rows, self._sum_row(group), _module(group.names[0]))
            grad = "-" if group.grad is None else num(_norm(group.grad))
            self._add(rows, ("  stored .grad", "", grad, self._verdict(group)),
                      _module(group.names[0]))  # fmt: skip
            self._add(rows, ("", "", "", ""), None)
        return rows[:-1]

    def _add(self, rows: list, row: tuple, target: str | None) -> None:
        rows.append(row)
        self._targets.append(target)

    def _sum_row(self, group: TiedGroup) -> tuple:
        if group.total is not None:
            norms = [x for u in group.uses for x in u.norms]
            check = ""
            if len(norms) > 1:
                # NOTE: the usual surprise: the contributions add as arrays, not as norms.
                check = f"arrays add, norms don't: ‖Σ‖ ≤ {num(sum(norms))} = Σ‖use‖"
            return ("  Σ uses", "", num(_norm(group.total)), check)
        if not group.uses or not any(u.norms for u in group.uses):
            return ("  Σ uses", "", "-", "no contribution in this pass")
        return ("  Σ uses", "", "-", "the recorder kept no values (norms only)")

    def _styled(self, text: str, name: str) -> Text:
        """``text`` in the style of component class ``tied--{name}`` (theme colours)."""
        return Text(text, style=self.get_component_rich_style(f"tied--{name}", partial=True))

    def _verdict(self, group: TiedGroup) -> Text | str:
        if group.grad is None:
            return "no .grad (call loss.backward())"
        diff = group.max_diff
        if diff is None:
            return ""
        if diff == 0:
            return self._styled("✓ Σ = .grad, bit for bit (max |Σ − .grad| = 0)", "ok")
        text = f"max |Σ − .grad| = {num(diff)}"
        if group.matches:
            return self._styled(f"✓ Σ = .grad to rounding ({text})", "ok")
        return self._styled(f"✗ Σ ≠ .grad ({text}; see above)", "bad")

    def on_resize(self) -> None:
        if self.snapshot is not None and self.snapshot.tied and not self._dirty:
            table = self.query_one("#tied-table", VirtualTable)
            table.columns = columns(self.size.width)
            table.refresh()

    # ----- commands ---------------------------------------------------------------------------
    @on(VirtualTable.Selected, "#tied-table")
    def _selected(self, event: VirtualTable.Selected) -> None:
        event.stop()
        if event.index is not None and event.index < len(self._targets):
            target = self._targets[event.index]
            if target is not None:
                self.post_message(View.JumpToModule(target))

    def search(self, text: str) -> str:
        """Move to the first tied group with a name containing ``text``."""
        needle = text.lower()
        hits = [(row, names) for row, names in self._group_rows if any(
            needle in n.lower() for n in names)]  # fmt: skip
        if not hits:
            return f"no tied parameter matching {text!r}"
        self.query_one("#tied-table", VirtualTable).move_to_source(hits[0][0])
        return f"{' = '.join(hits[0][1])}: match 1 of {len(hits)}"

    def selection_dot(self):
        """The selected pass's backward graph: each parameter once, one edge per use."""
        if self.trace is None or not any(ev.kind == "backward" for ev in self.trace.events):
            return None
        from exporters import dot

        return dot.trace_graph(self.trace, backward=True, name="tied")


def _module(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else ""
