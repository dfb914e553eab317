"""Graphviz DOT graphs of recorded passes and of module trees, readable at any size.

- :func:`trace_graph` — a :class:`graphlab.trace.Trace` as a DOT graph: forward (ops, values as
  edges labelled with shapes, parameters, one nested ``subgraph cluster_*`` per module scope,
  devices as colours, transfers with bytes and milliseconds) or backward (gradient flow with
  norms, each use's contribution to a tied parameter);
- :func:`module_graph` — the module tree of a model or :class:`graphlab.inspect.Snapshot`.

Both return a :class:`DotGraph` (``.source`` is the text, ``str()`` too; ``.render(path)`` runs
Graphviz through :mod:`exporters.render`). The source is built as a list of lines; node ids are
sequential (``n0``, ``n1``, …, never ``id()``) and every label goes through
:mod:`exporters.quoting`, so the same model and input always give the same text.

Colour legend (after torchviz's ``make_dot``), also drawn in every forward graph:

- op nodes are filled with their device's colour (first device seen: light blue, then light
  green, orange, pink, …);
- parameters are light yellow ellipses (a tied parameter is one node with an edge per use);
- inputs and constants are light grey ellipses;
- collapsed modules (``depth=``) are boxes with a double border, folded repeats are marked ×N;
- device transfers are red-bordered diamonds labelled with bytes and milliseconds.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections import deque
from pathlib import Path

from graphlab.trace.events import BackwardEvent, OpEvent, TransferEvent, ValueRef

from .quoting import label, quote

__all__ = ["DotGraph", "module_graph", "trace_graph"]

_DEVICE_COLOURS = (
    "lightblue",
    "palegreen",
    "orange",
    "pink",
    "plum",
    "khaki",
    "lightcyan",
    "salmon",
)
_PARAM = 'shape=ellipse, style=filled, fillcolor="lightyellow"'
_INPUT = 'shape=ellipse, style=filled, fillcolor="lightgrey"'
_TRANSFER = 'shape=diamond, color="red", style=filled, fillcolor="white"'


class DotGraph:
    """DOT source text plus rendering: ``.source``, ``str(g)``, ``g.render(path, format=)``."""

    __slots__ = ("source",)

    def __init__(self, source: str):
        self.source = source

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"<DotGraph: {self.source.count(chr(10)) + 1} lines>"

    def save(self, path: str | os.PathLike) -> Path:
        """Write the DOT text to ``path`` and return it."""
        out = Path(path)
        out.write_text(self.source, encoding="utf-8")
        return out

    def render(self, path: str | os.PathLike, format: str = "svg") -> Path:  # noqa: A002
        """Render with Graphviz's ``dot`` (see :func:`exporters.render.render`)."""
        from .render import render

        return render(self.source, path, format=format)


# ----- helpers --------------------------------------------------------------------------------
def _shape(shape) -> str:
    return str(tuple(shape))


def _bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _ancestors(events) -> dict[str, tuple[str, ...]]:
    """Each scope of ``events`` and its ancestors, computed once per distinct scope:
    ``"0.block 1.fc"`` -> ``("0", "0.block 1", "0.block 1.fc")``; ``""`` (top level) -> ``()``.
    So the child scope under a parent at depth ``L`` is ``table[scope][L]`` (module names hold
    no dots)."""
    table: dict[str, tuple[str, ...]] = {}
    for ev in events:
        scope = ev.scope
        if scope not in table:
            parts = scope.split(".") if scope else []
            table[scope] = tuple(".".join(parts[: i + 1]) for i in range(len(parts)))
    return table


class _Item:
    """One drawn unit of a forward graph: an op, a collapsed module call or a folded run."""

    __slots__ = ("kind", "events", "scope", "count", "scopes")

    def __init__(self, kind: str, events: list, scope: str, count: int = 1, scopes=()):
        self.kind = kind  # "op", "collapsed", "fold", "transfer"
        self.events = events
        self.scope = scope  # the scope the unit stands for (its module for collapsed/fold)
        self.count = count
        self.scopes: tuple[str, ...] = scopes  # folded: the sibling scopes folded together


class _Cluster:
    """A module scope drawn as a ``subgraph cluster_*``: its items and sub-clusters in order."""

    __slots__ = ("scope", "cls", "items")

    def __init__(self, scope: str, cls: str):
        self.scope, self.cls = scope, cls
        self.items: list = []  # _Item or _Cluster, in order


