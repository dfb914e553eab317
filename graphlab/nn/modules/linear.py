"""``Identity``, ``Linear``, ``LazyLinear`` and ``Bilinear``."""

from __future__ import annotations

import math

from ... import creation
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["Identity", "Linear", "LazyLinear", "Bilinear"]


def _check_features(cls: str, **sizes) -> None:
    for name, v in sizes.items():
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{cls}: {name} must be an int, got {type(v).__name__} {v!r}")
        if v < 0:
            raise ValueError(f"{cls}: {name} must be >= 0, got {v}")


class Identity(Module):
    """Returns its input unchanged (arguments are accepted and ignored); a placeholder layer."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """``input`` itself."""
        return input


class Linear(Module):
    """``y = x @ weight.T + bias`` on the last dimension: ``(*, in_features)`` to
    ``(*, out_features)``.

    ``weight`` is ``(out_features, in_features)`` from ``kaiming_uniform_(a=sqrt(5))``, i.e.
    ``U(-1/sqrt(in_features), 1/sqrt(in_features))``, and ``bias`` ``(out_features,)`` from the
    same bound, as in PyTorch.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        _check_features(type(self).__name__, in_features=in_features, out_features=out_features)
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(
            creation.empty((out_features, in_features), device=device, dtype=dtype)
        )
        if bias:
            self.bias = Parameter(creation.empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the weight and bias with PyTorch's default initialization."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """The affine map of the last dimension."""
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        """``in_features=…, out_features=…, bias=…``."""
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class LazyLinear(LazyModuleMixin, Linear):
    """A ``Linear`` whose ``in_features`` comes from the first input's last dimension.

    Before the first call ``weight`` and ``bias`` are ``UninitializedParameter``s (their shapes
    unknown; reading them raises); the first call materializes them in place with shapes
    ``(out_features, in_features)`` and ``(out_features,)`` and runs ``reset_parameters``.
    """

    cls_to_become = Linear
    lazy_initializer = (
        "Linear.reset_parameters: weight kaiming_uniform_(a=sqrt(5)), bias "
        "uniform_(-1/sqrt(in_features), 1/sqrt(in_features))"
    )

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(0, 0, False)
        _check_features("LazyLinear", out_features=out_features)
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        """Initialize once the shapes are known (does nothing before the first call)."""
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args, **kwargs) -> None:  # noqa: A002
        """Take ``in_features`` from ``input.shape[-1]``, materialize, and initialize."""
        if not self.has_uninitialized_params():
            return
        if not isinstance(input, Tensor) or input.ndim == 0:
            raise RuntimeError(
                "LazyLinear: the first input must be a tensor of shape (*, in_features), got "
                + (
                    f"shape {tuple(input.shape)}"
                    if isinstance(input, Tensor)
                    else type(input).__name__
                )
            )
        self.in_features = input.shape[-1]
        self.weight.materialize((self.out_features, self.in_features))
        if self.bias is not None:
            self.bias.materialize((self.out_features,))
        self.reset_parameters()


class Bilinear(Module):
    """``y = x1 @ weight[k] @ x2 + bias[k]`` for each output ``k``: ``(*, in1)`` and
    ``(*, in2)`` to ``(*, out)``; weight and bias drawn from ``U(-1/sqrt(in1), 1/sqrt(in1))``.
    """

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        _check_features(
            "Bilinear",
            in1_features=in1_features,
            in2_features=in2_features,
            out_features=out_features,
        )
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(
            creation.empty((out_features, in1_features, in2_features), device=device, dtype=dtype)
        )
        if bias:
            self.bias = Parameter(creation.empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw weight and bias from ``U(-1/sqrt(in1_features), 1/sqrt(in1_features))``."""
        bound = 1 / math.sqrt(self.weight.shape[1]) if self.weight.shape[1] else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        """The bilinear form of the two inputs."""
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        """``in1_features=…, in2_features=…, out_features=…, bias=…``."""
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )
