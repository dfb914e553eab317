"""Graph passes: constant folding of no-grad subgraphs, dead-code elimination, compaction.

Each pass takes a :class:`~graphlab.jit.graph.Graph` (and the live objects its refs point at)
and returns new ones; graphs are never edited in place. Node ids are renumbered so they stay
sequential.
"""

from __future__ import annotations

import dataclasses

from ..autograd import grad_mode
from ..tensor import Tensor
from .graph import Graph, Node, Ref, TensorSpec

__all__ = ["fold_constants", "eliminate_dead_code", "compact", "run_all"]


def _sub(a, mapping: dict[Ref, Ref]):
    return mapping.get(a, a) if isinstance(a, Ref) else a


def _rebuild(graph: Graph, nodes: list[Node], mapping: dict[Ref, Ref], **changes) -> Graph:
    """``nodes`` (a subset of graph's, in order) renumbered, refs rewritten through
    ``mapping`` (old ref -> new ref) and the renumbering."""
    mapping = dict(mapping)
    out: list[Node] = []
    for node in nodes:
        new_id = len(out)
        args = tuple(_sub(a, mapping) for a in node.args)
        out.append(dataclasses.replace(node, id=new_id, args=args))
        mapping[Ref("node", node.id)] = Ref("node", new_id)
    outputs = tuple(_sub(r, mapping) for r in graph.outputs)
    return dataclasses.replace(graph, nodes=tuple(out), outputs=outputs, **changes)


def fold_constants(graph: Graph, consts: list[Tensor]) -> tuple[Graph, list[Tensor], int]:
    """Evaluate, once and now, every node whose tensor arguments are all constants (or folded
    nodes): such a subgraph needs no gradient and does not depend on the graph's inputs or
    parameters, so its result is the same at every call. Returns the new graph, the new
    constant list and how many nodes were folded.

    Parameters, ``param.data`` and buffers are never folded: training changes them.
    """
    consts = list(consts)
    specs = list(graph.consts)
    mapping: dict[Ref, Ref] = {}
    kept: list[Node] = []
    folded = 0
    for node in graph.nodes:
        args = tuple(_sub(a, mapping) for a in node.args)
        refs = [a for a in args if isinstance(a, Ref)]
        if refs and all(r.kind == "const" for r in refs):
            values = [consts[a.index] if isinstance(a, Ref) else a for a in args]
            with grad_mode.no_grad():
                value = node.fn(*values, **dict(node.attrs))
            mapping[Ref("node", node.id)] = Ref("const", len(consts))
            consts.append(value)
            specs.append(
                TensorSpec(node.out.shape, node.out.dtype, node.out.device, requires_grad=False)
            )
            folded += 1
            continue
        kept.append(dataclasses.replace(node, args=args))
    # NOTE: ``kept`` already carries substituted args; the mapping still rewrites outputs.
    return _rebuild(graph, kept, mapping, consts=tuple(specs)), consts, folded


def eliminate_dead_code(graph: Graph) -> tuple[Graph, int]:
    """Drop the nodes whose outputs do not reach the graph's outputs (e.g. a loop condition
    whose value only steered Python control flow, or an unused branch). Returns the new graph
    and how many nodes were removed."""
    live: set[int] = set()
    for r in graph.outputs:
        if r.kind == "node":
            live.add(r.index)
    for node in reversed(graph.nodes):
        if node.id in live:
            live.update(r.index for r in node.refs() if r.kind == "node")
    kept = [n for n in graph.nodes if n.id in live]
    return _rebuild(graph, kept, {}), len(graph.nodes) - len(kept)


def compact(
    graph: Graph, params: list, buffers: list, consts: list
) -> tuple[Graph, list, list, list]:
    """Drop parameters, buffers and constants that no node or output uses any more, and
    renumber the rest in order of first use."""
    order: dict[str, dict[int, int]] = {"param": {}, "buffer": {}, "const": {}}

    def visit(r: Ref) -> None:
        kind = "param" if r.kind == "param_data" else r.kind
        if kind in order:
            order[kind].setdefault(r.index, len(order[kind]))

    for node in graph.nodes:
        for r in node.refs():
            visit(r)
    for r in graph.outputs:
        visit(r)

    def renum(r: Ref) -> Ref:
        kind = "param" if r.kind == "param_data" else r.kind
        if kind in order:
            return Ref(r.kind, order[kind][r.index])
        return r

    nodes = tuple(
        dataclasses.replace(n, args=tuple(renum(a) if isinstance(a, Ref) else a for a in n.args))
        for n in graph.nodes
    )

    def pick(items, kind):
        idx = sorted(order[kind], key=order[kind].get)
        return [items[i] for i in idx]

    new = dataclasses.replace(
        graph,
        nodes=nodes,
        outputs=tuple(renum(r) for r in graph.outputs),
        params=tuple(pick(list(graph.params), "param")),
        buffers=tuple(pick(list(graph.buffers), "buffer")),
        consts=tuple(pick(list(graph.consts), "const")),
    )
    return new, pick(params, "param"), pick(buffers, "buffer"), pick(consts, "const")


def run_all(
    graph: Graph, params: list, buffers: list, consts: list, fold: bool = True, dce: bool = True
) -> tuple[Graph, list, list, list, dict[str, int]]:
    """Constant folding, then dead-code elimination (folding leaves dead producers behind),
    then compaction. Returns the graph, its live objects and counts of what each pass did."""
    stats = {"captured": len(graph.nodes), "folded": 0, "dead": 0}
    if fold:
        graph, consts, stats["folded"] = fold_constants(graph, consts)
    if dce:
        graph, stats["dead"] = eliminate_dead_code(graph)
    graph, params, buffers, consts = compact(graph, params, buffers, consts)
    stats["nodes"] = len(graph.nodes)
    return graph, params, buffers, consts, stats
