"""Creating tensors, with PyTorch's names and signatures.

Shapes may be given as varargs (``zeros(2, 3)``) or one tuple (``zeros((2, 3))``). Python floats
become the default dtype (float32), Python ints int64, bools bool; NumPy arrays keep their dtype.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _dtype, backends, random, transfer
from ._device import CPU
from ._device import device as _device
from .tensor import Tensor


def _dev(device) -> _device:
    return CPU if device is None else _device(device)


def _shape(size, fn: str) -> tuple[int, ...]:
    if (
        len(size) == 1
        and isinstance(size[0], (tuple, list))
        or (len(size) == 1 and hasattr(size[0], "__len__") and not isinstance(size[0], Tensor))
    ):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(
                f"{fn}(): size must be ints, got {type(s).__name__} {s!r} in {tuple(size)}"
            )
        if s < 0:
            raise RuntimeError(
                f"{fn}(): trying to create tensor with negative dimension {s}: {tuple(size)}"
            )
        out.append(int(s))
    return tuple(out)


def _count(v, fn: str, name: str) -> int:
    """An int argument (a count or a size) checked as PyTorch does: no floats, no bools."""
    if isinstance(v, Tensor):
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{fn}(): argument '{name}' must be an int, got {type(v).__name__} {v!r}")
    return int(v)


def _finish(data, dev, requires_grad, fn):
    t = Tensor._wrap(data, dev, False)
    if requires_grad:
        if data.dtype.kind != "f":
            raise RuntimeError(
                f"{fn}(): only tensors of floating point dtype can require gradients, got "
                f"{_dtype.from_np(data.dtype)}; pass dtype=graphlab.float32"
            )
        t.requires_grad = True
    return t


def _on_device(host, dev, fn):
    """Put host array ``host`` on ``dev``: a recorded transfer for CUDA, as-is for the CPU."""
    if dev.type == "cpu":
        return host
    return transfer.move(host, CPU, dev, reason=fn)


def _xp(dev):
    return backends.for_device(dev).xp


def _make(fn, dev, dtype, build):
    """Run ``build(xp)`` on ``dev``'s array module (inside the CUDA device context)."""
    if dev.type == "cuda":
        cb = backends.cuda()
        with cb.use(dev):
            return build(cb.xp)
    return build(np)


def _infer_dtype(data, fn: str = "tensor") -> _dtype.dtype:
    """The dtype PyTorch would give a Python (nested) sequence of numbers."""
    if isinstance(data, np.generic):
        return _dtype.from_np(data.dtype)  # NOTE: NumPy scalars keep their dtype, as in PyTorch
    try:
        a = np.asarray(data)
    except ValueError as exc:
        raise ValueError(
            f"{fn}(): could not make a tensor from {type(data).__name__}: {exc}; nested "
            "sequences must be rectangular (every row the same length)"
        ) from None
    if a.dtype == object:
        raise TypeError(f"tensor(): could not infer a dtype from {type(data).__name__} {data!r}")
    if a.dtype.kind == "b":
        return _dtype.bool_
    if a.dtype.kind in "iu":
        return _dtype.int64
    if a.dtype.kind == "f":
        return _dtype.get_default_dtype()
    raise TypeError(f"tensor(): unsupported data of NumPy kind {a.dtype}")


def _host_array(data, dtype, fn):
    if isinstance(data, np.ndarray):
        d = _dtype.to_dtype(dtype) if dtype is not None else _dtype.from_np(data.dtype)
        return data.astype(d.np, copy=True)
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        data = _tensors_to_lists(data)
    d = _dtype.to_dtype(dtype) if dtype is not None else _infer_dtype(data, fn)
    try:
        return np.array(data, dtype=d.np)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{fn}(): could not make a tensor from {type(data).__name__}: {exc}"
        ) from None


