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
        # NOTE: insert the dims matmul removed, innermost last (for 1-d @ 1-d the gradient is
        # 0-d, and expand_dims(g, -2) would fail on it).
        g2 = g
        if b.ndim == 1:
            g2 = xp.expand_dims(g2, g2.ndim)
        if a.ndim == 1:
            g2 = xp.expand_dims(g2, g2.ndim - 1)
        ga = g2 @ xp.swapaxes(b2, -1, -2)
        gb = xp.swapaxes(a2, -1, -2) @ g2
        # NOTE: a 1-d operand was shared by every batch entry: sum its gradient over them (an
        # axis sum, not reshape(-1, k), which is ambiguous for zero-size batches or k = 0).
        if a.ndim == 1:
            ga = ga.reshape(ga.shape[:-2] + (a.shape[0],))
            ga = ga.sum(axis=tuple(range(ga.ndim - 1))) if ga.ndim > 1 else ga
        else:
            ga = unbroadcast(xp, ga, a.shape)
        if b.ndim == 1:
            gb = gb.reshape(gb.shape[:-2] + (b.shape[0],))
            gb = gb.sum(axis=tuple(range(gb.ndim - 1))) if gb.ndim > 1 else gb
        else:
            gb = unbroadcast(xp, gb, b.shape)
        return ga, gb
