"""graphlab's dtypes: named wrappers around NumPy dtypes, and PyTorch's type promotion."""

from __future__ import annotations

import numpy as np


class dtype:  # noqa: N801 - PyTorch spells it lower-case
    """A tensor element type, e.g. ``graphlab.float32``; compares equal only to itself."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_signed", "_rank")

    def __init__(self, name: str, np_dtype, rank: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = self.np.kind == "f"
        self.is_signed = self.np.kind in "fi"
        self._rank = rank  # 0 bool, 1 integer, 2 floating: PyTorch's promotion categories

    def __repr__(self) -> str:
        return f"graphlab.{self.name}"

    def __reduce__(self):
        return self.name  # a module-level singleton


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
float16 = dtype("float16", np.float16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_BY_NP = {d.np: d for d in ALL}
_ALIASES = {
    "half": float16,
    "float": float32,
    "double": float64,
    "short": int16,
    "int": int32,
    "long": int64,
    "bool": bool_,
}
_BY_NAME = {d.name: d for d in ALL} | _ALIASES

_default_float = float32


def get_default_dtype() -> dtype:
    """The dtype Python floats become (``float32`` unless changed)."""
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the dtype Python floats become; only floating dtypes are allowed."""
    global _default_float
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {d}")
    _default_float = d


def to_dtype(d) -> dtype:
    """Turn a graphlab dtype, NumPy dtype, Python type or name into a graphlab dtype."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return _default_float
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    try:
        npd = np.dtype(d)
    except TypeError:
        raise TypeError(f"expected a dtype such as graphlab.float32, got {d!r}") from None
    if npd in _BY_NP:
        return _BY_NP[npd]
    raise TypeError(f"dtype {npd} is not supported; supported: {', '.join(x.name for x in ALL)}")


def from_np(npd) -> dtype:
    """The graphlab dtype of a NumPy/CuPy array's dtype (raises for unsupported ones)."""
    d = _BY_NP.get(npd)
    if d is None:
        return to_dtype(npd)
    return d


def _promote_two(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    if a._rank != b._rank:
        # NOTE: across categories the higher one wins as it is (int64 + float16 is float16 in
        # PyTorch); NumPy would widen to float64.
        return a if a._rank > b._rank else b
    return _BY_NP[np.promote_types(a.np, b.np)]


def _scalar_rank(x) -> int:
    if isinstance(x, bool):
        return 0
    if isinstance(x, int):
        return 1
    return 2


def result_type(*operands) -> dtype:
    """PyTorch's promotion: dimensioned tensors first, then 0-d tensors, then Python scalars.

    A lower-priority operand only changes the result when it is of a higher category
    (bool < integer < floating); e.g. ``int32 tensor + 2.5`` is float32 and
    ``float16 tensor + 2.5`` stays float16.
    """
    dim_t = zero_t = None
    scalar_rank = -1
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            if x.ndim:
                dim_t = d if dim_t is None else _promote_two(dim_t, d)
            else:
                zero_t = d if zero_t is None else _promote_two(zero_t, d)
        else:
            scalar_rank = max(scalar_rank, _scalar_rank(x))
    out = dim_t
    if zero_t is not None:
        out = zero_t if out is None or zero_t._rank > out._rank else out
    if scalar_rank >= 0:
        if out is None or scalar_rank > out._rank:
            out = (bool_, int64, _default_float)[scalar_rank]
    return out
