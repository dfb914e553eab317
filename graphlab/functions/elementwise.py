"""Elementwise math: arithmetic, unary functions, comparisons and logical ops."""

from __future__ import annotations

from .. import _dtype
from ..ops import binary, nograd, unary
from ..ops._util import check_broadcast, operands
from ..tensor import Tensor


def _t(x, fn: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): expected a Tensor as input, got {type(x).__name__}")
    return x


def _float_input(x: Tensor, fn: str) -> Tensor:
    """Integer inputs to float functions become the default float dtype, as in PyTorch."""
    _t(x, fn)
    return x if x.is_floating_point() else x.to(_dtype.get_default_dtype())


def add(input, other, *, alpha=1):  # noqa: A002
    """``input + alpha * other`` with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    a, b, _ = operands("add", input, other)
    return binary.Add.apply(a, b)


def sub(input, other, *, alpha=1):  # noqa: A002
    """``input - alpha * other`` with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    a, b, dt = operands("sub", input, other)
    if dt is _dtype.bool_:
        raise RuntimeError(
            "sub: subtraction of two bool tensors is not supported; use "
            "logical_xor() or cast to int first"
        )
    return binary.Sub.apply(a, b)


def mul(input, other):  # noqa: A002
    """``input * other`` with broadcasting."""
    a, b, _ = operands("mul", input, other)
    return binary.Mul.apply(a, b)


def div(input, other, *, rounding_mode=None):  # noqa: A002
    """True division (integers give floats); ``rounding_mode='floor'|'trunc'`` rounds."""
    if rounding_mode is None:
        a, b, _ = operands("div", input, other, floating=True)
        return binary.Div.apply(a, b)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        a, b, dt = operands("div", input, other)
        q = binary.Div.apply(*operands("div", a, b, floating=True)[:2])
        return nograd.Trunc.apply(q).to(dt)
    raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")


true_divide = div


def floor_divide(input, other):  # noqa: A002
    """``input // other`` rounded toward negative infinity (no gradient)."""
    a, b, _ = operands("floor_divide", input, other)
    return nograd.FloorDivide.apply(a, b)


def remainder(input, other):  # noqa: A002
    """Python-style ``input % other`` (the result has the divisor's sign)."""
    a, b, _ = operands("remainder", input, other)
    return binary.Remainder.apply(a, b)


def fmod(input, other):  # noqa: A002
    """C-style remainder (the result has the dividend's sign)."""
    a, b, _ = operands("fmod", input, other)
    return nograd.Fmod.apply(a, b)


def pow(input, exponent):  # noqa: A001, A002
    """``input ** exponent`` (either may be a number)."""
    if not isinstance(exponent, Tensor):
        a, _, dt = operands("pow", input, exponent)
        if isinstance(a, Tensor):
            return unary.PowScalar.apply(a, exponent=exponent)
    if not isinstance(input, Tensor):
        _, b, dt = operands("pow", input, exponent)
        return unary.RPowScalar.apply(b, base=input)
    a, b, _ = operands("pow", input, exponent)
    return binary.Pow.apply(a, b)


def neg(input):  # noqa: A002
    """``-input``."""
    if _t(input, "neg").dtype is _dtype.bool_:
        raise RuntimeError(
            "neg: negation of a bool tensor is not supported; use ~ or logical_not() instead"
        )
    return unary.Neg.apply(input)


negative = neg


def _unary(op, name, floating=True):
    def fn(input):  # noqa: A002
        x = _float_input(input, name) if floating else _t(input, name)
        return op.apply(x)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}``."
    return fn


exp = _unary(unary.Exp, "exp")
log = _unary(unary.Log, "log")
log1p = _unary(unary.Log1p, "log1p")
sqrt = _unary(unary.Sqrt, "sqrt")
rsqrt = _unary(unary.Rsqrt, "rsqrt")
sin = _unary(unary.Sin, "sin")
cos = _unary(unary.Cos, "cos")
tanh = _unary(unary.Tanh, "tanh")
sigmoid = _unary(unary.Sigmoid, "sigmoid")
abs = _unary(unary.Abs, "abs", floating=False)  # noqa: A001
sign = _unary(unary.Sign, "sign", floating=False)
relu = _unary(unary.Relu, "relu", floating=False)


def clamp(input, min=None, max=None):  # noqa: A001, A002
    """Limit values to ``[min, max]`` (either bound may be omitted, or be a tensor)."""
    _t(input, "clamp")
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = maximum(out, min if isinstance(min, Tensor) else _like(out, min))
        if max is not None:
            out = minimum(out, max if isinstance(max, Tensor) else _like(out, max))
        return out
    x = input
    if not x.is_floating_point() and any(isinstance(v, float) for v in (min, max)):
        x = x.to(_dtype.get_default_dtype())
    return unary.Clamp.apply(x, min=min, max=max)