class _Builder:
    """Accumulates DOT lines; node ids are handed out in order."""

    def __init__(self, name: str):
        self.lines = [f"digraph {quote(name)} {{"]
        self.lines.append('    graph [rankdir=TB, fontname="Helvetica", fontsize=10]')
        self.lines.append('    node [fontname="Helvetica", fontsize=10, shape=box, style=filled]')
        self.lines.append('    edge [fontname="Helvetica", fontsize=9]')
        self._next = 0
        self._clusters = 0
        self.devices: dict[str, str] = {}

    def node_id(self) -> str:
        nid = f"n{self._next}"
        self._next += 1
        return nid

    def cluster_id(self) -> str:
        cid = f"cluster_{self._clusters}"
        self._clusters += 1
        return cid

    def colour(self, device: str) -> str:
        if device not in self.devices:
            self.devices[device] = _DEVICE_COLOURS[len(self.devices) % len(_DEVICE_COLOURS)]
        return self.devices[device]

    def finish(self) -> DotGraph:
        self.lines.append("}")
        return DotGraph("\n".join(self.lines) + "\n")


def _check_trace(trace, fn: str):
    from graphlab.trace import Trace

    if not isinstance(trace, Trace):
        raise TypeError(
            f"{fn}: expected a graphlab.trace.Trace (gl.last_trace() or `with gl.record() as "
            f"tr:`), got {type(trace).__name__}"
        )
    return trace.events


def _check_depth(depth, fn: str) -> None:
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise ValueError(f"{fn}: depth must be None or an int >= 0, got {depth!r}")


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while a graph is built.

    NOTE: a 50k-op graph allocates a few hundred thousand lists, tuples and strings that form
    no cycles; each allocation burst triggered a collection that rescanned the growing heap,
    the trace's own events included: 40% of the export time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ----- forward graph: grouping ----------------------------------------------------------------
def _signature(events: list, base: str) -> tuple:
    """What makes two module calls "identical": relative scopes, classes, ops, shapes."""
    cut = len(base)
    sig = []
    for ev in events:
        if isinstance(ev, OpEvent):
            ins = tuple(v.shape if isinstance(v, ValueRef) else type(v).__name__ for v in ev.inputs)
            sig.append((ev.scope[cut:], ev.scope_class, ev.op, ins))
        else:
            sig.append((ev.scope[cut:], "transfer", ev.src, ev.dst, ev.nbytes))
    return tuple(sig)


def _segments(events: list, level: int, ancestors: dict) -> list[tuple[str | None, list]]:
    """Split ``events`` (all inside one scope at depth ``level``) into direct events (child
    ``None``) and child-module calls.

    A call is a run of consecutive events under one child scope; the same child reached
    again after something else is a new call (a layer used twice is drawn twice).
    """
    segs: list[tuple[str | None, list]] = []
    last = None
    for ev in events:
        chain = ancestors[ev.scope]
        child = chain[level] if len(chain) > level else None
        if child is not None and child == last:
            segs[-1][1].append(ev)
        else:
            segs.append((child, [ev]))
            last = child
    return segs


def _class_of(events: list, scope: str) -> str:
    """The module class of ``scope``: that of its first op recorded directly in it ("" if
    none)."""
    for ev in events:
        if ev.scope == scope and isinstance(ev, OpEvent):
            return ev.scope_class
    return ""


def _run_end(segs: list, i: int, sigs: list) -> int:
    """Where the run of calls identical to call ``segs[i]`` ends (``i + 1``: no repeat).

    NOTE: identical calls are compared relative to their own scope, so `block 0` … `block 3`
    (same structure, same op sequence, same shapes) match each other. Signatures are computed
    on demand into ``sigs``: a call is only ever compared with the one after it.
    """
    n, size = len(segs), len(segs[i][1])
    j = i + 1
    while j < n and segs[j][0] is not None and len(segs[j][1]) == size:
        for k in (i, j):
            if sigs[k] is None:
                sigs[k] = _signature(segs[k][1], segs[k][0] + ".")
        if sigs[j] != sigs[i]:
            break
        j += 1
    return j


