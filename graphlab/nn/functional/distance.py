"""Distances between vectors: ``cosine_similarity`` and ``pairwise_distance``."""

from __future__ import annotations

from ... import _dtype
from ...functions.elementwise import _t
from ...ops._util import check_broadcast, norm_dim
from ...ops.loss_ops import ClampMinStraight
from ...tensor import Tensor

__all__ = ["cosine_similarity", "pairwise_distance"]


def _pair(name: str, x1, x2) -> tuple[Tensor, Tensor]:
    a, b = _t(x1, name), _t(x2, name)
    if a.device != b.device:
        raise RuntimeError(
            f"{name}: expected x1 and x2 on the same device, got {a.device} and {b.device}"
        )
    check_broadcast(name, a.shape, b.shape)
    dt = _dtype.result_type(a, b)
    if not dt.is_floating_point:
        dt = _dtype.get_default_dtype()
    return a.to(dt), b.to(dt)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (broadcast to a common shape;
    ``dim`` is removed).

    As in PyTorch, each input is divided by its own norm (clamped below at ``eps``) before the
    dot product, which keeps the result within [-1, 1]; the clamp does not block the gradient.
    """
    name = "cosine_similarity"
    a, b = _pair(name, x1, x2)
    ndim = max(a.ndim, b.ndim)
    d = norm_dim(dim, ndim, name)
    if a.ndim < ndim:
        a = a.reshape((1,) * (ndim - a.ndim) + tuple(a.shape))
    if b.ndim < ndim:
        b = b.reshape((1,) * (ndim - b.ndim) + tuple(b.shape))
    na = ClampMinStraight.apply(a.norm(2, dim=d, keepdim=True), lo=eps)
    nb = ClampMinStraight.apply(b.norm(2, dim=d, keepdim=True), lo=eps)
    return ((a / na) * (b / nb)).sum(d)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """The ``p``-norm of ``x1 - x2 + eps`` over the last dim (``eps`` avoids a zero norm)."""
    name = "pairwise_distance"
    a, b = _pair(name, x1, x2)
    ndim = max(a.ndim, b.ndim)
    if ndim == 0:
        raise RuntimeError(f"{name}: expected inputs with at least 1 dim, got 0-d tensors")
    return (a - b + eps).norm(p, dim=ndim - 1, keepdim=keepdim)