def _flat(seq):
    for x in seq:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _tensors_to_lists(seq):
    return [
        _tensors_to_lists(x)
        if isinstance(x, (list, tuple))
        else (x.tolist() if isinstance(x, Tensor) else x)
        for x in seq
    ]


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (numbers, nested lists, arrays or a tensor)."""
    dev = _dev(device)
    if isinstance(data, Tensor):
        out = data.detach().to(dev)
        out = out.to(dtype) if dtype is not None else out
        if out._data is data._data:
            out = Tensor._wrap(out._data.copy(), out._device)
        return _finish(out._data, dev, requires_grad, "tensor")
    if backends.for_array(data) is not backends.numpy_backend:
        src = _device("cuda", data.device.id)
        a = data.astype(_dtype.to_dtype(dtype).np) if dtype is not None else data.copy()
        t = Tensor._wrap(a, src).to(dev)
        return _finish(t._data, dev, requires_grad, "tensor")
    host = _host_array(data, dtype, "tensor")
    return _finish(_on_device(host, dev, "tensor"), dev, requires_grad, "tensor")


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory when it already is one of the right dtype/device."""
    dev = None if device is None else _device(device)
    if isinstance(data, Tensor):
        return data.to(device=dev, dtype=dtype)
    if isinstance(data, np.ndarray) and (dev is None or dev.type == "cpu"):
        d = _dtype.to_dtype(dtype) if dtype is not None else _dtype.from_np(data.dtype)
        arr = data if data.dtype == d.np else data.astype(d.np)
        return Tensor._wrap(arr, dev or CPU)
    return tensor(data, dtype=dtype, device=dev)


def from_numpy(array) -> Tensor:
    """A CPU tensor sharing memory with NumPy ``array`` (edits show in both)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(array).__name__})")
    _dtype.from_np(array.dtype)  # raises for unsupported dtypes
    return Tensor._wrap(array, CPU)


def _dims_or_size(dims, size, fn):
    """Shape given as varargs (``zeros(2, 3)``), one tuple, or ``size=(2, 3)``."""
    if size is not None:
        if dims:
            raise TypeError(f"{fn}(): give the shape either positionally or as size=, not both")
        return (size,)
    return dims


def _filled(fn, size, value, dtype, device, requires_grad, default=None):
    dev = _dev(device)
    shape = _shape(size, fn)
    d = _dtype.to_dtype(dtype) if dtype is not None else (default or _dtype.get_default_dtype())
    data = _make(fn, dev, d, lambda xp: xp.full(shape, value, dtype=d.np))
    return _finish(data, dev, requires_grad, fn)


def zeros(*dims, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros."""
    return _filled("zeros", _dims_or_size(dims, size, "zeros"), 0, dtype, device, requires_grad)