def _group(
    events: list, parent: str, cls: str, depth: int | None, fold: bool, ancestors: dict, level=0
) -> _Cluster:
    """The cluster tree of ``events`` under ``parent`` (a scope at depth ``level``), with
    collapsing and folding applied."""
    cluster = _Cluster(parent, cls)
    items = cluster.items
    segs = _segments(events, level, ancestors)
    sigs = [None] * len(segs) if fold else []
    i, n = 0, len(segs)
    while i < n:
        child, evs = segs[i]
        if child is None:
            for ev in evs:
                kind = "transfer" if isinstance(ev, TransferEvent) else "op"
                items.append(_Item(kind, [ev], ev.scope))
            i += 1
            continue
        j = _run_end(segs, i, sigs) if fold else i + 1
        if j - i >= 2:
            run = [ev for _, e in segs[i:j] for ev in e]
            scopes = tuple(s for s, _ in segs[i:j])
            items.append(_Item("fold", run, child, count=j - i, scopes=scopes))
        elif depth is not None and level + 1 > depth:
            items.append(_Item("collapsed", evs, child))
        else:
            sub = _group(evs, child, _class_of(evs, child), depth, fold, ancestors, level + 1)
            items.append(sub)
        i = j
    return cluster


def _flatten(cluster: _Cluster, out: list) -> None:
    for it in cluster.items:
        if isinstance(it, _Cluster):
            _flatten(it, out)
        else:
            out.append(it)


# ----- forward graph: drawing -----------------------------------------------------------------
class _Labels:
    """Quoted labels that repeat (op names, shapes), escaped once each."""

    __slots__ = ("ops", "shapes")

    def __init__(self):
        self.ops: dict[str, str] = {}
        self.shapes: dict[tuple, str] = {}

    def op(self, name: str) -> str:
        text = self.ops.get(name)
        if text is None:
            text = self.ops[name] = label(name)
        return text

    def shape(self, shape) -> str:
        text = self.shapes.get(shape)
        if text is None:
            text = self.shapes[shape] = quote(_shape(shape))
        return text


def _unit_node(nid: str, it: _Item, b: _Builder) -> str:
    """The node line of a collapsed or folded unit: its scope (or range of folded scopes), its
    module class and op count, in the colour of the first device it computed on."""
    ops, dev = 0, None
    for ev in it.events:  # NOTE: one plain loop: this runs for every unit of a big graph
        if isinstance(ev, OpEvent):
            ops += 1
            if dev is None and ev.outputs:
                dev = ev.outputs[0].device
    cls = _class_of(it.events, it.scope)
    if it.kind == "fold":
        first, last = it.scopes[0], it.scopes[-1]
        per = ops // it.count
        text = label(
            f"{first} … {last.rsplit('.', 1)[-1]}  ×{it.count}",
            f"{cls} ×{it.count}, {per} ops each" if cls else f"{per} ops each",
        )
        style = 'peripheries=2, style="filled,bold"'
    else:
        text = label(it.scope + (f" ({cls})" if cls else ""), f"{ops} ops")
        style = "peripheries=2"
    return f'{nid} [{style}, fillcolor="{b.colour(dev or "cpu")}", label={text}]'


class _Drawer:
    """The node line of each drawn unit and the edges into it, with the parameter, input and
    transfer nodes the edges need (each made once, at its first use)."""

    def __init__(self, b: _Builder, producer: dict[int, str]):
        self.b, self.producer = b, producer  # producer: vid -> node id of the unit that made it
        self.labels = _Labels()
        self.param_node: dict[int, str] = {}
        self.input_node: dict[int, str] = {}
        # Transfers not yet matched to a value, by (destination, bytes), oldest first.
        self.pending: dict[tuple[str, int], deque[str]] = {}
        self.top_lines: list[str] = []  # inputs and constants, drawn outside every cluster
        self.edge_lines: list[str] = []
        self.seen_edges: set[tuple[str, str, int]] = set()

    def node(self, nid: str, it: _Item) -> str:
        """The node line of ``it`` (a transfer waits in ``pending`` for the value it made)."""
        ev0 = it.events[0]
        if it.kind == "transfer":
            text = (f"{ev0.src} → {ev0.dst}", _bytes(ev0.nbytes), f"{ev0.seconds * 1e3:.3f} ms")
            self.pending.setdefault((ev0.dst, ev0.nbytes), deque()).append(nid)
            return f"{nid} [{_TRANSFER}, label={label(*text)}]"
        if it.kind == "op":
            # NOTE: an op item always sits in the cluster of its own scope, which names it.
            dev = ev0.outputs[0].device if ev0.outputs else None
            colour = self.b.colour(dev or "cpu")
            return f'{nid} [fillcolor="{colour}", label={self.labels.op(ev0.op)}]'
        return _unit_node(nid, it, self.b)

    def edges(self, nid: str, it: _Item) -> list[str]:
        """Add the edges into ``it``'s node (one per value from outside the unit); return the
        parameter nodes to draw beside it."""
        extra: list[str] = []
        if it.kind == "transfer":
            return extra
        if it.kind == "op":
            made = {v.vid for v in it.events[0].outputs}
        else:
            made = {v.vid for ev in it.events if isinstance(ev, OpEvent) for v in ev.outputs}
        producer, seen, shape = self.producer, self.seen_edges, self.labels.shape
        for ev in it.events:
            if not isinstance(ev, OpEvent):
                continue
            for v in ev.inputs:
                if not isinstance(v, ValueRef) or v.vid in made:
                    continue
                src = producer.get(v.vid) or self.source(v, it.kind, extra)
                if src is None:
                    continue
                key = (src, nid, v.vid)
                if key not in seen:
                    seen.add(key)
                    self.edge_lines.append(f"    {src} -> {nid} [label={shape(v.shape)}]")
        return extra

    def source(self, v: ValueRef, kind: str, extra: list[str]) -> str | None:
        """The node of a value no drawn unit made: its parameter (none for a collapsed unit:
        its parameters stay inside it), the transfer that brought it, or an input node."""
        if v.param is not None:
            if kind != "op":
                return None
            src = self.param_node.get(v.vid)
            if src is None:
                src = self.param_node[v.vid] = self.b.node_id()
                names = " = ".join(v.aliases or (v.param,))
                extra.append(f"{src} [{_PARAM}, label={label(names, _shape(v.shape))}]")
            return src
        src = self.input_node.get(v.vid)
        if src is None:
            waiting = self.pending.get((v.device, v.nbytes))
            if waiting:
                src = waiting.popleft()
            else:
                src = self.b.node_id()
                what = "input" if v.const else "tensor"
                text = label(what, _shape(v.shape), f"{v.dtype} {v.device}")
                self.top_lines.append(f"{src} [{_INPUT}, label={text}]")
            self.input_node[v.vid] = src
        return src


def _forward(events: list, depth: int | None, fold: bool, legend: bool, name: str) -> DotGraph:
    b = _Builder(name)
    # NOTE: transfers made by backward (reason "backward") belong to the backward graph.
    shown = [
        ev
        for ev in events
        if isinstance(ev, OpEvent) or (isinstance(ev, TransferEvent) and ev.reason != "backward")
    ]
    ancestors = _ancestors(shown)
    root = _group(shown, "", "", depth, fold, ancestors)
    items: list[_Item] = []
    _flatten(root, items)
    # NOTE: node ids are handed out in event order (items are in event order), so the text
    # depends only on the trace, never on memory addresses or dict iteration of ids.
    item_id = [b.node_id() for _ in items]
    producer: dict[int, str] = {}  # vid -> node id of the unit that made it
    # Producers first, so that every edge knows its source.
    for nid, it in zip(item_id, items):
        for ev in it.events:
            if isinstance(ev, OpEvent):
                for v in ev.outputs:
                    producer.setdefault(v.vid, nid)
    draw = _Drawer(b, producer)
    node_lines: list[str] = []  # per item: its node, drawn inside its cluster
    extra_lines: list[list[str]] = []  # per item: param nodes placed beside it
    for nid, it in zip(item_id, items):
        node_lines.append(draw.node(nid, it))
        extra_lines.append(draw.edges(nid, it))
    edges, top_lines = draw.edge_lines, draw.top_lines
    # Clusters, nested, with the nodes of each unit inside the cluster of its parent scope.
    out = b.lines
    out.extend("    " + line for line in top_lines)
    k = 0

    def emit(cluster: _Cluster, indent: str) -> None:
        nonlocal k
        for it in cluster.items:
            if isinstance(it, _Cluster):
                out.append(f"{indent}subgraph {b.cluster_id()} {{")
                title = it.scope + (f" ({it.cls})" if it.cls else "")
                out.append(f'{indent}    label={quote(title)}; style="rounded"; color="grey"')
                emit(it, indent + "    ")
                out.append(f"{indent}}}")
            else:
                for line in extra_lines[k]:
                    out.append(indent + line)
                out.append(indent + node_lines[k])
                k += 1

    emit(root, "    ")
    out.extend(edges)
    if legend:
        _legend(b)
    return b.finish()


