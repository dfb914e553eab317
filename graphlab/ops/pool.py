"""Pooling kernels (any number of spatial dims), vectorized over every output position.

Max pooling takes a strided view of the ``-inf``-padded input with axes ``(N, C, *out,
*kernel)``, copies it once to ``(N, C, *out, K)`` and reduces the last axis; the argmax (the
first maximum on ties, as PyTorch) is turned into a flat index into the *unpadded* input, which is
both what ``return_indices`` returns and where backward sends each gradient (one ``bincount``,
which sums the contributions of overlapping windows). Average pooling adds one strided slice per
kernel offset (a loop over ``prod(kernel)`` offsets, never over pixels) and divides by PyTorch's
per-position divisor.

The strided view is spelled ``xp.lib.stride_tricks.as_strided(x, shape, strides)``, which NumPy
and CuPy both provide (strides in bytes; no ``writeable`` flag, which CuPy lacks).
"""

from __future__ import annotations

import itertools
import math

from ..autograd.function import Op


def pool_out_size(size, k, pad, stride, dilation, ceil_mode) -> int:
    """PyTorch's pooling output length (``ceil_mode`` drops a window starting in the right pad)."""
    eff = dilation * (k - 1) + 1
    num = size + 2 * pad - eff
    out = (-(-num // stride) if ceil_mode else num // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _padded(xp, x, lo, hi, fill):
    """``x`` with per-dim ``lo``/``hi`` padding of ``fill`` (no copy when there is none)."""
    if not any(lo) and not any(hi):
        return x
    shape = x.shape[:2] + tuple(s + a + b for s, a, b in zip(x.shape[2:], lo, hi))
    out = xp.full(shape, fill, dtype=x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(a, a + s) for s, a in zip(x.shape[2:], lo))] = x
    return out


def _hi_pad(sizes, out, kernel, stride, dilation, pad):
    """Right padding so that every window (``ceil_mode`` ones too) lies inside the buffer."""
    return tuple(
        max(0, (o - 1) * s + d * (k - 1) + 1 - n - p)
        for n, o, k, s, d, p in zip(sizes, out, kernel, stride, dilation, pad)
    )


class MaxPoolNd(Op):
    """Max pooling; ``indices_out`` (a list, optional) receives the flat argmax indices."""

    def forward(self, x, kernel, stride, padding, dilation, out, indices_out=None):
        xp = self.xp
        sizes = x.shape[2:]
        nd = len(kernel)
        fill = -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min
        hi = _hi_pad(sizes, out, kernel, stride, dilation, padding)
        xpad = _padded(xp, x, padding, hi, fill)
        st = xpad.strides
        k = math.prod(kernel)
        # NOTE: the windows are copied kernel-offset-first, as a contiguous (K, M) matrix (M =
        # N * C * prod(out)), so the reduction below runs K passes over long contiguous rows;
        # an (M, K) copy with argmax along its short last axis is 5-10x slower.
        win = xp.lib.stride_tricks.as_strided(
            xpad,
            shape=tuple(kernel) + x.shape[:2] + tuple(out),
            strides=tuple(st[2 + i] * dilation[i] for i in range(nd))
            + st[:2]
            + tuple(st[2 + i] * stride[i] for i in range(nd)),
        )
        cols = win.reshape(k, -1)
        y = cols[0].copy()
        # The first maximum's kernel offset (PyTorch's choice on ties; a NaN wins, the first
        # one): offset j replaces the running maximum only where it is strictly greater (or
        # NaN over a number), so the last replacement is the first maximum and a running
        # ``max(arg, j * replaced)`` tracks it without a branchy ``where``.
        arg = xp.zeros(y.shape, dtype=xp.int8 if k < 128 else xp.int64)
        floating = x.dtype.kind == "f"
        for j in range(1, k):
            c = cols[j]
            if floating:
                upd = c <= y
                xp.logical_not(upd, out=upd)  # c > y, or c or y is NaN ...
                upd &= y == y  # ... but never replace a NaN
            else:
                upd = c > y
            xp.maximum(y, c, out=y)
            xp.maximum(arg, upd * xp.asarray(j, dtype=arg.dtype), out=arg)
        y = y.reshape(x.shape[:2] + tuple(out))
        # Flat index into the unpadded input: per dim, out_pos * stride + k_pos * dilation - pad;
        # the out_pos part is one small array, the k_pos part a K-entry table indexed by arg.
        base = None
        for i in range(nd):
            shape = [1] * nd
            shape[i] = out[i]
            coord = (xp.arange(out[i]) * stride[i] - padding[i]).reshape(shape)
            base = coord if base is None else base * sizes[i] + coord
        table = None
        for i in range(nd):
            mult = math.prod(sizes[i + 1 :])
            kpos = xp.arange(kernel[i]) * (dilation[i] * mult)
            table = kpos if table is None else (table[:, None] + kpos).reshape(-1)
        idx = xp.take(table, arg).reshape(y.shape) + base
        self.idx, self.x_shape = idx, x.shape
        if indices_out is not None:
            indices_out.append(idx)
        return y

    def backward(self, g):
        xp = self.xp
        n, c = self.x_shape[:2]
        plane = math.prod(self.x_shape[2:])
        offs = (xp.arange(n * c) * plane).reshape((n, c) + (1,) * (g.ndim - 2))
        # NOTE: bincount sums gradients of windows that share an argmax (overlapping windows).
        gx = xp.bincount((self.idx + offs).ravel(), weights=g.ravel(), minlength=n * c * plane)
        return gx.astype(g.dtype, copy=False).reshape(self.x_shape)

    def name(self) -> str:
        return "MaxPool2DWithIndicesBackward0" if len(self.x_shape) == 4 else "MaxPoolBackward0"


def avg_divisor(xp, sizes, out, kernel, stride, padding, count_include_pad, dtype):
    """PyTorch's per-output-position divisor of average pooling, shaped ``(*out)``.

    A window is clipped to the padded input (``count_include_pad``) or to the input itself.
    """
    div = None
    for n, o, k, s, p in zip(sizes, out, kernel, stride, padding):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, n + p)
        if not count_include_pad:
            end = xp.minimum(end, n)
            start = xp.maximum(start, 0)
        cnt = (end - start).astype(dtype)
        div = cnt if div is None else div[..., None] * cnt
    return div


