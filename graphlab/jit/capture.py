"""Capture one eager run as a :class:`~graphlab.jit.graph.Graph`.

The traced code runs once, normally; an ``op_observers`` hook sees every ``Op.apply`` and
records a node (op class, attributes, and for each argument where its value came from: a graph
input, an earlier node's output, a parameter, a buffer, or a constant). Strong references are
kept only to what replay needs — constants and parameters (parameters by reference, so the
optimizer's updates are seen) — and, for the length of the capture alone, to the tensors it
saw, so that ``id()`` values stay unique while they are looked up.

What the capture cannot see is refused with a clear error instead of being silently frozen:
device moves (they bypass ``Op.apply``), user ``autograd.Function``\\ s run with grad enabled,
in-place writes through views, in-place writes the graph did not record (inputs modified in
place, or writes under ``no_grad``), and arrays an op hands out through an attribute holder
(``max_pool``'s ``return_indices``) when the graph reads them. Comparisons, ``argmax``,
``isnan``, ``nonzero``… are ops like any other (``graphlab.ops.nograd``): they are replayed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import _dtype, transfer
from ..autograd import function as _function
from ..autograd import grad_mode
from ..tensor import Tensor
from .graph import Graph, Node, Ref, TensorSpec

__all__ = ["Captured", "capture"]


@dataclass
class Captured:
    """What a capture produced: the graph, and the live objects its refs point at
    (``params``/``buffers``/``consts`` in ``Ref`` index order), plus what the replay must warn
    about (host syncs and random draws seen during the capture)."""

    graph: Graph
    params: list[Tensor]
    buffers: list[Tensor]
    consts: list[Tensor]
    out_kind: str  # "single", "tuple" or "list"
    syncs: list[str] = field(default_factory=list)
    random_draws: bool = False
    eager_outputs: tuple[Tensor, ...] = ()  # what the capture run returned (for the check)
    # id(constant) -> description of an array an op handed out through an attribute holder
    # (not its output): an error if a node that survives DCE uses it.
    tainted: dict[int, str] = field(default_factory=dict)


class _Leaf:
    """A tensor no op produced (parameter, buffer or constant), resolved after the capture (lazy
    parameters may only exist once the module has run)."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


def _spec(t: Tensor) -> TensorSpec:
    return TensorSpec(
        tuple(t._data.shape), _dtype.from_np(t._data.dtype).name, str(t._device), t.requires_grad
    )


def _untraceable(what: str, fix: str) -> RuntimeError:
    return RuntimeError(f"graphlab.jit.trace: cannot trace {what}; {fix}")


