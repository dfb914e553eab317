"""Elementwise unary ops: forward and backward side by side."""

from __future__ import annotations

from ..autograd.function import Op


class Neg(Op):
    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class Exp(Op):
    saves_output = True

    def forward(self, x):
        self.y = self.xp.exp(x)
        return self.y

    def backward(self, g):
        return g * self.y


class Log(Op):
    saves_inputs = (0,)

    def forward(self, x):
        self.x = x
        return self.xp.log(x)

    def backward(self, g):
        return g / self.x


class Log1p(Op):
    saves_inputs = (0,)

    def forward(self, x):
        self.x = x
        return self.xp.log1p(x)

    def backward(self, g):
        return g / (1 + self.x)


class Sqrt(Op):
    saves_output = True

    def forward(self, x):
        self.y = self.xp.sqrt(x)
        return self.y

    def backward(self, g):
        return g / (2 * self.y)


class Rsqrt(Op):
    saves_output = True

    def forward(self, x):
        self.y = 1 / self.xp.sqrt(x)
        return self.y

    def backward(self, g):
        return g * (-0.5 * self.y * self.y * self.y)


class Abs(Op):
    saves_inputs = (0,)

    def forward(self, x):
        self.x = x
        return self.xp.abs(x)

    def backward(self, g):
        return g * self.xp.sign(self.x)  # NOTE: sign(0) = 0, PyTorch's choice at the kink


class Sign(Op):
    def forward(self, x):
        return self.xp.sign(x)

    def backward(self, g):
        return self.xp.zeros_like(g)


class Sin(Op):
    saves_inputs = (0,)

    def forward(self, x):
        self.x = x
        return self.xp.sin(x)

    def backward(self, g):
        return g * self.xp.cos(self.x)


class Cos(Op):
    saves_inputs = (0,)

    def forward(self, x):
        self.x = x
        return self.xp.cos(x)

    def backward(self, g):
        return -g * self.xp.sin(self.x)


class Tanh(Op):
    saves_output = True

    def forward(self, x):
        self.y = self.xp.tanh(x)
        return self.y

    def backward(self, g):
        return g * (1 - self.y * self.y)


class Sigmoid(Op):
    saves_output = True

    def forward(self, x):
        xp = self.xp
        # NOTE: split by sign so exp never overflows: e^-|x| is always <= 1.
        e = xp.exp(-xp.abs(x))
        self.y = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return self.y

    def backward(self, g):
        return g * self.y * (1 - self.y)


class Relu(Op):
    saves_output = True

    def forward(self, x):
        self.y = self.xp.maximum(x, 0)
        return self.y

    def backward(self, g):
        return g * (self.y > 0)  # NOTE: derivative 0 at 0, as in PyTorch


class Clamp(Op):
    saves_inputs = (0,)

    def forward(self, x, min=None, max=None):  # noqa: A002 - PyTorch's names
        self.x, self.lo, self.hi = x, min, max
        if min is not None and max is not None:
            return self.xp.minimum(self.xp.maximum(x, min), max)
        if min is not None:
            return self.xp.maximum(x, min)
        return self.xp.minimum(x, max)

    def backward(self, g):
        # NOTE: the gradient passes at the bounds themselves (PyTorch: lo <= x <= hi).
        mask = True
        if self.lo is not None:
            mask = self.x >= self.lo
        if self.hi is not None:
            mask = mask & (self.x <= self.hi)
        return g * mask


class PowScalar(Op):
    """``x ** c`` for a constant exponent."""

    saves_inputs = (0,)

    def forward(self, x, exponent):
        self.x, self.c = x, exponent
        return x**exponent

    def backward(self, g):
        c = self.c
        if c == 0:
            return self.xp.zeros_like(g)
        return g * (c * self.x ** (c - 1))


class RPowScalar(Op):
    """``c ** x`` for a constant base."""

    saves_output = True

    def forward(self, x, base):
        self.y = self.xp.power(base, x).astype(x.dtype, copy=False)
        self.base = base
        return self.y

    def backward(self, g):
        import math

        return g * self.y * math.log(self.base) if self.base > 0 else g * 0


class Cast(Op):
    """A dtype change; the gradient is cast back to the input's dtype."""

    def forward(self, x, dtype):
        self.src = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return g.astype(self.src)


class Clone(Op):
    """A copy into new memory."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g