class AvgPoolNd(Op):
    """Average pooling over windows of a zero-padded input (PyTorch's divisors, see
    :func:`avg_divisor`, unless ``divisor_override`` is given)."""

    def forward(self, x, kernel, stride, padding, out, count_include_pad, divisor_override):
        xp = self.xp
        if divisor_override:
            divisor = divisor_override
        else:
            divisor = avg_divisor(
                xp, x.shape[2:], out, kernel, stride, padding, count_include_pad, x.dtype
            )
        hi = _hi_pad(x.shape[2:], out, kernel, stride, (1,) * len(kernel), padding)
        xpad = _padded(xp, x, padding, hi, 0)
        acc = None
        for sl in self._slices(kernel, stride, out):
            piece = xpad[(slice(None), slice(None)) + sl]
            acc = piece.copy() if acc is None else acc.__iadd__(piece)
        self.x_shape, self.pad_shape, self.lo = x.shape, xpad.shape, padding
        self.kernel, self.stride, self.out, self.divisor = kernel, stride, out, divisor
        return acc / divisor

    @staticmethod
    def _slices(kernel, stride, out):
        for offs in itertools.product(*(range(k) for k in kernel)):
            yield tuple(slice(o, o + s * (n - 1) + 1, s) for o, s, n in zip(offs, stride, out))

    def backward(self, g):
        gd = g / self.divisor
        gpad = self.xp.zeros(self.pad_shape, dtype=g.dtype)
        for sl in self._slices(self.kernel, self.stride, self.out):
            gpad[(slice(None), slice(None)) + sl] += gd
        inner = tuple(slice(a, a + s) for s, a in zip(self.x_shape[2:], self.lo))
        return gpad[(slice(None), slice(None)) + inner]

    def name(self) -> str:
        return "AvgPool2DBackward0" if len(self.x_shape) == 4 else "AvgPoolBackward0"


class AxisMaps(Op):
    """Apply one matrix per trailing axis: ``y[..., i, j] = sum A[i, a] B[j, b] x[..., a, b]``.

    ``make_maps(xp, dtype)`` returns one ``(out_len, in_len)`` array (or ``None`` to leave the
    axis alone) per trailing axis; it runs inside the op so the matrices are built directly on
    the input's device. Adaptive average pooling and linear/bilinear interpolation are such
    separable linear maps; backward applies the transposed matrices.
    """

    def forward(self, x, make_maps):
        self.maps = maps = make_maps(self.xp, x.dtype)
        return _apply_maps(self.xp, x, maps, transpose=False)

    def backward(self, g):
        return _apply_maps(self.xp, g, self.maps, transpose=True)

    def name(self) -> str:
        return "UpsampleBackward0"


def _apply_maps(xp, x, maps, transpose):
    nd = len(maps)
    for i, m in enumerate(maps):
        if m is None:
            continue
        axis = x.ndim - nd + i
        m = m.T if transpose else m
        if axis == x.ndim - 1:
            x = xp.matmul(x, m.T)
        else:
            x = xp.moveaxis(xp.tensordot(m, x, axes=([1], [axis])), 0, axis)
    return xp.ascontiguousarray(x)


class GatherAxes(Op):
    """Index trailing axes with one integer array each (nearest-neighbour resampling).

    ``make_indices(xp)`` returns the index arrays (built on the input's device). Backward sums
    along each axis the gradients of the outputs that read the same input.
    """

    def forward(self, x, make_indices):
        self.indices = indices = make_indices(self.xp)
        self.x_shape = x.shape
        nd = len(indices)
        for i, idx in enumerate(indices):
            x = self.xp.take(x, idx, axis=x.ndim - nd + i)
        return x

    def backward(self, g):
        xp = self.xp
        nd = len(self.indices)
        for i in reversed(range(nd)):
            axis = g.ndim - nd + i
            n = self.x_shape[axis]
            idx = self.indices[i]
            # One-hot (out_len, in_len) matrix: a matmul sums the repeats exactly as a scatter-add.
            onehot = (idx[:, None] == xp.arange(n)[None, :]).astype(g.dtype)
            g = xp.moveaxis(xp.tensordot(onehot.T, g, axes=([1], [axis])), 0, axis)
        return xp.ascontiguousarray(g)

    def name(self) -> str:
        return "UpsampleNearestBackward0"
