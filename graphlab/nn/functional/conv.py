"""Convolutions: ``conv1d``, ``conv2d``, ``conv_transpose1d``, ``conv_transpose2d``.

Validation and argument normalization live here; the vectorized kernels (im2col via strided
views and one matmul) are :class:`graphlab.ops.conv.ConvNd` and ``ConvTransposeNd``. Unbatched
inputs (no batch axis) are accepted as in PyTorch.
"""

from __future__ import annotations

import numbers

from ...ops.conv import ConvNd, ConvTransposeNd
from ...tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


def ntuple(value, n: int, what: str, fn: str) -> tuple[int, ...]:
    """An int or a length-``n`` sequence of ints as an ``n``-tuple."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and len(value) == n:
        if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
            return tuple(int(v) for v in value)
    raise TypeError(f"{fn}: {what} must be an int or a tuple of {n} ints, got {value!r}")


def _positive(values: tuple[int, ...], what: str, fn: str) -> None:
    if any(v <= 0 for v in values):
        raise ValueError(f"{fn}: {what} must be positive, got {values}")


def _tensor(x, what: str, fn: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: expected {what} to be a Tensor, got {type(x).__name__}")
    return x


def _batched(fn: str, input, nd: int) -> tuple[Tensor, bool]:  # noqa: A002
    """``input`` with a batch axis (added when it was unbatched) and whether one was added."""
    x = _tensor(input, "input", fn)
    if x.ndim == nd + 2:
        return x, False
    if x.ndim == nd + 1:
        return x.unsqueeze(0), True
    raise RuntimeError(
        f"{fn}: expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input, got input of shape "
        f"{tuple(x.shape)} ({x.ndim}D)"
    )


def _check_operands(fn: str, x: Tensor, weight: Tensor, bias, nd: int) -> None:
    _tensor(weight, "weight", fn)
    if weight.ndim != nd + 2:
        raise RuntimeError(
            f"{fn}: expected a {nd + 2}D weight, got weight of shape {tuple(weight.shape)}"
        )
    if not x.is_floating_point():
        raise RuntimeError(f"{fn}: expected a floating-point input, got {x.dtype}")
    others = [("weight", weight)] + ([("bias", bias)] if bias is not None else [])
    for what, t in others:
        _tensor(t, what, fn)
        if t.dtype is not x.dtype:
            raise RuntimeError(
                f"{fn}: input ({x.dtype}) and {what} ({t.dtype}) must have the same dtype; "
                f"convert one with .to({x.dtype})"
            )


def _check_groups(groups, fn: str) -> int:
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups <= 0:
        raise ValueError(f"{fn}: groups must be a positive int, got {groups!r}")
    return int(groups)


def conv_padding(padding, kernel, dilation, stride, fn: str) -> tuple[tuple[int, int], ...]:
    """``padding`` (int, tuple, ``'valid'``, ``'same'``) as one ``(lo, hi)`` pair per dim.

    ``'same'`` pads ``dilation * (k - 1)`` in total, the odd one on the high side (PyTorch).
    """
    nd = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(
                    f"{fn}: padding='same' is not supported for strided convolutions "
                    f"(stride={stride}); use stride=1 or an explicit padding"
                )
            total = [d * (k - 1) for d, k in zip(dilation, kernel)]
            return tuple((t // 2, t - t // 2) for t in total)
        raise ValueError(
            f"{fn}: invalid padding string {padding!r}; expected 'valid', 'same', an int or a "
            "tuple of ints"
        )
    pads = ntuple(padding, nd, "padding", fn)
    if any(p < 0 for p in pads):
        raise ValueError(f"{fn}: padding must be non-negative, got {pads}")
    return tuple((p, p) for p in pads)


def _conv(fn, nd, input, weight, bias, stride, padding, dilation, groups):  # noqa: A002
    x, unbatched = _batched(fn, input, nd)
    _check_operands(fn, x, weight, bias, nd)
    groups = _check_groups(groups, fn)
    stride = ntuple(stride, nd, "stride", fn)
    dilation = ntuple(dilation, nd, "dilation", fn)
    _positive(stride, "stride", fn)
    _positive(dilation, "dilation", fn)
    kernel = tuple(weight.shape[2:])
    out_c, cg = weight.shape[:2]
    if out_c % groups:
        raise RuntimeError(
            f"{fn}: weight's out_channels ({out_c}) must be divisible by groups ({groups})"
        )
    if x.shape[1] != cg * groups:
        raise RuntimeError(
            f"{fn}: expected input with {cg * groups} channels (weight of shape "
            f"{tuple(weight.shape)}, groups={groups}), got {x.shape[1]}: input shape "
            f"{tuple(input.shape)}"
        )
    if bias is not None and tuple(bias.shape) != (out_c,):
        raise RuntimeError(f"{fn}: expected bias of shape ({out_c},), got {tuple(bias.shape)}")
    pads = conv_padding(padding, kernel, dilation, stride, fn)
    for i, (n, (lo, hi)) in enumerate(zip(x.shape[2:], pads)):
        eff = dilation[i] * (kernel[i] - 1) + 1
        if n + lo + hi < eff:
            raise RuntimeError(
                f"{fn}: input of shape {tuple(input.shape)} is too small: spatial dim {i} is "
                f"{n} (+{lo + hi} padding) but the dilated kernel spans {eff}; use a larger "
                "input, more padding or a smaller kernel"
            )
    y = ConvNd.apply(x, weight, bias, stride=stride, padding=pads, dilation=dilation, groups=groups)
    return y.squeeze(0) if unbatched else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:  # noqa: A002
    """1-D convolution of ``(N, C_in, L)`` (or ``(C_in, L)``) with ``(C_out, C_in/groups, k)``.

    ``padding`` is an int, a 1-tuple, ``'valid'`` or ``'same'`` (stride 1 only).
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:  # noqa: A002
    """2-D convolution of ``(N, C_in, H, W)`` (or ``(C_in, H, W)``) with
    ``(C_out, C_in/groups, kH, kW)``.

    ``stride``/``dilation`` are ints or pairs; ``padding`` an int, a pair, ``'valid'`` or
    ``'same'`` (stride 1 only; an even kernel pads one more on the bottom/right, as PyTorch).
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(fn, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):  # noqa: A002
    x, unbatched = _batched(fn, input, nd)
    _check_operands(fn, x, weight, bias, nd)
    groups = _check_groups(groups, fn)
    stride = ntuple(stride, nd, "stride", fn)
    dilation = ntuple(dilation, nd, "dilation", fn)
    padding = ntuple(padding, nd, "padding", fn)
    output_padding = ntuple(output_padding, nd, "output_padding", fn)
    _positive(stride, "stride", fn)
    _positive(dilation, "dilation", fn)
    if any(p < 0 for p in padding + output_padding):
        raise ValueError(f"{fn}: padding and output_padding must be non-negative")
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= max(s, d):
            raise ValueError(
                f"{fn}: output_padding ({output_padding}) must be smaller than either stride "
                f"({stride}) or dilation ({dilation})"
            )
    in_c = weight.shape[0]
    if in_c % groups:
        raise RuntimeError(
            f"{fn}: weight's in_channels ({in_c}) must be divisible by groups ({groups})"
        )
    if x.shape[1] != in_c:
        raise RuntimeError(
            f"{fn}: expected input with {in_c} channels (weight of shape "
            f"{tuple(weight.shape)}), got {x.shape[1]}: input shape {tuple(input.shape)}"
        )
    out_c = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (out_c,):
        raise RuntimeError(f"{fn}: expected bias of shape ({out_c},), got {tuple(bias.shape)}")
    kernel = weight.shape[2:]
    for i, n in enumerate(x.shape[2:]):
        size = (n - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1)
        if size + output_padding[i] + 1 <= 0:
            raise RuntimeError(
                f"{fn}: output size along spatial dim {i} would be "
                f"{size + output_padding[i] + 1} (input shape {tuple(input.shape)}); "
                "use less padding"
            )
    y = ConvTransposeNd.apply(
        x,
        weight,
        bias,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=groups,
    )
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(
    input,  # noqa: A002
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups=1,
    dilation=1,
) -> Tensor:
    """1-D transposed convolution of ``(N, C_in, L)`` with ``(C_in, C_out/groups, k)``."""
    return _conv_transpose(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose2d(
    input,  # noqa: A002
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups=1,
    dilation=1,
) -> Tensor:
    """2-D transposed convolution ("deconvolution") of ``(N, C_in, H, W)`` with
    ``(C_in, C_out/groups, kH, kW)``: the adjoint of ``conv2d``.

    Output size per dim: ``(in - 1) * stride - 2 * padding + dilation * (k - 1) +
    output_padding + 1`` (argument order as PyTorch's: ``groups`` before ``dilation``).
    """
    return _conv_transpose(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )
