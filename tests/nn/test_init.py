"""nn.init: formulas, bounds and errors as PyTorch's; in place, no-grad, seedable."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn
from graphlab.nn import init

torch = pytest.importorskip("torch")


def _w(*shape, dtype=None):
    return nn.Parameter(gl.zeros(*shape, dtype=dtype))


@pytest.mark.parametrize(
    "args",
    [
        ("linear",),
        ("conv2d",),
        ("sigmoid",),
        ("tanh",),
        ("relu",),
        ("leaky_relu",),
        ("leaky_relu", 0.2),
        ("leaky_relu", 3),
        ("selu",),
        ("conv_transpose3d",),
    ],
)
def test_calculate_gain_matches_torch(args):
    assert init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape", [(3, 4), (6, 2, 3, 3), (5, 4, 7)])
def test_fan_in_and_out_match_torch(shape):
    got = init._calculate_fan_in_and_fan_out(gl.zeros(*shape))
    assert got == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))


@pytest.mark.parametrize(
    "fn", [init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_]
)
def test_fan_based_initializers_reject_1d_tensors_like_torch(fn):
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        fn(gl.zeros(5))
    tfn = getattr(torch.nn.init, fn.__name__)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        tfn(torch.zeros(5))


def test_in_place_no_grad_same_object_and_version_bump():
    p = _w(30, 40)
    version = p._version.value
    out = init.kaiming_uniform_(p, a=math.sqrt(5))
    assert out is p and p.requires_grad and p.grad_fn is None and p.is_leaf
    assert p._version.value > version
    # a graph that saved p before the init notices the change
    y = (p * p).sum()
    init.normal_(p)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_uniform_normal_constant_ones_zeros():
    gl.manual_seed(0)
    p = _w(200, 100)
    init.uniform_(p, -2, 3)
    a = p.detach().numpy()
    assert a.min() >= -2 and a.max() < 3 and abs(a.mean() - 0.5) < 0.05
    init.normal_(p, mean=1.0, std=0.5)
    a = p.detach().numpy()
    assert abs(a.mean() - 1.0) < 0.01 and abs(a.std() - 0.5) < 0.01
    init.constant_(p, 42)
    assert (p == 42).all()
    init.ones_(p)
    assert (p == 1).all()
    init.zeros_(p)
    assert (p == 0).all()
    with pytest.raises(ValueError):
        init.normal_(p, std=-1)
    with pytest.raises(TypeError, match="graphlab Tensor"):
        init.ones_(np.zeros(3))


def test_manual_seed_reproduces():
    gl.manual_seed(7)
    a = init.xavier_normal_(_w(10, 10)).detach().numpy().copy()
    gl.manual_seed(7)
    b = init.xavier_normal_(_w(10, 10)).detach().numpy()
    np.testing.assert_array_equal(a, b)
    g = gl.Generator().manual_seed(7)
    c = init.uniform_(_w(3), generator=g).detach().numpy()
    g.manual_seed(7)
    d = init.uniform_(_w(3), generator=g).detach().numpy()
    np.testing.assert_array_equal(c, d)


@pytest.mark.parametrize("shape", [(256, 128), (64, 16, 3, 3)])
def test_xavier_and_kaiming_statistics(shape):
    gl.manual_seed(1)
    t = torch.zeros(*shape)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(t)
    p = _w(*shape)
    init.xavier_uniform_(p, gain=2.0)
    a = 2.0 * math.sqrt(6.0 / (fan_in + fan_out))
    arr = p.detach().numpy()
    assert np.abs(arr).max() <= a and np.abs(arr).max() > 0.95 * a
    init.xavier_normal_(p)
    assert abs(p.detach().numpy().std() - math.sqrt(2.0 / (fan_in + fan_out))) < 0.05 * math.sqrt(
        2.0 / (fan_in + fan_out)
    )
    init.kaiming_uniform_(p, a=0.1, mode="fan_out", nonlinearity="leaky_relu")
    bound = math.sqrt(3.0) * torch.nn.init.calculate_gain("leaky_relu", 0.1) / math.sqrt(fan_out)
    assert np.abs(p.detach().numpy()).max() <= bound
    init.kaiming_normal_(p, nonlinearity="relu")
    std = math.sqrt(2.0) / math.sqrt(fan_in)
    assert abs(p.detach().numpy().std() - std) < 0.05 * std
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(p, mode="fan_avg")


def test_trunc_normal_stays_in_bounds_including_far_tails():
    gl.manual_seed(0)
    p = _w(100, 100)
    init.trunc_normal_(p, mean=0.0, std=1.0, a=-1.0, b=1.5)
    a = p.detach().numpy()
    assert a.min() >= -1.0 and a.max() <= 1.5 and a.std() > 0.5
    tail = init.trunc_normal_(_w(50), mean=0.0, std=1.0, a=6.0, b=7.0).detach().numpy()
    assert tail.min() >= 6.0 and tail.max() <= 7.0
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(p, a=1, b=0)


def test_eye_and_dirac_equal_torch():
    for shape in [(3, 5), (4, 2)]:
        p = _w(*shape)
        init.eye_(p)
        np.testing.assert_array_equal(p.detach().numpy(), torch.nn.init.eye_(torch.empty(shape)))
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(_w(2, 2, 2))
    for shape, groups in [((4, 3, 3), 1), ((6, 2, 3, 3), 2), ((4, 4, 1, 3, 3), 1)]:
        p = _w(*shape)
        init.dirac_(p, groups=groups)
        expected = torch.nn.init.dirac_(torch.empty(shape), groups=groups).numpy()
        np.testing.assert_array_equal(p.detach().numpy(), expected)
    with pytest.raises(ValueError, match="3, 4, or 5 dimensions"):
        init.dirac_(_w(2, 2))


@pytest.mark.parametrize("shape", [(6, 4), (3, 8), (4, 2, 3)])
def test_orthogonal(shape):
    p = _w(*shape)
    init.orthogonal_(p, gain=2.0)
    m = p.detach().numpy().reshape(shape[0], -1)
    rows, cols = m.shape
    gram = m.T @ m if rows >= cols else m @ m.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-5)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(_w(3))


def test_float64_and_empty_tensors():
    p = _w(4, 3, dtype=gl.float64)
    init.kaiming_uniform_(p)
    assert p.dtype is gl.float64
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(_w(0, 3))
    assert init.uniform_(_w(0)).shape == (0,)