clip = clamp


def _like(ref, value):
    from ..creation import full

    return full((), value, dtype=ref.dtype, device=ref.device)


def maximum(input, other):  # noqa: A002
    """Elementwise maximum; where equal, each side gets half the gradient."""
    a, b, _ = operands("maximum", _t(input, "maximum"), _t(other, "maximum"))
    return binary.Maximum.apply(a, b)


def minimum(input, other):  # noqa: A002
    """Elementwise minimum; where equal, each side gets half the gradient."""
    a, b, _ = operands("minimum", _t(input, "minimum"), _t(other, "minimum"))
    return binary.Minimum.apply(a, b)


def where(condition, input=None, other=None):  # noqa: A002
    """``input`` where ``condition`` holds, else ``other``; ``where(cond)`` gives indices."""
    _t(condition, "where")
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if condition.dtype is not _dtype.bool_:
        raise TypeError(f"where: expected condition to be a bool tensor, got {condition.dtype}")
    a, b, _ = operands("where", input, other)
    for x in (a, b):
        if isinstance(x, Tensor):
            check_broadcast("where", condition.shape, x.shape)
            if x.device != condition.device:
                raise RuntimeError(
                    f"where: expected all tensors on the same device, got {condition.device} "
                    f"and {x.device}"
                )
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = _like_dev(condition, a, _dtype.result_type(a, b))
    return binary.Where.apply(condition, a, b)


def _like_dev(ref, value, dt):
    from ..creation import full

    return full((), value, dtype=dt, device=ref.device)


def nonzero(input, *, as_tuple=False):  # noqa: A002
    """Indices of non-zero elements: an ``(n, ndim)`` int64 tensor, or one per dim."""
    stacked = nograd.NonZero.apply(_t(input, "nonzero"))
    if as_tuple:
        return tuple(stacked[:, i] for i in range(input.ndim))
    return stacked


def _compare(name, op):
    def fn(input, other):  # noqa: A002
        a, b, _ = operands(name, input, other)
        return op.apply(a, b)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}`` comparison; a bool tensor (no gradient)."
    return fn


eq = _compare("eq", nograd.Eq)
ne = _compare("ne", nograd.Ne)
lt = _compare("lt", nograd.Lt)
le = _compare("le", nograd.Le)
gt = _compare("gt", nograd.Gt)
ge = _compare("ge", nograd.Ge)
logical_and = _compare("logical_and", nograd.LogicalAnd)
logical_or = _compare("logical_or", nograd.LogicalOr)
logical_xor = _compare("logical_xor", nograd.LogicalXor)
greater, less, greater_equal, less_equal, not_equal = gt, lt, ge, le, ne


def _bitwise(name, op):
    def fn(input, other):  # noqa: A002
        a, b, dt = operands(name, input, other)
        if dt.is_floating_point:
            raise TypeError(f"{name}: only integer and bool tensors are supported, got {dt}")
        return op.apply(a, b)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}`` of integer or bool tensors."
    return fn


bitwise_and = _bitwise("bitwise_and", nograd.BitwiseAnd)
bitwise_or = _bitwise("bitwise_or", nograd.BitwiseOr)
bitwise_xor = _bitwise("bitwise_xor", nograd.BitwiseXor)


def bitwise_not(input):  # noqa: A002
    """``~input`` for integer and bool tensors."""
    if _t(input, "bitwise_not").is_floating_point():
        raise TypeError(
            f"bitwise_not: only integer and bool tensors are supported, got {input.dtype}"
        )
    return nograd.BitwiseNot.apply(input)


def logical_not(input):  # noqa: A002
    """Elementwise logical not (a bool tensor)."""
    return nograd.LogicalNot.apply(_t(input, "logical_not"))


def isnan(input):  # noqa: A002
    """Where the values are NaN."""
    return nograd.IsNan.apply(_t(input, "isnan"))


def isinf(input):  # noqa: A002
    """Where the values are ±inf."""
    return nograd.IsInf.apply(_t(input, "isinf"))


def isfinite(input):  # noqa: A002
    """Where the values are finite."""
    return nograd.IsFinite.apply(_t(input, "isfinite"))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:  # noqa: A002
    """Whether all values are close (``|a - b| <= atol + rtol * |b|``)."""
    return bool(nograd.AllClose.apply(input, other, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input, other) -> bool:  # noqa: A002
    """Whether both tensors have the same shape and values."""
    return input.shape == other.shape and bool(eq(input, other).all())
