"""Convolutions (any number of spatial dims) and transposed convolutions, vectorized.

Both ops rest on two helpers. ``im2col`` builds one strided *view* of the padded input whose axes
are ``(group, channel, *kernel_offset, batch, *output_position)`` and copies it once into a
``(groups, C/g * prod(kernel), N * prod(out))`` matrix; a single (batched-over-groups) matmul
with the weight then gives every output. ``col2im`` is its adjoint: it scatter-adds such a matrix
back into an image with one strided ``+=`` per kernel offset (a loop over ``prod(kernel)``
offsets, never over pixels).

NumPy and CuPy differ here only in spelling: both have ``xp.lib.stride_tricks.as_strided(x, shape,
strides)`` with strides in bytes (CuPy's takes no ``writeable`` flag, so it is not passed; the view
is only ever read). Everything else is the common array API.

A transposed convolution is the adjoint of a convolution: its forward is the convolution's
input-gradient (matmul + ``col2im``) and its backward the convolution's forward (``im2col`` +
matmul), so the two ops share all the index arithmetic.
"""

from __future__ import annotations

import itertools
import math

from ..autograd.function import Op


def im2col(xp, x, kernel, stride, dilation, out, groups):
    """The windows of ``x`` (``(N, C, *spatial)``, already padded) as a ``(g, C/g*K, N*L)`` matrix.

    Column ``n * L + l`` holds the receptive field of output position ``l`` of sample ``n``,
    ordered like the weight's ``(C/g, *kernel)`` axes, so ``weight(g, O/g, C/g*K) @ cols`` is the
    convolution.
    """
    n, c = x.shape[:2]
    cg = c // groups
    st = x.strides
    nd = len(kernel)
    shape = (groups, cg, *kernel, n, *out)
    strides = (
        (st[1] * cg, st[1])
        + tuple(st[2 + i] * dilation[i] for i in range(nd))
        + (st[0],)
        + tuple(st[2 + i] * stride[i] for i in range(nd))
    )
    win = xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)
    # NOTE: this reshape is the one copy (the im2col); its innermost loop runs along the output
    # row, which is contiguous in memory for stride 1.
    return win.reshape(groups, cg * math.prod(kernel), n * math.prod(out))


def col2im(xp, cols, shape, kernel, stride, dilation, out, groups):
    """Adjoint of :func:`im2col`: scatter-add ``cols`` into a zero image of ``shape``."""
    n, c = shape[:2]
    img = xp.zeros(shape, dtype=cols.dtype)
    # (C, *kernel, N, *out): group and channel axes merge without a copy.
    dc = cols.reshape(c, *kernel, n, *out)
    for offs in itertools.product(*(range(k) for k in kernel)):
        sl = tuple(
            slice(o * dilation[i], o * dilation[i] + stride[i] * (out[i] - 1) + 1, stride[i])
            for i, o in enumerate(offs)
        )
        piece = dc[(slice(None),) + offs]  # (C, N, *out)
        img[(slice(None), slice(None)) + sl] += piece.swapaxes(0, 1)
    return img


def _pad_input(xp, x, padding):
    """``x`` with ``padding`` (one ``(lo, hi)`` pair per spatial dim) zeros around it."""
    if not any(lo or hi for lo, hi in padding):
        return x
    shape = x.shape[:2] + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], padding))
    xpad = xp.zeros(shape, dtype=x.dtype)
    inner = tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape[2:], padding))
    xpad[(slice(None), slice(None)) + inner] = x
    return xpad


def _to_nchw(xp, y, n, out):
    """``(C, N*L)`` (or ``(g, C/g, N*L)``) matmul output as a contiguous ``(N, C, *out)`` array."""
    c = y.shape[0] * y.shape[1] if y.ndim == 3 else y.shape[0]
    return xp.ascontiguousarray(y.reshape(c, n, *out).swapaxes(0, 1))


