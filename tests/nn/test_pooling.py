"""Pooling against PyTorch: max/avg/adaptive pooling, indices, ties, modules, gradcheck."""

from __future__ import annotations

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn
from graphlab.nn import functional as F

torch = pytest.importorskip("torch")
from torch_compare import TF, compare, compare_module  # noqa: E402

rng = np.random.default_rng(1)
X = rng.standard_normal((2, 3, 9, 10))
X_TIES = np.round(X)  # many equal values in a window: the first maximum must win

MAX_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=1, dilation=2, padding=(1, 0)),
    dict(kernel_size=3, stride=1),
]


@pytest.mark.parametrize("kw", MAX_CASES, ids=str)
@pytest.mark.parametrize("x", [X, X_TIES], ids=["distinct", "ties"])
def test_max_pool2d_matches_torch(kw, x):
    compare(lambda a: F.max_pool2d(a, **kw), lambda a: TF.max_pool2d(a, **kw), [x])


def test_max_pool2d_return_indices_and_float32():
    kw = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, return_indices=True)
    y, idx = F.max_pool2d(gl.tensor(X_TIES), **kw)
    ty, tidx = TF.max_pool2d(torch.tensor(X_TIES), **kw)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    assert idx.dtype == gl.int64
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    compare(lambda a: F.max_pool2d(a, 2), lambda a: TF.max_pool2d(a, 2), [X], dtype=np.float32)


def test_max_pool1d_and_unbatched():
    compare(lambda a: F.max_pool1d(a, 3, 2, 1), lambda a: TF.max_pool1d(a, 3, 2, 1), [X[0]])
    compare(lambda a: F.max_pool2d(a, 2), lambda a: TF.max_pool2d(a, 2), [X[0]])


AVG_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), padding=(1, 1), divisor_override=5),
]


@pytest.mark.parametrize("kw", AVG_CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_avg_pool2d_matches_torch(kw, dtype):
    compare(lambda a: F.avg_pool2d(a, **kw), lambda a: TF.avg_pool2d(a, **kw), [X], dtype=dtype)


def test_avg_pool1d():
    kw = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
    compare(lambda a: F.avg_pool1d(a, **kw), lambda a: TF.avg_pool1d(a, **kw), [X[0]])


@pytest.mark.parametrize("size", [1, (3, 4), (4, None), (7, 3), (9, 10)], ids=str)
def test_adaptive_avg_pool2d_matches_torch(size):
    compare(
        lambda a: F.adaptive_avg_pool2d(a, size), lambda a: TF.adaptive_avg_pool2d(a, size), [X]
    )


def test_adaptive_avg_pool1d_float32():
    compare(
        lambda a: F.adaptive_avg_pool1d(a, 4),
        lambda a: TF.adaptive_avg_pool1d(a, 4),
        [X[0]],
        dtype=np.float32,
    )


def test_pool_gradchecks():
    x = gl.tensor(rng.standard_normal((1, 2, 5, 6)), requires_grad=True)
    assert gl.autograd.gradcheck(lambda a: F.max_pool2d(a, 3, 2, 1, ceil_mode=True), (x,))
    assert gl.autograd.gradcheck(lambda a: F.max_pool2d(a, 2, 1, dilation=2), (x,))
    assert gl.autograd.gradcheck(
        lambda a: F.avg_pool2d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False), (x,)
    )
    assert gl.autograd.gradcheck(lambda a: F.adaptive_avg_pool2d(a, (3, 4)), (x,))


def test_max_pool_overlapping_windows_accumulate():
    # One large value is the max of four overlapping windows: its gradient is their sum.
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 1] = 5.0
    xt = gl.tensor(x, requires_grad=True)
    F.max_pool2d(xt, 2, stride=1).sum().backward()
    assert xt.grad.numpy()[0, 0, 1, 1] == 4.0


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.MaxPool2d(3, 2, 1),
        lambda m: m.MaxPool2d(2, ceil_mode=True),
        lambda m: m.AvgPool2d(3, 1, 1),
        lambda m: m.AvgPool2d(2, count_include_pad=False),
        lambda m: m.AdaptiveAvgPool2d((1, 1)),
        lambda m: m.AdaptiveAvgPool2d(3),
        lambda m: m.MaxPool1d(2),
        lambda m: m.AvgPool1d(3, 2),
        lambda m: m.AdaptiveAvgPool1d(2),
    ],
)
def test_pool_modules_repr_and_values(make):
    gm, tm = make(nn), make(torch.nn)
    assert repr(gm) == repr(tm)
    x = X if "2d" in type(gm).__name__ else X[0]
    compare_module(gm, tm, x)


def test_max_pool2d_module_return_indices():
    y, idx = nn.MaxPool2d(2, return_indices=True)(gl.tensor(X))
    _, tidx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(X))
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


def test_pool_bad_input():
    with pytest.raises(ValueError, match="expected 3D \\(unbatched\\) or 4D"):
        nn.MaxPool2d(2)(gl.randn(4, 4))
    with pytest.raises(ValueError, match="pad should be at most half"):
        F.max_pool2d(gl.randn(1, 1, 6, 6), 2, padding=2)
    with pytest.raises(ValueError, match="pad should be at most half"):
        F.avg_pool2d(gl.randn(1, 1, 6, 6), 3, padding=2)
    with pytest.raises(RuntimeError, match="too small"):
        F.max_pool2d(gl.randn(1, 1, 2, 2), 3)
    with pytest.raises(TypeError, match="kernel_size"):
        F.max_pool2d(gl.randn(1, 1, 4, 4), (2, 2, 2))
