"""In-place ops (``add_``, ``x += y``, ``x[i] = v``, ``zero_``, ``copy_``…).

Every in-place write bumps the tensor's version counter (shared with its views), so a backward
that needs the old value raises instead of silently using the new one. Checks run before any
write, so a failing in-place op leaves the tensor unchanged.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import _dtype, backends, transfer
from .._device import CPU
from ..autograd import grad_mode
from ..autograd.function import Op
from ..tensor import Tensor


def check_leaf(x: Tensor, name: str) -> None:
    """In-place ops on leaves that require grad (or their views) break autograd: refuse them."""
    if not grad_mode.is_grad_enabled():
        return
    if x.requires_grad and x.grad_fn is None:
        raise RuntimeError(
            f"{name}: a leaf Variable that requires grad is being used in an in-place operation; "
            "wrap the update in `with graphlab.no_grad():` or use an out-of-place op"
        )
    base = x._base
    if base is not None and base.requires_grad and base.grad_fn is None:
        raise RuntimeError(
            f"{name}: a view of a leaf Variable that requires grad is being used in an in-place "
            "operation; wrap the update in `with graphlab.no_grad():`"
        )


def _check_result(x: Tensor, y: Tensor, name: str) -> None:
    if tuple(y.shape) != tuple(x.shape):
        raise RuntimeError(
            f"{name}: output with shape {list(x.shape)} doesn't match the broadcast shape "
            f"{list(y.shape)}"
        )
    if y.dtype is not x.dtype and y.dtype._rank > x.dtype._rank:
        raise RuntimeError(
            f"{name}: result type {y.dtype} can't be cast to the desired output type {x.dtype}; "
            "use an out-of-place op or convert the tensor first"
        )


def write_inplace(x: Tensor, compute, name: str, others=()) -> Tensor:
    """Replace ``x``'s values with ``compute(x)``, keeping its memory (views see the change).

    When autograd records, ``compute`` runs on a snapshot of the old values (so the new node's
    saved arrays stay valid) and ``x`` takes over the result's ``grad_fn``.
    """
    check_leaf(x, name)
    recording = _needs_graph(x, others)
    if recording:
        old = Tensor._wrap(x._data.copy(), x._device, x.requires_grad)
        old.grad_fn = x.grad_fn
        y = compute(old)
    else:
        with grad_mode.no_grad():
            y = compute(x)
    _check_result(x, y, name)
    data = y._data if y.dtype is x.dtype else y._data.astype(x._data.dtype)
    if data is not x._data:
        x._data[...] = data
    x._version.value += 1
    if recording:
        # NOTE: the new values come from ``y``'s history alone (a non-differentiable result
        # cuts the old history, as the old values no longer matter).
        x.grad_fn = y.grad_fn
        x.requires_grad = y.requires_grad
        base = x._base
        if base is not None and (y.grad_fn is not None or base.requires_grad):
            _record_copy_slices(base, x, y)
    return x


class CopySlices(Op):
    """The graph node of a base tensor after an in-place write through one of its views.

    The base's new value is its old value outside the view and the written values (``y``)
    inside, so the gradient splits the same way: zeros inside the view go to the old base, the
    view's part goes to ``y``. ``positions`` holds, for each element of the view, its flat index
    in the base (computed from the two arrays' addresses and strides).
    """

    def backward(self, g):
        xp = self.xp
        flat = xp.ascontiguousarray(g).reshape(-1)
        g_view = flat[self.positions]
        g_base = flat.copy()
        g_base[self.positions] = 0
        return g_base.reshape(self.base_shape), g_view

    def name(self) -> str:
        return "CopySlices"


def _address(a) -> int:
    if isinstance(a, np.ndarray):
        return a.__array_interface__["data"][0]
    return a.data.ptr  # NOTE: a CuPy array


def _view_positions(base_arr, view_arr) -> np.ndarray:
    """For each element of ``view_arr`` (a view into ``base_arr``), its C-order flat index in
    ``base_arr``; host arithmetic on shapes, strides and addresses only."""
    size = base_arr.dtype.itemsize
    b_strides = [s // size for s in base_arr.strides]
    v_strides = [s // size for s in view_arr.strides]
    lo = sum(min(0, (n - 1) * s) for n, s in zip(base_arr.shape, b_strides))
    hi = sum(max(0, (n - 1) * s) for n, s in zip(base_arr.shape, b_strides))
    start = (_address(view_arr) - _address(base_arr)) // size
    buf = np.full(hi - lo + 1, -1, dtype=np.int64)
    slots = as_strided(buf[-lo:], base_arr.shape, [s * 8 for s in b_strides])
    slots[...] = np.arange(base_arr.size, dtype=np.int64).reshape(base_arr.shape)
    positions = as_strided(buf[start - lo :], view_arr.shape, [s * 8 for s in v_strides]).copy()
    assert positions.size == 0 or positions.min() >= 0, "view outside its base's memory"
    return positions


def _record_copy_slices(base: Tensor, view: Tensor, y: Tensor) -> None:
    """Make ``base``'s history see the in-place write through ``view`` (new values ``y``)."""
    positions = _view_positions(base._data, view._data)
    if base._device.type != "cpu":
        positions = transfer.move(positions, CPU, base._device, reason="copy_slices")
    node = CopySlices.__new__(CopySlices)
    node.xp = backends.for_device(base._device).xp
    node.positions = positions
    node.base_shape = base._data.shape
    old = base.grad_fn if base.grad_fn is not None else (base if base.requires_grad else None)
    node.next = (old, y.grad_fn)
    node._versions, node._pre_hooks, node._freed = [], None, False
    node._out_meta = (base._data.shape, base._data.dtype)
    base.grad_fn = node
    base.requires_grad = True


def _needs_graph(x: Tensor, others=()) -> bool:
    return grad_mode.is_grad_enabled() and (
        x.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others)
    )