class _Recorder:
    def __init__(self, inputs: tuple[Tensor, ...]):
        self.nodes: list[dict[str, Any]] = []
        self.keep: list[Any] = []  # NOTE: keeps every seen object alive so ids stay unique
        self.by_tensor: dict[int, tuple] = {}  # id(tensor) -> (ref, grad_fn, counter, version)
        self.by_op: dict[int, Ref] = {}  # id(op) -> its output's ref (when it is a grad_fn)
        self.by_data: dict[int, Ref] = {}  # id(array) -> the ref that produced it
        self.leaves: list[Tensor] = []
        self.leaf_ids: dict[int, int] = {}
        self.syncs: list[str] = []
        self.transfers: list[transfer.Transfer] = []
        self.scopes: dict[tuple, str] = {}
        # id(array) -> which op handed it out through an attribute holder (not its output)
        self.made_by_data: dict[int, str] = {}
        self.inputs = inputs
        # NOTE: the CPU generator's state at the last checkpoint (each op, each lazy init): a
        # change before an op means random numbers went into the graph (a dropout mask, a
        # rand* constant); a change ending at a lazy init was the parameters' initializer.
        self.rng_state = _cpu_rng_state()
        self.random_draws = False
        for i, t in enumerate(inputs):
            self._register(t, Ref("input", i))

    def _register(self, t: Tensor, ref: Ref) -> None:
        self.keep.append(t)
        self.keep.append(t._data)
        self.by_tensor[id(t)] = (ref, t.grad_fn, t._version, t._version.value)
        self.by_data.setdefault(id(t._data), ref)

    # ----- hooks --------------------------------------------------------------------------------

    def rng_checkpoint(self, draws_count: bool) -> None:
        state = _cpu_rng_state()
        if state != self.rng_state:
            self.random_draws = self.random_draws or draws_count
            self.rng_state = state

    def on_lazy_init(self, record) -> None:
        self.rng_checkpoint(draws_count=False)

    def on_op(self, op, args, attrs, out) -> None:
        if self.transfers:
            return  # NOTE: capture() raises on the first transfer once the call returns
        self.rng_checkpoint(draws_count=True)
        self._check_literals(op, args, attrs)
        refs = tuple(self.resolve(a) if isinstance(a, Tensor) else a for a in args)
        ref = Ref("node", len(self.nodes))
        self.nodes.append(
            {
                "fn": type(op).apply,
                "op": type(op).__name__,
                "args": refs,
                "attrs": tuple(attrs.items()),
                "scope": self.scope(),
                "grad": grad_mode.is_grad_enabled(),
                "out": _spec(out),
            }
        )
        self._register(out, ref)
        if out.grad_fn is op:
            self.keep.append(op)
            self.by_op[id(op)] = ref
        self._note_holders(op, attrs)

    def on_transfer(self, rec) -> None:
        if isinstance(rec, transfer.Sync):
            self.syncs.append(f"{rec.reason}() at {rec.call_site}")
        elif rec.reason != "backward":
            self.transfers.append(rec)

    def _check_literals(self, op, args, attrs) -> None:
        """Refuse tensors (or a traced tensor's raw array) hidden inside non-tensor arguments:
        the graph would freeze their capture-time values."""
        name = type(op).__name__
        todo = [a for a in args if not isinstance(a, Tensor)] + list(attrs.values())
        while todo:
            v = todo.pop()
            if isinstance(v, (list, tuple)):
                todo.extend(v)
            elif isinstance(v, Tensor):
                raise _untraceable(
                    f"op {name}: it takes a tensor inside a list/attribute",
                    "pass tensors as direct arguments",
                )
            elif hasattr(v, "shape") and (id(v) in self.by_data or id(v) in self.made_by_data):
                raise _untraceable(
                    f"op {name}: it takes the value of a traced tensor as a raw index/attribute "
                    "(data-dependent indexing such as x[y.argmax()])",
                    "use gather/index_select/where, whose index is a graph input",
                )

    def _note_holders(self, op, attrs) -> None:
        """Note the arrays an op handed out through a list attribute (``indices_out``,
        ``stats_out``): a tensor wrapped around one later is not a constant but that op's
        side result, which a replay would not recompute."""
        name = type(op).__name__
        for key, v in attrs.items():
            if not isinstance(v, list):
                continue
            todo = list(v)
            while todo:
                a = todo.pop()
                if isinstance(a, (list, tuple)):
                    todo.extend(a)
                elif hasattr(a, "shape") and hasattr(a, "dtype"):
                    self.keep.append(a)  # NOTE: keeps the id unique while it is looked up
                    self.made_by_data[id(a)] = (
                        f"a {a.dtype} array of shape {tuple(a.shape)} that op {name} handed "
                        f"out through its {key} attribute"
                    )

    def scope(self) -> str:
        from ..nn.modules.module import _module_path, current_scope

        stack = current_scope()
        if not stack:
            return ""
        key = tuple(id(m) for m in stack)
        path = self.scopes.get(key)
        if path is None:
            path = _module_path(list(stack), with_root=False)
            self.scopes[key] = path
        return path

    # ----- where did this tensor come from? -----------------------------------------------------

    def resolve(self, t: Tensor):
        hit = self.by_tensor.get(id(t))
        gf = t.grad_fn
        if hit is not None and gf is hit[1] and hit[2].value == hit[3]:
            return hit[0]
        if gf is not None:
            ref = self.by_op.get(id(gf))
            if ref is None:
                raise _unknown_node(gf)
            return ref
        if hit is not None and hit[0].kind == "input":
            raise _writes_input(hit[0].index, t)
        if hit is not None:
            raise _untraceable(
                f"a tensor of shape {tuple(t.shape)} that was modified in place without autograd "
                "recording it (under no_grad, or a graph input written in place)",
                "use an out-of-place op (y = x / 2 instead of x /= 2), or clone() it first",
            )
        ref = self.by_data.get(id(t._data))
        if ref is not None:
            # NOTE: the same storage under another tensor object: ``.data``/``.detach()`` of a
            # node output, or an ``autograd.Function`` run under no_grad wrapping its result.
            if ref.kind == "node" and self.nodes[ref.index]["out"].requires_grad:
                if not t.requires_grad:
                    ref = self._detach(ref, t)
            return ref
        k = self.leaf_ids.get(id(t))
        if k is None:
            k = self.leaf_ids[id(t)] = len(self.leaves)
            self.leaves.append(t)
        return _Leaf(k)

    def _detach(self, ref: Ref, t: Tensor) -> Ref:
        new = Ref("node", len(self.nodes))
        self.nodes.append(
            {
                "fn": Tensor.detach,
                "op": "detach",
                "args": (ref,),
                "attrs": (),
                "scope": self.scope(),
                "grad": grad_mode.is_grad_enabled(),
                "out": _spec(t),
            }
        )
        self._register(t, new)
        return new


