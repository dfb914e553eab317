"""Value references: how the recorder names the tensors and constants an op reads.

While a pass records, a tensor an op reads is one of:

- the output of an op recorded earlier in the pass: its event id (an ``int``), found through
  the tensor's graph node (``Op._trace``) or, for outputs without one, the pass's ``vid_of``;
- a value no op of the pass made (an input, a parameter, a constant, a tensor written in place
  since it was seen): a :class:`Leaf`, its description. Leaves are cached across passes
  (:func:`leaf_of`), since a training loop reads the same parameters every step;
- a constant: ``(value,)``, or an :class:`ArrayConst` for a large NumPy array.

Value ids are given from those refs when the trace is read (:mod:`._build`). Constants and op
attributes are kept as plain, immutable data — never a live array or tensor (see :func:`plain`).
"""

from __future__ import annotations

import contextlib
import weakref

import numpy as np

from .. import _dtype
from ..tensor import Tensor

__all__ = ["PLAIN", "ArrayConst", "Leaf", "leaf_of", "plain", "operand"]

PLAIN = frozenset((int, float, bool, str, complex, type(None)))
_SMALL_ARRAY = 64  # attribute arrays up to this many elements are kept as nested tuples
_CACHE_MIN = 256  # leaf cache entries before the dead ones are first swept
_wref = weakref.ref


class Leaf:
    """A value no op of the pass made, as a ``ValueRef`` will show it: shape, NumPy dtype,
    device, requires_grad, parameter name and aliases (for a parameter of the pass's roots),
    and whether it is a constant (no gradient, no graph node)."""

    __slots__ = ("shape", "dtype", "device", "requires_grad", "param", "aliases", "const")

    def __init__(self, t: Tensor, gf, pe):
        data = t._data
        self.shape = data.shape
        self.dtype = data.dtype
        self.device = t._device
        self.requires_grad = rg = t.requires_grad
        self.param, self.aliases = (pe[1], pe[2]) if pe is not None else (None, ())
        self.const = gf is None and not rg


# id(tensor) -> [weakref, id(grad_fn), id(array), param table, Leaf, last pass index, version]
_cache: dict = {}
_cache_max = _CACHE_MIN


def leaf_of(p, t: Tensor, gf) -> Leaf:
    """The :class:`Leaf` of tensor ``t`` (grad_fn ``gf``) in pass ``p``.

    The same tensor, with the same node, array, parameter names and requires_grad, shows the
    same in every pass, so its Leaf is reused from pass to pass (a training loop reads the same
    parameters every step, a new version of each after the optimizer's update). Within one
    pass a Leaf is one value: a tensor written in place since it was read gets a new one.
    Notes in ``p.reused`` a parameter read more than once in the pass.
    """
    e = _cache.get(id(t))
    params = p.params
    if (
        e is not None
        and e[0]() is t
        and e[1] == id(gf)
        and e[2] == id(t._data)
        and e[3] is params
        and e[4].requires_grad is t.requires_grad
    ):
        version = t._version.value
        if e[5] != p.index:
            e[5] = p.index
            e[6] = version
            return e[4]
        if e[6] == version:
            leaf = e[4]
            if leaf.param is not None:
                p.reuse(id(t))  # NOTE: a parameter read again (tied, or a loop)
            return leaf
    pe = params.get(id(t))
    if pe is not None and pe[0]() is not t:
        pe = None
    leaf = Leaf(t, gf, pe)
    if len(_cache) >= _cache_max:
        _sweep()
    _cache[id(t)] = [_wref(t), id(gf), id(t._data), params, leaf, p.index, t._version.value]
    return leaf


def _sweep() -> None:
    """Drop the cache entries of dead tensors (a new input batch each step leaves one), and
    let the cache hold twice the live ones before the next sweep."""
    global _cache_max
    for k in [k for k, e in _cache.items() if e[0]() is None]:
        del _cache[k]
    _cache_max = max(_CACHE_MIN, 2 * len(_cache))


class ArrayConst:
    """A NumPy array passed to an op as a constant operand, too big to keep: its description
    (``<int64 array (256,)>``) is only formatted when the trace is read."""

    __slots__ = ("dtype", "shape")

    def __init__(self, dtype, shape):
        self.dtype = dtype
        self.shape = shape

    def __str__(self) -> str:
        return f"<{self.dtype} array {self.shape}>"


# (dtype, shape) -> ArrayConst: one per kind of large constant array (a loss's targets, a
# dropout mask), shared by every event that reads one
_array_consts: dict = {}
_ARRAY_CONSTS_MAX = 1024


def operand(v):
    """A non-tensor op operand as the recorder keeps it: ``(plain value,)``, or an
    :class:`ArrayConst` for a large NumPy array."""
    if type(v) is np.ndarray and v.size > _SMALL_ARRAY:
        key = (v.dtype, v.shape)
        c = _array_consts.get(key)
        if c is None:
            if len(_array_consts) >= _ARRAY_CONSTS_MAX:
                _array_consts.clear()
            c = _array_consts[key] = ArrayConst(v.dtype, v.shape)
        return c
    return (plain(v),)


def plain(v):
    """An op attribute or constant operand as plain, immutable data (never a live array)."""
    t = type(v)
    if t in PLAIN or t is slice or v is Ellipsis:
        return v
    if t is tuple or t is list:
        return tuple(plain(x) for x in v)
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        if v.size <= _SMALL_ARRAY:
            return plain(v.tolist())
        return str(ArrayConst(v.dtype, v.shape))
    if isinstance(v, _dtype.dtype):
        return v.name
    if isinstance(v, (type, np.dtype)):
        with contextlib.suppress(TypeError):
            return np.dtype(v).name
    if isinstance(v, Tensor):
        return f"<tensor {tuple(v.shape)} {v.dtype.name} {v.device}>"
    shape = getattr(v, "shape", None)
    if shape is not None and hasattr(v, "dtype"):
        return f"<{v.dtype} array {tuple(shape)} on {type(v).__module__.split('.')[0]}>"
    if callable(v):
        return getattr(v, "__qualname__", type(v).__name__)
    if t is dict:
        return tuple((str(k), plain(x)) for k, x in v.items())
    return f"<{t.__name__}>"
