"""Statistics, norms and copies of the arrays the recorder looks at (levels "stats", "values",
and the per-use gradients of parameters).

The hot path only runs the array reductions; turning their results into Python floats and
:class:`~graphlab.trace.events.Stats` records waits until someone reads the trace
(:func:`finish`). On a GPU every result stays on the device, wrapped in :class:`Dev`, until the
pass closes and moves them to the host in one go (never one sync per op).
"""

from __future__ import annotations

import math
import sys

import numpy as np

from .events import Stats

__all__ = ["Dev", "summary", "norm", "copy", "finish", "norm_value", "to_host"]

_ONES_MAX = 1 << 22  # elements; larger arrays are summed by NumPy (no big ones-vector kept)
_ones_cache: dict = {}
_isfinite = math.isfinite
_min, _max = np.minimum.reduce, np.maximum.reduce  # NOTE: ndarray.min/max without the wrapper
_ndarray = np.ndarray
moments = None  # the C one-pass kernel (graphlab.trace._accel sets it where it was built)


class Dev:
    """A device array (CuPy) waiting to be copied to the host when its pass closes."""

    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a


def to_host(x, aside: bool = False):
    """``x`` with every :class:`Dev` inside (tuples and lists, nested) replaced by a NumPy
    copy. ``aside``: copy on a non-blocking stream of the recorder's own (which waits for no
    other stream's work; the data must be ready)."""
    t = type(x)
    if t is Dev:
        return _get_aside(x.a) if aside else x.a.get()
    if t is tuple or t is list:
        return t(to_host(v, aside) for v in x)
    return x


_side_streams: dict = {}  # CUDA device id -> the recorder's non-blocking stream there


def _get_aside(a) -> np.ndarray:
    """A NumPy copy of CuPy array ``a``, made on the recorder's own stream of its device."""
    import cupy

    with a.device:
        s = _side_streams.get(a.device.id)
        if s is None:
            s = _side_streams[a.device.id] = cupy.cuda.Stream(non_blocking=True)
        return a.get(stream=s)  # NOTE: waits for this copy only


def _ones(m: int, dt) -> np.ndarray:
    """A cached vector of ``m`` ones of dtype ``dt`` (a view of a longer one)."""
    o = _ones_cache.get(dt)
    if o is None or o.size < m:
        o = _ones_cache[dt] = np.ones(max(m, 4096, 0 if o is None else 2 * o.size), dtype=dt)
    return o[:m]


def summary(a):
    """``(raw statistics, squared 2-norm)`` of array ``a``.

    The raw statistics become a :class:`Stats` through :func:`finish`: min, max, mean and
    population std over the finite elements (as ``graphlab.inspect``), NaN and Inf counts, the
    element count. The squared norm is NaN or Inf when ``a`` holds one. On a GPU both are
    :class:`Dev` (see :func:`norm_value`).
    """
    if type(a) is not _ndarray:
        if not isinstance(a, (np.ndarray, np.generic)) and hasattr(a, "device"):
            return Dev(_stats_device(a)), _sq_device(a)
        a = np.asarray(a)
    n = a.size
    if n == 0:
        return (math.nan, math.nan, math.nan, math.nan, 0, 0, 0), 0.0
    if moments is not None:
        m = moments(a)  # NOTE: one pass in C for finite, contiguous float32/float64 arrays
        if m is not None:
            lo, hi, total, sq = m
            return _finite_summary(a, n, lo, hi, total, sq), sq
    dt = a.dtype
    if dt.kind != "f" or dt.itemsize < 4:
        a = np.abs(a) if dt.kind == "c" else a.astype(np.float64 if dt.kind != "f" else np.float32)
    flat = a.reshape(-1)
    lo, hi = _min(flat), _max(flat)
    # NOTE: NaN propagates through min and max, and an Inf would be the min or the max, so two
    # finite extremes prove the array clean without counting (the common, cheap case).
    if not (_isfinite(lo) and _isfinite(hi)):
        return _summary_nonfinite(flat, n)
    sq = float(flat.dot(flat))
    if lo == hi:  # NOTE: every element equal (a scalar loss, a zero gradient): no spread to sum
        return _finite_summary(flat, n, lo, hi, float(lo) * n, sq), sq
    # NOTE: two BLAS dot products for the sum and the sum of squares instead of NumPy's slower
    # pairwise sum and a two-pass std.
    total = float(flat.dot(_ones(n, flat.dtype))) if n <= _ONES_MAX else float(flat.sum())
    return _finite_summary(flat, n, lo, hi, total, sq), sq


