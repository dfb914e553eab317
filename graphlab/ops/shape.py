"""Shape ops: reshape, expand, permute, repeat, cat, flip. Views share the input's memory."""

from __future__ import annotations

from ..autograd.function import Op


class Reshape(Op):
    """``reshape``/``view``/``squeeze``/``unsqueeze``/``flatten``: a view when memory allows."""

    is_view = True

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return g.reshape(self.shape)


class Expand(Op):
    is_view = True

    def forward(self, x, shape):
        self.shape = x.shape
        return self.xp.broadcast_to(x, shape)

    def backward(self, g):
        from ._util import unbroadcast

        return unbroadcast(self.xp, g, self.shape)


class Permute(Op):
    is_view = True

    def forward(self, x, dims):
        self.inverse = tuple(sorted(range(len(dims)), key=dims.__getitem__))
        return x.transpose(dims)

    def backward(self, g):
        return g.transpose(self.inverse)


class Repeat(Op):
    def forward(self, x, repeats):
        self.shape = x.shape
        self.repeats = repeats
        return self.xp.tile(x.reshape((1,) * (len(repeats) - x.ndim) + x.shape), repeats)

    def backward(self, g):
        # NOTE: view the gradient as (r0, s0, r1, s1, ...) and sum the repeat axes.
        reps = self.repeats
        src = (1,) * (len(reps) - len(self.shape)) + tuple(self.shape)
        split = []
        for r, s in zip(reps, src):
            split += [r, s]
        g = g.reshape(split).sum(axis=tuple(range(0, 2 * len(reps), 2)))
        return g.reshape(self.shape)


class Cat(Op):
    def forward(self, *xs, dim):
        self.dim = dim
        self.sizes = [x.shape[dim] for x in xs]
        return self.xp.concatenate(xs, axis=dim)

    def backward(self, g):
        out, start = [], 0
        for n in self.sizes:
            idx = [slice(None)] * g.ndim
            idx[self.dim] = slice(start, start + n)
            out.append(g[tuple(idx)])
            start += n
        return tuple(out)


class Flip(Op):
    def forward(self, x, dims):
        # NOTE: a 0-d tensor accepts dim 0 (or -1), as in PyTorch; NumPy has no axis to flip.
        self.dims = dims if x.ndim else ()
        return self.xp.flip(x, self.dims).copy()  # NOTE: PyTorch's flip copies; so do we

    def backward(self, g):
        return self.xp.flip(g, self.dims)
