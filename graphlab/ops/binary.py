"""Elementwise binary ops with broadcasting; gradients are summed back to each input's shape.

An operand may be a plain Python number (a constant with no gradient): ``backward`` then returns
``None`` in its place.
"""

from __future__ import annotations

from ..autograd.function import Op
from ._util import unbroadcast


def _shape(x):
    return getattr(x, "shape", None)


class _Binary(Op):
    def _keep(self, a, b):
        self.a_shape, self.b_shape = _shape(a), _shape(b)

    def _grads(self, ga, gb):
        xp = self.xp
        return (
            None if self.a_shape is None else unbroadcast(xp, ga, self.a_shape),
            None if self.b_shape is None else unbroadcast(xp, gb, self.b_shape),
        )


class Add(_Binary):
    def forward(self, a, b):
        self._keep(a, b)
        return a + b

    def backward(self, g):
        return self._grads(g, g)


class Sub(_Binary):
    def forward(self, a, b):
        self._keep(a, b)
        return a - b

    def backward(self, g):
        return self._grads(g, -g if self.b_shape is not None else None)


class Mul(_Binary):
    saves_inputs = (0, 1)

    def forward(self, a, b):
        self._keep(a, b)
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        a_ = g * self.b if self.a_shape is not None else None
        b_ = g * self.a if self.b_shape is not None else None
        return self._grads(a_, b_)


class Div(_Binary):
    saves_inputs = (0, 1)

    def forward(self, a, b):
        self._keep(a, b)
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        a_ = g / self.b if self.a_shape is not None else None
        b_ = -g * self.a / (self.b * self.b) if self.b_shape is not None else None
        return self._grads(a_, b_)


class Pow(_Binary):
    """``a ** b`` with both tensors."""

    saves_inputs = (0, 1)
    saves_output = True

    def forward(self, a, b):
        self._keep(a, b)
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, g):
        xp = self.xp
        ga = g * self.b * self.a ** (self.b - 1)
        # NOTE: d/db a^b = a^b log a; PyTorch defines it as 0 where a == 0 and b >= 0.
        safe = xp.where(self.a > 0, self.a, 1)
        gb = g * self.y * xp.log(safe)
        gb = xp.where((self.a == 0) & (self.b >= 0), 0, gb)
        return self._grads(ga, gb)


class Maximum(_Binary):
    saves_inputs = (0, 1)

    def forward(self, a, b):
        self._keep(a, b)
        self.a, self.b = a, b
        return self.xp.maximum(a, b)

    def backward(self, g):
        # NOTE: where a == b each side gets half, as in PyTorch.
        w = (self.a > self.b) + 0.5 * (self.a == self.b)
        return self._grads(g * w.astype(g.dtype), g * (1 - w).astype(g.dtype))


class Minimum(_Binary):
    saves_inputs = (0, 1)

    def forward(self, a, b):
        self._keep(a, b)
        self.a, self.b = a, b
        return self.xp.minimum(a, b)

    def backward(self, g):
        w = (self.a < self.b) + 0.5 * (self.a == self.b)
        return self._grads(g * w.astype(g.dtype), g * (1 - w).astype(g.dtype))


class Remainder(_Binary):
    """Python-style ``a % b`` (the sign follows the divisor, as in PyTorch)."""

    saves_inputs = (0, 1)

    def forward(self, a, b):
        self._keep(a, b)
        self.a, self.b = a, b
        return self.xp.remainder(a, b)

    def backward(self, g):
        gb = None
        if self.b_shape is not None:
            gb = -g * self.xp.floor_divide(self.a, self.b)
        return self._grads(g, gb)


class Where(Op):
    """``where(cond, a, b)``; ``cond`` gets no gradient."""

    saves_inputs = (0,)

    def forward(self, cond, a, b):
        self.cond = cond
        self.a_shape, self.b_shape = _shape(a), _shape(b)
        return self.xp.where(cond, a, b)

    def backward(self, g):
        xp = self.xp
        zero = xp.zeros((), g.dtype)
        ga = (
            None
            if self.a_shape is None
            else unbroadcast(xp, xp.where(self.cond, g, zero), self.a_shape)
        )
        gb = (
            None
            if self.b_shape is None
            else unbroadcast(xp, xp.where(self.cond, zero, g), self.b_shape)
        )
        return None, ga, gb