def _legend(b: _Builder) -> None:
    lines = ["    subgraph cluster_legend {", '        label="legend"; color="grey"']
    rows = [f'fillcolor="{c}", label={label("op on " + d)}' for d, c in b.devices.items()]
    rows += [
        f"{_PARAM}, label={quote('parameter')}",
        f"{_INPUT}, label={quote('input / constant')}",
        f'peripheries=2, fillcolor="white", label={quote("collapsed module")}',
        f'peripheries=2, style="filled,bold", fillcolor="white", label={quote("folded ×N")}',
        f"{_TRANSFER}, label={quote('transfer')}",
    ]
    for row in rows:
        lines.append(f"        {b.node_id()} [{row}]")
    lines.append("    }")
    b.lines.extend(lines)


# ----- backward graph ---------------------------------------------------------------------------
def _backward(events: list, legend: bool, name: str) -> DotGraph:
    b = _Builder(name)
    fwd = {ev.id: ev for ev in events if isinstance(ev, OpEvent)}
    made_by = {v.vid: ev.id for ev in fwd.values() for v in ev.outputs}
    steps = [ev for ev in events if isinstance(ev, BackwardEvent)]
    node_of_fwd: dict[int, str] = {}
    by_scope: dict[str, list[str]] = {}
    lines_of: dict[str, str] = {}
    scope_cls: dict[str, str] = {}
    for ev in steps:
        nid = b.node_id()
        if ev.forward_id is not None:
            node_of_fwd.setdefault(ev.forward_id, nid)
        f = fwd.get(ev.forward_id)
        dev = f.outputs[0].device if f is not None and f.outputs else "cpu"
        text = [ev.op, f"grad {_shape(ev.grad_output_shape)}"]
        if f is not None and f.scope:
            scope_cls.setdefault(ev.scope, f.scope_class)
        lines_of[nid] = f'{nid} [fillcolor="{b.colour(dev)}", label={label(*text)}]'
        by_scope.setdefault(ev.scope, []).append(nid)
    edges: list[str] = []
    param_node: dict[str, str] = {}
    param_lines: list[str] = []
    contributions: dict[str, list] = {}
    for ev in steps:
        nid = node_of_fwd.get(ev.forward_id) if ev.forward_id is not None else None
        if nid is None:
            continue
        f = fwd.get(ev.forward_id)
        ins = [v for v in f.inputs] if f is not None else []
        for i, v in enumerate(ins):
            if not isinstance(v, ValueRef) or i >= len(ev.grad_input_shapes):
                continue
            shape = ev.grad_input_shapes[i]
            if shape is None:
                continue
            norm = ev.grad_input_norms[i] if i < len(ev.grad_input_norms) else None
            text = [_shape(shape)] + ([f"‖g‖={norm:.4g}"] if norm is not None else [])
            src_fwd = made_by.get(v.vid)
            if src_fwd is not None and src_fwd in node_of_fwd:
                edges.append(f"    {nid} -> {node_of_fwd[src_fwd]} [label={label(*text)}]")
        for pg in ev.param_grads:
            contributions.setdefault(pg.name, []).append(pg)
            pid = param_node.get(pg.name)
            if pid is None:
                pid = param_node[pg.name] = b.node_id()
                param_lines.append(pid)
            edges.append(
                f'    {nid} -> {pid} [color="darkorange", '
                f"label={label(f'use at op {pg.forward_id}', f'‖g‖={pg.norm:.4g}')}]"
            )
    for pname, pid in param_node.items():
        pgs = contributions[pname]
        text = [" = ".join(pgs[0].aliases or (pname,))]
        if len(pgs) > 1:
            text.append(f"{len(pgs)} uses")
        if all(pg.value is not None for pg in pgs):
            import numpy as np

            total = sum(np.asarray(pg.value, dtype=np.float64) for pg in pgs)
            text.append(f"‖Σg‖={float(np.sqrt(np.sum(total * total))):.4g}")
        lines_of[pid] = f"{pid} [{_PARAM}, label={label(*text)}]"
    for scope, nids in by_scope.items():
        if scope:
            b.lines.append(f"    subgraph {b.cluster_id()} {{")
            title = scope + (f" ({scope_cls[scope]})" if scope_cls.get(scope) else "")
            b.lines.append(f'        label={quote(title)}; style="rounded"; color="grey"')
            b.lines.extend("        " + lines_of[n] for n in nids)
            b.lines.append("    }")
        else:
            b.lines.extend("    " + lines_of[n] for n in nids)
    b.lines.extend("    " + lines_of[p] for p in param_lines)
    b.lines.extend(edges)
    if legend:
        rows = [f'fillcolor="{c}", label={label("backward on " + d)}' for d, c in b.devices.items()]
        rows.append(f"{_PARAM}, label={quote('parameter (edges: each use)')}")
        b.lines += ["    subgraph cluster_legend {", '        label="legend"; color="grey"']
        b.lines += [f"        {b.node_id()} [{r}]" for r in rows] + ["    }"]
    return b.finish()


