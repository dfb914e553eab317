"""Indexing: ``x[idx]``, ``x[idx] = v``, gather, scatter_add, masked_fill, one_hot,
index_select.

Index items may be ints, slices (with steps), ``None``, ``...``, bool masks and integer
tensors/lists; they are checked here so errors name the index and the shape.
"""

from __future__ import annotations

import numbers

from .. import _dtype, backends
from ..ops import binary, nograd
from ..ops import index as I  # noqa: E741
from ..ops._util import norm_dim
from ..tensor import Tensor
from .elementwise import _t


def _xp(t):
    return backends.for_device(t.device).xp


def convert_index(x: Tensor, index):
    """Turn a user index into one NumPy/CuPy understand, checking bounds and types."""
    items = index if isinstance(index, tuple) else (index,)
    xp = _xp(x)
    out = []
    n_real = sum(
        1
        for i in items
        if i is not None
        and i is not Ellipsis
        and not (isinstance(i, Tensor) and i.dtype is _dtype.bool_)
        and not (isinstance(i, list) and i and isinstance(i[0], bool))
    )
    n_real += sum(i.ndim for i in items if isinstance(i, Tensor) and i.dtype is _dtype.bool_)
    if n_real > x.ndim:
        raise IndexError(
            f"too many indices for tensor of dimension {x.ndim} (shape {tuple(x.shape)}): got "
            f"index {_show(index)}"
        )
    for it in items:
        if it is None or it is Ellipsis:
            out.append(it)
            continue
        if isinstance(it, bool):
            out.append(it)
            continue
        if isinstance(it, numbers.Integral):
            size = x.shape[_dim_for(items, out, x.ndim, n_real)]
            if not -size <= it < size:
                raise IndexError(
                    f"index {it} is out of bounds for dimension "
                    f"{_dim_for(items, out, x.ndim, n_real)} with size {size} (tensor shape "
                    f"{tuple(x.shape)})"
                )
            out.append(int(it))
            continue
        if isinstance(it, slice):
            for part in (it.start, it.stop, it.step):
                if part is not None and not isinstance(part, numbers.Integral):
                    if isinstance(part, Tensor) and part.numel() == 1:
                        continue
                    raise TypeError(f"slice bounds must be ints, got {it}")
            if it.step is not None and int(it.step) <= 0:
                raise ValueError(
                    f"step must be greater than zero, got {it} (use flip() to reverse)"
                )
            out.append(
                slice(*(None if p is None else int(p) for p in (it.start, it.stop, it.step)))
            )
            continue
        if isinstance(it, (list, tuple)):
            from ..creation import tensor

            it = tensor(it, device=x.device)
        if isinstance(it, Tensor):
            if it.device != x.device:
                raise RuntimeError(
                    f"indices should be on the same device as the indexed tensor ({x.device}), "
                    f"got {it.device}"
                )
            if it.dtype is _dtype.bool_:
                d0 = _dim_for(items, out, x.ndim, n_real)
                want = tuple(x.shape[d0 : d0 + it.ndim])
                if tuple(it.shape) != want:
                    raise IndexError(
                        f"the shape of the mask {tuple(it.shape)} does not match the shape "
                        f"{want} of the indexed tensor {tuple(x.shape)} starting at dim {d0}"
                    )
                out.append(it._data)
                continue
            if it.is_floating_point():
                raise IndexError(
                    f"tensors used as indices must be long, int, byte or bool tensors, got "
                    f"{it.dtype}"
                )
            d0 = _dim_for(items, out, x.ndim, n_real)
            size = x.shape[d0]
            arr = it._data
            if arr.size and (int(arr.max()) >= size or int(arr.min()) < -size):
                bad = int(arr.max()) if int(arr.max()) >= size else int(arr.min())
                raise IndexError(
                    f"index {bad} is out of bounds for dimension {d0} with size {size} (tensor "
                    f"shape {tuple(x.shape)})"
                )
            out.append(arr.astype(xp.int64, copy=False))
            continue
        raise TypeError(
            f"only integers, slices (`:`), ellipsis (`...`), None and long or bool tensors are "
            f"valid indices, got {type(it).__name__} {it!r}"
        )
    return tuple(out)


def _dim_for(items, done, ndim, n_real):
    """The tensor dim that the next index item applies to."""
    d = 0
    for it in done:
        if it is None:
            continue
        if it is Ellipsis:
            d = ndim - (n_real - d)
            continue
        if hasattr(it, "dtype") and it.dtype == bool:
            d += it.ndim
        else:
            d += 1
    return d


def _show(index) -> str:
    return repr(index) if not isinstance(index, Tensor) else f"Tensor{tuple(index.shape)}"


def getitem(x: Tensor, index):
    """``x[index]``; basic indices give a view sharing memory and version counter."""
    idx = convert_index(x, index)
    idx = idx[0] if len(idx) == 1 and not isinstance(index, tuple) else idx
    op = I.GetItemView if I.is_basic(idx) else I.GetItem
    return op.apply(x, index=idx)


