"""Reductions (sum, mean, prod, max/min, var, logsumexp, norm) and softmax, with backward.

``dims`` is always a normalised tuple (or ``None`` for all dims); ``_expand`` puts a reduced
gradient back into the input's shape.
"""

from __future__ import annotations

from ..autograd.function import Op
from .index import _along


def _expand(xp, g, shape, dims, keepdim):
    if dims is None:
        dims = tuple(range(len(shape)))
    if not keepdim and dims:
        g = xp.expand_dims(g, dims)
    return xp.broadcast_to(g, shape)


def _axis(dims):
    return dims  # None or a tuple: NumPy's and CuPy's ``axis`` accept both


class Sum(Op):
    def forward(self, x, dims=None, keepdim=False, dtype=None):
        self.shape, self.dims, self.keepdim = x.shape, dims, keepdim
        self.src = x.dtype
        return x.sum(axis=_axis(dims), keepdims=keepdim, dtype=dtype)

    def backward(self, g):
        return _expand(self.xp, g, self.shape, self.dims, self.keepdim).astype(self.src, copy=False)


class Mean(Op):
    def forward(self, x, dims=None, keepdim=False):
        self.shape, self.dims, self.keepdim = x.shape, dims, keepdim
        n = 1
        for d in range(x.ndim) if dims is None else dims:
            n *= x.shape[d]
        self.n = n
        return x.mean(axis=_axis(dims), keepdims=keepdim)

    def backward(self, g):
        return _expand(self.xp, g / self.n if self.n else g, self.shape, self.dims, self.keepdim)


class Prod(Op):
    saves_inputs = (0,)

    def forward(self, x, dim=None, keepdim=False):
        self.x, self.dim, self.keepdim = x, dim, keepdim
        return x.prod(axis=dim, keepdims=keepdim)

    def backward(self, g):
        # NOTE: the product of the *other* elements, from exclusive cumulative products on both
        # sides, so zeros in the input are handled exactly (no division by x).
        xp, x = self.xp, self.x
        if self.dim is None:
            flat = x.reshape(-1)
            others = _prod_of_others(xp, flat, 0).reshape(x.shape)
            return g * others
        others = _prod_of_others(xp, x, self.dim)
        if not self.keepdim:
            g = xp.expand_dims(g, self.dim)
        return g * others


def _prod_of_others(xp, x, axis):
    n = x.shape[axis]
    if n == 0:
        return x
    ones_shape = list(x.shape)
    ones_shape[axis] = 1
    one = xp.ones(ones_shape, x.dtype)
    # NOTE: a slice, not ``.take(range(...))``, so CuPy (which wants an array there) agrees.
    head = (slice(None),) * axis + (slice(0, n - 1),)
    left = xp.concatenate([one, xp.cumprod(x, axis=axis)[head]], axis)
    rev = xp.flip(x, axis)
    right = xp.concatenate([one, xp.cumprod(rev, axis=axis)[head]], axis)
    return left * xp.flip(right, axis)


class AMax(Op):
    """``amax``/``amin`` (and full ``max()``/``min()``): ties share the gradient evenly."""

    saves_inputs = (0,)
    saves_output = True

    def forward(self, x, dims=None, keepdim=False, largest=True):
        self.x, self.dims, self.keepdim = x, dims, keepdim
        f = x.max if largest else x.min
        self.y = f(axis=_axis(dims), keepdims=keepdim)
        return self.y

    def backward(self, g):
        xp = self.xp
        y = _expand(xp, self.y, self.x.shape, self.dims, self.keepdim)
        mask = (self.x == y).astype(g.dtype)
        count = mask.sum(axis=_axis(self.dims), keepdims=True)
        g = _expand(xp, g, self.x.shape, self.dims, self.keepdim)
        return g * mask / count


class MaxDim(Op):
    """``max(dim)``/``min(dim)`` values at ``index``, the second input (argmax/argmin with
    keepdims, an int64 array without gradient); the gradient goes to that index."""

    def forward(self, x, index, dim, keepdim=False):
        self.shape, self.index, self.dim, self.keepdim = x.shape, index, dim, keepdim
        if x.ndim == 0:
            return x.copy()
        values = self.xp.take_along_axis(x, index, axis=dim)
        return values if keepdim else self.xp.squeeze(values, dim)

    def backward(self, g):
        xp = self.xp
        if len(self.shape) == 0:
            return g, None
        out = xp.zeros(self.shape, g.dtype)
        if not self.keepdim:
            g = xp.expand_dims(g, self.dim)
        out[_along(xp, self.index, self.dim)] = g  # NOTE: one index per slice: no repeats
        return out, None


class Var(Op):
    saves_inputs = (0,)

    def forward(self, x, dims=None, correction=1, keepdim=False):
        self.x, self.dims, self.keepdim = x, dims, keepdim
        n = 1
        for d in range(x.ndim) if dims is None else dims:
            n *= x.shape[d]
        self.denom = max(n - correction, 0)
        self.mean = x.mean(axis=_axis(dims), keepdims=True)
        d = x - self.mean
        return (d * d).sum(axis=_axis(dims), keepdims=keepdim) / self.denom

    def backward(self, g):
        g = _expand(self.xp, g, self.x.shape, self.dims, self.keepdim)
        # NOTE: no degrees of freedom: the variance is NaN and so is its gradient (as in
        # PyTorch), not a Python ZeroDivisionError.
        scale = 2 / self.denom if self.denom else float("inf")
        return g * scale * (self.x - self.mean)