# ----- public API -------------------------------------------------------------------------------
def trace_graph(
    trace,
    depth: int | None = None,
    backward: bool = False,
    fold: bool = True,
    legend: bool = True,
    name: str = "trace",
) -> DotGraph:
    """A recorded pass as a Graphviz graph (see the module docstring for what is drawn).

    - ``depth``: modules deeper than ``depth`` levels (the top level is 0) are drawn as one node
      per call; ``None`` draws every op.
    - ``fold``: consecutive calls of sibling modules with the same structure, op sequence and
      shapes (``block 0`` … ``block 3``) become one node marked ×N.
    - ``backward``: draw the gradient flow instead: one node per backward step, edges labelled
      with gradient shapes and norms (norms need level ``"stats"`` or a parameter), and each
      parameter once with one edge per use carrying that use's contribution.
    - ``legend``: add the colour legend; ``name``: the graph's name.

    Ops recorded without a module (top level) sit outside every cluster. Transfers carry no
    value ids, so a transfer is drawn as the source of the next value that appears on its
    destination device with its byte count.
    """
    events = _check_trace(trace, "trace_graph")
    _check_depth(depth, "trace_graph")
    with _gc_paused():
        if backward:
            return _backward(list(events), legend, name)
        return _forward(list(events), depth, fold, legend, name)


def module_graph(model_or_snapshot, depth: int | None = None, name: str | None = None) -> DotGraph:
    """The module tree of an ``nn.Module`` or a :class:`graphlab.inspect.Snapshot` as a graph.

    One box per module position (class, path, parameter count), edges from parent to child; a
    module reached a second time (a shared layer) is a dashed edge to its first position.
    ``depth`` stops the tree below that many levels.
    """
    from graphlab.inspect import Snapshot, module_tree

    _check_depth(depth, "module_graph")
    if isinstance(model_or_snapshot, Snapshot):
        tree = model_or_snapshot.module_tree
        gname = name or model_or_snapshot.name
    else:
        tree = module_tree(model_or_snapshot)
        gname = name or tree.class_name
    b = _Builder(gname)
    ids: dict[str, str] = {}
    edges: list[str] = []

    def visit(node, parent: str | None, level: int) -> None:
        if node.alias_of is not None:
            edges.append(
                f'    {parent} -> {ids[node.alias_of]} [style="dashed", '
                f"label={quote(node.name + ' (shared)')}]"
            )
            return
        nid = ids[node.path] = b.node_id()
        title = node.class_name + (f"({node.extra_repr})" if node.extra_repr else "")
        text = [node.path or "(root)", title, f"{node.num_parameters:,} parameters"]
        colour = b.colour(node.devices[0]) if node.devices else "white"
        b.lines.append(f'    {nid} [fillcolor="{colour}", label={label(*text)}]')
        if parent is not None:
            edges.append(f"    {parent} -> {nid}")
        if depth is not None and level >= depth:
            return
        for child in node.children:
            visit(child, nid, level + 1)

    visit(tree, None, 0)
    b.lines.extend(edges)
    return b.finish()