def _writes_input(i: int, t: Tensor) -> RuntimeError:
    return _untraceable(
        f"code that writes its input {i} (shape {tuple(t.shape)}) in place",
        "work on a copy (x = x.clone()) or use out-of-place ops",
    )


def _unknown_node(gf) -> RuntimeError:
    from ..autograd.user_function import _FunctionNode, _OutputSlot
    from ..functions.inplace import CopySlices
    from ..ops.move import ToDevice

    if isinstance(gf, (_FunctionNode, _OutputSlot)):
        node = gf if isinstance(gf, _FunctionNode) else gf.fn_node
        return _untraceable(
            f"the autograd.Function {node.cls.__name__} (user functions bypass the op hook the "
            "tracer records through)",
            "rewrite it with graphlab ops, or run it outside the traced code",
        )
    if isinstance(gf, CopySlices):
        return _untraceable(
            "an in-place write through a view (x[i] = …, or an in-place op on a slice)",
            "build the tensor out of place (graphlab.where, cat, index ops) instead",
        )
    if isinstance(gf, ToDevice):
        return _untraceable(
            "a device move (Tensor.to/cuda/cpu)",
            "move the inputs and the model to the device before tracing",
        )
    return _untraceable(
        f"a tensor produced by {gf.name()} outside the traced code's ops",
        "pass it as an input, or compute it inside the traced code",
    )


def capture(fn, inputs: tuple[Tensor, ...], module=None, name: str = "fn") -> Captured:
    """Run ``fn(*inputs)`` once and record the ops it applies as a graph.

    ``module`` (when tracing an ``nn.Module``) names the parameters and buffers. The capture
    runs with grad mode on at its outer level, so in-place updates of intermediate values are
    recorded as graph edges; ``no_grad`` blocks inside ``fn`` are kept as such.
    """
    from ..nn.modules.lazy import lazy_init_observers

    rec = _Recorder(inputs)
    _function.op_observers.append(rec.on_op)
    lazy_init_observers.append(rec.on_lazy_init)
    handle = transfer.add_observer(rec.on_transfer)
    try:
        with grad_mode.enable_grad():
            result = fn(*inputs)
    finally:
        handle.remove()
        for lst, obs in (
            (_function.op_observers, rec.on_op),
            (lazy_init_observers, rec.on_lazy_init),
        ):
            try:
                lst.remove(obs)
            except ValueError:  # NOTE: someone cleared the list meanwhile
                pass
    rec.rng_checkpoint(draws_count=True)
    if rec.transfers:
        t = rec.transfers[0]
        raise _untraceable(
            f"a device move ({t.src} -> {t.dst}, {t.nbytes} bytes, {t.reason} at {t.call_site}): "
            "moves bypass the op hook the tracer records through",
            "move the inputs and the model to the device before tracing",
        )
    for i, t in enumerate(inputs):
        if t._version.value != rec.by_tensor[id(t)][3]:
            raise _writes_input(i, t)
    out_kind, outs = _outputs(result)
    out_refs = tuple(rec.resolve(t) for t in outs)
    cap = _finish(rec, out_refs, out_kind, module, name, rec.random_draws)
    cap.eager_outputs = outs
    return cap


def _outputs(result) -> tuple[str, tuple[Tensor, ...]]:
    if isinstance(result, Tensor):
        return "single", (result,)
    if isinstance(result, (tuple, list)) and all(isinstance(t, Tensor) for t in result):
        return ("tuple" if isinstance(result, tuple) else "list"), tuple(result)
    raise TypeError(
        "graphlab.jit.trace: the traced code must return a Tensor or a tuple/list of Tensors, "
        f"got {type(result).__name__}; return the tensors only (wrap extra values outside)"
    )


def _cpu_rng_state():
    from .. import random as _random

    gen = _random._default.get(("cpu", 0))
    return None if gen is None else gen.get_state()


def _finish(rec: _Recorder, out_refs, out_kind, module, name, random_draws) -> Captured:
    """Turn pending leaves into parameter/buffer/constant refs and freeze the graph."""
    params: list[Tensor] = []
    pnames: list[str] = []
    by_param: dict[int, int] = {}
    by_pdata: dict[int, int] = {}
    buffers: list[Tensor] = []
    bnames: list[str] = []
    by_buffer: dict[int, int] = {}
    if module is not None:
        for pname, p in module.named_parameters():
            by_param[id(p)] = len(params)
            by_pdata.setdefault(id(p._data), len(params))
            params.append(p)
            pnames.append(pname)
        for bname, b in module.named_buffers():
            by_buffer[id(b)] = len(buffers)
            buffers.append(b)
            bnames.append(bname)
    used_params: dict[int, int] = {}
    used_buffers: dict[int, int] = {}
    consts: list[Tensor] = []
    leaf_refs: list[Ref] = []
    for t in rec.leaves:
        if id(t) in by_param:
            leaf_refs.append(_use(used_params, by_param[id(t)], "param"))
        elif id(t._data) in by_pdata:
            leaf_refs.append(_use(used_params, by_pdata[id(t._data)], "param_data"))
        elif id(t) in by_buffer:
            leaf_refs.append(_use(used_buffers, by_buffer[id(t)], "buffer"))
        elif t.requires_grad:
            # NOTE: a leaf that needs a gradient but is no parameter of the traced module (a
            # closure's weight when tracing a function): kept by reference like a parameter.
            by_param[id(t)] = len(params)
            params.append(t)
            pnames.append(f"<captured {tuple(t.shape)}>")
            leaf_refs.append(_use(used_params, by_param[id(t)], "param"))
        else:
            leaf_refs.append(Ref("const", len(consts)))
            consts.append(t)
    # Only the parameters/buffers the graph uses are kept, renumbered in first-use order.
    p_order = sorted(used_params, key=used_params.get)
    b_order = sorted(used_buffers, key=used_buffers.get)

    def fix(a):
        if isinstance(a, _Leaf):
            return leaf_refs[a.index]
        return a

    nodes = tuple(
        Node(
            id=i,
            op=n["op"],
            args=tuple(fix(a) for a in n["args"]),
            attrs=n["attrs"],
            scope=n["scope"],
            grad=n["grad"],
            out=n["out"],
            fn=n["fn"],
        )
        for i, n in enumerate(rec.nodes)
    )
    graph = Graph(
        inputs=tuple(_spec(t) for t in rec.inputs),
        params=tuple(pnames[i] for i in p_order),
        buffers=tuple(bnames[i] for i in b_order),
        consts=tuple(_spec(t) for t in consts),
        nodes=nodes,
        outputs=tuple(fix(r) for r in out_refs),
        name=name,
    )
    return Captured(
        graph=graph,
        params=[params[i] for i in p_order],
        buffers=[buffers[i] for i in b_order],
        consts=consts,
        out_kind=out_kind,
        syncs=rec.syncs,
        random_draws=random_draws,
        tainted={
            id(c): rec.made_by_data[id(c._data)] for c in consts if id(c._data) in rec.made_by_data
        },
    )


def _use(used: dict[int, int], index: int, kind: str) -> Ref:
    """The ref of parameter/buffer ``index`` in the graph's own numbering (first use order)."""
    k = used.setdefault(index, len(used))
    return Ref(kind, k)
