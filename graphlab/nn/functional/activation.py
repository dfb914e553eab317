"""Activation functions (PyTorch's names and signatures).

``relu``, ``sigmoid`` and ``tanh`` reuse the engine's unary ops; the others are one fused op each
(:mod:`graphlab.ops.nn_ops`). ``inplace=True`` writes the result into the input through the
engine's in-place machinery (version counter bumped, history kept), as PyTorch does.
``softmax``/``log_softmax`` live in :mod:`graphlab.functions.reduction` and are re-exported by
the package.
"""

from __future__ import annotations

from ...functions.elementwise import _float_input, _t
from ...functions.inplace import write_inplace
from ...ops import nn_ops, unary
from ...tensor import Tensor

__all__ = ["relu", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh"]


def _apply(name: str, input: Tensor, inplace: bool, fn, floating: bool = True) -> Tensor:  # noqa: A002
    """``fn(input)``, or written into ``input`` when ``inplace``."""
    if inplace:
        x = _t(input, name)
        if floating and not x.is_floating_point():
            raise RuntimeError(
                f"{name}: in-place {name} needs a floating-point tensor, got {x.dtype}; "
                "use inplace=False (the result is then floating point)"
            )
        return write_inplace(x, fn, name + "_")
    return fn(_float_input(input, name) if floating else _t(input, name))


def relu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """``max(x, 0)`` elementwise (gradient 0 at 0)."""
    return _apply("relu", input, inplace, unary.Relu.apply, floating=False)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:  # noqa: A002
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    return _apply(
        "leaky_relu",
        input,
        inplace,
        lambda t: nn_ops.LeakyRelu.apply(t, negative_slope=negative_slope),
    )


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    return _apply("elu", input, inplace, lambda t: nn_ops.Elu.apply(t, alpha=alpha))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:  # noqa: A002
    """``x * Phi(x)`` with Phi the standard normal CDF; ``approximate='tanh'`` uses
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    x = _float_input(input, "gelu")
    return nn_ops.Gelu.apply(x, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """``x * sigmoid(x)`` (also called swish)."""
    return _apply("silu", input, inplace, nn_ops.Silu.apply)


def sigmoid(input: Tensor) -> Tensor:  # noqa: A002
    """``1 / (1 + exp(-x))``, computed without overflow."""
    return unary.Sigmoid.apply(_float_input(input, "sigmoid"))


def tanh(input: Tensor) -> Tensor:  # noqa: A002
    """Hyperbolic tangent."""
    return unary.Tanh.apply(_float_input(input, "tanh"))