def setitem_(x: Tensor, index, value, compute) -> Tensor:
    """``x[index] = value``: ``compute(x)`` (an out-of-place index-put) when autograd records,
    else a direct write of the indexed elements only (``index`` is a NumPy/CuPy index,
    ``value`` already of ``x``'s dtype and device, and checked to broadcast)."""
    check_leaf(x, "setitem")
    if _needs_graph(x, (value,)):
        return write_inplace(x, compute, "setitem", (value,))
    # NOTE: the fast path writes only the selected elements instead of copying the whole
    # tensor twice; the array library checks every index before it writes any.
    x._data[index] = value._data if isinstance(value, Tensor) else value
    x._version.value += 1
    return x


def binary_inplace(x: Tensor, other, fn, name: str) -> Tensor:
    """``x = fn(x, other)`` in place."""
    return write_inplace(x, lambda t: fn(t, other), name, (other,))


def unary_inplace(x: Tensor, fn, name: str) -> Tensor:
    """``x = fn(x)`` in place."""
    return write_inplace(x, fn, name)


def zero_(x: Tensor) -> Tensor:
    """Fill with zeros in place."""
    return fill_(x, 0)


def fill_(x: Tensor, value) -> Tensor:
    """Fill with ``value`` in place."""
    check_leaf(x, "fill_")
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(
                f"fill_: only supports 0-dimension value tensor but got tensor "
                f"with {value.ndim} dimensions"
            )
        value = value.item()
    if grad_mode.is_grad_enabled() and x.requires_grad:
        # NOTE: through the graph, so the old history gets zero gradient (and a view's base
        # learns of the write) instead of keeping a stale grad_fn.
        from ..creation import full

        const = full((), value, dtype=x.dtype, device=x.device)
        return write_inplace(x, lambda t: _replace(t, const), "fill_")
    x._data[...] = value
    x._version.value += 1
    return x


def copy_(x: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast; any device, any dtype) into ``x`` in place."""
    from .shaping import expand

    if not isinstance(src, Tensor):
        from ..creation import tensor

        src = tensor(src, dtype=x.dtype, device=x.device)
    if src.device != x.device:
        moved = transfer.move(src._data, src.device, x.device, non_blocking, reason="copy_")
        src_t = Tensor._wrap(moved, x.device, False)
        if src.requires_grad:
            src_t = src.to(x.device, non_blocking=non_blocking)
        src = src_t
    if src.dtype is not x.dtype:
        src = src.to(x.dtype)
    try:
        target = expand(src, tuple(x.shape))
    except RuntimeError:
        raise RuntimeError(
            f"copy_: the source of shape {tuple(src.shape)} cannot be broadcast "
            f"to the destination's shape {tuple(x.shape)}"
        ) from None
    return write_inplace(x, lambda t: _replace(t, target), "copy_", (src,))


def _replace(old: Tensor, new: Tensor) -> Tensor:
    from ..creation import full
    from ..ops.binary import Where

    cond = full((), True, dtype=_dtype.bool_, device=old.device)
    return Where.apply(cond, new, old)
