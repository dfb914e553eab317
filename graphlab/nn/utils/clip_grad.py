"""Gradient clipping: ``clip_grad_norm_`` (by total norm) and ``clip_grad_value_`` (elementwise).

Both work on the ``.grad`` arrays directly, in place, without syncing the host: the total norm
and the scale factor stay on the device (only ``error_if_nonfinite=True`` reads the norm back).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ... import backends, transfer
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def _params(parameters, fn: str) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        return [parameters]
    if not isinstance(parameters, Iterable):
        raise TypeError(
            f"{fn}: expected a tensor or an iterable of tensors (e.g. model.parameters()), got "
            f"{type(parameters).__name__}"
        )
    out = list(parameters)
    for i, p in enumerate(out):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: element {i} is a {type(p).__name__}, not a graphlab Tensor")
    return out


def _norm_type(norm_type) -> float:
    n = float(norm_type)
    if n <= 0 and not math.isinf(n):
        raise ValueError(f"norm_type must be positive or inf, got {norm_type}")
    return n


def _vector_norm(xp, a, p: float):
    a = xp.abs(a.reshape(-1))
    if a.size == 0:
        return xp.zeros((), a.dtype)
    if math.isinf(p):
        return a.max() if p > 0 else a.min()
    if p == 2.0:
        return xp.sqrt(xp.sum(a * a))
    if p == 1.0:
        return xp.sum(a)
    return xp.sum(a**p) ** (1.0 / p)


def get_total_norm(
    tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None
) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` together (as if concatenated), a 0-d tensor on
    the first tensor's device."""
    ts = _params(tensors, "get_total_norm")
    p = _norm_type(norm_type)
    if not ts:
        from ...creation import tensor

        return tensor(0.0)
    dev = ts[0].device
    xp = backends.for_device(dev).xp
    parts = []
    for t in ts:
        n = _vector_norm(backends.for_device(t.device).xp, t._data, p)
        if t.device is not dev:
            n = transfer.move(n, t.device, dev, reason="get_total_norm")
        parts.append(n.astype(ts[0]._data.dtype))
    total = _vector_norm(xp, xp.stack(parts), p)
    if error_if_nonfinite and not math.isfinite(
        float(transfer.host_read(total, dev, "clip_grad_norm_"))
    ):
        raise RuntimeError(
            f"The total norm of order {float(norm_type)} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the gradients "
            "by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._wrap(xp.asarray(total), dev)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor, foreach=None) -> None:
    """Scale every ``.grad`` in place by ``min(1, max_norm / (total_norm + 1e-6))``."""
    params = _params(parameters, "clip_grads_with_norm_")
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    xp = backends.for_device(total_norm.device).xp
    coef = xp.minimum(float(max_norm) / (total_norm._data + 1e-6), 1.0)
    for g in grads:
        c = coef
        if g.device is not total_norm.device:
            c = transfer.move(coef, total_norm.device, g.device, reason="clip_grad_norm_")
        g._data *= c.astype(g._data.dtype)
        g._version.value += 1


def clip_grad_norm_(
    parameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach=None,
) -> Tensor:
    """Rescale the gradients so that their total norm is at most ``max_norm``; returns the
    total norm before clipping (a 0-d tensor).

    The norm is taken over all gradients together, as if concatenated into one vector;
    ``norm_type`` may be ``float('inf')``. With ``error_if_nonfinite=True`` a NaN/inf total
    norm raises instead of spreading NaNs into the gradients.
    """
    params = _params(parameters, "clip_grad_norm_")
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place."""
    v = float(clip_value)
    if v < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for p in _params(parameters, "clip_grad_value_"):
        g = p.grad
        if g is None:
            continue
        xp = backends.for_device(g.device).xp
        xp.clip(g._data, -v, v, out=g._data)
        g._version.value += 1
