"""Linear, Bilinear, Identity, Flatten, Unflatten and F.linear/F.bilinear against PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn
from graphlab.nn import functional as F

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)


def _t(a, grad=False):
    return gl.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def _close(g, t, tol=1e-5):
    np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("shape", [(5, 3), (3,), (2, 4, 3), (0, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_forward_and_gradients_match_torch(shape, bias):
    tl = torch.nn.Linear(3, 4, bias=bias)
    gl_lin = nn.Linear(3, 4, bias=bias)
    gl_lin.weight.data = gl.tensor(tl.weight.detach().numpy())
    if bias:
        gl_lin.bias.data = gl.tensor(tl.bias.detach().numpy())
    x = RNG.standard_normal(shape).astype(np.float32)
    gx, tx = _t(x, grad=True)
    gy, ty = gl_lin(gx), tl(tx)
    _close(gy, ty)
    w = RNG.standard_normal(ty.shape).astype(np.float32)
    (gy * gl.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    _close(gx.grad, tx.grad)
    _close(gl_lin.weight.grad, tl.weight.grad)
    if bias:
        _close(gl_lin.bias.grad, tl.bias.grad)
    else:
        assert gl_lin.bias is None and [n for n, _ in gl_lin.named_parameters()] == ["weight"]


def test_linear_skips_input_gradient_when_not_needed_and_gradcheck():
    lin = nn.Linear(3, 2).double()
    x = gl.randn(4, 3, dtype=gl.float64)
    lin(x).sum().backward()
    assert x.grad is None and lin.weight.grad is not None
    xg = gl.randn(4, 3, dtype=gl.float64, requires_grad=True)
    assert gl.autograd.gradcheck(lambda a, w, b: F.linear(a, w, b), (xg, lin.weight, lin.bias))


def test_linear_default_init_matches_pytorch_bounds():
    gl.manual_seed(0)
    lin = nn.Linear(64, 500)
    bound = 1 / math.sqrt(64)
    w = lin.weight.detach().numpy()
    b = lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert lin.weight.dtype is gl.float32 and lin.weight.requires_grad


def test_linear_errors():
    lin = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r"expected input with 3 features.*got shape \(2, 4\)"):
        lin(gl.ones(2, 4))
    with pytest.raises(RuntimeError, match="same dtype"):
        lin(gl.ones(2, 3, dtype=gl.float64))
    with pytest.raises(TypeError, match="in_features must be an int"):
        nn.Linear(3.0, 2)
    with pytest.raises(ValueError, match="out_features must be >= 0"):
        nn.Linear(3, -1)
    with pytest.raises(TypeError, match="input must be a graphlab Tensor"):
        F.linear(np.ones((2, 3)), lin.weight)


def test_f_linear_and_bilinear_match_torch():
    x = RNG.standard_normal((2, 5, 3)).astype(np.float32)
    w = RNG.standard_normal((4, 3)).astype(np.float32)
    b = RNG.standard_normal(4).astype(np.float32)
    _close(
        F.linear(gl.tensor(x), gl.tensor(w), gl.tensor(b)),
        torch.nn.functional.linear(torch.tensor(x), torch.tensor(w), torch.tensor(b)),
    )
    x1 = RNG.standard_normal((2, 5, 3)).astype(np.float32)
    x2 = RNG.standard_normal((2, 5, 6)).astype(np.float32)
    wb = RNG.standard_normal((4, 3, 6)).astype(np.float32)
    g1, t1 = _t(x1, True)
    g2, t2 = _t(x2, True)
    gw, tw = _t(wb, True)
    gb, tb = _t(b, True)
    gy = F.bilinear(g1, g2, gw, gb)
    ty = torch.nn.functional.bilinear(t1, t2, tw, tb)
    _close(gy, ty, 1e-4)
    gy.sum().backward()
    ty.sum().backward()
    for g, t in ((g1, t1), (g2, t2), (gw, tw), (gb, tb)):
        _close(g.grad, t.grad, 1e-4)


def test_bilinear_module():
    tb = torch.nn.Bilinear(3, 2, 4)
    bl = nn.Bilinear(3, 2, 4)
    bl.weight.data = gl.tensor(tb.weight.detach().numpy())
    bl.bias.data = gl.tensor(tb.bias.detach().numpy())
    x1 = RNG.standard_normal((5, 3)).astype(np.float32)
    x2 = RNG.standard_normal((5, 2)).astype(np.float32)
    _close(bl(gl.tensor(x1), gl.tensor(x2)), tb(torch.tensor(x1), torch.tensor(x2)))
    assert repr(bl) == repr(tb)
    bound = 1 / math.sqrt(3)
    assert np.abs(nn.Bilinear(3, 2, 40).weight.detach().numpy()).max() <= bound
    with pytest.raises(RuntimeError, match="same leading dims"):
        bl(gl.ones(5, 3), gl.ones(4, 2))


def test_identity_flatten_unflatten():
    x = gl.randn(2, 3, 4, 5)
    assert nn.Identity(54, unused="x")(x) is x
    tx = torch.tensor(x.numpy())
    for args in [(), (0,), (2,), (1, 2), (-3, -2)]:
        assert tuple(nn.Flatten(*args)(x).shape) == tuple(torch.nn.Flatten(*args)(tx).shape)
        assert repr(nn.Flatten(*args)) == repr(torch.nn.Flatten(*args))
    un = nn.Unflatten(1, (3, 1))
    tun = torch.nn.Unflatten(1, (3, 1))
    assert tuple(un(x).shape) == tuple(tun(tx).shape)
    assert repr(un) == repr(tun)
    assert tuple(nn.Unflatten(-1, (-1, 5))(x).shape) == (2, 3, 4, 1, 5)
    with pytest.raises(IndexError, match="start_dim=1 is out of range"):
        nn.Flatten()(gl.ones(3))
    with pytest.raises(TypeError, match="tuple of ints"):
        nn.Unflatten(1, 3)
    # gradients flow through Flatten
    xg = gl.randn(2, 3, 4, requires_grad=True)
    nn.Flatten()(xg).sum().backward()
    assert (xg.grad == 1).all()
