"""``dropout``: zero elements with probability ``p`` and scale the rest by ``1 / (1 - p)``.

The mask is drawn from graphlab's default generator for the input's device (so
``graphlab.manual_seed`` makes it reproducible); PyTorch's masks for the same seed differ.
"""

from __future__ import annotations

import numbers

from ... import random as _random
from ...functions.elementwise import _t
from ...functions.inplace import write_inplace
from ...ops import nn_ops
from ...tensor import Tensor

__all__ = ["dropout"]


def _mask(x: Tensor, p: float):
    """A ``{0, 1/(1-p)}`` array shaped like ``x`` (in ``x``'s dtype, on its device)."""
    rng = _random.rng_for(x._device, None)
    dt = x._data.dtype
    # NOTE: NumPy/CuPy generators draw float32 or float64 only; half inputs draw float32.
    u = rng.random(tuple(x.shape), dtype="float64" if dt.itemsize == 8 else "float32")
    if p >= 1:
        return (u * 0).astype(dt)
    return ((u >= p) * (1.0 / (1.0 - p))).astype(dt, copy=False)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """During training, zero each element with probability ``p`` and scale the survivors by
    ``1 / (1 - p)`` (so the expectation is unchanged); otherwise return ``input``."""
    x = _t(input, "dropout")
    if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return x
    if not x.is_floating_point():
        raise RuntimeError(f"dropout: expected a floating-point input, got {x.dtype}")
    mask = _mask(x, float(p))
    if inplace:
        return write_inplace(x, lambda t: nn_ops.Dropout.apply(t, mask), "dropout_")
    return nn_ops.Dropout.apply(x, mask)