def setitem(x: Tensor, index, value) -> None:
    """``x[index] = value`` in place, with autograd when ``x`` is not a leaf needing grad."""
    from .inplace import setitem_

    idx = convert_index(x, index)
    idx = idx[0] if len(idx) == 1 and not isinstance(index, tuple) else idx
    if isinstance(value, Tensor):
        if value.device != x.device:
            raise RuntimeError(
                f"setitem: value is on {value.device} but the tensor is on "
                f"{x.device}; move it with .to({str(x.device)!r})"
            )
        if value.dtype is not x.dtype:
            value = value.to(x.dtype)
        try:
            _xp(x).broadcast_shapes(x._data[idx].shape, tuple(value.shape))
        except ValueError:
            raise RuntimeError(
                f"setitem: shape mismatch: value tensor of shape {tuple(value.shape)} cannot be "
                f"broadcast to indexing result of shape {tuple(x._data[idx].shape)}"
            ) from None
    setitem_(x, idx, value, lambda t: I.IndexPut.apply(t, value, index=idx))


def gather(input, dim, index):  # noqa: A002
    """``out[i][j] = input[index[i][j]][j]`` for dim 0 (and so on): picks along ``dim``."""
    x = _t(input, "gather")
    d = norm_dim(dim, x.ndim, "gather")
    _check_index_tensor(x, index, d, "gather")
    return I.Gather.apply(x, index, dim=d)


def scatter_add(input, dim, index, src):  # noqa: A002
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeats accumulate)."""
    x = _t(input, "scatter_add")
    d = norm_dim(dim, x.ndim, "scatter_add")
    _check_index_tensor(x, index, d, "scatter_add")
    if any(a > b for a, b in zip(index.shape, src.shape)):
        raise RuntimeError(
            f"scatter_add: index {tuple(index.shape)} must not be larger than "
            f"src {tuple(src.shape)} in any dim"
        )
    if tuple(src.shape) != tuple(index.shape):
        src = src[tuple(slice(0, s) for s in index.shape)]
    return I.ScatterAdd.apply(x, index, src.to(x.dtype), dim=d)


def _check_index_tensor(x, index, d, fn):
    if not isinstance(index, Tensor) or index.dtype is not _dtype.int64:
        got = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"{fn}(): expected dtype int64 for index, got {got}")
    if index.ndim != x.ndim:
        raise RuntimeError(
            f"{fn}(): index tensor must have the same number of dimensions as "
            f"input tensor ({index.ndim} vs {x.ndim})"
        )
    for i, (a, b) in enumerate(zip(index.shape, x.shape)):
        if i != d and a > b:
            raise RuntimeError(
                f"{fn}(): size of index {tuple(index.shape)} does not fit input "
                f"{tuple(x.shape)} at dimension {i}"
            )
    arr = index._data
    if arr.size and (int(arr.max()) >= x.shape[d] or int(arr.min()) < 0):
        raise RuntimeError(
            f"{fn}(): index out of bounds: values must be in [0, {x.shape[d]}) "
            f"for dim {d}, got [{int(arr.min())}, {int(arr.max())}]"
        )


def masked_fill(input, mask, value):  # noqa: A002
    """``input`` with ``value`` where the bool ``mask`` (broadcast) is true."""
    x = _t(input, "masked_fill")
    if not isinstance(mask, Tensor) or mask.dtype is not _dtype.bool_:
        raise RuntimeError(
            f"masked_fill: expected a bool mask tensor, got "
            f"{getattr(mask, 'dtype', type(mask).__name__)}"
        )
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(
                "masked_fill: only supports a 0-dimensional value tensor, got "
                f"shape {tuple(value.shape)}"
            )
        value = value.to(x.dtype)
    from ..ops._util import check_broadcast

    check_broadcast("masked_fill", x.shape, mask.shape)
    if len(mask.shape) > x.ndim:
        raise RuntimeError(
            f"masked_fill: mask {tuple(mask.shape)} has more dims than input {tuple(x.shape)}"
        )
    return binary.Where.apply(mask, value, x)


def one_hot(tensor, num_classes=-1):
    """Int64 one-hot vectors of class indices (``num_classes`` inferred when -1)."""
    x = _t(tensor, "one_hot")
    if x.dtype is not _dtype.int64:
        raise RuntimeError(
            f"one_hot is only applicable to index tensor of dtype int64, got {x.dtype}"
        )
    if num_classes == -1:
        if x.numel() == 0:
            raise RuntimeError("one_hot: can not infer total number of classes from empty tensor")
        num_classes = int(x._data.max()) + 1
    if x.numel() and (int(x._data.min()) < 0 or int(x._data.max()) >= num_classes):
        raise RuntimeError(
            f"one_hot: class values must be in [0, {num_classes}), got "
            f"[{int(x._data.min())}, {int(x._data.max())}]"
        )
    return nograd.OneHot.apply(x, num_classes=int(num_classes))


def index_select(input, dim, index):  # noqa: A002
    """The entries at ``index`` (1-d int tensor) along ``dim``."""
    x = _t(input, "index_select")
    d = norm_dim(dim, x.ndim, "index_select")
    if not isinstance(index, Tensor) or index.ndim > 1 or index.is_floating_point():
        raise IndexError("index_select(): index must be a 1-D integer tensor")
    return getitem(x, (slice(None),) * d + (index.reshape(-1),))
