"""Indexing: ``x[idx]`` (a view for basic indices), ``x[idx] = v``, gather, scatter_add.

Backward of advanced indexing scatters-adds, so repeated indices accumulate.
"""

from __future__ import annotations

from .. import backends
from ..autograd.function import Op


def is_basic(index) -> bool:
    """Whether an index (already converted to arrays) selects a view: ints, slices, None, ...."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


class GetItem(Op):
    def forward(self, x, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        return x[index]

    def backward(self, g):
        out = self.xp.zeros(self.shape, g.dtype)
        if is_basic(self.index):
            out[self.index] = g
        else:
            backends.for_array(g).add_at(out, self.index, g)
        return out


class GetItemView(GetItem):
    is_view = True


class IndexPut(Op):
    """``x[index] = v`` as a new value of x (the old value gets no gradient where overwritten)."""

    def forward(self, x, v, index):
        self.index = index
        self.v_shape = getattr(v, "shape", None)
        out = x.copy()
        out[index] = v
        return out

    def backward(self, g):
        from ._util import unbroadcast

        gx = g.copy()
        gx[self.index] = 0
        gv = None
        if self.v_shape is not None:
            gv = unbroadcast(self.xp, g[self.index], self.v_shape)
        return gx, gv


class Gather(Op):
    saves_inputs = (1,)

    def forward(self, x, index, dim):
        self.shape, self.index, self.dim = x.shape, index, dim
        # NOTE: PyTorch lets the index be smaller than the input in the other dims (it reads
        # only that corner); take_along_axis would broadcast the index up instead.
        return x[_along(self.xp, index, dim)]

    def backward(self, g):
        out = self.xp.zeros(self.shape, g.dtype)
        backends.for_array(g).add_at(out, _along(self.xp, self.index, self.dim), g)
        return out, None


class ScatterAdd(Op):
    saves_inputs = (1,)

    def forward(self, x, index, src, dim):
        self.index, self.dim = index, dim
        out = x.copy()
        backends.for_array(x).add_at(out, _along(self.xp, index, dim), src)
        return out

    def backward(self, g):
        return g, None, g[_along(self.xp, self.index, self.dim)]


def _along(xp, index, dim):
    """Full fancy index equivalent to ``take_along_axis(…, index, dim)``."""
    # NOTE: open grids built by hand: cupy.indices has no ``sparse=`` argument.
    nd = index.ndim
    grids = [
        index if d == dim else xp.arange(n).reshape((1,) * d + (n,) + (1,) * (nd - d - 1))
        for d, n in enumerate(index.shape)
    ]
    return tuple(grids)
