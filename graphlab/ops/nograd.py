"""Ops without a gradient: comparisons, logical and bitwise ops, predicates (``isnan``…),
integer division, and the indices of extremes (``argmax``, ``nonzero``, ``one_hot``).

They go through ``Op.apply`` like every other op, so observers see them (the trace recorder
records them, ``graphlab.jit`` replays them instead of freezing their results), but
``differentiable = False`` keeps them out of the graph: their outputs never require grad.
"""

from __future__ import annotations

from ..autograd.function import Op


class NoGrad(Op):
    """Base class of ops whose output has no gradient."""

    differentiable = False

    def backward(self, grad):
        raise RuntimeError(f"{type(self).__name__} has no gradient")  # NOTE: never in a graph


# ----- elementwise, two operands ----------------------------------------------------------------


class Eq(NoGrad):
    def forward(self, a, b):
        return a == b


class Ne(NoGrad):
    def forward(self, a, b):
        return a != b


class Lt(NoGrad):
    def forward(self, a, b):
        return a < b


class Le(NoGrad):
    def forward(self, a, b):
        return a <= b


class Gt(NoGrad):
    def forward(self, a, b):
        return a > b


class Ge(NoGrad):
    def forward(self, a, b):
        return a >= b


class LogicalAnd(NoGrad):
    def forward(self, a, b):
        return self.xp.logical_and(a, b)


class LogicalOr(NoGrad):
    def forward(self, a, b):
        return self.xp.logical_or(a, b)


class LogicalXor(NoGrad):
    def forward(self, a, b):
        return self.xp.logical_xor(a, b)


class BitwiseAnd(NoGrad):
    def forward(self, a, b):
        return a & b


class BitwiseOr(NoGrad):
    def forward(self, a, b):
        return a | b


class BitwiseXor(NoGrad):
    def forward(self, a, b):
        return a ^ b


class FloorDivide(NoGrad):
    def forward(self, a, b):
        return self.xp.floor_divide(a, b)


class Fmod(NoGrad):
    def forward(self, a, b):
        return self.xp.fmod(a, b)


class AllClose(NoGrad):
    """Whether all values are close: a 0-d bool array."""

    def forward(self, a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
        return self.xp.asarray(self.xp.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


# ----- elementwise, one operand -----------------------------------------------------------------


class LogicalNot(NoGrad):
    def forward(self, x):
        return self.xp.logical_not(x)


class BitwiseNot(NoGrad):
    def forward(self, x):
        return ~x


class IsNan(NoGrad):
    def forward(self, x):
        return self.xp.isnan(x)


class IsInf(NoGrad):
    def forward(self, x):
        return self.xp.isinf(x)


class IsFinite(NoGrad):
    def forward(self, x):
        return self.xp.isfinite(x)


class Trunc(NoGrad):
    def forward(self, x):
        return self.xp.trunc(x)


# ----- indices and reductions -------------------------------------------------------------------


class ArgMax(NoGrad):
    """Index of the largest (``largest=True``) or smallest value, as int64: over all elements
    (``dim=None``, of the flattened input) or along ``dim``."""

    def forward(self, x, dim=None, keepdim=False, largest=True):
        xp = self.xp
        f = xp.argmax if largest else xp.argmin
        if dim is None:
            out = xp.asarray(f(x.reshape(-1)))
            if keepdim:
                out = out.reshape((1,) * x.ndim)
        else:
            out = f(x, axis=dim, keepdims=keepdim) if x.ndim else xp.zeros((), xp.int64)
        return xp.asarray(out).astype(xp.int64, copy=False)


class All(NoGrad):
    """Whether every value over ``dims`` (a tuple, or None for all) is non-zero."""

    def forward(self, x, dims=None, keepdim=False):
        return self.xp.asarray(x.all(axis=dims, keepdims=keepdim))


class Any(NoGrad):
    """Whether any value over ``dims`` (a tuple, or None for all) is non-zero."""

    def forward(self, x, dims=None, keepdim=False):
        return self.xp.asarray(x.any(axis=dims, keepdims=keepdim))


class NonZero(NoGrad):
    """Indices of the non-zero elements, one row per element: an ``(n, ndim)`` int64 array."""

    def forward(self, x):
        xp = self.xp
        idx = xp.nonzero(x)
        out = xp.stack(idx, axis=1) if idx else xp.zeros((0, 0))
        return out.astype(xp.int64)


class OneHot(NoGrad):
    """Int64 one-hot vectors of class indices ``x`` (checked by the caller)."""

    def forward(self, x, num_classes):
        xp = self.xp
        return (x[..., None] == xp.arange(num_classes)).astype(xp.int64)
