"""Neural-network kernels: activations, normalizations, dropout, embedding, padding.

Each is one op with forward and backward side by side, written against ``self.xp``. The
normalizations share :func:`_normalize` and :func:`_normalize_backward` (the standard
``invstd * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat))`` over the reduced axes).
"""

from __future__ import annotations

import math

from .. import backends
from ..autograd.function import Op

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


# ----- erf (GELU needs it; NumPy has none) ----------------------------------------------------

_scipy_erf = None


def erf(xp, x):
    """The error function elementwise: SciPy's/CuPy's when available, else :func:`erf_series`."""
    global _scipy_erf
    if xp.__name__ != "numpy":
        import cupyx.scipy.special

        return cupyx.scipy.special.erf(x)
    if _scipy_erf is None:
        try:
            from scipy.special import erf as f
        except ImportError:  # NOTE: SciPy is optional; the fallback is exact to ~1e-16
            f = False
        _scipy_erf = f
    if _scipy_erf is False:
        return erf_series(xp, x)
    return _scipy_erf(x).astype(x.dtype, copy=False)


def erf_series(xp, x):
    """``erf`` to double precision without SciPy.

    ``|x| <= 2.5``: ``2/sqrt(pi) * x * exp(-x^2) * sum (2x^2)^n / (2n+1)!!`` (all terms positive,
    so no cancellation; 60 terms reach 1e-17 at 2.5). Beyond: ``1 - erfc`` with erfc from its
    Laplace continued fraction (evaluated bottom-up, 60 levels).
    """
    x64 = x.astype(xp.float64)
    a = xp.abs(x64)
    out = xp.empty_like(x64)
    small = a <= 2.5
    xs = x64[small]
    t = 2.0 * xs * xs
    acc = xp.ones_like(xs)
    for n in range(60, 0, -1):
        acc = 1.0 + acc * t / (2 * n + 1)
    out[small] = (2.0 / math.sqrt(math.pi)) * xs * xp.exp(-xs * xs) * acc
    big = ~small
    z = a[big]
    frac = z.copy()
    for n in range(60, 0, -1):
        frac = z + (n / 2.0) / frac
    erfc = xp.exp(-z * z) / (math.sqrt(math.pi) * frac)
    out[big] = xp.sign(x64[big]) * (1.0 - erfc)
    return out.astype(x.dtype, copy=False)


# ----- activations ------------------------------------------------------------------------------


class LeakyRelu(Op):
    saves_inputs = (0,)

    def forward(self, x, negative_slope):
        self.x, self.slope = x, negative_slope
        return self.xp.where(x > 0, x, x * negative_slope)

    def backward(self, g):
        return self.xp.where(self.x > 0, g, g * self.slope)


class Elu(Op):
    saves_inputs = (0,)
    saves_output = True

    def forward(self, x, alpha):
        xp = self.xp
        self.x, self.alpha = x, alpha
        # NOTE: expm1 of the clamped input: no overflow warnings from the unused branch.
        self.y = xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0)))
        return self.y

    def backward(self, g):
        # d/dx alpha*(e^x - 1) = y + alpha; at x == 0 PyTorch takes this branch too.
        return self.xp.where(self.x > 0, g, g * (self.y + self.alpha))


class Gelu(Op):
    """GELU: ``x * Phi(x)`` (``approximate='none'``) or the tanh approximation."""

    saves_inputs = (0,)

    def forward(self, x, approximate):
        xp = self.xp
        self.x, self.approximate = x, approximate
        if approximate == "tanh":
            self.t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
            return 0.5 * x * (1 + self.t)
        self.cdf = 0.5 * (1 + erf(xp, x / _SQRT_2))
        return x * self.cdf

    def backward(self, g):
        xp, x = self.xp, self.x
        if self.approximate == "tanh":
            t = self.t
            du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)
        pdf = _INV_SQRT_2PI * xp.exp(-0.5 * x * x)
        return g * (self.cdf + x * pdf)


class Silu(Op):
    saves_inputs = (0,)

    def forward(self, x):
        xp = self.xp
        self.x = x
        e = xp.exp(-xp.abs(x))  # NOTE: the stable sigmoid (never exp of a large positive)
        self.s = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return x * self.s

    def backward(self, g):
        s = self.s
        return g * (s * (1 + self.x * (1 - s)))


# ----- normalizations ---------------------------------------------------------------------------


