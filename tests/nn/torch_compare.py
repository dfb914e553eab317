"""Shared helpers for the layer tests: run graphlab and PyTorch on the same inputs and weights
and compare outputs, input gradients and parameter gradients."""

from __future__ import annotations

import numpy as np
import pytest

import graphlab as gl

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
