"""Helpers shared by the op modules: dims, broadcasting of gradients, operand conversion."""

from __future__ import annotations

import numbers

from .. import _dtype

_Tensor = None  # graphlab.tensor.Tensor, bound on first use (tensor.py imports this module)


def _tensor_cls():
    """The Tensor class, imported once (a function-level import costs ~0.5 µs per call)."""
    global _Tensor
    if _Tensor is None:
        from ..tensor import Tensor

        _Tensor = Tensor
    return _Tensor


def norm_dim(dim: int, ndim: int, op: str) -> int:
    """A dim in ``[-ndim, ndim)`` made non-negative (0-d tensors accept 0 and -1)."""
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__} {dim!r}")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"{op}: dimension out of range (expected to be in range of [{-n}, {n - 1}], "
            f"but got {dim})"
        )
    return dim % n if ndim else 0


def norm_dims(dim, ndim: int, op: str) -> tuple[int, ...] | None:
    """``dim`` (None, int, or tuple of ints) as a sorted tuple of non-negative dims."""
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        dims = tuple(norm_dim(d, ndim, op) for d in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"{op}: dim {tuple(dim)} appears multiple times in the list of dims")
        return tuple(sorted(dims)) if ndim else ()
    return (norm_dim(dim, ndim, op),) if ndim else ()


def unbroadcast(xp, g, shape):
    """Sum gradient ``g`` down to ``shape`` (undo broadcasting)."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, s in enumerate(shape) if s == 1 and g.shape[i + extra] != 1
    )
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if extra:
        g = g.reshape(shape)
    return g


def check_broadcast(op: str, a_shape, b_shape) -> None:
    """Raise PyTorch's kind of error when two shapes cannot broadcast."""
    for x, y in zip(reversed(a_shape), reversed(b_shape)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(
                f"{op}: the size of tensor a ({x}) must match the size of tensor b ({y}) at a "
                f"non-singleton dimension; shapes {tuple(a_shape)} and {tuple(b_shape)} do not "
                "broadcast (reshape or unsqueeze one of them)"
            )


def is_scalar(x) -> bool:
    """A plain Python (or NumPy) number, used as a constant operand."""
    return isinstance(x, numbers.Number)


def operands(op: str, a, b, *, floating: bool = False):
    """Promote two operands (tensors or scalars) PyTorch's way; return them and the dtype.

    Tensors are cast (differentiably) to the result dtype; Python scalars stay scalars.
    """
    Tensor = _Tensor or _tensor_cls()  # noqa: N806 - the class, bound once
    if not isinstance(a, Tensor) and not is_scalar(a):
        a = _coerce(op, a, b)
    if not isinstance(b, Tensor) and not is_scalar(b):
        b = _coerce(op, b, a)
    if not isinstance(a, Tensor):
        a = _scalar_value(a)
    if not isinstance(b, Tensor):
        b = _scalar_value(b)
    dt = _dtype.result_type(a, b)
    if floating and not dt.is_floating_point:
        dt = _dtype.get_default_dtype()
    if isinstance(a, Tensor) and a.dtype is not dt:
        a = a.to(dt)
    if isinstance(b, Tensor) and b.dtype is not dt:
        b = b.to(dt)
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        check_broadcast(op, a.shape, b.shape)
    return a, b, dt


def _scalar_value(x):
    if hasattr(x, "item"):
        return x.item()
    return x


def _coerce(op, x, other):
    from ..creation import as_tensor
    from ..tensor import Tensor

    dev = other.device if isinstance(other, Tensor) else None
    try:
        return as_tensor(x, device=dev)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{op}: unsupported operand of type {type(x).__name__}; expected a Tensor or a number"
        ) from exc
