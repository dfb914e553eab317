"""Matrix products: ``matmul`` (1-d, 2-d and batched with broadcasting)."""

from __future__ import annotations

from ..autograd.function import Op
from ._util import unbroadcast


class MatMul(Op):
    saves_inputs = (0, 1)

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        xp, a, b = self.xp, self.a, self.b
        # NOTE: promote 1-d operands to matrices as matmul does, then undo it on the gradients.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = xp.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = xp.expand_dims(g2, -1)
        ga = g2 @ xp.swapaxes(b2, -1, -2)
        gb = xp.swapaxes(a2, -1, -2) @ g2
        if a.ndim == 1:
            ga = ga.reshape(ga.shape[:-2] + (a.shape[0],))
            ga = ga.reshape(-1, a.shape[0]).sum(0) if ga.ndim > 1 else ga
        else:
            ga = unbroadcast(xp, ga, a.shape)
        if b.ndim == 1:
            gb = gb.reshape(gb.shape[:-2] + (b.shape[0],))
            gb = gb.reshape(-1, b.shape[0]).sum(0) if gb.ndim > 1 else gb
        else:
            gb = unbroadcast(xp, gb, b.shape)
        return ga, gb