def ones(*dims, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return _filled("ones", _dims_or_size(dims, size, "ones"), 1, dtype, device, requires_grad)


def empty(*dims, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor (here: zeros, so results never depend on stale memory)."""
    return _filled("empty", _dims_or_size(dims, size, "empty"), 0, dtype, device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value`` (its dtype follows the value, as in PyTorch)."""
    default = _dtype.result_type(fill_value)
    return _filled("full", (size,), fill_value, dtype, device, requires_grad, default)


def arange(
    start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``: int64 for ints, else float."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange(): step must be nonzero")
    dev = _dev(device)
    d = _dtype.to_dtype(dtype) if dtype is not None else _dtype.result_type(start, end, step)
    data = _make("arange", dev, d, lambda xp: xp.arange(start, end, step).astype(d.np))
    return _finish(data, dev, requires_grad, "arange")


def linspace(
    start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    steps = _count(steps, "linspace", "steps")
    if steps < 0:
        raise RuntimeError(f"linspace(): number of steps must be non-negative, got {steps}")
    dev = _dev(device)
    d = _dtype.to_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
    data = _make("linspace", dev, d, lambda xp: xp.linspace(start, end, steps).astype(d.np))
    return _finish(data, dev, requires_grad, "linspace")


def eye(
    n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """An ``n × m`` identity matrix."""
    n = _count(n, "eye", "n")
    m = n if m is None else _count(m, "eye", "m")
    for v in (n, m):
        if v < 0:
            raise RuntimeError(f"eye(): n and m must be >= 0, got n={n}, m={m}")
    dev = _dev(device)
    d = _dtype.to_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
    data = _make("eye", dev, d, lambda xp: xp.eye(n, m, dtype=d.np))
    return _finish(data, dev, requires_grad, "eye")


def _float_dtype(fn, dtype):
    d = _dtype.to_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
    if not d.is_floating_point:
        raise RuntimeError(f"{fn}(): expected a floating dtype, got {d}")
    return d


def _random(fn, size, dtype, device, requires_grad, generator, draw):
    dev = _dev(device)
    shape = _shape(size, fn)
    d = _float_dtype(fn, dtype)
    rng = random.rng_for(dev, generator)
    data = _make(fn, dev, d, lambda xp: draw(rng, shape).astype(d.np, copy=False))
    return _finish(data, dev, requires_grad, fn)


def rand(
    *dims, size=None, generator=None, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """Uniform samples in ``[0, 1)``."""
    return _random(
        "rand",
        _dims_or_size(dims, size, "rand"),
        dtype,
        device,
        requires_grad,
        generator,
        lambda rng, s: rng.random(s),
    )


def randn(
    *dims, size=None, generator=None, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """Standard normal samples."""
    return _random(
        "randn",
        _dims_or_size(dims, size, "randn"),
        dtype,
        device,
        requires_grad,
        generator,
        lambda rng, s: rng.standard_normal(s),
    )


def normal(
    mean=0.0,
    std=1.0,
    size=None,
    *,
    generator=None,
    dtype=None,
    device=None,
    requires_grad: bool = False,
) -> Tensor:
    """Normal samples: ``normal(mean, std, size)`` or elementwise ``normal(mean_t, std_t)``."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        z = randn(ref.shape, generator=generator, dtype=ref.dtype, device=ref.device)
        return (z * std + mean).detach()
    if size is None:
        raise TypeError("normal(): with float mean and std, pass size=(...)")
    if std < 0:
        raise RuntimeError(f"normal(): expected std >= 0.0, got {std}")
    return _random(
        "normal",
        (size,),
        dtype,
        device,
        requires_grad,
        generator,
        lambda rng, s: rng.normal(mean, std, s),
    )


def randint(
    low,
    high=None,
    size=None,
    *,
    generator=None,
    dtype=None,
    device=None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers in ``[low, high)``: ``randint(high, size)`` or ``randint(low, high, size)``."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint(): missing the size argument, e.g. randint(0, 10, (3,))")
    if high <= low:
        raise RuntimeError(f"randint(): expected low < high, got low={low}, high={high}")
    dev = _dev(device)
    shape = _shape((size,), "randint")
    d = _dtype.to_dtype(dtype) if dtype is not None else _dtype.int64
    rng = random.rng_for(dev, generator)
    data = _make("randint", dev, d, lambda xp: rng.integers(low, high, shape).astype(d.np))
    return _finish(data, dev, requires_grad, "randint")


def randperm(n: int, *, generator=None, dtype=None, device=None) -> Tensor:
    """A random permutation of ``0 … n-1``."""
    n = _count(n, "randperm", "n")
    if n < 0:
        raise RuntimeError(f"randperm(): n must be non-negative, got {n}")
    dev = _dev(device)
    d = _dtype.to_dtype(dtype) if dtype is not None else _dtype.int64
    rng = random.rng_for(dev, generator)
    data = _make("randperm", dev, d, lambda xp: rng.permutation(n).astype(d.np))
    return _finish(data, dev, False, "randperm")


def _like(fn):
    def like(input, *args, dtype=None, device=None, requires_grad=False, **kw):  # noqa: A002
        return fn(
            *args,
            input.shape,
            dtype=dtype or input.dtype,
            device=device or input.device,
            requires_grad=requires_grad,
            **kw,
        )

    like.__name__ = fn.__name__ + "_like"
    like.__doc__ = f"``{fn.__name__}`` with the shape, dtype and device of ``input``."
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)
rand_like = _like(rand)
randn_like = _like(randn)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False):  # noqa: A002
    """``full`` with the shape, dtype and device of ``input``."""
    return full(
        input.shape,
        fill_value,
        dtype=dtype or input.dtype,
        device=device or input.device,
        requires_grad=requires_grad,
    )


def randint_like(input, low, high=None, *, dtype=None, device=None):  # noqa: A002
    """``randint`` with the shape, dtype and device of ``input``."""
    if high is None:
        low, high = 0, low
    return randint(
        low, high, input.shape, dtype=dtype or input.dtype, device=device or input.device
    )
