"""``pad`` and ``interpolate`` against PyTorch: modes, pad order, sizes/scales, gradients."""

from __future__ import annotations

import numpy as np
import pytest

import graphlab as gl
from graphlab.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TOL = {np.float64: dict(rtol=1e-6, atol=1e-9), np.float32: dict(rtol=1e-5, atol=1e-5)}


def _np(t):
    return t.detach().numpy()


def compare(gl_fn, torch_fn, arrays, dtype=np.float64, grad_of=None, seed=7):
    """Run both on the same arrays; compare outputs and the input gradients of a random
    cotangent. Returns the graphlab and torch leaves for further checks."""
    grad_of = range(len(arrays)) if grad_of is None else grad_of
    gs, ts = [], []
    for i, a in enumerate(arrays):
        a = np.ascontiguousarray(a.astype(dtype) if a.dtype.kind == "f" else a)
        rg = i in grad_of and a.dtype.kind == "f"
        gs.append(gl.tensor(a, requires_grad=rg))
        ts.append(torch.tensor(a, requires_grad=rg))
    out_g, out_t = gl_fn(*gs), torch_fn(*ts)
    tol = TOL[dtype]
    assert tuple(out_g.shape) == tuple(out_t.shape)
    assert out_g.dtype.name == str(out_t.dtype).replace("torch.", "")
    np.testing.assert_allclose(_np(out_g), _np(out_t), **tol)
    cot = np.random.default_rng(seed).standard_normal(tuple(out_t.shape)).astype(dtype)
    out_g.backward(gl.tensor(cot))
    out_t.backward(torch.tensor(cot))
    for g, t in zip(gs, ts):
        if t.requires_grad:
            np.testing.assert_allclose(_np(g.grad), _np(t.grad), **tol)
    return gs, ts


def copy_params(gm, tm):
    """Give the graphlab module the torch module's parameters and buffers."""
    tstate = tm.state_dict()
    with gl.no_grad():
        for name, t in list(gm.named_parameters()) + list(gm.named_buffers()):
            t.copy_(gl.tensor(tstate[name].detach().numpy()))


def compare_module(gm, tm, x, dtype=np.float64, tol=None):
    """Same input through both modules: outputs, input gradient, parameter gradients."""
    x = x.astype(dtype)
    gx = gl.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    out_g, out_t = gm(gx), tm(tx)
    tol = tol or TOL[dtype]
    np.testing.assert_allclose(_np(out_g), _np(out_t), **tol)
    cot = np.random.default_rng(3).standard_normal(tuple(out_t.shape)).astype(dtype)
    out_g.backward(gl.tensor(cot))
    out_t.backward(torch.tensor(cot))
    np.testing.assert_allclose(_np(gx.grad), _np(tx.grad), **tol)
    tparams = dict(tm.named_parameters())
    for name, p in gm.named_parameters():
        np.testing.assert_allclose(_np(p.grad), _np(tparams[name].grad), **tol, err_msg=name)
    return out_g, out_t


rng = np.random.default_rng(5)
X = rng.standard_normal((2, 3, 5, 6))

PAD_CASES = [
    ((1, 2), "constant"),
    ((1, 2, 3, 0), "constant"),
    ((-1, 2, 1, -2), "constant"),
    ((1, 1, 2, 2, 1, 0), "constant"),
    ((2, 1, 3, 4), "reflect"),
    ((2, 1, 3, 4), "replicate"),
    ((2, 1, 3, 4), "circular"),
    ((5, 6, 5, 5), "replicate"),
]


@pytest.mark.parametrize("pad,mode", PAD_CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pad_matches_torch(pad, mode, dtype):
    compare(lambda a: F.pad(a, pad, mode), lambda a: TF.pad(a, pad, mode), [X], dtype=dtype)


def test_pad_1d_modes_and_value():
    x = X[0]
    for mode in ("reflect", "replicate", "circular"):
        compare(lambda a, m=mode: F.pad(a, (2, 3), m), lambda a, m=mode: TF.pad(a, (2, 3), m), [x])
    compare(lambda a: F.pad(a, (1, 1), value=2.5), lambda a: TF.pad(a, (1, 1), value=2.5), [x])


def test_pad_gradcheck():
    x = gl.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    for mode in ("reflect", "replicate", "circular", "constant"):
        assert gl.autograd.gradcheck(lambda a, m=mode: F.pad(a, (2, 1, 1, 2), m), (x,))


INTERP_CASES = [
    dict(size=(7, 9)),
    dict(scale_factor=2),
    dict(scale_factor=1.7),
    dict(size=(3, 4)),
    dict(size=(3, 4), mode="nearest-exact"),
    dict(size=(7, 9), mode="bilinear"),
    dict(size=(7, 9), mode="bilinear", align_corners=True),
    dict(scale_factor=1.7, mode="bilinear"),
    dict(scale_factor=(0.6, 2.3), mode="bilinear", align_corners=True),
    dict(size=(3, 4), mode="bilinear"),
    dict(scale_factor=1.7, mode="bilinear", recompute_scale_factor=True),
    dict(size=(1, 1), mode="bilinear", align_corners=True),
]


@pytest.mark.parametrize("kw", INTERP_CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_interpolate_matches_torch(kw, dtype):
    compare(lambda a: F.interpolate(a, **kw), lambda a: TF.interpolate(a, **kw), [X], dtype=dtype)


@pytest.mark.parametrize(
    "kw", [dict(size=11, mode="linear"), dict(scale_factor=0.5), dict(size=13)], ids=str
)
def test_interpolate_1d(kw):
    compare(lambda a: F.interpolate(a, **kw), lambda a: TF.interpolate(a, **kw), [X[0]])


def test_interpolate_gradcheck():
    x = gl.tensor(rng.standard_normal((1, 1, 3, 4)), requires_grad=True)
    assert gl.autograd.gradcheck(
        lambda a: F.interpolate(a, size=(5, 7), mode="bilinear", align_corners=False), (x,)
    )
    assert gl.autograd.gradcheck(lambda a: F.interpolate(a, scale_factor=1.5), (x,))


def test_vision_bad_input():
    with pytest.raises(ValueError, match="even"):
        F.pad(gl.tensor(X), (1,))
    with pytest.raises(ValueError, match="reflect padding"):
        F.pad(gl.tensor(X), (6, 0), "reflect")
    with pytest.raises(ValueError, match="mode"):
        F.pad(gl.tensor(X), (1, 1), "mirror")
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(gl.tensor(X), size=4, align_corners=True)
    with pytest.raises(ValueError, match="exactly one"):
        F.interpolate(gl.tensor(X))
    with pytest.raises(ValueError, match="expects 4D"):
        F.interpolate(gl.tensor(X[0]), size=4, mode="bilinear")
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.interpolate(gl.tensor(X), size=4, mode="bicubic")
