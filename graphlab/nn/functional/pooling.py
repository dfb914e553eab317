"""Pooling: max, average and adaptive average pooling over 1 or 2 spatial dims.

Arguments follow PyTorch (``stride=None`` means ``kernel_size``; ``ceil_mode``,
``count_include_pad``, ``divisor_override``, ``return_indices``); unbatched inputs are
accepted. The kernels are :mod:`graphlab.ops.pool`.
"""

from __future__ import annotations

from ...functions.elementwise import _t
from ...ops import pool as P
from ...tensor import Tensor
from .conv import ntuple

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
]


def _batched(fn: str, input, nd: int) -> tuple[Tensor, bool]:  # noqa: A002
    x = _t(input, fn)
    if x.ndim == nd + 2:
        return x, False
    if x.ndim == nd + 1:
        return x.unsqueeze(0), True
    raise RuntimeError(
        f"{fn}: expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input, got input of shape "
        f"{tuple(x.shape)} ({x.ndim}D)"
    )


def _geometry(fn, nd, x, kernel_size, stride, padding, dilation, ceil_mode, max_pool):
    kernel = ntuple(kernel_size, nd, "kernel_size", fn)
    stride = kernel if stride is None or stride == [] or stride == () else stride
    stride = ntuple(stride, nd, "stride", fn)
    padding = ntuple(padding, nd, "padding", fn)
    dilation = ntuple(dilation, nd, "dilation", fn)
    for what, v in (("kernel_size", kernel), ("stride", stride), ("dilation", dilation)):
        if any(i <= 0 for i in v):
            raise ValueError(f"{fn}: {what} must be positive, got {v}")
    for p, k, d in zip(padding, kernel, dilation):
        limit = (d * (k - 1) + 1) // 2 if max_pool else k // 2
        if p < 0 or p > limit:
            raise ValueError(
                f"{fn}: pad should be at most half of effective kernel size, but got "
                f"padding={padding}, kernel_size={kernel} and dilation={dilation}"
            )
    out = tuple(
        P.pool_out_size(n, k, p, s, d, ceil_mode)
        for n, k, p, s, d in zip(x.shape[2:], kernel, padding, stride, dilation)
    )
    if any(o <= 0 for o in out):
        raise RuntimeError(
            f"{fn}: input of shape {tuple(x.shape)} is too small for kernel_size={kernel} "
            f"(padding={padding}, dilation={dilation}): the output would be {out}"
        )
    return kernel, stride, padding, dilation, out


def _max_pool(fn, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):  # noqa: A002
    x, unbatched = _batched(fn, input, nd)
    kernel, stride, padding, dilation, out = _geometry(
        fn, nd, x, kernel_size, stride, padding, dilation, ceil_mode, True
    )
    holder = [] if return_indices else None
    y = P.MaxPoolNd.apply(
        x,
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        out=out,
        indices_out=holder,
    )
    if unbatched:
        y = y.squeeze(0)
    if not return_indices:
        return y
    idx = Tensor._wrap(holder[0], x._device)
    return y, (idx.squeeze(0) if unbatched else idx)


def max_pool1d(
    input,  # noqa: A002
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """1-D max pooling of ``(N, C, L)``; with ``return_indices`` also the argmax positions."""
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d(
    input,  # noqa: A002
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """2-D max pooling of ``(N, C, H, W)`` (padding counts as ``-inf``).

    With ``return_indices`` also returns, per output, the flat index ``h * W + w`` of its
    maximum in the input plane (the first one on ties); the gradient goes to that element.
    """
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _avg_pool(fn, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, div):  # noqa: A002
    x, unbatched = _batched(fn, input, nd)
    if not x.is_floating_point():
        raise RuntimeError(f"{fn}: expected a floating-point input, got {x.dtype}")
    if div is not None and (isinstance(div, bool) or not isinstance(div, int) or div == 0):
        raise ValueError(f"{fn}: divisor_override must be a non-zero int, got {div!r}")
    kernel, stride, padding, _, out = _geometry(
        fn, nd, x, kernel_size, stride, padding, 1, ceil_mode, False
    )
    y = P.AvgPoolNd.apply(
        x,
        kernel=kernel,
        stride=stride,
        padding=padding,
        out=out,
        count_include_pad=bool(count_include_pad),
        divisor_override=div,
    )
    return y.squeeze(0) if unbatched else y


def avg_pool1d(
    input,  # noqa: A002
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
):
    """1-D average pooling of ``(N, C, L)``."""
    return _avg_pool(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


def avg_pool2d(
    input,  # noqa: A002
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override=None,
):
    """2-D average pooling of ``(N, C, H, W)``.

    Zero padding is counted in the divisor when ``count_include_pad`` (PyTorch's default);
    ``divisor_override`` replaces the divisor altogether.
    """
    return _avg_pool(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def adaptive_avg_matrix(xp, n: int, m: int, dtype):
    """``(m, n)`` matrix averaging input bins ``[floor(i*n/m), ceil((i+1)*n/m))`` (PyTorch's)."""
    i = xp.arange(m)
    start = (i * n) // m
    end = ((i + 1) * n + m - 1) // m
    j = xp.arange(n)
    inside = (j[None, :] >= start[:, None]) & (j[None, :] < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _adaptive_avg(fn, nd, input, output_size):  # noqa: A002
    x, unbatched = _batched(fn, input, nd)
    if not x.is_floating_point():
        raise RuntimeError(f"{fn}: expected a floating-point input, got {x.dtype}")
    if isinstance(output_size, (tuple, list)) and len(output_size) == nd:
        size = tuple(n if o is None else o for o, n in zip(output_size, x.shape[2:]))
    else:
        size = output_size
    size = ntuple(size, nd, "output_size", fn)
    if any(o <= 0 for o in size) or any(n == 0 for n in x.shape[2:]):
        raise ValueError(
            f"{fn}: output_size must be positive and the input non-empty, got output_size="
            f"{size} for input shape {tuple(input.shape)}"
        )
    sizes = tuple(x.shape[2:])

    def make(xp, dtype):
        return [adaptive_avg_matrix(xp, n, m, dtype) for n, m in zip(sizes, size)]

    y = P.AxisMaps.apply(x, make_maps=make)
    return y.squeeze(0) if unbatched else y


def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    """Average pooling of ``(N, C, L)`` to length ``output_size`` (PyTorch's bins)."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    """Average pooling of ``(N, C, H, W)`` to ``output_size`` (an int, or a pair whose
    ``None`` entries keep the input's size)."""
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)
