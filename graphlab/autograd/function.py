"""Ops as graph nodes: one class per op, ``forward`` and ``backward`` side by side.

An op's ``forward`` takes raw arrays (NumPy or CuPy, via ``self.xp``) and returns one array;
``backward`` takes the gradient of that output and returns one gradient (or ``None``) per input.
``Op.apply`` runs the forward on tensors and, when a gradient is needed, makes the op instance the
output's ``grad_fn``: the node keeps edges to its inputs' nodes (or to leaf tensors) and the arrays
its backward needs, never the output tensor, so graphs are freed by reference counting alone.
"""

from __future__ import annotations

import numpy as _np

from . import grad_mode

_Tensor = None  # graphlab.tensor.Tensor, set on first use (tensor.py imports this module)


def _load_tensor_cls():
    global _Tensor
    from ..tensor import Tensor

    _Tensor = Tensor
    return Tensor


# Observers of every op applied (the trace recorder hooks in here); empty means no cost.
op_observers: list = []


class VersionCounter:
    """Counts in-place writes to one storage; views share their base's counter."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


class Op:
    """Base class of differentiable ops (also the graph node of one application).

    Subclasses set ``saves_inputs`` (indices of inputs whose values backward reads) and
    ``saves_output``; ``apply`` records their versions so backward can detect in-place edits.
    ``_trace`` is where the trace recorder notes which recorded event made the node (None
    until it does); it survives the node's backward, which clears the saved arrays.
    """

    __slots__ = (
        "next",
        "xp",
        "_versions",
        "_pre_hooks",
        "_freed",
        "_out_meta",
        "_trace",
        "__dict__",
        "__weakref__",
    )
    saves_inputs: tuple[int, ...] = ()
    saves_output: bool = False
    is_view: bool = False  # output shares memory (and version counter) with input 0
    differentiable: bool = True  # False: the output never requires grad (see ops.nograd)

    def forward(self, *args):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **attrs):
        """Run the op on tensors (and plain constants) and link it into the graph."""
        # NOTE: this runs once per op of every forward pass, so it is written for speed: the
        # Tensor class and NumPy are module globals (no import per call), one loop gathers the
        # arrays, the device and the graph edges, and CPU ops skip the backend lookup.
        tensor_cls = _Tensor or _load_tensor_cls()
        dev = None
        arrays = []
        edges = []
        first = None
        needs_grad = False
        for a in args:
            if isinstance(a, tensor_cls):
                if dev is None:
                    dev, first = a._device, a
                elif a._device is not dev:
                    _device_mismatch(cls, first, a)
                arrays.append(a._data)
                if a.requires_grad:
                    needs_grad = True
                    edges.append(a if a.grad_fn is None else a.grad_fn)
                else:
                    edges.append(None)
            else:
                arrays.append(a)
                edges.append(None)
        op = cls.__new__(cls)
        if dev.type == "cpu":
            op.xp = xp = _np
            data = op.forward(*arrays, **attrs)
        else:
            op.xp = xp = _xp_of(dev)
            with _cuda_ctx(dev):
                data = op.forward(*arrays, **attrs)
        needs_grad = needs_grad and cls.differentiable and grad_mode.is_grad_enabled()
        if type(data) is not xp.ndarray:
            data = xp.asarray(data)  # NOTE: NumPy reductions return scalars, not 0-d arrays
        out = tensor_cls._wrap(data, dev, needs_grad)
        # NOTE: a "view" op may have had to copy (reshape of a non-contiguous array); only a
        # result that really shares memory shares the version counter and records its base.
        if cls.is_view and xp.may_share_memory(data, first._data):
            out._version = first._version
            out._base = first if first._base is None else first._base
        if needs_grad:
            op.next = tuple(edges)
            # NOTE: only tensors have versions; a saved constant operand cannot change.
            versions = [
                (a._version, a._version.value)
                for i in cls.saves_inputs
                if isinstance(a := args[i], tensor_cls)
            ]
            if cls.saves_output:
                versions.append((out._version, out._version.value))
            op._versions = versions
            op._pre_hooks = None
            op._freed = False
            op._out_meta = (data.shape, data.dtype)
            op._trace = None
            out.grad_fn = op
        if op_observers:
            for obs in op_observers:
                obs(op, args, attrs, out)
        return out

    def name(self) -> str:
        """The node's name as PyTorch prints it, e.g. ``MulBackward0``."""
        return type(self).__name__ + "Backward0"

    @property
    def next_functions(self):
        """``(node, 0)`` pairs for the inputs, as in PyTorch (leaves appear as tensors)."""
        return tuple((n, 0) for n in self.next)

    def register_prehook(self, fn):
        """Run ``fn(grad) -> grad | None`` on this node's output gradient before backward."""
        if self._pre_hooks is None:
            self._pre_hooks = []
        hooks = self._pre_hooks
        hooks.append(fn)
        # NOTE: as in PyTorch, ``retain_grad`` stores the gradient after every other hook ran,
        # whatever the order they were registered in.
        hooks.sort(key=lambda h: getattr(h, "_retains_grad", False))
        return RemovableHandle(hooks, fn)

    def __repr__(self) -> str:
        return f"<{self.name()} object>"


class RemovableHandle:
    """What registering a hook returns: ``handle.remove()`` unregisters it."""

    __slots__ = ("_list", "_fn")

    def __init__(self, lst: list, fn):
        self._list, self._fn = lst, fn

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        try:
            self._list.remove(self._fn)
        except ValueError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _xp_of(dev):
    from .. import backends

    return backends.for_device(dev).xp


def _cuda_ctx(dev):
    from .. import backends

    return backends.cuda().use(dev)


def _device_mismatch(cls, a, b):
    raise RuntimeError(
        f"{cls.__name__.lower()}: expected all tensors to be on the same device, but found at "
        f"least two devices, {a._device} and {b._device}; move one with .to(device) first"
    )
