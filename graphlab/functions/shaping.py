"""Shape ops: reshape/view, squeeze/unsqueeze, transpose/permute, expand, repeat, cat/stack,
split/chunk/narrow, flip, clone/contiguous."""

from __future__ import annotations

import numbers

from ..ops import shape as S
from ..ops._util import norm_dim
from .elementwise import _t


def _size_args(shape, fn):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"{fn}(): shape must be ints, got {type(s).__name__} {s!r}")
    return tuple(int(s) for s in shape)


def _infer(x, shape, fn):
    if shape.count(-1) > 1:
        raise RuntimeError(f"{fn}(): only one dimension can be inferred, got {shape}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"{fn}(): invalid shape dimension {s} in {shape}")
            known *= s
    n = x.numel()
    if -1 in shape:
        if known == 0 or n % known:
            raise RuntimeError(f"{fn}(): shape '{list(shape)}' is invalid for input of size {n}")
        shape = tuple(n // known if s == -1 else s for s in shape)
    elif known != n:
        raise RuntimeError(
            f"{fn}(): shape '{list(shape)}' is invalid for input of size {n} (input shape "
            f"{tuple(x.shape)})"
        )
    return shape


def reshape(input, *shape):  # noqa: A002
    """The same elements in a new shape (a view when the memory layout allows)."""
    x = _t(input, "reshape")
    shape = _infer(x, _size_args(shape, "reshape"), "reshape")
    return S.Reshape.apply(x, shape=shape)


def view(input, *shape):  # noqa: A002
    """A view with a new shape (``view(dtype)`` is not supported)."""
    x = _t(input, "view")
    shape = _infer(x, _size_args(shape, "view"), "view")
    if not _viewable(x, shape):
        raise RuntimeError(
            f"view(): size {list(shape)} is not compatible with input tensor's size and stride "
            f"(shape {tuple(x.shape)}, non-contiguous); use .reshape(...) instead"
        )
    return S.Reshape.apply(x, shape=shape)


def _viewable(x, shape) -> bool:
    a = x._data
    if a.flags.c_contiguous or x.numel() <= 1:
        return True
    try:
        b = a.view()
        b.shape = shape  # NOTE: NumPy raises when this would need a copy
        return True
    except (AttributeError, ValueError):
        return False


def flatten(input, start_dim=0, end_dim=-1):  # noqa: A002
    """Merge dims ``start_dim..end_dim`` into one."""
    x = _t(input, "flatten")
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = norm_dim(start_dim, x.ndim, "flatten"), norm_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise RuntimeError("flatten(): start_dim cannot come after end_dim")
    shape = x.shape[:s] + (-1,) + x.shape[e + 1 :]
    if x.numel() == 0:
        n = 1
        for d in x.shape[s : e + 1]:
            n *= d
        shape = x.shape[:s] + (n,) + x.shape[e + 1 :]
    return reshape(x, shape)


def unflatten(input, dim, sizes):  # noqa: A002
    """Split dim ``dim`` into ``sizes``."""
    x = _t(input, "unflatten")
    d = norm_dim(dim, x.ndim, "unflatten")
    sizes = tuple(sizes)
    inner = _infer_sizes(x.shape[d], sizes)
    return reshape(x, x.shape[:d] + inner + x.shape[d + 1 :])


def _infer_sizes(n, sizes):
    known = 1
    for s in sizes:
        if s != -1:
            known *= s
    if -1 in sizes:
        return tuple(n // known if s == -1 else s for s in sizes)
    if known != n:
        raise RuntimeError(
            f"unflatten(): provided sizes {list(sizes)} don't multiply up to the size of dim ({n})"
        )
    return sizes


def squeeze(input, dim=None):  # noqa: A002
    """Drop dims of size 1 (all of them, or those in ``dim``)."""
    x = _t(input, "squeeze")
    if dim is None:
        dims = {i for i, s in enumerate(x.shape) if s == 1}
    else:
        ds = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = {norm_dim(d, x.ndim, "squeeze") for d in ds}
        dims = {d for d in dims if x.ndim and x.shape[d] == 1}
    return S.Reshape.apply(x, shape=tuple(s for i, s in enumerate(x.shape) if i not in dims))


def unsqueeze(input, dim):  # noqa: A002
    """Insert a dim of size 1 at ``dim``."""
    x = _t(input, "unsqueeze")
    d = norm_dim(dim, x.ndim + 1, "unsqueeze")
    return S.Reshape.apply(x, shape=x.shape[:d] + (1,) + x.shape[d:])


def permute(input, *dims):  # noqa: A002
    """Reorder the dims (a view)."""
    x = _t(input, "permute")
    dims = _size_args(dims, "permute")
    if len(dims) != x.ndim:
        raise RuntimeError(
            f"permute(): number of dims don't match: input has {x.ndim} dims {tuple(x.shape)}, "
            f"got {len(dims)} in {dims}"
        )
    nd = tuple(norm_dim(d, x.ndim, "permute") for d in dims)
    if len(set(nd)) != len(nd):
        raise RuntimeError(f"permute(): repeated dim in {dims}")
    return S.Permute.apply(x, dims=nd)


def transpose(input, dim0, dim1):  # noqa: A002
    """Swap two dims (a view)."""
    x = _t(input, "transpose")
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return S.Reshape.apply(x, shape=x.shape)
    a, b = norm_dim(dim0, x.ndim, "transpose"), norm_dim(dim1, x.ndim, "transpose")
    dims = list(range(x.ndim))
    dims[a], dims[b] = dims[b], dims[a]
    return S.Permute.apply(x, dims=tuple(dims))


swapaxes = swapdims = transpose


def t(input):  # noqa: A002
    """Transpose a matrix (0-d and 1-d tensors come back as they are)."""
    x = _t(input, "t")
    if x.ndim > 2:
        raise RuntimeError(
            f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D; "
            "use transpose(dim0, dim1) or .mT"
        )
    return transpose(x, 0, -1) if x.ndim == 2 else S.Reshape.apply(x, shape=x.shape)


def movedim(input, source, destination):  # noqa: A002
    """Move dim ``source`` to position ``destination``."""
    x = _t(input, "movedim")
    s = norm_dim(source, x.ndim, "movedim")
    d = norm_dim(destination, x.ndim, "movedim")
    order = [i for i in range(x.ndim) if i != s]
    order.insert(d, s)
    return S.Permute.apply(x, dims=tuple(order))


def expand(input, *sizes):  # noqa: A002
    """Broadcast size-1 dims to ``sizes`` without copying (``-1`` keeps a dim)."""
    x = _t(input, "expand")
    sizes = _size_args(sizes, "expand")
    if len(sizes) < x.ndim:
        raise RuntimeError(
            f"expand(): the number of sizes provided ({len(sizes)}) must be greater or equal to "
            f"the number of dimensions in the tensor ({x.ndim})"
        )
    lead = len(sizes) - x.ndim
    shape = []
    for i, s in enumerate(sizes):
        cur = x.shape[i - lead] if i >= lead else None
        if s == -1:
            if cur is None:
                raise RuntimeError("expand(): -1 is not allowed in a leading, new dimension")
            s = cur
        if cur is not None and cur != s and cur != 1:
            raise RuntimeError(
                f"expand(): the expanded size of the tensor ({s}) must match the existing size "
                f"({cur}) at non-singleton dimension {i}. Target sizes: {list(sizes)}. Tensor "
                f"sizes: {list(x.shape)}"
            )
        shape.append(s)
    return S.Expand.apply(x, shape=tuple(shape))


def broadcast_to(input, shape):  # noqa: A002
    """``expand`` to ``shape``."""
    return expand(input, tuple(shape))


def expand_as(input, other):  # noqa: A002
    """``expand`` to ``other``'s shape."""
    return expand(input, tuple(other.shape))


def repeat(input, *repeats):  # noqa: A002
    """Tile the tensor ``repeats[i]`` times along each dim (copies)."""
    x = _t(input, "repeat")
    reps = _size_args(repeats, "repeat")
    if len(reps) < x.ndim:
        raise RuntimeError(
            "repeat(): number of repeat dims can not be smaller than number of tensor dims "
            f"({len(reps)} < {x.ndim})"
        )
    return S.Repeat.apply(x, repeats=reps)


def _check_same(tensors, fn):
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError(f"{fn}(): expected a non-empty list or tuple of tensors")
    for t_ in tensors:
        _t(t_, fn)


def cat(tensors, dim=0):
    """Join tensors along an existing dim (sizes must match elsewhere)."""
    from .. import _dtype

    _check_same(tensors, "cat")
    ref = next((x for x in tensors if x.ndim), tensors[0])
    if ref.ndim == 0:
        raise RuntimeError("cat(): zero-dimensional tensor cannot be concatenated; use stack()")
    d = norm_dim(dim, ref.ndim, "cat")
    dt = _dtype.result_type(*[x for x in tensors])
    parts = []
    for i, x in enumerate(tensors):
        if x.ndim == 1 and x.shape[0] == 0 and ref.ndim > 1:
            continue  # NOTE: PyTorch skips legacy empty (0,) tensors
        if x.ndim != ref.ndim or any(
            a != b for j, (a, b) in enumerate(zip(x.shape, ref.shape)) if j != d
        ):
            raise RuntimeError(
                f"cat(): sizes of tensors must match except in dimension {d}; expected "
                f"{tuple(ref.shape)} (except dim {d}) but got {tuple(x.shape)} for tensor {i}"
            )
        parts.append(x.to(dt))
    return S.Cat.apply(*parts, dim=d)


concat = concatenate = cat


def stack(tensors, dim=0):
    """Join same-shaped tensors along a new dim."""
    _check_same(tensors, "stack")
    shape = tensors[0].shape
    for i, x in enumerate(tensors):
        if x.shape != shape:
            raise RuntimeError(
                f"stack(): expects each tensor to be equal size, but got {tuple(shape)} at "
                f"entry 0 and {tuple(x.shape)} at entry {i}"
            )
    d = norm_dim(dim, len(shape) + 1, "stack")
    return cat([unsqueeze(x, d) for x in tensors], d)


def narrow(input, dim, start, length):  # noqa: A002
    """The slice ``start:start+length`` of dim ``dim`` (a view)."""
    x = _t(input, "narrow")
    d = norm_dim(dim, x.ndim, "narrow")
    n = x.shape[d]
    if start < 0:
        start += n
    if not 0 <= start <= n or length < 0 or start + length > n:
        raise IndexError(
            f"narrow(): start ({start}) + length ({length}) exceeds dimension size ({n}) of dim "
            f"{d} (shape {tuple(x.shape)})"
        )
    return x[(slice(None),) * d + (slice(start, start + length),)]


def split(tensor, split_size_or_sections, dim=0):
    """Split into chunks of ``split_size`` (the last may be smaller), or of the given sizes."""
    x = _t(tensor, "split")
    d = norm_dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        s = int(split_size_or_sections)
        if s <= 0 and n:
            raise RuntimeError(f"split(): split_size must be positive, got {s}")
        sizes = [min(s, n - i) for i in range(0, n, s)] if n else [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(
                f"split(): split_with_sizes expects split_sizes to sum exactly to {n} (input "
                f"tensor's size at dimension {d}), but got split_sizes={sizes}"
            )
    out, start = [], 0
    for s in sizes:
        out.append(narrow(x, d, start, s))
        start += s
    return tuple(out)


def chunk(input, chunks, dim=0):  # noqa: A002
    """Split into ``chunks`` pieces of equal size (the last may be smaller)."""
    x = _t(input, "chunk")
    if chunks <= 0:
        raise RuntimeError(f"chunk(): chunks must be greater than 0, got {chunks}")
    d = norm_dim(dim, x.ndim, "chunk")
    n = x.shape[d]
    size = -(-n // chunks) if n else 1
    return split(x, size, d)


def unbind(input, dim=0):  # noqa: A002
    """Remove dim ``dim``, returning a tuple of all slices along it."""
    x = _t(input, "unbind")
    d = norm_dim(dim, x.ndim, "unbind")
    return tuple(x[(slice(None),) * d + (i,)] for i in range(x.shape[d]))


def flip(input, dims):  # noqa: A002
    """Reverse the order along ``dims``."""
    x = _t(input, "flip")
    ds = dims if isinstance(dims, (tuple, list)) else (dims,)
    return S.Flip.apply(x, dims=tuple(norm_dim(d, x.ndim, "flip") for d in ds))


def clone(input):  # noqa: A002
    """A copy with its own memory (differentiable)."""
    from ..ops.unary import Clone

    return Clone.apply(_t(input, "clone"))


def contiguous(input):  # noqa: A002
    """This tensor if its memory is C-contiguous, else a contiguous copy."""
    x = _t(input, "contiguous")
    if x._data.flags.c_contiguous:
        return x
    return clone(x)


def is_contiguous(input) -> bool:  # noqa: A002
    """Whether the memory is C-contiguous."""
    return bool(input._data.flags.c_contiguous)
