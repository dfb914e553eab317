"""Activations against PyTorch: functional forms, modules and their repr, in-place, erf."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn
from graphlab.nn import functional as F
from graphlab.ops import nn_ops

torch = pytest.importorskip("torch")
from torch_compare import TF, TOL, _np, compare, compare_module  # noqa: E402

rng = np.random.default_rng(3)
X = np.concatenate([rng.standard_normal(40) * 3, [0.0, -0.0, 1e-3, -1e-3, 30.0, -30.0]])

FUNCS = [
    ("relu", {}),
    ("leaky_relu", {}),
    ("leaky_relu", {"negative_slope": 0.2}),
    ("elu", {}),
    ("elu", {"alpha": 0.5}),
    ("gelu", {}),
    ("gelu", {"approximate": "tanh"}),
    ("silu", {}),
    ("sigmoid", {}),
    ("tanh", {}),
    ("softmax", {"dim": 1}),
    ("log_softmax", {"dim": 0}),
]


@pytest.mark.parametrize("name,kw", FUNCS, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_functional_matches_torch(name, kw, dtype):
    x = X.reshape(2, 23)
    compare(
        lambda a: getattr(F, name)(a, **kw),
        lambda a: getattr(TF, name)(a, **kw),
        [x],
        dtype=dtype,
    )


MODULES = [
    ("ReLU", ()),
    ("ReLU", (True,)),
    ("LeakyReLU", ()),
    ("LeakyReLU", (0.1, True)),
    ("ELU", (0.7,)),
    ("GELU", ()),
    ("GELU", ("tanh",)),
    ("SiLU", ()),
    ("Sigmoid", ()),
    ("Tanh", ()),
    ("Softmax", (1,)),
    ("LogSoftmax", (-1,)),
]


@pytest.mark.parametrize("name,args", MODULES, ids=str)
def test_modules_repr_and_values(name, args):
    gm, tm = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(gm) == repr(tm)
    x = X.reshape(2, 23)
    if "inplace" in repr(tm):  # in place on a leaf is refused: go through a non-leaf
        gx = gl.tensor(x, requires_grad=True)
        tx = torch.tensor(x, requires_grad=True)
        yg, yt = gm(gx * 1.0), tm(tx * 1.0)
        np.testing.assert_allclose(_np(yg), _np(yt), **TOL[np.float64])
        yg.sum().backward()
        yt.sum().backward()
        np.testing.assert_allclose(_np(gx.grad), _np(tx.grad), **TOL[np.float64])
    else:
        compare_module(gm, tm, x)


def test_inplace_writes_into_the_input():
    x = gl.tensor([-1.0, 2.0, -3.0])
    y = F.relu(x, inplace=True)
    assert y is x and x.tolist() == [0.0, 2.0, 0.0]
    z = gl.tensor([-1.0, 1.0])
    F.leaky_relu(z, 0.5, inplace=True)
    assert z.tolist() == [-0.5, 1.0]
    with pytest.raises(RuntimeError, match="floating-point"):
        F.elu(gl.tensor([1, 2]), inplace=True)


def test_integer_input_promotes_like_torch():
    assert F.gelu(gl.tensor([1, 2])).dtype == gl.float32
    assert F.relu(gl.tensor([-1, 2])).dtype == gl.int64


def test_softmax_module_implicit_dim_warns():
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = nn.Softmax()(gl.tensor(X.reshape(2, 23)))
    np.testing.assert_allclose(y.sum(1).numpy(), 1.0)


def test_erf_fallback_is_exact_without_scipy():
    x = np.concatenate([np.linspace(-7, 7, 2001), [2.5, np.nextafter(2.5, 3), 40.0, -40.0]])
    ref = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(nn_ops.erf_series(np, x), ref, rtol=2e-15, atol=2e-16)
    assert nn_ops.erf_series(np, x.astype(np.float32)).dtype == np.float32


def test_gelu_uses_fallback_erf_when_scipy_missing(monkeypatch):
    monkeypatch.setattr(nn_ops, "_scipy_erf", False)
    compare(lambda a: F.gelu(a), lambda a: TF.gelu(a), [X])


def test_gelu_bad_approximate():
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(gl.randn(2), approximate="fast")
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")


def test_activation_gradcheck():
    x = gl.tensor(rng.standard_normal(7), requires_grad=True)
    for fn in (F.elu, F.silu, F.gelu, lambda a: F.gelu(a, "tanh"), F.leaky_relu):
        assert gl.autograd.gradcheck(fn, (x,))


def test_no_overflow_warnings_for_large_inputs():
    x = gl.tensor([-1000.0, 1000.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert F.silu(x).tolist() == [-0.0, 1000.0, 0.0]
        assert F.elu(x).tolist() == [-1.0, 1000.0, 0.0]
