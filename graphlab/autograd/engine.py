"""The backward pass: one topological walk over the graph, summing gradients per node.

Each node (an ``Op`` or a leaf tensor) runs once with the sum of the gradients that reached it,
so a tensor used twice gets both contributions (``+=``, as in micrograd).
"""

from __future__ import annotations

import sys

import numpy as np

from . import grad_mode
from .function import Op

_Tensor = None  # graphlab.tensor.Tensor, bound on first use (tensor.py imports this module)


def _tensor_cls():
    """The Tensor class, imported once (a function-level import costs ~0.5 µs per call)."""
    global _Tensor
    if _Tensor is None:
        from ..tensor import Tensor

        _Tensor = Tensor
    return _Tensor


# Observers of every backward step (the trace recorder hooks in here).
backward_observers: list = []

_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through "
    "the graph a second time or if you need to access saved tensors after calling backward."
)


def _topo_order(roots):
    """Nodes reachable from ``roots``, each after every node that feeds it a gradient."""
    # NOTE: an iterative DFS over ``node.next`` tuples with an index per frame; it runs on every
    # backward, so it avoids per-node iterator objects and attribute lookups by name.
    order, seen = [], set()
    for root in roots:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, root.next if isinstance(root, Op) else (), 0)]
        while stack:
            node, edges, i = stack[-1]
            n = len(edges)
            while i < n:
                child = edges[i]
                i += 1
                if child is not None and id(child) not in seen:
                    seen.add(id(child))
                    stack[-1] = (node, edges, i)
                    stack.append((child, child.next if isinstance(child, Op) else (), 0))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


def _check_versions(op) -> None:
    for counter, expected in op._versions:
        if counter.value != expected:
            shape, dtype = op._out_meta
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: it is saved by {op.name()} (output shape {list(shape)}, "
                f"{dtype}) and is at version {counter.value}; expected version {expected} "
                "instead. Hint: replace the in-place op (x += …, x.add_(…), x[i] = …) with an "
                "out-of-place one, or clone() the tensor before modifying it."
            )


def run_backward(roots, grads, retain_graph=False, capture=None, accumulate=True):
    """Propagate ``grads`` (arrays) from ``roots`` (tensors) back to the leaves.

    ``capture`` maps ``id(node)`` of requested inputs to a slot; their gradients are returned in
    a dict instead of (or besides) being accumulated into ``.grad``.
    """
    Tensor = _Tensor or _tensor_cls()  # noqa: N806 - the class, bound once
    buffers: dict[int, object] = {}
    starts = []
    for t, g in zip(roots, grads):
        node = t.grad_fn if t.grad_fn is not None else t
        starts.append(node)
        key = id(node)
        buffers[key] = g if key not in buffers else buffers[key] + g
    captured = {}
    with grad_mode.no_grad():
        for node in _topo_order(starts):
            key = id(node)
            g = buffers.pop(key, None)
            if g is None:
                continue
            if type(g) is not np.ndarray and isinstance(g, np.generic):
                g = np.asarray(g)  # NOTE: NumPy math on 0-d arrays returns scalars, not arrays
            if isinstance(node, Tensor):
                _accumulate_leaf(node, g, capture, captured, accumulate)
                continue
            if node._pre_hooks:
                for hook in list(node._pre_hooks):
                    r = hook(g)
                    if r is not None:
                        g = r
            if capture is not None and key in capture:
                captured[key] = g
            if node._freed:
                raise RuntimeError(_FREED)
            for counter, expected in node._versions:
                if counter.value != expected:
                    _check_versions(node)  # raises, naming the op
            in_grads = node.backward(g)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            if backward_observers:
                for obs in backward_observers:
                    obs(node, g, in_grads)
            if not retain_graph:
                node.__dict__.clear()
                node._freed = True
            cg = None
            for child, cg in zip(node.next, in_grads):
                if child is None or cg is None:
                    continue
                k = id(child)
                prev = buffers.get(k)
                buffers[k] = cg if prev is None else prev + cg
            del in_grads, cg, g
    return captured


_UNSHARED = 3


def _accumulate_leaf(leaf, g, capture, captured, accumulate) -> None:
    Tensor = _Tensor or _tensor_cls()  # noqa: N806 - the class, bound once
    if leaf._hooks:
        for hook in list(leaf._hooks):
            r = hook(Tensor._wrap(g, leaf._device, False))
            if r is not None:
                g = r._data
    if capture is not None and id(leaf) in capture:
        captured[id(leaf)] = g
        return
    if not accumulate:
        return
    if leaf.grad is None:
        # NOTE: later accumulation writes into .grad in place, so .grad must own its buffer. A
        # gradient array that owns its memory and that nothing else references (the caller's
        # local, our parameter, getrefcount's argument: 3) is adopted as is; anything shared
        # (Add's backward hands one array to both inputs, a node kept by retain_graph) is copied.
        if (
            g.base is None
            and g.dtype == leaf._data.dtype
            and getattr(g.flags, "writeable", True)  # NOTE: CuPy has no such flag (always writable)
            and sys.getrefcount(g) <= _UNSHARED
        ):
            leaf.grad = Tensor._wrap(g, leaf._device, False)
        else:
            leaf.grad = Tensor._wrap(g.astype(leaf._data.dtype, copy=True), leaf._device, False)
    else:
        leaf.grad._data += g
        leaf.grad._version.value += 1
