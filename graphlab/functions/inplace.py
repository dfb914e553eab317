"""In-place ops (``add_``, ``x += y``, ``x[i] = v``, ``zero_``, ``copy_``…).

Every in-place write bumps the tensor's version counter (shared with its views), so a backward
that needs the old value raises instead of silently using the new one. Checks run before any
write, so a failing in-place op leaves the tensor unchanged.
"""

from __future__ import annotations

from .. import _dtype, transfer
from ..autograd import grad_mode
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
    recording = grad_mode.is_grad_enabled() and (
        x.requires_grad
        or any(isinstance(o, Tensor) and o.requires_grad for o in others)
        or name == "setitem"
    )
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
    if y.grad_fn is not None:
        x.grad_fn = y.grad_fn
        x.requires_grad = True
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
    x._data[...] = value
    x._version.value += 1
    if grad_mode.is_grad_enabled() and x.grad_fn is not None:
        x.grad_fn = None  # NOTE: the old history no longer affects the values
        x.requires_grad = False
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
