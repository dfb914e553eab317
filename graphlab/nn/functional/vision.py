"""``pad`` (constant, reflect, replicate, circular) and ``interpolate`` (nearest, linear, bilinear).

``pad`` takes PyTorch's pad tuple, which starts from the *last* dim: ``(left, right)`` pads the
last dim, ``(left, right, top, bottom)`` the last two, and so on. ``interpolate`` computes source
positions exactly as PyTorch does (``align_corners``, ``scale_factor`` used as given unless
``recompute_scale_factor``), so results match it to rounding.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ...functions.elementwise import _t
from ...ops import nn_ops
from ...ops import pool as P
from ...tensor import Tensor

__all__ = ["pad", "interpolate"]

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_pairs(pad, ndim: int) -> list[tuple[int, int]]:
    """PyTorch's flat pad tuple as ``(lo, hi)`` pairs for the trailing dims, first dim first."""
    if not isinstance(pad, (tuple, list)) or not all(
        isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in pad
    ):
        raise TypeError(f"pad: pad must be a tuple of ints, got {pad!r}")
    if len(pad) % 2:
        raise ValueError(f"pad: pad length must be even (pairs of left, right), got {len(pad)}")
    if len(pad) // 2 > ndim:
        raise ValueError(
            f"pad: pad {tuple(pad)} covers {len(pad) // 2} dims but the input has only {ndim}"
        )
    pairs = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)]
    return pairs[::-1]


def _index_map(mode: str, n: int, lo: int, hi: int, xp):
    j = xp.arange(-lo, n + hi)
    if mode == "reflect":
        j = xp.abs(j)
        return xp.where(j >= n, 2 * (n - 1) - j, j)
    if mode == "replicate":
        return xp.clip(j, 0, n - 1)
    return j % n  # circular


def pad(input, pad, mode: str = "constant", value=None) -> Tensor:  # noqa: A002
    """Pad trailing dims of ``input``; ``pad`` lists ``(left, right)`` amounts from the last dim.

    ``mode='constant'`` fills with ``value`` (default 0; negative amounts crop); ``'reflect'``
    mirrors without repeating the edge (amount < size), ``'replicate'`` repeats the edge,
    ``'circular'`` wraps around (amount <= size).
    """
    x = _t(input, "pad")
    pairs = _pad_pairs(pad, x.ndim)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(_PAD_MODES)}, got {mode!r}")
    dims = x.shape[x.ndim - len(pairs) :]
    if mode == "constant":
        for n, (lo, hi) in zip(dims, pairs):
            if n + lo + hi < 0:
                raise RuntimeError(
                    f"pad: padding {tuple(pad)} would give a negative size for input shape "
                    f"{tuple(x.shape)}"
                )
        return nn_ops.ConstantPad.apply(x, pads=tuple(pairs), value=0 if value is None else value)
    if value is not None and value != 0:
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in a value argument")
    if len(pairs) >= x.ndim:
        raise ValueError(
            f"pad: {mode} padding of {len(pairs)} dims needs an input with a leading (channel) "
            f"dim, got shape {tuple(x.shape)}"
        )
    for i, (n, (lo, hi)) in enumerate(zip(dims, pairs)):
        dim = x.ndim - len(pairs) + i
        if lo < 0 or hi < 0:
            raise ValueError(f"pad: {mode} padding must be non-negative, got {tuple(pad)}")
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(
                f"pad: reflect padding ({lo}, {hi}) must be smaller than the size {n} of dim "
                f"{dim} (input shape {tuple(x.shape)})"
            )
        if mode == "circular" and (lo > n or hi > n):
            raise ValueError(
                f"pad: circular padding ({lo}, {hi}) must be at most the size {n} of dim {dim} "
                f"(input shape {tuple(x.shape)})"
            )
        if mode == "replicate" and n == 0 and lo + hi:
            raise ValueError(f"pad: cannot replicate-pad the empty dim {dim}")

    def make(xp):
        return [_index_map(mode, n, lo, hi, xp) for n, (lo, hi) in zip(dims, pairs)]

    return nn_ops.IndexPad.apply(x, make_maps=make)


# ----- interpolate --------------------------------------------------------------------------------

