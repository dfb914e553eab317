"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d``,
``LazyConv1d``, ``LazyConv2d`` (PyTorch's arguments, default initialization and ``repr``).

Default initialization (PyTorch's): weight ``kaiming_uniform_(a=sqrt(5))``, i.e.
``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, and bias from the same bound, where ``fan_in`` is
``weight.size(1) * prod(kernel_size)``.
"""

from __future__ import annotations

import math
import numbers

from ... import creation
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..functional.conv import conv_padding, ntuple
from ..parameter import Parameter, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module

__all__ = [
    "Conv1d",
    "Conv2d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "LazyConv1d",
    "LazyConv2d",
]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _check_int(cls: str, what: str, v, minimum: int) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum:
        raise ValueError(f"{cls}: {what} must be an int >= {minimum}, got {v!r}")
    return int(v)


class _ConvNd(Module):
    """Shared state, initialization, input checks and ``repr`` of the convolution layers."""

    _nd = 2
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        output_padding=0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        name, nd = type(self).__name__, self._nd
        in_channels = _check_int(name, "in_channels", in_channels, 0)
        out_channels = _check_int(name, "out_channels", out_channels, 0)
        groups = _check_int(name, "groups", groups, 1)
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"{name}: padding_mode must be one of {', '.join(map(repr, _PADDING_MODES))}, "
                f"got {padding_mode!r}"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ntuple(kernel_size, nd, "kernel_size", name)
        self.stride = ntuple(stride, nd, "stride", name)
        self.dilation = ntuple(dilation, nd, "dilation", name)
        if isinstance(padding, str):
            if self._transposed:
                raise ValueError(f"{name}: padding must be an int or a tuple, got {padding!r}")
            conv_padding(padding, self.kernel_size, self.dilation, self.stride, name)
            self.padding = padding
        else:
            self.padding = ntuple(padding, nd, "padding", name)
        self.output_padding = ntuple(output_padding, nd, "output_padding", name)
        self.padding_mode = padding_mode
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'{name}: only "zeros" padding mode is supported')
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(creation.empty(shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw weight and bias with PyTorch's default initialization."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _check_input(self, input) -> tuple[int, ...]:  # noqa: A002
        """Raise a clear error for a wrong rank or channel count; return the spatial sizes."""
        name, nd = type(self).__name__, self._nd
        if not isinstance(input, Tensor):
            raise TypeError(f"{name} expected a Tensor input, got {type(input).__name__}")
        if input.ndim not in (nd + 1, nd + 2):
            raise ValueError(
                f"{name} expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input, got "
                f"{input.ndim}D: input shape {tuple(input.shape)}"
            )
        c = input.shape[-nd - 1]
        if c != self.in_channels:
            raise ValueError(
                f"{name} expected input with {self.in_channels} channels, got {c}: input shape "
                f"{tuple(input.shape)}"
            )
        return tuple(input.shape[-nd:])

    def extra_repr(self) -> str:
        """PyTorch's text: ``in, out, kernel_size=…, stride=…`` and the non-default options."""
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            0,
            device,
            dtype,
        )

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Convolve ``input`` with the layer's weight (and add the bias)."""
        self._check_input(input)
        fn = F.conv1d if self._nd == 1 else F.conv2d
        if self.padding_mode == "zeros":
            return fn(
                input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
            )
        pairs = conv_padding(
            self.padding, self.kernel_size, self.dilation, self.stride, type(self).__name__
        )
        flat = tuple(v for lo_hi in reversed(pairs) for v in lo_hi)
        x = F.pad(input, flat, mode=self.padding_mode)
        return fn(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class Conv1d(_Conv):
    """1-D convolution over ``(N, C_in, L)``: weight ``(C_out, C_in/groups, k)``.

    ``padding`` may be an int, a 1-tuple, ``'valid'`` or ``'same'``; ``padding_mode`` one of
    ``'zeros'``, ``'reflect'``, ``'replicate'``, ``'circular'``.
    """

    _nd = 1


class Conv2d(_Conv):
    """2-D convolution over ``(N, C_in, H, W)``: weight ``(C_out, C_in/groups, kH, kW)``.

    ``stride``, ``dilation`` are ints or pairs; ``padding`` an int, a pair, ``'valid'`` or
    ``'same'`` (stride 1); ``groups`` splits the channels into independent convolutions;
    ``padding_mode`` is ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
    """

    _nd = 2


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            output_padding,
            device,
            dtype,
        )

    def _output_padding(self, sizes, output_size) -> tuple[int, ...]:
        """The ``output_padding`` that makes the output ``output_size`` (PyTorch's rule)."""
        if output_size is None:
            return self.output_padding
        nd, name = self._nd, type(self).__name__
        out = tuple(int(s) for s in output_size)
        if len(out) == nd + 2 or len(out) == nd + 1:
            out = out[-nd:]
        if len(out) != nd:
            raise ValueError(
                f"{name}: output_size must have {nd} or {nd + 2} elements, got {output_size!r}"
            )
        res = []
        for i, n in enumerate(sizes):
            lo = (
                (n - 1) * self.stride[i]
                - 2 * self.padding[i]
                + self.dilation[i] * (self.kernel_size[i] - 1)
                + 1
            )
            hi = lo + self.stride[i] - 1
            if not lo <= out[i] <= hi:
                raise ValueError(
                    f"{name}: requested an output size of {out}, but valid sizes along dim {i} "
                    f"range from {lo} to {hi} (for an input of size {tuple(sizes)})"
                )
            res.append(out[i] - lo)
        return tuple(res)

    def forward(self, input: Tensor, output_size=None) -> Tensor:  # noqa: A002
        """Transposed convolution of ``input``; ``output_size`` picks the output padding."""
        sizes = self._check_input(input)
        op = self._output_padding(sizes, output_size)
        fn = F.conv_transpose1d if self._nd == 1 else F.conv_transpose2d
        return fn(
            input, self.weight, self.bias, self.stride, self.padding, op, self.groups, self.dilation
        )


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution over ``(N, C_in, L)``: weight ``(C_in, C_out/groups, k)``."""

    _nd = 1


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution ("deconvolution") over ``(N, C_in, H, W)``: weight
    ``(C_in, C_out/groups, kH, kW)``; output size ``(in - 1) * stride - 2 * padding +
    dilation * (k - 1) + output_padding + 1`` (or chosen with ``forward(x, output_size)``)."""

    _nd = 2


class _LazyConv(LazyModuleMixin):
    """Lazy convolution: ``in_channels`` comes from the first input."""

    lazy_initializer = (
        "Conv.reset_parameters: weight kaiming_uniform_(a=sqrt(5)), bias "
        "uniform_(-1/sqrt(fan_in), 1/sqrt(fan_in))"
    )

    def __init__(
        self,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        # NOTE: in/out channels 0 make a 0-element placeholder weight, replaced below.
        super().__init__(
            0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode, None, None
        )
        self.out_channels = _check_int(type(self).__name__, "out_channels", out_channels, 0)
        if out_channels % self.groups:
            raise ValueError(
                f"{type(self).__name__}: out_channels ({out_channels}) must be divisible by groups"
            )
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        """Initialize once the shapes are known (does nothing before the first call)."""
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args, **kwargs) -> None:  # noqa: A002
        """Take ``in_channels`` from the input's channel dim, materialize, and initialize."""
        if not self.has_uninitialized_params():
            return
        name, nd = type(self).__name__, self._nd
        if not isinstance(input, Tensor) or input.ndim not in (nd + 1, nd + 2):
            got = f"shape {tuple(input.shape)}" if isinstance(input, Tensor) else type(input)
            raise ValueError(
                f"{name}: the first input must be a {nd + 1}D (unbatched) or {nd + 2}D "
                f"(batched) tensor, got {got}"
            )
        c = input.shape[-nd - 1]
        if c % self.groups:
            raise ValueError(
                f"{name}: the input's {c} channels must be divisible by groups={self.groups}: "
                f"input shape {tuple(input.shape)}"
            )
        self.in_channels = c
        self.weight.materialize((self.out_channels, c // self.groups) + self.kernel_size)
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))
        self.reset_parameters()


class LazyConv1d(_LazyConv, Conv1d):
    """A ``Conv1d`` whose ``in_channels`` is inferred from the first input."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConv, Conv2d):
    """A ``Conv2d`` whose ``in_channels`` is inferred from the first input: the weight is an
    ``UninitializedParameter`` until the first call materializes it in place as
    ``(out_channels, in_channels/groups, kH, kW)`` and initializes it."""

    cls_to_become = Conv2d
