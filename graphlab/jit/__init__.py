"""``graphlab.jit``: static replay of a recorded pass (the lecture's static vs dynamic graphs).

``graphlab.jit.trace(model, example_inputs)`` runs ``model`` once, records the ops it applies,
and returns a :class:`StaticGraph`: a callable that runs the same ops again without the Python
module code — no module calls, no argument checks, no Python control flow. It guards its
inputs' shapes, dtypes and devices, supports backward (each node goes through ``Op.apply``), and
is optimised by constant folding of no-grad subgraphs and dead-code elimination.

>>> static = graphlab.jit.trace(net, gl.rand(2, 20))
>>> static(x).sum().backward()        # same values and gradients as net(x)
>>> print(static)                      # the node listing; static.graph is the plain data

What a static graph cannot do: follow data-dependent control flow (a ``while``/``if`` on a
tensor's value is frozen as it went during the capture — a ``UserWarning`` says so), see
parameters assigned after the trace (it holds the parameter objects the capture saw, so in-place
training updates are seen, replacing a module's parameter is not), or draw new random numbers
(dropout masks drawn during the capture are frozen: call ``model.eval()`` before tracing).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

from .. import _dtype
from ..autograd import grad_mode
from ..nn.modules import module as _module
from ..tensor import Tensor
from . import passes
from .capture import capture
from .graph import Graph, Node, Ref, TensorSpec

__all__ = ["trace", "StaticGraph", "Graph", "Node", "Ref", "TensorSpec"]


def trace(
    module_or_fn: Callable,
    example_inputs: Tensor | Sequence[Tensor],
    *,
    fold_constants: bool = True,
    eliminate_dead_code: bool = True,
    check_trace: bool = True,
) -> StaticGraph:
    """Capture one eager run of ``module_or_fn(*example_inputs)`` as a :class:`StaticGraph`.

    ``example_inputs`` is a Tensor or a tuple/list of Tensors; the static graph accepts only
    inputs of the same shapes, dtypes and devices. ``fold_constants`` and
    ``eliminate_dead_code`` turn the passes on or off. ``check_trace`` replays the graph once on
    the example inputs (under ``no_grad``) and raises if it does not reproduce what the
    capture's eager run returned.

    Warns (``UserWarning``) when the capture read tensor values on the host (``item()``,
    ``bool()``, ``tolist()``…: data-dependent control flow, now frozen) or drew random numbers.
    """
    if not callable(module_or_fn):
        raise TypeError(
            f"graphlab.jit.trace: expected an nn.Module or a function, got "
            f"{type(module_or_fn).__name__}"
        )
    inputs = _as_inputs(example_inputs)
    from ..nn.modules.module import Module

    module = module_or_fn if isinstance(module_or_fn, Module) else None
    name = type(module).__name__ if module is not None else getattr(module_or_fn, "__name__", "fn")
    cap = capture(module_or_fn, inputs, module=module, name=name)
    _refuse_tainted(cap)
    graph, params, buffers, consts, stats = passes.run_all(
        cap.graph,
        cap.params,
        cap.buffers,
        cap.consts,
        fold=fold_constants,
        dce=eliminate_dead_code,
    )
    frozen = []
    if cap.syncs:
        frozen.append(
            "it read tensor values on the host ("
            + ", ".join(_dedupe(cap.syncs)[:4])
            + ("…" if len(set(cap.syncs)) > 4 else "")
            + "), so any data-dependent control flow (if/while on a tensor) was frozen: the "
            "static graph always runs the ops this capture ran"
        )
    if cap.random_draws:
        frozen.append(
            "it drew random numbers (dropout in training mode, rand* calls), which are frozen "
            "into the graph as constants; call model.eval() before tracing"
        )
    if frozen:
        warnings.warn(
            f"graphlab.jit.trace({name}): " + "; and ".join(frozen) + ".",
            UserWarning,
            stacklevel=2,
        )
    static = StaticGraph(graph, params, buffers, consts, cap.out_kind, stats, module=module)
    if check_trace:
        _check(static, cap.eager_outputs, inputs)
    return static


def _refuse_tainted(cap) -> None:
    """Raise if a live node (one DCE keeps), or the output, reads an array an op handed out
    through an attribute holder instead of its output: the graph would freeze its value."""
    if not cap.tainted:
        return
    bad = {
        Ref("const", i): cap.tainted[id(c)]
        for i, c in enumerate(cap.consts)
        if id(c) in cap.tainted
    }
    live, _ = passes.eliminate_dead_code(cap.graph)
    uses = [(n.op, r) for n in live for r in n.refs() if r in bad]
    uses += [("the output", r) for r in live.outputs if r in bad]
    if uses:
        op, r = uses[0]
        raise RuntimeError(
            f"graphlab.jit.trace: cannot trace {op} reading {bad[r]} during the capture: a "
            "replay would not recompute it, so the static graph would freeze its value; keep "
            "this step (e.g. max_pool with return_indices=True) outside the traced code"
        )


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _as_inputs(example_inputs) -> tuple[Tensor, ...]:
    if isinstance(example_inputs, Tensor):
        return (example_inputs,)
    if isinstance(example_inputs, (tuple, list)):
        for i, t in enumerate(example_inputs):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"graphlab.jit.trace: example input {i} must be a Tensor, got "
                    f"{type(t).__name__}; bind non-tensor arguments with a lambda or "
                    "functools.partial"
                )
        return tuple(example_inputs)
    raise TypeError(
        "graphlab.jit.trace: example_inputs must be a Tensor or a tuple/list of Tensors, got "
        f"{type(example_inputs).__name__}"
    )


def _check(static: StaticGraph, want: tuple[Tensor, ...], inputs) -> None:
    """Replay once on the capture's inputs: a graph that does not reproduce the eager outputs
    is a bug in the capture (or an untraceable construct it missed), better raised now than
    met later."""
    with grad_mode.no_grad():
        got = static(*inputs)
    got = (got,) if isinstance(got, Tensor) else tuple(got)
    for i, (g, w) in enumerate(zip(got, want)):
        if g.shape != w.shape or not _close(g, w):
            raise RuntimeError(
                f"graphlab.jit.trace({static.graph.name}): the static graph does not reproduce "
                f"output {i} of the eager run (shapes {tuple(g.shape)} vs {tuple(w.shape)}); "
                "the traced code probably uses something the capture cannot see (random "
                "numbers, global state, host values); pass check_trace=False to keep it anyway"
            )


def _close(a: Tensor, b: Tensor) -> bool:
    from .. import backends

    xp = backends.for_device(a._device).xp
    return bool(xp.allclose(a._data, b._data, rtol=1e-5, atol=1e-6, equal_nan=True))


class StaticGraph:
    """A recorded pass as a callable static graph (from :func:`trace`).

    Calling it with tensors of the captured shapes/dtypes/devices runs the graph's nodes
    directly (``OpClass.apply``, so autograd records as usual) and returns what the traced code
    returned. ``graph`` is the node list as plain data, ``str(static)`` its listing, and
    ``stats`` what the passes did (``captured``, ``folded``, ``dead``, ``nodes``).

    Recording: a call with no module above it on this thread is a top-level call, as a call of
    the module it replaces would be, so the always-on recorder starts a pass for it (a training
    loop over a static graph gets one pass per step, each with its ops and backward). The pass
    is named after ``module`` (the traced module, which also names the parameters) or, for a
    traced function, ``StaticGraph``; its ops run outside any module (no module code runs), so
    they are listed under "(outside modules)".
    """

    def __init__(
        self,
        graph: Graph,
        params: list[Tensor],
        buffers: list[Tensor],
        consts: list[Tensor],
        out_kind: str,
        stats: dict[str, int],
        module=None,
    ) -> None:
        self.graph = graph
        self._root = self if module is None else module
        self.stats = stats
        self._params = params
        self._buffers = buffers
        self._consts = consts
        self._out_kind = out_kind
        self._guards = [
            (tuple(s.shape), _dtype_np(s.dtype), _device_of(s.device)) for s in graph.inputs
        ]
        self._run, self.code = _compile(graph, params, buffers, consts, out_kind, self._fail)

    def __call__(self, *inputs: Tensor) -> Any:
        if len(inputs) != len(self._guards):
            raise TypeError(
                f"static graph {self.graph.name}: expected {len(self._guards)} input(s) (as "
                f"traced), got {len(inputs)}"
            )
        if _module.top_level_observers and not _module.current_scope():
            # NOTE: a top-level call, as the module's would be; a replay inside a module's
            # forward continues the caller's pass
            _module.top_level_call(self._root, inputs, {})
        return self._run(*inputs)

    def _fail(self, i: int, x) -> None:
        """Raise the guard error for input ``i`` (called by the compiled code on a mismatch)."""
        spec = self.graph.inputs[i]
        want = f"shape {tuple(spec.shape)}, dtype {spec.dtype}, device {spec.device}"
        if not isinstance(x, Tensor):
            raise TypeError(
                f"static graph {self.graph.name}: input {i} must be a Tensor ({want}), got "
                f"{type(x).__name__}"
            )
        diffs = []
        if tuple(x.shape) != tuple(spec.shape):
            diffs.append(f"shape {tuple(x.shape)} instead of {tuple(spec.shape)}")
        if x.dtype.name != spec.dtype:
            diffs.append(f"dtype {x.dtype.name} instead of {spec.dtype}")
        if str(x.device) != spec.device:
            diffs.append(f"device {x.device} instead of {spec.device}")
        raise ValueError(
            f"static graph {self.graph.name}: input {i} has {'; '.join(diffs)} (traced with "
            f"{want}). A static graph replays one fixed set of shapes, dtypes and devices; "
            "trace again with an example like this input, or convert it with .to()"
        )

    def __str__(self) -> str:
        s = self.stats
        return (
            f"{self.graph}\n  # passes: {s['captured']} captured nodes, {s['folded']} folded, "
            f"{s['dead']} dead removed, {s['nodes']} left"
        )

    def __repr__(self) -> str:
        return (
            f"<StaticGraph {self.graph.name}: {len(self.graph.inputs)} inputs, "
            f"{len(self.graph.nodes)} nodes>"
        )


def _dtype_np(name: str):
    return getattr(_dtype, "bool_" if name == "bool" else name).np


def _device_of(name: str):
    from .._device import device

    return device(name)


def _compile(graph: Graph, params, buffers, consts, out_kind: str, fail) -> tuple[Callable, str]:
    """Generate the replay function's Python source (one line per node) and compile it.

    NOTE: generated straight-line code (as torch.fx does) is the cheapest way to run a node
    list in Python: no interpreter loop, no argument lists built per call, locals for values.
    """
    env: dict[str, Any] = {
        "_Tensor": Tensor,
        "_fail": fail,
        "_set_grad": grad_mode._set,
        "_is_grad": grad_mode.is_grad_enabled,
    }
    for i, p in enumerate(params):
        env[f"_p{i}"] = p
    for i, b in enumerate(buffers):
        env[f"_b{i}"] = b
    for i, c in enumerate(consts):
        env[f"_c{i}"] = c
    n_in = len(graph.inputs)
    names = [f"x{i}" for i in range(n_in)]
    lines = [f"def _replay({', '.join(names)}):"]
    for i, spec in enumerate(graph.inputs):
        env[f"_s{i}"] = tuple(spec.shape)
        env[f"_d{i}"] = _dtype_np(spec.dtype)
        env[f"_v{i}"] = _device_of(spec.device)
        lines.append(
            f"    if not isinstance(x{i}, _Tensor) or x{i}._data.shape != _s{i} or "
            f"x{i}._data.dtype != _d{i} or x{i}._device != _v{i}: _fail({i}, x{i})"
        )
    last_use = _last_uses(graph)

    def expr(node_id: int, j: int, a) -> str:
        if not isinstance(a, Ref):
            key = f"_l{node_id}_{j}"
            env[key] = a
            return key
        if a.kind == "input":
            return f"x{a.index}"
        if a.kind == "param":
            return f"_p{a.index}"
        if a.kind == "param_data":
            return f"_p{a.index}.data"
        if a.kind == "buffer":
            return f"_b{a.index}"
        if a.kind == "const":
            return f"_c{a.index}"
        return f"v{a.index}"

    no_grad_open = False
    for node in graph.nodes:
        if not node.grad and not no_grad_open:
            # NOTE: a no_grad block of the traced code stays one; try/finally restores the
            # caller's mode even when an op raises.
            lines += ["    _prev = _is_grad()", "    _set_grad(False)", "    try:"]
            no_grad_open = True
        elif node.grad and no_grad_open:
            lines += ["    finally:", "        _set_grad(_prev)"]
            no_grad_open = False
        ind = "        " if no_grad_open else "    "
        env[f"_f{node.id}"] = node.fn
        args = [expr(node.id, j, a) for j, a in enumerate(node.args)]
        if node.attrs:
            env[f"_a{node.id}"] = dict(node.attrs)
            args.append(f"**_a{node.id}")
        lines.append(f"{ind}v{node.id} = _f{node.id}({', '.join(args)})  # {node.op}")
        dead = [f"v{k}" for k, last in last_use.items() if last == node.id and k != node.id]
        if dead and not no_grad_open:
            # NOTE: drop intermediates after their last use, as eager code would, so peak
            # memory does not grow with the graph's length.
            lines.append(f"    del {', '.join(dead)}")
    if no_grad_open:
        lines += ["    finally:", "        _set_grad(_prev)"]
    outs = [expr(-1, j, r) for j, r in enumerate(graph.outputs)]
    if out_kind == "single":
        lines.append(f"    return {outs[0]}")
    elif out_kind == "tuple":
        lines.append(f"    return ({', '.join(outs)}{',' if len(outs) == 1 else ''})")
    else:
        lines.append(f"    return [{', '.join(outs)}]")
    code = "\n".join(lines) + "\n"
    exec(compile(code, f"<graphlab.jit {graph.name}>", "exec"), env)  # noqa: S102 - our own code
    return env["_replay"], code


def _last_uses(graph: Graph) -> dict[int, int]:
    """For each node output used by a later node, the id of its last user (outputs excluded)."""
    out_nodes = {r.index for r in graph.outputs if r.kind == "node"}
    last: dict[int, int] = {}
    for node in graph.nodes:
        for r in node.refs():
            if r.kind == "node" and r.index not in out_nodes:
                last[r.index] = node.id
    return last
