"""``graphlab.nn.init``: in-place initializers, with PyTorch's names, formulas and errors.

Each initializer fills its tensor in place (same object, same storage), outside autograd, and
returns it. Random ones draw from graphlab's default generator (or ``generator=``), so
``graphlab.manual_seed`` makes them reproducible. The numbers are not PyTorch's (a different
random stream); the distributions are.
"""

from __future__ import annotations

import math
import statistics
import warnings

from .. import creation
from ..autograd import grad_mode
from ..tensor import Tensor

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "ones_",
    "zeros_",
    "eye_",
    "dirac_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
]


def _check(tensor, fn: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init.{fn}: expected a graphlab Tensor, got {type(tensor).__name__}")
    return tensor


def _write(tensor: Tensor, values: Tensor) -> Tensor:
    """Overwrite ``tensor``'s elements with ``values`` (same shape/device) in place."""
    with grad_mode.no_grad():
        tensor._data[...] = values._data
        tensor._version.value += 1
    return tensor


def _uniform(tensor: Tensor, low: float, high: float, generator) -> Tensor:
    if tensor.numel() == 0:
        return tensor
    u = creation.rand(tuple(tensor.shape), generator=generator, device=tensor.device)
    u._data = (u._data * (high - low) + low).astype(tensor._data.dtype, copy=False)
    return _write(tensor, u)


def _normal(tensor: Tensor, mean: float, std: float, generator) -> Tensor:
    if tensor.numel() == 0:
        return tensor
    z = creation.randn(tuple(tensor.shape), generator=generator, device=tensor.device)
    z._data = (z._data * std + mean).astype(tensor._data.dtype, copy=False)
    return _write(tensor, z)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    linear, conv*, sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu: sqrt(2 / (1 + slope^2))
    (``param`` is the slope, 0.01 by default); selu: 3/4.
    """
    linear_fns = [
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
    ]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"Unsupported nonlinearity {nonlinearity}; expected one of linear, conv1d, conv2d, "
        "conv3d, conv_transpose1d/2d/3d, sigmoid, tanh, relu, leaky_relu, selu"
    )


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight: ``size(1) * receptive`` and ``size(0) * receptive``."""
    dimensions = tensor.dim()
    if dimensions < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
            f"(got shape {tuple(tensor.shape)}); use uniform_/normal_/constant_ for biases"
        )
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with values drawn from the uniform distribution on ``[a, b)``."""
    _check(tensor, "uniform_")
    if a > b:
        raise ValueError(f"nn.init.uniform_: expected a <= b, got a={a}, b={b}")
    return _uniform(tensor, a, b, generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with values drawn from the normal distribution ``N(mean, std^2)``."""
    _check(tensor, "normal_")
    if std < 0:
        raise ValueError(f"nn.init.normal_: expected std >= 0, got {std}")
    return _normal(tensor, mean, std, generator)


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator=None,
) -> Tensor:
    """Fill with values from ``N(mean, std^2)`` truncated to ``[a, b]`` (redrawn, not clipped)."""
    _check(tensor, "trunc_normal_")
    if a >= b:
        raise ValueError(f"nn.init.trunc_normal_: expected a < b, got a={a}, b={b}")
    if tensor.numel() == 0:
        return tensor
    shape = tuple(tensor.shape)
    vals = creation.randn(shape, generator=generator, device=tensor.device, dtype="float64")
    arr = vals._data * std + mean
    bad = (arr < a) | (arr > b)
    # NOTE: rejection sampling is exact; a few rounds leave almost nothing when [a, b] holds a
    # fair share of the mass. What is left (a far tail) goes through the inverse CDF.
    for _ in range(8):
        n_bad = int(bad.sum())
        if n_bad == 0:
            break
        redraw = creation.randn(n_bad, generator=generator, device=tensor.device, dtype="float64")
        arr[bad] = redraw._data * std + mean
        bad = (arr < a) | (arr > b)
    n_bad = int(bad.sum())
    if n_bad:
        dist = statistics.NormalDist(mean, std)
        lo, hi = dist.cdf(a), dist.cdf(b)
        u = creation.rand(n_bad, generator=generator, dtype="float64").tolist()
        tail = [min(max(dist.inv_cdf(lo + (hi - lo) * x), a), b) for x in u]
        fill = creation.tensor(tail, dtype="float64", device=tensor.device)
        arr[bad] = fill._data
    vals._data = arr.astype(tensor._data.dtype)
    return _write(tensor, vals)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with the value ``val``."""
    _check(tensor, "constant_")
    with grad_mode.no_grad():
        tensor._data[...] = val
        tensor._version.value += 1
    return tensor


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones."""
    return constant_(_check(tensor, "ones_"), 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros."""
    return constant_(_check(tensor, "zeros_"), 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-d tensor with the identity matrix (ones on the diagonal, zeros elsewhere)."""
    _check(tensor, "eye_")
    if tensor.dim() != 2:
        raise ValueError(
            f"Only tensors with 2 dimensions are supported by eye_, got shape {tuple(tensor.shape)}"
        )
    eye = creation.eye(*tensor.shape, dtype=tensor.dtype, device=tensor.device)
    return _write(tensor, eye)


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3/4/5-d convolution weight with the Dirac delta (convolution becomes identity).

    With ``groups > 1`` each group of output channels gets its own identity.
    """
    _check(tensor, "dirac_")
    dims = tensor.dim()
    if dims not in (3, 4, 5):
        raise ValueError(
            f"Only tensors with 3, 4, or 5 dimensions are supported by dirac_, got shape "
            f"{tuple(tensor.shape)}"
        )
    sizes = tensor.shape
    if sizes[0] % groups != 0:
        raise ValueError(f"dim 0 must be divisible by groups, got {sizes[0]} and groups={groups}")
    out_per_group = sizes[0] // groups
    min_dim = min(out_per_group, sizes[1])
    with grad_mode.no_grad():
        a = tensor._data
        a[...] = 0
        centre = tuple(s // 2 for s in sizes[2:])
        for g in range(groups):
            for d in range(min_dim):
                a[(g * out_per_group + d, d) + centre] = 1
        tensor._version.value += 1
    return tensor


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot uniform: ``U(-a, a)`` with ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    _check(tensor, "xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return _uniform(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot normal: ``N(0, std^2)`` with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    _check(tensor, "xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _normal(tensor, 0.0, std, generator)


def _kaiming_std(tensor, a, mode, nonlinearity, fn) -> float | None:
    if 0 in tuple(tensor.shape):
        warnings.warn(f"nn.init.{fn}: initializing a zero-element tensor is a no-op", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator=None,
) -> Tensor:
    """He uniform: ``U(-bound, bound)``, ``bound = gain * sqrt(3 / fan)`` (``fan`` by ``mode``).

    ``a`` is the negative slope of the rectifier after this layer (for ``leaky_relu``).
    Linear and convolution layers use ``a = sqrt(5)`` by default, as in PyTorch.
    """
    _check(tensor, "kaiming_uniform_")
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return _uniform(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator=None,
) -> Tensor:
    """He normal: ``N(0, std^2)`` with ``std = gain / sqrt(fan)`` (``fan`` by ``mode``)."""
    _check(tensor, "kaiming_normal_")
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    if std is None:
        return tensor
    return _normal(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix (the tensor viewed as ``size(0) × rest``), times
    ``gain``: the Q of a QR decomposition of a normal matrix, signs fixed by R's diagonal."""
    _check(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(
            "Only tensors with 2 or more dimensions are supported by orthogonal_, got shape "
            f"{tuple(tensor.shape)}"
        )
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = creation.randn((rows, cols), generator=generator, device=tensor.device, dtype="float64")
    a = flat._data
    xp = _xp_of(tensor)
    if rows < cols:
        a = a.T
    q, r = xp.linalg.qr(a)
    q = q * xp.sign(xp.diagonal(r))
    if rows < cols:
        q = q.T
    flat._data = (q * gain).reshape(tuple(tensor.shape)).astype(tensor._data.dtype)
    return _write(tensor, flat)


def _xp_of(t: Tensor):
    from .. import backends

    return backends.for_device(t.device).xp
