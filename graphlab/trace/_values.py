"""Value references: how the recorder names the tensors and constants an op reads.

While a pass records, a tensor an op reads is one of:

- the output of an op recorded earlier in the pass: its event id (an ``int``), found through
  the tensor's graph node (``Op._trace``) or, for outputs without one, the pass's ``vid_of``;
- a value no op of the pass made (an input, a parameter, a constant, a tensor written in place
  since it was seen): a :class:`Leaf`, its description. A tensor keeps its Leaf from pass to
  pass (a :class:`LeafEntry` in ``Tensor._trace_leaf``; see :func:`leaf_of`), since a
  training loop reads the same parameters every step;
- a constant: ``(value,)``, or an :class:`ArrayConst` for a large NumPy array.

Value ids are given from those refs when the trace is read (:mod:`._build`). Constants and op
attributes are kept as plain, immutable data — never a live array or tensor (see :func:`plain`).
"""

from __future__ import annotations

import contextlib

import numpy as np

from .. import _dtype
from ..tensor import Tensor

__all__ = ["PLAIN", "ArrayConst", "Leaf", "LeafEntry", "leaf_of", "plain", "operand"]

PLAIN = frozenset((int, float, bool, str, complex, type(None)))
_SMALL_ARRAY = 64  # attribute arrays up to this many elements are kept as nested tuples


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


class LeafEntry:
    """What the recorder remembers of a tensor it described as a :class:`Leaf`, kept on the
    tensor itself (``Tensor._trace_leaf``), so it dies with the tensor: the ids of the tensor,
    its graph node and its array when the Leaf was made, the parameter table it was named from,
    the Leaf and its ``requires_grad``, the last pass that read it and the tensor's version
    then. ``use`` is the C recorder's (the last parameter use it noted, or False for a tensor
    that is no parameter; see ``_fastrec.c``).

    NOTE: the ids are compared, never dereferenced; ``owner`` tells a copy of the tensor's
    slots apart. ``graphlab.trace._accel`` replaces this class by the C one of ``_fastrec.c``
    (same fields, read in place by the C op observer) when the extension is built.
    """

    __slots__ = ("owner", "gf", "data", "params", "leaf", "rg", "last", "version", "use")

    def __init__(self, owner, gf, data, params, leaf, rg, last, version):
        self.owner = owner
        self.gf = gf
        self.data = data
        self.params = params
        self.leaf = leaf
        self.rg = rg
        self.last = last
        self.version = version
        self.use = None


def leaf_of(p, t: Tensor, gf) -> Leaf:
    """The :class:`Leaf` of tensor ``t`` (grad_fn ``gf``) in pass ``p``.

    The same tensor, with the same node, array, parameter names and requires_grad, shows the
    same in every pass, so its Leaf is reused from pass to pass (a training loop reads the same
    parameters every step, a new version of each after the optimizer's update). Within one
    pass a Leaf is one value: a tensor written in place since it was read gets a new one.
    Notes in ``p.reused`` a parameter read more than once in the pass.
    """
    e = getattr(t, "_trace_leaf", None)
    params = p.params
    rg = t.requires_grad
    if (
        e is not None
        and e.owner == id(t)
        and e.gf == id(gf)
        and e.data == id(t._data)
        and e.params is params
        and e.rg is rg
    ):
        version = t._version.value
        if e.last != p.index:
            e.last = p.index
            e.version = version
            return e.leaf
        if e.version == version:
            leaf = e.leaf
            if leaf.param is not None:
                p.reuse(id(t))  # NOTE: a parameter read again (tied, or a loop)
            return leaf
    pe = params.get(id(t))
    if pe is not None and pe[0]() is not t:
        pe = None
    leaf = Leaf(t, gf, pe)
    t._trace_leaf = LeafEntry(
        id(t), id(gf), id(t._data), params, leaf, rg, p.index, t._version.value
    )
    return leaf


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
