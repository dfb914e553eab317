"""Matrix products: ``matmul`` (``@``), ``mm``, ``bmm``, ``mv``, ``dot``, ``outer``."""

from __future__ import annotations

from ..ops._util import operands
from ..ops.linalg import MatMul
from .elementwise import _t


def matmul(input, other):  # noqa: A002
    """Matrix product with NumPy's rules: 1-d operands, batching and batch broadcasting."""
    a, b = _t(input, "matmul"), _t(other, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"matmul: both arguments need at least 1 dimension, got {a.ndim}D and {b.ndim}D "
            "(use * for scalars)"
        )
    k_a = a.shape[-1]
    k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if k_a != k_b:
        sa = "x".join(map(str, a.shape))
        sb = "x".join(map(str, b.shape))
        raise RuntimeError(
            f"matmul: mat1 and mat2 shapes cannot be multiplied ({sa} and {sb}); the last dim "
            f"of the first ({k_a}) must equal the {'first' if b.ndim == 1 else 'second-to-last'} "
            f"dim of the second ({k_b})"
        )
    a, b, _ = operands("matmul", a, b) if a.dtype is not b.dtype else (a, b, None)
    if a.ndim > 2 and b.ndim > 2:
        from ..ops._util import check_broadcast

        check_broadcast("matmul", a.shape[:-2], b.shape[:-2])
    return MatMul.apply(a, b)


def mm(input, mat2):  # noqa: A002
    """Product of two matrices (2-d only)."""
    if _t(input, "mm").ndim != 2 or _t(mat2, "mm").ndim != 2:
        raise RuntimeError(
            f"mm: expected 2-D tensors, got {input.ndim}D and {mat2.ndim}D; use "
            "matmul for other shapes"
        )
    return matmul(input, mat2)


def bmm(input, mat2):  # noqa: A002
    """Batched product of two 3-d tensors with equal batch sizes."""
    if _t(input, "bmm").ndim != 3 or _t(mat2, "bmm").ndim != 3:
        raise RuntimeError(f"bmm: expected 3-D tensors, got {input.ndim}D and {mat2.ndim}D")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {input.shape[0]} and {mat2.shape[0]}")
    return matmul(input, mat2)


def mv(input, vec):  # noqa: A002
    """Matrix-vector product."""
    if _t(input, "mv").ndim != 2 or _t(vec, "mv").ndim != 1:
        raise RuntimeError(
            f"mv: expected a 2-D and a 1-D tensor, got {input.ndim}D and {vec.ndim}D"
        )
    return matmul(input, vec)


def dot(input, other):  # noqa: A002
    """Inner product of two 1-d tensors."""
    if _t(input, "dot").ndim != 1 or _t(other, "dot").ndim != 1:
        raise RuntimeError(
            f"dot: 1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors"
        )
    return matmul(input, other)


def outer(input, vec2):  # noqa: A002
    """Outer product of two 1-d tensors."""
    return _t(input, "outer").reshape(-1, 1) * _t(vec2, "outer").reshape(1, -1)


__all__ = ["matmul", "mm", "bmm", "mv", "dot", "outer"]
