"""Reductions over dims (int or tuple, ``keepdim``) and softmax."""

from __future__ import annotations

from collections import namedtuple

from .. import _dtype
from ..ops import nograd
from ..ops import reduce as R
from ..ops._util import norm_dim, norm_dims
from ..tensor import Tensor
from .elementwise import _float_input, _t, maximum, minimum

values_indices = namedtuple("values_indices", ["values", "indices"])


def _dims(x, dim, fn):
    return norm_dims(dim, x.ndim, fn)


def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001, A002
    """Sum over ``dim`` (all dims by default); integers and bools sum to int64."""
    x = _t(input, "sum")
    if dtype is not None:
        x = x.to(dtype)
    elif not x.is_floating_point():
        x = x.to(_dtype.int64)
    return R.Sum.apply(x, dims=_dims(x, dim, "sum"), keepdim=keepdim)


def mean(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """Mean over ``dim``; needs a floating dtype (as in PyTorch)."""
    x = _t(input, "mean")
    if dtype is not None:
        x = x.to(dtype)
    if not x.is_floating_point():
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {x.dtype}; call .float() first"
        )
    return R.Mean.apply(x, dims=_dims(x, dim, "mean"), keepdim=keepdim)


def prod(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """Product over one ``dim`` (or all elements)."""
    x = _t(input, "prod")
    if dtype is not None:
        x = x.to(dtype)
    elif not x.is_floating_point():
        x = x.to(_dtype.int64)
    d = None if dim is None else norm_dim(dim, x.ndim, "prod")
    if x.ndim == 0:
        d = None
    return R.Prod.apply(x, dim=d, keepdim=keepdim)


def _extreme(name, largest):
    def fn(input, dim=None, keepdim=False):  # noqa: A002
        x = _t(input, name)
        if isinstance(dim, Tensor):
            return (maximum if largest else minimum)(x, dim)
        if dim is None:
            _nonempty(x, name)
            return R.AMax.apply(x, dims=None, keepdim=False, largest=largest)
        d = norm_dim(dim, x.ndim, name)
        if x.ndim and x.shape[d] == 0:
            raise IndexError(
                f"{name}(): expected reduction dim {d} to have non-zero size, "
                f"got shape {tuple(x.shape)}"
            )
        # NOTE: the index is an op's output (not a raw array) so traces and static graphs see
        # where it comes from; MaxDim reads it as its second input.
        idx = nograd.ArgMax.apply(x, dim=d, keepdim=True, largest=largest)
        values = R.MaxDim.apply(x, idx, dim=d, keepdim=keepdim)
        if x.ndim and not keepdim:
            idx = idx.squeeze(d)
        return values_indices(values, idx)

    fn.__name__ = name
    fn.__doc__ = (
        f"``{name}()`` of all elements (ties share the gradient), or "
        f"``(values, indices)`` along ``dim`` (the gradient goes to the index)."
    )
    return fn


def _nonempty(x, name):
    if x.numel() == 0:
        raise RuntimeError(
            f"{name}(): expected a non-empty tensor (got shape {tuple(x.shape)}); "
            "pass dim= to reduce over a non-empty dimension"
        )


def _nonempty_dims(x, dims, name):
    """A max-like reduction has no identity: the reduced dims must be non-empty (other dims may
    be empty, giving an empty result, as in PyTorch)."""
    if dims is None:
        _nonempty(x, name)
        return
    for d in dims:
        if x.shape[d] == 0:
            raise IndexError(
                f"{name}(): expected reduction dim {d} to have non-zero size, "
                f"got shape {tuple(x.shape)}"
            )


max = _extreme("max", True)  # noqa: A001
min = _extreme("min", False)  # noqa: A001


def amax(input, dim=(), keepdim=False):  # noqa: A002
    """Maximum over ``dim`` (all dims by default); ties share the gradient evenly."""
    x = _t(input, "amax")
    dims = None if dim in ((), None) else _dims(x, dim, "amax")
    _nonempty_dims(x, dims, "amax")
    return R.AMax.apply(x, dims=dims, keepdim=keepdim, largest=True)


def amin(input, dim=(), keepdim=False):  # noqa: A002
    """Minimum over ``dim`` (all dims by default); ties share the gradient evenly."""
    x = _t(input, "amin")
    dims = None if dim in ((), None) else _dims(x, dim, "amin")
    _nonempty_dims(x, dims, "amin")
    return R.AMax.apply(x, dims=dims, keepdim=keepdim, largest=False)


def _arg(name, largest):
    def fn(input, dim=None, keepdim=False):  # noqa: A002
        x = _t(input, name)
        if dim is None:
            _nonempty(x, name)
            d = None
        else:
            d = norm_dim(dim, x.ndim, name)
            _nonempty_dims(x, (d,) if x.ndim else (), name)
        return nograd.ArgMax.apply(x, dim=d, keepdim=keepdim, largest=largest)

    fn.__name__ = name
    fn.__doc__ = f"Index of the {'largest' if largest else 'smallest'} value (int64, no grad)."
    return fn


argmax = _arg("argmax", True)
argmin = _arg("argmin", False)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    """Variance over ``dim``; ``correction=1`` (Bessel's) unless ``unbiased=False``."""
    x = _float_input(input, "var")
    if isinstance(dim, bool):  # var(x, False): PyTorch's old positional unbiased
        dim, unbiased = None, dim
    if correction is None:
        correction = 0 if unbiased is False else 1
    return R.Var.apply(x, dims=_dims(x, dim, "var"), correction=correction, keepdim=keepdim)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    """Standard deviation: ``sqrt(var(...))``; the gradient where all values are equal is 0."""
    x = _float_input(input, "std")
    if isinstance(dim, bool):  # std(x, False): PyTorch's old positional unbiased
        dim, unbiased = None, dim
    if correction is None:
        correction = 0 if unbiased is False else 1
    return R.Std.apply(x, dims=_dims(x, dim, "std"), correction=correction, keepdim=keepdim)


def logsumexp(input, dim, keepdim=False):  # noqa: A002
    """``log(sum(exp(x)))`` over ``dim``, computed without overflow."""
    x = _float_input(input, "logsumexp")
    return R.LogSumExp.apply(x, dims=_dims(x, dim, "logsumexp"), keepdim=keepdim)


def norm(input, p="fro", dim=None, keepdim=False):  # noqa: A002
    """Vector p-norm over ``dim`` (``'fro'`` and 2 are the Euclidean norm)."""
    x = _float_input(input, "norm")
    if p in ("fro", None):
        p = 2.0
    if isinstance(p, str):
        raise ValueError(f"norm: unsupported p={p!r}; use a number, inf, -inf or 'fro'")
    return R.Norm.apply(x, p=float(p), dims=_dims(x, dim, "norm"), keepdim=keepdim)


def _logical(name, op):
    def fn(input, dim=None, keepdim=False):  # noqa: A002
        x = _t(input, name)
        return op.apply(x, dims=_dims(x, dim, name), keepdim=keepdim)

    fn.__name__ = name
    fn.__doc__ = f"Whether {'all' if name == 'all' else 'any'} values are non-zero (bool)."
    return fn


all = _logical("all", nograd.All)  # noqa: A001
any = _logical("any", nograd.Any)  # noqa: A001


def softmax(input, dim, dtype=None):  # noqa: A002
    """``exp(x) / sum(exp(x))`` along ``dim``, stable for large logits."""
    x = _float_input(input, "softmax") if dtype is None else _t(input, "softmax").to(dtype)
    return R.Softmax.apply(x, dim=norm_dim(dim, x.ndim, "softmax"))


def log_softmax(input, dim, dtype=None):  # noqa: A002
    """``log(softmax(x))`` along ``dim``, computed directly (finite for logits of 1e8)."""
    x = _float_input(input, "log_softmax") if dtype is None else _t(input, "log_softmax").to(dtype)
    return R.LogSoftmax.apply(x, dim=norm_dim(dim, x.ndim, "log_softmax"))