def _to_gcl(g_out, groups):
    """``(N, C, *sp)`` gradient as the ``(g, C/g, N*L)`` matrix the matmuls want (one copy)."""
    n, c = g_out.shape[:2]
    npos = math.prod(g_out.shape[2:])
    return (
        g_out.reshape(n, groups, c // groups, npos)
        .transpose(1, 2, 0, 3)
        .reshape(groups, -1, n * npos)
    )


# NOTE: with this many channels per group or more, ConvNd works channels-last inside (see
# im2col_cl): the windows' innermost runs are kernel_width * channels long instead of one output
# row, which makes im2col ~6x and col2im ~3x faster for 16 channels on an 8x8 image; with 1-3
# channels (an image input) the NCHW layout's output rows are the longer runs.
_CL_MIN_CHANNELS = 4


def pad_cl(xp, x, padding):
    """``(N, C, *sp)`` as a channels-last ``(N, *padded_sp, C)`` array (one copy, zero padding)."""
    n, c = x.shape[:2]
    sp = x.shape[2:]
    shape = (n,) + tuple(s + lo + hi for s, (lo, hi) in zip(sp, padding)) + (c,)
    out = xp.empty(shape, dtype=x.dtype)
    if any(lo or hi for lo, hi in padding):
        out.fill(0)
    inner = tuple(slice(lo, lo + s) for s, (lo, _) in zip(sp, padding))
    out[(slice(None),) + inner] = xp.moveaxis(x, 1, -1)
    return out


def im2col_cl(xp, xcl, kernel, stride, dilation, out, groups):
    """The windows of a channels-last ``xcl`` (``(N, *sp, C)``, padded) as ``(g, N*L, K*C/g)``.

    Row ``n * L + l`` holds the receptive field of output position ``l`` of sample ``n``, ordered
    ``(*kernel, C/g)``; for dilation 1 its ``kernel_width * C/g`` innermost values are contiguous
    in ``xcl``, so the one copy moves long runs.
    """
    n, c = xcl.shape[0], xcl.shape[-1]
    cg = c // groups
    st = xcl.strides
    nd = len(kernel)
    shape = (groups, n, *out, *kernel, cg)
    strides = (
        (st[-1] * cg, st[0])
        + tuple(st[1 + i] * stride[i] for i in range(nd))
        + tuple(st[1 + i] * dilation[i] for i in range(nd))
        + (st[-1],)
    )
    win = xp.lib.stride_tricks.as_strided(xcl, shape=shape, strides=strides)
    return win.reshape(groups, n * math.prod(out), math.prod(kernel) * cg)


def col2im_cl(xp, dcols, pshape, kernel, stride, dilation, out, groups):
    """Adjoint of :func:`im2col_cl`, with the columns split by kernel offset: scatter-add
    ``dcols`` of shape ``(g, K, N*L, C/g)`` into a zero channels-last image of ``pshape``.

    Each offset's piece is contiguous, so each of the ``K`` strided ``+=`` reads one block; the
    ``(g, N*L, K*C/g)`` layout of ``im2col_cl`` would make them gather ``C/g``-long runs (3x
    slower for 16 channels).
    """
    n, c = pshape[0], pshape[-1]
    cg = c // groups
    img = xp.zeros(pshape, dtype=dcols.dtype)
    img_g = img.reshape(pshape[:-1] + (groups, cg))
    dc = dcols.reshape((groups, -1, n) + tuple(out) + (cg,))
    for j, offs in enumerate(itertools.product(*(range(k) for k in kernel))):
        sl = tuple(
            slice(o * dilation[i], o * dilation[i] + stride[i] * (out[i] - 1) + 1, stride[i])
            for i, o in enumerate(offs)
        )
        img_g[(slice(None),) + sl] += xp.moveaxis(dc[:, j], 0, -2)  # (N, *out, g, C/g)
    return img


class ConvNd(Op):
    """Convolution (cross-correlation, as PyTorch) of ``(N, C, *sp)`` with ``(O, C/g, *k)``.

    ``padding`` is one ``(lo, hi)`` pair per spatial dim (``'same'`` with an even kernel pads
    one more on the high side, as PyTorch does). Inputs with at least ``_CL_MIN_CHANNELS``
    channels per group are convolved channels-last inside; results are NCHW either way.
    """

    saves_inputs = (0, 1)

    def forward(self, x, w, b, stride, padding, dilation, groups):
        xp = self.xp
        kernel = w.shape[2:]
        cg = w.shape[1]
        self.cl = cl = cg >= _CL_MIN_CHANNELS
        xpad = pad_cl(xp, x, padding) if cl else _pad_input(xp, x, padding)
        psp = xpad.shape[1:-1] if cl else xpad.shape[2:]
        out = tuple(
            (psp[i] - dilation[i] * (k - 1) - 1) // stride[i] + 1 for i, k in enumerate(kernel)
        )
        if cl:
            cols = im2col_cl(xp, xpad, kernel, stride, dilation, out, groups)  # (g, N*L, K*cg)
            # The weight in the same (*kernel, C/g) order: a small copy.
            wm = xp.ascontiguousarray(xp.moveaxis(w, 1, -1)).reshape(groups, -1, cols.shape[2])
            y = xp.matmul(wm, cols.swapaxes(1, 2))  # (g, O/g, N*L): one GEMM per group
        else:
            cols = im2col(xp, xpad, kernel, stride, dilation, out, groups)  # (g, cg*K, N*L)
            wm = w.reshape(groups, w.shape[0] // groups, -1)
            y = xp.matmul(wm, cols)
        y = y.reshape(w.shape[0], -1)
        if b is not None:
            y += b[:, None]
        self.cols, self.wm, self.has_b = cols, wm, b is not None
        self.x_shape, self.pad_shape, self.padding = x.shape, xpad.shape, padding
        self.kernel, self.stride, self.dilation, self.groups, self.out = (
            kernel,
            stride,
            dilation,
            groups,
            out,
        )
        return _to_nchw(xp, y, x.shape[0], out)

    def backward(self, g):
        xp = self.xp
        gm = _to_gcl(g, self.groups)  # (g, O/g, N*L), contiguous
        need_x, need_w, need_b = (n is not None for n in self.next)
        gw = gb = gx = None
        if need_w:
            if self.cl:
                gw = xp.matmul(gm, self.cols)  # (g, O/g, K*cg)
                gw = gw.reshape((gw.shape[0] * gw.shape[1], *self.kernel, -1))
                gw = xp.ascontiguousarray(xp.moveaxis(gw, -1, 1))
            else:
                gw = xp.matmul(gm, self.cols.swapaxes(1, 2))  # (g, O/g, cg*K)
                gw = gw.reshape(gw.shape[0] * gw.shape[1], -1, *self.kernel)
        if need_b:
            # NOTE: a sum over the contiguous last axis of gm, not over axes (0, 2, 3) of g.
            gb = gm.sum(axis=-1).reshape(-1)
        if not need_x:
            # NOTE: the first layer's input needs no gradient: skip the GEMM and the col2im.
            return gx, gw, gb
        args = (self.pad_shape, self.kernel, self.stride, self.dilation, self.out, self.groups)
        if self.cl:
            # NOTE: one GEMM per kernel offset, each giving that offset's (N*L, cg) block
            # contiguously, for col2im_cl; this costs less than the scatter it speeds up.
            wm = self.wm
            wk = wm.reshape(wm.shape[0], wm.shape[1], -1, self.x_shape[1] // self.groups)
            dcols = xp.matmul(gm.swapaxes(1, 2)[:, None], wk.transpose(0, 2, 1, 3))
            gpad = col2im_cl(xp, dcols, *args)
            inner = tuple(slice(lo, lo + s) for s, (lo, _) in zip(self.x_shape[2:], self.padding))
            gx = xp.ascontiguousarray(xp.moveaxis(gpad[(slice(None),) + inner], -1, 1))
            return gx, gw, gb
        dcols = xp.matmul(self.wm.swapaxes(1, 2), gm)  # (g, cg*K, N*L)
        gpad = col2im(xp, dcols, *args)
        inner = tuple(slice(lo, lo + s) for s, (lo, _) in zip(self.x_shape[2:], self.padding))
        gx = gpad[(slice(None), slice(None)) + inner] if gpad.shape != self.x_shape else gpad
        return gx, gw, gb

    def name(self) -> str:
        return "ConvolutionBackward0"


class ConvTransposeNd(Op):
    """Transposed convolution of ``(N, Cin, *sp)`` with ``(Cin, Cout/g, *k)`` (PyTorch's layout).

    Output size per dim: ``(in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding
    + 1``. ``padding`` and ``output_padding`` are one int per spatial dim.
    """

    saves_inputs = (0, 1)

    def forward(self, x, w, b, stride, padding, output_padding, dilation, groups):
        xp = self.xp
        n = x.shape[0]
        sp = x.shape[2:]
        kernel = w.shape[2:]
        cout = w.shape[1] * groups
        full = tuple(
            (s - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1 for i, s in enumerate(sp)
        )
        size = tuple(f - 2 * padding[i] + output_padding[i] for i, f in enumerate(full))
        # NOTE: output_padding may reach past the last window; the buffer grows to hold it.
        buf = tuple(max(f, padding[i] + size[i]) for i, f in enumerate(full))
        xm = _to_gcl(x, groups)  # (g, Cin/g, N*L)
        wm = w.reshape(groups, w.shape[0] // groups, -1)  # (g, Cin/g, Cout/g*K)
        cols = xp.matmul(wm.swapaxes(1, 2), xm)  # (g, Cout/g*K, N*L)
        img = col2im(xp, cols, (n, cout) + buf, kernel, stride, dilation, sp, groups)
        crop = tuple(slice(p, p + s) for p, s in zip(padding, size))
        y = img[(slice(None), slice(None)) + crop]
        if b is not None:
            y += b.reshape((1, -1) + (1,) * len(sp))
        self.xm, self.wm, self.has_b = xm, wm, b is not None
        self.x_shape, self.buf, self.crop = x.shape, (n, cout) + buf, crop
        self.kernel, self.stride, self.dilation, self.groups = kernel, stride, dilation, groups
        return xp.ascontiguousarray(y)

    def backward(self, g):
        xp = self.xp
        gbuf = xp.zeros(self.buf, dtype=g.dtype)
        gbuf[(slice(None), slice(None)) + self.crop] = g
        sp = self.x_shape[2:]
        cols = im2col(xp, gbuf, self.kernel, self.stride, self.dilation, sp, self.groups)
        gx = _to_nchw(xp, xp.matmul(self.wm, cols), self.x_shape[0], sp)
        gw = xp.matmul(self.xm, cols.swapaxes(1, 2))  # (g, Cin/g, Cout/g*K)
        gw = gw.reshape(gw.shape[0] * gw.shape[1], -1, *self.kernel)
        gb = g.sum(axis=(0,) + tuple(range(2, g.ndim))) if self.has_b else None
        return gx, gw, gb

    def name(self) -> str:
        return "ConvolutionBackward0"
