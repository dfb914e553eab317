"""The static graph as plain data: inputs, parameters, constants, nodes and outputs.

Like a jaxpr, a :class:`Graph` is frozen records and nothing else; printing is ``str(graph)``.
Each :class:`Node` applies one op to arguments that are either :class:`Ref`\\ s (a graph input,
a parameter, a buffer, a constant or an earlier node's output) or plain literals (numbers,
``None``, small arrays the op takes as is). Node ids are sequential, so printouts are
deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Ref", "TensorSpec", "Node", "Graph", "REF_KINDS"]

# What a Ref points at. "param_data" is ``param.data`` (the parameter's storage without its
# history), re-read at every call so training updates are seen.
REF_KINDS = ("input", "param", "param_data", "buffer", "const", "node")
_PREFIX = {
    "input": "%x",
    "param": "%p",
    "param_data": "%p",
    "buffer": "%b",
    "const": "%c",
    "node": "%",
}


@dataclass(frozen=True, slots=True)
class Ref:
    """A tensor-valued argument: ``kind`` (one of :data:`REF_KINDS`) and its index there."""

    kind: str
    index: int

    def __str__(self) -> str:
        s = f"{_PREFIX[self.kind]}{self.index}"
        return s + ".data" if self.kind == "param_data" else s


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """Shape, dtype (graphlab name, e.g. ``"float32"``), device and grad flag of a tensor."""

    shape: tuple[int, ...]
    dtype: str
    device: str
    requires_grad: bool = False

    def __str__(self) -> str:
        dims = ", ".join(str(d) for d in self.shape)
        return f"{self.dtype}[{dims}] {self.device}" + (" grad" if self.requires_grad else "")


@dataclass(frozen=True, slots=True)
class Node:
    """One op application: ``op`` (the op's class name, or ``"detach"``), ``args`` (refs and
    literals in call order), ``attrs`` (keyword attributes as ``(name, value)`` pairs), the
    module ``scope`` it ran in during capture, ``grad`` (whether grad mode was on for it) and
    the spec of its output. ``fn`` is what replay calls (``OpClass.apply``); it is not data and
    takes no part in comparisons."""

    id: int
    op: str
    args: tuple[Any, ...]
    attrs: tuple[tuple[str, Any], ...]
    scope: str
    grad: bool
    out: TensorSpec
    fn: Callable = field(repr=False, compare=False, default=None)

    def refs(self) -> Iterator[Ref]:
        """The tensor-valued arguments."""
        return (a for a in self.args if isinstance(a, Ref))

    def __str__(self) -> str:
        parts = [_fmt_arg(a) for a in self.args]
        parts += [f"{k}={_fmt_arg(v)}" for k, v in self.attrs]
        line = f"%{self.id} = {self.op}({', '.join(parts)})"
        note = f"-> {self.out}"
        if self.scope:
            note += f"  [{self.scope}]"
        if not self.grad:
            note += "  no_grad"
        return f"{line:<48} # {note}"


def _fmt_arg(a: Any) -> str:
    if isinstance(a, Ref):
        return str(a)
    shape = getattr(a, "shape", None)
    if shape is not None and not isinstance(a, (int, float, bool)):
        return f"<array {tuple(shape)}>"
    r = repr(a)
    return r if len(r) <= 40 else r[:37] + "..."


@dataclass(frozen=True)
class Graph:
    """A captured pass: ``inputs`` (one spec per graph input), ``params`` (parameter names),
    ``buffers`` (buffer names), ``consts`` (one spec per constant tensor), ``nodes`` (in
    execution order) and ``outputs`` (refs, in the order the function returned them).

    Iterating a Graph, and ``len``, go over its nodes.
    """

    inputs: tuple[TensorSpec, ...]
    params: tuple[str, ...]
    buffers: tuple[str, ...]
    consts: tuple[TensorSpec, ...]
    nodes: tuple[Node, ...]
    outputs: tuple[Ref, ...]
    name: str = "fn"

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def ops(self) -> list[str]:
        """The op name of every node, in order (handy in tests and diffs)."""
        return [n.op for n in self.nodes]

    def __str__(self) -> str:
        lines = [
            f"graph {self.name}({', '.join(f'%x{i}' for i in range(len(self.inputs)))}) — "
            f"{len(self.nodes)} nodes, {len(self.params)} parameters, "
            f"{len(self.consts)} constants"
        ]
        lines += [f"  %x{i}: {spec}" for i, spec in enumerate(self.inputs)]
        lines += [f"  %p{i}: {name}" for i, name in enumerate(self.params)]
        lines += [f"  %b{i}: {name}" for i, name in enumerate(self.buffers)]
        lines += [f"  %c{i}: {spec}" for i, spec in enumerate(self.consts)]
        lines += [f"  {node}" for node in self.nodes]
        lines.append(f"  return {', '.join(str(r) for r in self.outputs)}")
        return "\n".join(lines)
