"""``batch_norm``, ``layer_norm`` and ``group_norm`` (PyTorch's signatures and semantics).

``batch_norm`` in training mode normalizes with the batch's statistics (biased variance) and, when
running buffers are given, updates them in place under no-grad: ``running = (1 - momentum) *
running + momentum * batch``, with the *unbiased* batch variance for ``running_var``, as PyTorch.
In evaluation mode it normalizes with the running statistics.
"""

from __future__ import annotations

import math
import numbers

from ...autograd import grad_mode
from ...functions.elementwise import _t
from ...functions.inplace import write_inplace
from ...ops import nn_ops
from ...tensor import Tensor

__all__ = ["batch_norm", "layer_norm", "group_norm"]


def _same_dtype(fn: str, x: Tensor, **others) -> None:
    for what, t in others.items():
        if t is None:
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}: expected {what} to be a Tensor or None, got {type(t).__name__}")
        if t.dtype is not x.dtype:
            raise RuntimeError(
                f"{fn}: input ({x.dtype}) and {what} ({t.dtype}) must have the same dtype; "
                f"convert one with .to({x.dtype})"
            )


def _per_channel(fn: str, c: int, **tensors) -> None:
    for what, t in tensors.items():
        if t is not None and t.numel() != c:
            raise RuntimeError(
                f"{fn}: {what} should contain {c} elements (one per channel), not {t.numel()}"
            )


def batch_norm(
    input,  # noqa: A002
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize ``(N, C, *)`` per channel; ``weight``/``bias`` are the ``(C,)`` affine."""
    x = _t(input, "batch_norm")
    if x.ndim < 2:
        raise ValueError(
            f"batch_norm: expected an input of shape (N, C, *), got shape {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise RuntimeError(f"batch_norm: expected a floating-point input, got {x.dtype}")
    c = x.shape[1]
    _same_dtype("batch_norm", x, weight=weight, bias=bias)
    _per_channel(
        "batch_norm",
        c,
        running_mean=running_mean,
        running_var=running_var,
        weight=weight,
        bias=bias,
    )
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError(
                "batch_norm: running_mean and running_var must be defined in evaluation mode; "
                "pass them, or use training=True to normalize with the batch's statistics"
            )
        return nn_ops.BatchNormEval.apply(
            x, running_mean, running_var, weight, bias, eps=float(eps)
        )
    count = x.numel() // c
    if count <= 1:
        raise ValueError(
            f"batch_norm: expected more than 1 value per channel when training, got input of "
            f"shape {tuple(x.shape)}; use a larger batch or eval mode"
        )
    stats = [] if (running_mean is not None or running_var is not None) else None
    y = nn_ops.BatchNormTrain.apply(x, weight, bias, eps=float(eps), stats_out=stats)
    if stats:
        mean, var = stats[0]
        m = float(momentum)
        unbiased = var * (count / (count - 1))
        with grad_mode.no_grad():
            for buf, batch in ((running_mean, mean), (running_var, unbiased)):
                if buf is None:
                    continue
                batch = Tensor._wrap(batch.astype(buf._data.dtype, copy=False), buf._device)
                write_inplace(buf, lambda t, b=batch: t * (1 - m) + b * m, "batch_norm")
    return y


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:  # noqa: A002
    """Normalize over the trailing ``normalized_shape`` dims, then ``* weight + bias``."""
    x = _t(input, "layer_norm")
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    shape = tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0 or tuple(x.shape[x.ndim - k :]) != shape or x.ndim < k:
        raise RuntimeError(
            f"layer_norm: given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(map(str, shape))}], but got input of shape {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise RuntimeError(f"layer_norm: expected a floating-point input, got {x.dtype}")
    _same_dtype("layer_norm", x, weight=weight, bias=bias)
    for what, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(
                f"layer_norm: expected {what} of shape {shape}, got {tuple(t.shape)}"
            )
    return nn_ops.LayerNorm.apply(x, weight, bias, k=k, eps=float(eps))


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> Tensor:  # noqa: A002
    """Normalize ``(N, C, *)`` over groups of ``C // num_groups`` channels (and all of ``*``),
    then apply the per-channel ``weight``/``bias``."""
    x = _t(input, "group_norm")
    if x.ndim < 2:
        raise RuntimeError(
            f"group_norm: expected an input of shape (N, C, *), got shape {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise RuntimeError(f"group_norm: expected a floating-point input, got {x.dtype}")
    c = x.shape[1]
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups <= 0:
        raise ValueError(f"group_norm: num_groups must be a positive int, got {num_groups!r}")
    if c % num_groups:
        raise RuntimeError(
            f"group_norm: expected number of channels in input to be divisible by num_groups, "
            f"but got input of shape {tuple(x.shape)} and num_groups={num_groups}"
        )
    if math.prod(x.shape) == 0:
        raise RuntimeError(f"group_norm: empty input of shape {tuple(x.shape)}")
    _same_dtype("group_norm", x, weight=weight, bias=bias)
    _per_channel("group_norm", c, weight=weight, bias=bias)
    return nn_ops.GroupNorm.apply(x, weight, bias, groups=num_groups, eps=float(eps))
