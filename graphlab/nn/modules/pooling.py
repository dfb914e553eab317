"""Pooling layers: ``MaxPool1d/2d``, ``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d`` (PyTorch's
arguments and ``repr``)."""

from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = [
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
]


def _check_rank(m: Module, input, nd: int) -> None:  # noqa: A002
    name = type(m).__name__
    if not isinstance(input, Tensor):
        raise TypeError(f"{name} expected a Tensor input, got {type(input).__name__}")
    if input.ndim not in (nd + 1, nd + 2):
        raise ValueError(
            f"{name} expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input, got "
            f"{input.ndim}D: input shape {tuple(input.shape)}"
        )


def _single(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


class _MaxPoolNd(Module):
    _nd = 2

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor):  # noqa: A002
        """Max-pool ``input`` (and return the argmax indices when ``return_indices``)."""
        _check_rank(self, input, self._nd)
        fn = F.max_pool1d if self._nd == 1 else F.max_pool2d
        return fn(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )

    def extra_repr(self) -> str:
        """``kernel_size=…, stride=…, padding=…, dilation=…, ceil_mode=…``."""
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """Max over sliding windows of ``(N, C, L)``."""

    _nd = 1


class MaxPool2d(_MaxPoolNd):
    """Max over sliding ``kernel_size`` windows of ``(N, C, H, W)`` (``stride`` defaults to
    ``kernel_size``; padding counts as ``-inf``); the gradient flows to each window's first
    maximum."""

    _nd = 2


class _AvgPoolNd(Module):
    _nd = 2

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override=None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Average-pool ``input``."""
        _check_rank(self, input, self._nd)
        if self._nd == 1:
            return F.avg_pool1d(
                input,
                self.kernel_size,
                self.stride,
                self.padding,
                self.ceil_mode,
                self.count_include_pad,
            )
        return F.avg_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        """``kernel_size=…, stride=…, padding=…``."""
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """Mean over sliding windows of ``(N, C, L)``."""

    _nd = 1

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        # NOTE: PyTorch stores AvgPool1d's sizes as 1-tuples (and prints them so).
        self.kernel_size = _single(self.kernel_size)
        self.stride = _single(self.stride)
        self.padding = _single(self.padding)


class AvgPool2d(_AvgPoolNd):
    """Mean over sliding ``kernel_size`` windows of ``(N, C, H, W)``; zero padding counts in
    the divisor unless ``count_include_pad=False``; ``divisor_override`` fixes the divisor."""

    _nd = 2


class _AdaptiveAvgPoolNd(Module):
    _nd = 2

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Average-pool ``input`` down to ``output_size``."""
        _check_rank(self, input, self._nd)
        fn = F.adaptive_avg_pool1d if self._nd == 1 else F.adaptive_avg_pool2d
        return fn(input, self.output_size)

    def extra_repr(self) -> str:
        """``output_size=…``."""
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Average pooling of ``(N, C, L)`` to a fixed length, whatever the input length."""

    _nd = 1


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Average pooling of ``(N, C, H, W)`` to a fixed ``output_size`` (int or pair, ``None``
    keeping that input size), whatever the input size; PyTorch's bins."""

    _nd = 2