def _normalize(xp, x, axes, eps):
    """``(x - mean) * invstd`` over ``axes`` (biased variance); returns xhat, invstd, mean, var."""
    mean = x.mean(axis=axes, keepdims=True)
    xc = x - mean
    var = (xc * xc).mean(axis=axes, keepdims=True)
    invstd = 1.0 / xp.sqrt(var + eps)
    return xc * invstd, invstd, mean, var


def _normalize_backward(gxhat, xhat, invstd, axes):
    """Gradient through ``xhat = (x - mean(x)) * invstd`` with batch statistics."""
    m1 = gxhat.mean(axis=axes, keepdims=True)
    m2 = (gxhat * xhat).mean(axis=axes, keepdims=True)
    return invstd * (gxhat - m1 - xhat * m2)


def _channel_shape(ndim):
    return (1, -1) + (1,) * (ndim - 2)


class BatchNormTrain(Op):
    """Batch norm with this batch's statistics over every axis but 1 (the channels).

    ``stats_out`` (a list) receives the batch mean and *biased* variance, shaped ``(C,)``, for
    the caller's running-statistics update.
    """

    def forward(self, x, weight, bias, eps, stats_out=None):
        xp = self.xp
        axes = (0,) + tuple(range(2, x.ndim))
        xhat, invstd, mean, var = _normalize(xp, x, axes, eps)
        self.xhat, self.invstd, self.axes = xhat, invstd, axes
        self.w = None if weight is None else weight.reshape(_channel_shape(x.ndim))
        self.has_b = bias is not None
        if stats_out is not None:
            stats_out.append((mean.reshape(-1), var.reshape(-1)))
        y = xhat if self.w is None else xhat * self.w
        if bias is not None:
            y = y + bias.reshape(_channel_shape(x.ndim))
        return y

    def backward(self, g):
        gxhat = g if self.w is None else g * self.w
        gw = (g * self.xhat).sum(axis=self.axes) if self.w is not None else None
        gb = g.sum(axis=self.axes) if self.has_b else None
        return _normalize_backward(gxhat, self.xhat, self.invstd, self.axes), gw, gb

    def name(self) -> str:
        return "NativeBatchNormBackward0"


class BatchNormEval(Op):
    """Batch norm with given (running) statistics; those get no gradient."""

    def forward(self, x, mean, var, weight, bias, eps):
        xp = self.xp
        cs = _channel_shape(x.ndim)
        self.invstd = (1.0 / xp.sqrt(var + eps)).astype(x.dtype, copy=False).reshape(cs)
        self.xhat = (x - mean.reshape(cs)) * self.invstd
        self.w = None if weight is None else weight.reshape(cs)
        self.has_b = bias is not None
        self.axes = (0,) + tuple(range(2, x.ndim))
        y = self.xhat if self.w is None else self.xhat * self.w
        if bias is not None:
            y = y + bias.reshape(cs)
        return y

    def backward(self, g):
        scale = self.invstd if self.w is None else self.invstd * self.w
        gw = (g * self.xhat).sum(axis=self.axes) if self.w is not None else None
        gb = g.sum(axis=self.axes) if self.has_b else None
        return g * scale, None, None, gw, gb

    def name(self) -> str:
        return "NativeBatchNormBackward0"


class LayerNorm(Op):
    """Normalize over the last ``k`` axes; elementwise affine of shape ``x.shape[-k:]``."""

    def forward(self, x, weight, bias, k, eps):
        axes = tuple(range(x.ndim - k, x.ndim))
        self.xhat, self.invstd, _, _ = _normalize(self.xp, x, axes, eps)
        self.w, self.has_b, self.axes = weight, bias is not None, axes
        y = self.xhat if weight is None else self.xhat * weight
        return y if bias is None else y + bias

    def backward(self, g):
        lead = tuple(range(g.ndim - len(self.axes)))
        gxhat = g if self.w is None else g * self.w
        gw = (g * self.xhat).sum(axis=lead) if self.w is not None else None
        gb = g.sum(axis=lead) if self.has_b else None
        return _normalize_backward(gxhat, self.xhat, self.invstd, self.axes), gw, gb

    def name(self) -> str:
        return "NativeLayerNormBackward0"


