"""``embedding``: look up rows of a weight matrix by integer index.

Backward scatter-adds the output gradient into the rows (an index that appears several times
gets the sum of its gradients); the ``padding_idx`` row gets none.
"""

from __future__ import annotations

from ... import _dtype, backends, transfer
from ...autograd import grad_mode
from ...functions.elementwise import _t
from ...functions.inplace import write_inplace
from ...ops import nn_ops
from ...tensor import Tensor

__all__ = ["embedding"]


def _check_indices(idx: Tensor, num: int):
    """The index array, validated: integer dtype and every entry in ``[0, num)``."""
    if idx.dtype not in (_dtype.int64, _dtype.int32):
        raise TypeError(
            f"embedding: expected input indices of dtype int64 or int32, got {idx.dtype}; "
            "convert them with .long()"
        )
    arr = idx._data
    if arr.size:
        # NOTE: the bounds check reads two numbers back (a recorded sync on a GPU), as PyTorch's
        # device-side assert would stop the stream anyway.
        xp = backends.for_device(idx._device).xp
        bounds = transfer.host_read(xp.stack([arr.min(), arr.max()]), idx._device, "embedding")
        lo, hi = int(bounds[0]), int(bounds[1])
        if lo < 0 or hi >= num:
            bad = lo if lo < 0 else hi
            raise IndexError(
                f"embedding: index {bad} is out of range for a weight with {num} rows "
                f"(valid indices are 0..{num - 1})"
            )
    return arr


def _renorm_(weight: Tensor, arr, max_norm: float, norm_type: float) -> None:
    """Rescale, in place and without gradient, the looked-up rows whose norm exceeds
    ``max_norm`` to norm ``max_norm`` (PyTorch's ``embedding_renorm_``)."""
    xp = backends.for_device(weight._device).xp
    rows = xp.unique(arr.ravel())

    def renorm(w):
        data = w._data.copy()
        sub = data[rows]
        norms = (abs(sub) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
        scale = (max_norm / (norms + 1e-7))[:, None]
        data[rows] = sub * ((norms > max_norm)[:, None] * (scale - 1) + 1)
        return Tensor._wrap(data, w._device)

    with grad_mode.no_grad():
        write_inplace(weight, renorm, "embedding_renorm_")


def embedding(
    input,  # noqa: A002
    weight,
    padding_idx=None,
    max_norm=None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows ``weight[input]``: integer indices of any shape give ``(*input.shape, dim)``.

    ``padding_idx`` (may be negative) marks a row that receives no gradient; ``max_norm``
    renormalizes the looked-up rows in place first; ``scale_grad_by_freq`` divides each row's
    gradient by how often it occurs in the batch.
    """
    idx = _t(input, "embedding")
    w = _t(weight, "embedding")
    if w.ndim != 2:
        raise ValueError(
            f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape "
            f"{tuple(w.shape)}"
        )
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported; use sparse=False")
    num = w.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(
                f"embedding: padding_idx must be within num_embeddings ({num}), got {padding_idx}"
            )
        padding_idx = padding_idx % num
    arr = _check_indices(idx, num)
    if max_norm is not None:
        _renorm_(w, arr, float(max_norm), float(norm_type))
    return nn_ops.Embedding.apply(
        w, arr, padding_idx=padding_idx, scale_grad_by_freq=bool(scale_grad_by_freq)
    )
