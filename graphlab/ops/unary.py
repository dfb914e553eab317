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
        # NOTE: e = exp(-|x|) <= 1 never overflows; sigmoid(x) = n / (1 + e) with n = 1 for
        # x >= 0 and n = e for x < 0, so both tails keep full relative precision (no 1 - y).
        # n = max(e, x >= 0) picks that numerator without a branch: a `where` (or evaluating
        # both quotients) costs 4-7x more on random signs. Everything after abs is in place.
        e = xp.abs(x, out=xp.empty_like(x))  # NOTE: out= keeps a 0-d input an array
        xp.negative(e, out=e)
        xp.exp(e, out=e)
        y = xp.maximum(e, x >= 0)  # NaN propagates through e
        e += 1
        y /= e
        self.y = y
        return y

    def backward(self, g):
        return g * self.y * (1 - self.y)


class Relu(Op):
    saves_output = True

    def forward(self, x):
        self.y = self.xp.maximum(x, 0)
        return self.y

    def backward(self, g):
        # NOTE: derivative 0 at 0, as in PyTorch. The mask is made in g's dtype and multiplied
        # in place: a float * bool multiply runs a slower mixed-type loop.
        mask = (self.y > 0).astype(g.dtype)
        mask *= g
        return mask


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