class Std(Var):
    """``sqrt(var)`` as one node, so that the gradient at a zero deviation is 0 (PyTorch's
    choice), not the NaN of ``inf * 0`` that sqrt's and var's backward would give in a chain."""

    saves_output = True

    def forward(self, x, dims=None, correction=1, keepdim=False):
        self.y = self.xp.sqrt(super().forward(x, dims, correction, keepdim))
        return self.y

    def backward(self, g):
        xp = self.xp
        safe = xp.where(self.y == 0, 1, self.y)
        return super().backward(xp.where(self.y == 0, 0, g / (2 * safe)).astype(g.dtype))


class LogSumExp(Op):
    saves_inputs = (0,)
    saves_output = True

    def forward(self, x, dims, keepdim=False):
        xp = self.xp
        self.x, self.dims, self.keepdim = x, dims, keepdim
        m = x.max(axis=_axis(dims), keepdims=True) if x.size else xp.zeros((), x.dtype)
        m = xp.where(xp.isfinite(m), m, 0)
        s = xp.log(xp.exp(x - m).sum(axis=_axis(dims), keepdims=True)) + m
        self.y = s if keepdim else _squeeze(xp, s, dims, x.ndim)
        return self.y

    def backward(self, g):
        xp = self.xp
        y = _expand(xp, self.y, self.x.shape, self.dims, self.keepdim)
        g = _expand(xp, g, self.x.shape, self.dims, self.keepdim)
        return g * xp.exp(self.x - y)


def _squeeze(xp, a, dims, ndim):
    dims = tuple(range(ndim)) if dims is None else dims
    return a.reshape([s for i, s in enumerate(a.shape) if i not in dims])


class Softmax(Op):
    saves_output = True

    def forward(self, x, dim):
        xp = self.xp
        self.dim = dim
        if x.ndim == 0:
            self.y = xp.ones_like(x)
            return self.y
        if x.size == 0:
            self.y = x.copy()  # NOTE: max() of an empty array raises; the result is empty anyway
            return self.y
        # NOTE: subtract the max so exp never overflows (logits of 1e8 stay finite).
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        self.y = e / e.sum(axis=dim, keepdims=True)
        return self.y

    def backward(self, g):
        y = self.y
        if y.ndim == 0:
            return g * 0
        return y * (g - (g * y).sum(axis=self.dim, keepdims=True))


class LogSoftmax(Op):
    saves_output = True

    def forward(self, x, dim):
        xp = self.xp
        self.dim = dim
        if x.ndim == 0:
            self.y = xp.zeros_like(x)
            return self.y
        if x.size == 0:
            self.y = x.copy()
            return self.y
        z = x - x.max(axis=dim, keepdims=True)
        self.y = z - xp.log(xp.exp(z).sum(axis=dim, keepdims=True))
        return self.y

    def backward(self, g):
        if self.y.ndim == 0:
            return g * 0
        return g - self.xp.exp(self.y) * g.sum(axis=self.dim, keepdims=True)


class Norm(Op):
    """Vector p-norm over ``dims`` (p = 2 by default; also 1, inf, -inf, 0 and any p > 0)."""

    saves_inputs = (0,)
    saves_output = True

    def forward(self, x, p=2.0, dims=None, keepdim=False):
        xp = self.xp
        self.x, self.p, self.dims, self.keepdim = x, p, dims, keepdim
        ax = _axis(dims)
        a = xp.abs(x)
        if p == float("inf"):
            y = a.max(axis=ax, keepdims=keepdim)
        elif p == float("-inf"):
            y = a.min(axis=ax, keepdims=keepdim)
        elif p == 0:
            y = (a != 0).sum(axis=ax, keepdims=keepdim).astype(x.dtype)
        elif p == 1:
            y = a.sum(axis=ax, keepdims=keepdim)
        elif p == 2:
            y = xp.sqrt((x * x).sum(axis=ax, keepdims=keepdim))
        else:
            y = (a**p).sum(axis=ax, keepdims=keepdim) ** (1.0 / p)
        self.y = xp.asarray(y)
        return self.y

    def backward(self, g):
        xp, x, p = self.xp, self.x, self.p
        y = _expand(xp, self.y, x.shape, self.dims, self.keepdim)
        g = _expand(xp, g, x.shape, self.dims, self.keepdim)
        if p == 0:
            return xp.zeros_like(x)
        if p == 1:
            return g * xp.sign(x)
        if p in (float("inf"), float("-inf")):
            mask = (xp.abs(x) == y).astype(x.dtype)
            count = mask.sum(axis=_axis(self.dims), keepdims=True)
            return g * xp.sign(x) * mask / count
        # NOTE: at a zero norm the gradient is 0 (PyTorch's subgradient), never NaN.
        safe = xp.where(y == 0, 1, y)
        if p == 2:
            return xp.where(y == 0, 0, g * x / safe)
        return xp.where(y == 0, 0, g * xp.sign(x) * xp.abs(x) ** (p - 1) / safe ** (p - 1))
