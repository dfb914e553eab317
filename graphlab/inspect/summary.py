"""A model summary table: layers, output shapes, parameter counts (tied once), memory.

``graphlab summary PATH`` prints it; from Python, :func:`summary` gives the rows and
:func:`format_summary` the text. Output shapes come from a recorded pass (the model's last one):
a module's output is the output of the last op it (or a module inside it) ran in its first call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..trace.events import OpEvent
from .snapshot import Snapshot, snapshot
from .tree import _check_module

__all__ = ["SummaryRow", "format_summary", "summary"]


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One module: its path, class, depth, output shape (None: not run in the pass), its own
    parameters (elements and bytes, a tied parameter counted at its first name only), and
    ``alias_of`` for a module reached a second time."""

    path: str
    class_name: str
    depth: int
    output_shape: tuple[int, ...] | None
    parameters: int
    nbytes: int
    lazy: bool
    alias_of: str | None


def _output_shapes(trace) -> dict[str, tuple[int, ...]]:
    """scope → the output shape of the last op of the scope's first contiguous run.

    The root (``""``) is special: a loss called after the model also runs at the top level, so
    the root's output is that of the last op inside a child module before the first top-level
    op that follows them (or, for a model with no children, the last op of the first run).
    """
    shapes: dict[str, tuple[int, ...]] = {}
    closed: set[str] = set()
    open_scopes: set[str] = set()
    root_done, seen_child = False, False
    for ev in trace.events:
        if not isinstance(ev, OpEvent) or not ev.outputs:
            continue
        scope, shape = ev.scope, tuple(ev.outputs[0].shape)
        if not scope:
            if seen_child:
                root_done = True
            elif not root_done:
                shapes[""] = shape
            chain: set[str] = set()
        else:
            seen_child = True
            if not root_done:
                shapes[""] = shape
            chain = {scope[:i] for i, c in enumerate(scope) if c == "."} | {scope}
        closed |= open_scopes - chain
        open_scopes = chain - closed
        for s in open_scopes:
            shapes[s] = shape
    return shapes


def summary(model_or_snapshot, trace=None) -> list[SummaryRow]:
    """The rows of the summary of a model or Snapshot (output shapes from ``trace``, else from
    the snapshot's last recorded pass, else none)."""
    if isinstance(model_or_snapshot, Snapshot):
        snap = model_or_snapshot
    else:
        _check_module(model_or_snapshot, "summary")
        snap = snapshot(model_or_snapshot)
    trace = trace if trace is not None else (snap.traces[-1] if snap.traces else None)
    shapes = _output_shapes(trace) if trace is not None else {}
    seen: set[int] = set()
    rows = []
    for node in snap.module_tree.walk():
        count = nbytes = 0
        for pname in node.parameters:
            full = f"{node.path}.{pname}" if node.path else pname
            arr = snap.parameters.get(full)
            if arr is None or id(arr) in seen:
                continue  # NOTE: lazy (no array yet) or tied: counted at its first name
            seen.add(id(arr))
            count += int(arr.size)
            nbytes += int(arr.nbytes)
        rows.append(
            SummaryRow(
                path=node.path,
                class_name=node.class_name,
                depth=0 if not node.path else node.path.count(".") + 1,
                output_shape=shapes.get(node.path),
                parameters=count,
                nbytes=nbytes,
                lazy=node.lazy,
                alias_of=node.alias_of,
            )
        )
    return rows


def _bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def format_summary(model_or_snapshot, trace=None) -> str:
    """The summary as an aligned text table with totals (what ``graphlab summary`` prints)."""
    snap = model_or_snapshot
    if not isinstance(snap, Snapshot):
        _check_module(snap, "format_summary")
        snap = snapshot(snap)
    rows = summary(snap, trace)
    lines = []
    for r in rows:
        name = "  " * r.depth + (r.path.rsplit(".", 1)[-1] if r.path else snap.name)
        layer = f"{name} ({r.class_name})"
        if r.alias_of is not None:
            layer += f" = {r.alias_of}"
        shape = "-" if r.output_shape is None else str(list(r.output_shape))
        params = "lazy" if r.lazy and not r.parameters else f"{r.parameters:,}"
        lines.append((layer, shape, params, _bytes(r.nbytes) if r.nbytes else "-"))
    head = ("Layer (type)", "Output shape", "Param #", "Memory")
    widths = [max(len(h), *(len(row[i]) for row in lines)) for i, h in enumerate(head)]

    def fmt(row) -> str:
        return (
            f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  "
            f"{row[3]:>{widths[3]}}"
        )

    rule = "─" * len(fmt(head))
    total = sum(r.parameters for r in rows)
    trainable = sum(
        int(np.prod(snap.tensor_info[n].shape))
        for n in {g[0] for g in snap.tied} | _untied(snap)
        if snap.tensor_info[n].requires_grad and snap.tensor_info[n].shape is not None
    )
    buffers = sum(int(a.nbytes) for a in {id(a): a for a in snap.buffers.values()}.values())
    out = [f"Model: {snap.name}", rule, fmt(head), rule, *map(fmt, lines), rule]
    out.append(f"Total parameters: {total:,} (tied parameters counted once)")
    out.append(f"Trainable parameters: {trainable:,}")
    out.append(f"Parameter memory: {_bytes(sum(r.nbytes for r in rows))}")
    out.append(f"Buffer memory: {_bytes(buffers)}")
    if snap.tied:
        groups = "; ".join(" = ".join(g) for g in snap.tied)
        out.append(f"Tied parameters: {groups}")
    lazy = [n for n, i in snap.tensor_info.items() if i.lazy]
    if lazy:
        out.append(f"Uninitialized (lazy): {', '.join(lazy)}")
    if not snap.traces and trace is None:
        out.append("Output shapes: no recorded pass (call the model once to see them)")
    return "\n".join(out)


def _untied(snap: Snapshot) -> set[str]:
    tied = {n for g in snap.tied for n in g}
    return {n for n, i in snap.tensor_info.items() if i.kind == "parameter" and n not in tied}