class GroupNorm(Op):
    """Normalize ``(N, C, *)`` over groups of ``C // G`` channels; per-channel affine."""

    def forward(self, x, weight, bias, groups, eps):
        n, c = x.shape[:2]
        xg = x.reshape(n, groups, -1)
        xhat, self.invstd, _, _ = _normalize(self.xp, xg, (2,), eps)
        self.xhat = xhat.reshape(x.shape)
        cs = _channel_shape(x.ndim)
        self.w = None if weight is None else weight.reshape(cs)
        self.has_b, self.groups = bias is not None, groups
        y = self.xhat if self.w is None else self.xhat * self.w
        return y if bias is None else y + bias.reshape(cs)

    def backward(self, g):
        n = g.shape[0]
        axes = (0,) + tuple(range(2, g.ndim))
        gxhat = g if self.w is None else g * self.w
        gw = (g * self.xhat).sum(axis=axes) if self.w is not None else None
        gb = g.sum(axis=axes) if self.has_b else None
        gx = _normalize_backward(
            gxhat.reshape(n, self.groups, -1),
            self.xhat.reshape(n, self.groups, -1),
            self.invstd,
            (2,),
        )
        return gx.reshape(g.shape), gw, gb

    def name(self) -> str:
        return "NativeGroupNormBackward0"


# ----- dropout, embedding -------------------------------------------------------------------------


class Dropout(Op):
    """``x * mask`` with a precomputed mask already scaled by ``1 / (1 - p)``."""

    def forward(self, x, mask):
        self.mask = mask
        return x * mask

    def backward(self, g):
        return g * self.mask, None

    def name(self) -> str:
        return "NativeDropoutBackward0"


class Embedding(Op):
    """Rows of ``weight`` picked by an integer index array of any shape."""

    def forward(self, weight, indices, padding_idx, scale_grad_by_freq):
        self.idx, self.w_shape = indices, weight.shape
        self.padding_idx, self.by_freq = padding_idx, scale_grad_by_freq
        return self.xp.take(weight, indices, axis=0)

    def backward(self, g):
        xp = self.xp
        idx = self.idx.ravel()
        rows = g.reshape(-1, self.w_shape[1])
        if self.by_freq:
            counts = xp.bincount(idx, minlength=self.w_shape[0])
            rows = rows / counts[idx][:, None].astype(g.dtype)
        gw = xp.zeros(self.w_shape, dtype=g.dtype)
        # NOTE: repeated indices must accumulate, hence a scatter-add rather than gw[idx] = rows.
        backends.for_array(g).add_at(gw, idx, rows)
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return gw, None

    def name(self) -> str:
        return "EmbeddingBackward0"


# ----- padding ------------------------------------------------------------------------------------


class ConstantPad(Op):
    """Pad (or crop, for negative amounts) trailing axes with a constant.

    ``pads`` is one ``(lo, hi)`` pair per trailing axis, first axis first.
    """

    def forward(self, x, pads, value):
        xp = self.xp
        lead = x.ndim - len(pads)
        src, dst, shape = [slice(None)] * lead, [slice(None)] * lead, list(x.shape[:lead])
        for n, (lo, hi) in zip(x.shape[lead:], pads):
            size = n + lo + hi
            shape.append(size)
            # Negative padding crops the source; positive offsets the destination.
            src.append(slice(max(-lo, 0), n - max(-hi, 0)))
            dst.append(slice(max(lo, 0), size - max(hi, 0)))
        out = xp.full(tuple(shape), value, dtype=x.dtype)
        out[tuple(dst)] = x[tuple(src)]
        self.src, self.dst, self.x_shape = tuple(src), tuple(dst), x.shape
        return out

    def backward(self, g):
        gx = self.xp.zeros(self.x_shape, dtype=g.dtype)
        gx[self.src] = g[self.dst]
        return gx

    def name(self) -> str:
        return "ConstantPadNdBackward0"


class IndexPad(Op):
    """Reflect/replicate/circular padding: each trailing axis is gathered through an index map.

    ``make_maps(xp)`` returns one index array per trailing axis, built on the input's device.
    Backward scatter-adds along each axis (border elements feed several outputs).
    """

    def forward(self, x, make_maps):
        self.maps = maps = make_maps(self.xp)
        self.x_shape = x.shape
        lead = x.ndim - len(maps)
        for i, m in enumerate(maps):
            x = self.xp.take(x, m, axis=lead + i)
        return x

    def backward(self, g):
        xp = self.xp
        lead = g.ndim - len(self.maps)
        for i in reversed(range(len(self.maps))):
            axis = lead + i
            m = self.maps[i]
            n = self.x_shape[axis]
            moved = xp.moveaxis(g, axis, 0)
            acc = xp.zeros((n,) + moved.shape[1:], dtype=g.dtype)
            backends.for_array(g).add_at(acc, m, moved)
            g = xp.moveaxis(acc, 0, axis)
        return xp.ascontiguousarray(g)

    def name(self) -> str:
        return "ReflectionPadBackward0"