_MODES = {"nearest": None, "nearest-exact": None, "linear": 1, "bilinear": 2}


def _nearest_indices(n: int, m: int, scale, exact: bool) -> np.ndarray:
    """PyTorch's nearest source index, computed in float32 as its kernel does."""
    s = np.float32(1.0 / scale) if scale is not None else np.float32(n) / np.float32(m)
    dst = np.arange(m, dtype=np.float32)
    if exact:
        src = np.floor((dst + np.float32(0.5)) * s)
    else:
        src = np.floor(dst * s)
    return np.minimum(src.astype(np.int64), n - 1)


def _linear_matrix(xp, n: int, m: int, scale, align_corners: bool, dtype):
    """``(m, n)`` matrix of linear interpolation weights (PyTorch's source positions)."""
    i = np.arange(m, dtype=np.float64)
    if align_corners:
        src = i * ((n - 1) / (m - 1)) if m > 1 else np.zeros(m)
    else:
        s = 1.0 / scale if scale is not None else n / m
        src = np.maximum((i + 0.5) * s - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    lam = src - i0
    a = np.zeros((m, n))
    np.add.at(a, (np.arange(m), i0), 1.0 - lam)
    np.add.at(a, (np.arange(m), i1), lam)
    return xp.asarray(a.astype(dtype))


def interpolate(
    input,  # noqa: A002
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims of ``(N, C, *spatial)`` to ``size`` or by ``scale_factor``.

    Modes: ``'nearest'`` and ``'nearest-exact'`` (any of 1-3 spatial dims), ``'linear'`` (1),
    ``'bilinear'`` (2), with ``align_corners`` (default False) for the last two.
    """
    x = _t(input, "interpolate")
    if mode not in _MODES:
        raise NotImplementedError(
            f"interpolate: mode {mode!r} is not supported; use one of {', '.join(_MODES)}"
        )
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    nd = x.ndim - 2
    if nd < 1 or nd > 3 or (_MODES[mode] is not None and _MODES[mode] != nd):
        want = "3D, 4D or 5D" if _MODES[mode] is None else f"{_MODES[mode] + 2}D"
        raise ValueError(
            f"interpolate: mode {mode!r} expects {want} input (N, C, *spatial), got input of "
            f"shape {tuple(x.shape)}"
        )
    if _MODES[mode] is None and align_corners is not None:
        raise ValueError(
            "interpolate: align_corners option can only be set with the interpolating modes: "
            "linear | bilinear | bicubic | trilinear"
        )
    if not x.is_floating_point():
        raise RuntimeError(f"interpolate: expected a floating-point input, got {x.dtype}")
    sizes = tuple(x.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        out = (size,) * nd if isinstance(size, numbers.Integral) else tuple(size)
        if len(out) != nd:
            raise ValueError(
                f"interpolate: size {size!r} must have {nd} entries for input of shape "
                f"{tuple(x.shape)}"
            )
        scales = (None,) * nd
    else:
        sf = (scale_factor,) * nd if isinstance(scale_factor, numbers.Real) else scale_factor
        sf = tuple(float(s) for s in sf)
        if len(sf) != nd:
            raise ValueError(
                f"interpolate: scale_factor {scale_factor!r} must have {nd} entries for input "
                f"of shape {tuple(x.shape)}"
            )
        out = tuple(int(math.floor(n * s)) for n, s in zip(sizes, sf))
        scales = (None,) * nd if recompute_scale_factor else sf
    out = tuple(int(o) for o in out)
    if any(o <= 0 for o in out):
        raise ValueError(f"interpolate: output size must be positive, got {out}")
    if _MODES[mode] is None:
        exact = mode == "nearest-exact"
        idx = [_nearest_indices(n, m, s, exact) for n, m, s in zip(sizes, out, scales)]

        def make_indices(xp):
            return [xp.asarray(i) for i in idx]

        return P.GatherAxes.apply(x, make_indices=make_indices)
    ac = bool(align_corners)

    def make_maps(xp, dtype):
        return [_linear_matrix(xp, n, m, s, ac, dtype) for n, m, s in zip(sizes, out, scales)]

    return P.AxisMaps.apply(x, make_maps=make_maps)