def _finite_summary(a, n: int, lo, hi, total: float, sq: float) -> tuple:
    """The raw statistics of ``a`` (``n`` finite elements) from its extremes, sum and sum of
    squares; the two-pass formula only runs when the mean dwarfs the spread (where
    E[x²] - E[x]² cancels)."""
    if lo == hi:
        return (lo, hi, float(lo), 0.0, 0, 0, n)
    mean = total / n
    var = sq / n - mean * mean
    if not var > 1e-3 * mean * mean:
        d = a.reshape(-1).astype(np.float64) - mean
        var = float(d.dot(d)) / n
    return (lo, hi, mean, var, 0, 0, n)


def _summary_nonfinite(flat, n: int):
    """:func:`summary` of an array holding NaN or Inf (counted, then left out)."""
    bad_nan = np.isnan(flat)
    bad_inf = np.isinf(flat)
    nan, inf = int(np.count_nonzero(bad_nan)), int(np.count_nonzero(bad_inf))
    sq = math.nan if nan else math.inf
    flat = flat[~(bad_nan | bad_inf)]
    m = flat.size
    if m == 0:
        return (math.nan, math.nan, math.nan, math.nan, nan, inf, n), sq
    mean = float(flat.astype(np.float64).sum()) / m
    d = flat.astype(np.float64) - mean
    return (flat.min(), flat.max(), mean, float(d.dot(d)) / m, nan, inf, n), sq


def finish(s) -> Stats:
    """The :class:`Stats` of raw statistics from :func:`summary` (after :func:`to_host`)."""
    if type(s) is not tuple:  # NOTE: a device result: an array (min, max, mean, std, …)
        lo, hi, mean, std, nan, inf, count = (float(v) for v in s)
        return Stats(lo, hi, mean, std, int(nan), int(inf), int(count))
    lo, hi, mean, var, nan, inf, count = s
    return Stats(float(lo), float(hi), mean, math.sqrt(max(var, 0.0)), nan, inf, count)


def norm_value(sq) -> float:
    """The 2-norm from a squared norm (from :func:`summary` or :func:`norm`, after
    :func:`to_host`)."""
    sq = float(sq)
    return math.sqrt(sq) if sq >= 0.0 else sq  # NOTE: NaN stays NaN


def _stats_device(a):
    """The statistics of a CuPy array as one small device array (no host sync)."""
    xp = sys.modules["cupy"]
    n = a.size
    if n == 0:
        return xp.asarray([math.nan] * 4 + [0, 0, 0], dtype=xp.float64)
    f = a.astype(xp.float64).reshape(-1)
    nan_mask, inf_mask = xp.isnan(f), xp.isinf(f)
    ok = ~(nan_mask | inf_mask)
    cnt = ok.sum()
    safe = xp.where(ok, f, 0.0)
    mean = safe.sum() / xp.maximum(cnt, 1)
    var = xp.where(ok, (f - mean) ** 2, 0.0).sum() / xp.maximum(cnt, 1)
    lo = xp.where(ok, f, xp.inf).min()
    hi = xp.where(ok, f, -xp.inf).max()
    empty = cnt == 0
    return xp.stack(
        [
            xp.where(empty, xp.nan, lo),
            xp.where(empty, xp.nan, hi),
            xp.where(empty, xp.nan, mean),
            xp.where(empty, xp.nan, xp.sqrt(var)),
            nan_mask.sum().astype(xp.float64),
            inf_mask.sum().astype(xp.float64),
            xp.asarray(float(n)),
        ]
    )


def norm(a):
    """The squared 2-norm of gradient array ``a`` (see :func:`norm_value`; a :class:`Dev` of it
    on a GPU)."""
    if type(a) is _ndarray and a.dtype.kind == "f":
        f = a if a.ndim == 1 else a.reshape(-1)
        return f.dot(f)
    if isinstance(a, (np.ndarray, np.generic, float, int)):
        f = np.asarray(a, dtype=np.float64).reshape(-1)
        return f.dot(f)
    return _sq_device(a)


def _sq_device(a) -> Dev:
    """The squared 2-norm of a CuPy array, left on the device."""
    f = a.reshape(-1)
    if f.dtype.kind == "f":
        return Dev(f.dot(f))
    cp = sys.modules["cupy"]
    return Dev(cp.square(cp.linalg.norm(f)))


def copy(a):
    """A host copy of array ``a`` (a device copy, moved to the host at pass close, on a GPU)."""
    if isinstance(a, (np.ndarray, np.generic)):
        return np.array(a, copy=True)
    return Dev(a.copy())
