"""nn.utils: gradient clipping and parameter/vector conversion, against PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn
from graphlab.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)

torch = pytest.importorskip("torch")


def _pair(scale=1.0):
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (4,), (2, 4)]
    grads = [(rng.standard_normal(s) * scale).astype(np.float32) for s in shapes]
    gps, tps = [], []
    for g in grads:
        p = nn.Parameter(gl.zeros(*g.shape))
        p.grad = gl.tensor(g)
        tp = torch.nn.Parameter(torch.zeros(*g.shape))
        tp.grad = torch.tensor(g)
        gps.append(p)
        tps.append(tp)
    return gps, tps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    gps, tps = _pair()
    total = clip_grad_norm_(gps, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=norm_type)
    assert isinstance(total, gl.Tensor) and total.ndim == 0
    assert total.item() == pytest.approx(ttotal.item(), rel=1e-5)
    for p, tp in zip(gps, tps):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_single_tensor_no_grads_and_nonfinite():
    p = nn.Parameter(gl.zeros(3))
    p.grad = gl.tensor([3.0, 4.0, 0.0])
    assert clip_grad_norm_(p, 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8, 0.0], rtol=1e-5)
    assert clip_grad_norm_([nn.Parameter(gl.zeros(2))], 1.0).item() == 0.0
    p.grad = gl.tensor([float("nan"), 1.0, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert math.isnan(clip_grad_norm_(p, 1.0).item())
    with pytest.raises(TypeError, match="iterable of tensors"):
        clip_grad_norm_(3, 1.0)


def test_clip_grad_norm_on_a_model_after_backward():
    net = nn.Sequential(nn.Linear(5, 5), nn.Linear(5, 1))
    tnet = torch.nn.Sequential(torch.nn.Linear(5, 5), torch.nn.Linear(5, 1))
    for p, tp in zip(net.parameters(), tnet.parameters()):
        p.data = gl.tensor(tp.detach().numpy())
    x = np.random.default_rng(1).standard_normal((8, 5)).astype(np.float32) * 10
    (net(gl.tensor(x)) ** 2).sum().backward()
    (tnet(torch.tensor(x)) ** 2).sum().backward()
    t = clip_grad_norm_(net.parameters(), 0.1)
    tt = torch.nn.utils.clip_grad_norm_(tnet.parameters(), 0.1)
    assert t.item() == pytest.approx(tt.item(), rel=1e-4)
    for p, tp in zip(net.parameters(), tnet.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-7)


def test_clip_grad_value_matches_torch():
    gps, tps = _pair(scale=3.0)
    assert clip_grad_value_(gps, 1.5) is None
    torch.nn.utils.clip_grad_value_(tps, 1.5)
    for p, tp in zip(gps, tps):
        np.testing.assert_array_equal(p.grad.numpy(), tp.grad.numpy())
    with pytest.raises(ValueError, match=">= 0"):
        clip_grad_value_(gps, -1)


def test_parameters_to_vector_and_back():
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    for p, tp in zip(net.parameters(), tnet.parameters()):
        p.data = gl.tensor(tp.detach().numpy())
    vec = parameters_to_vector(net.parameters())
    tvec = torch.nn.utils.parameters_to_vector(tnet.parameters())
    np.testing.assert_array_equal(vec.detach().numpy(), tvec.detach().numpy())
    vec.sum().backward()  # differentiable, like PyTorch's
    assert all((p.grad == 1).all() for p in net.parameters())
    new = gl.arange(vec.numel(), dtype=gl.float32)
    params = list(net.parameters())
    vector_to_parameters(new, net.parameters())
    assert [p is q for p, q in zip(params, net.parameters())] == [True] * 4
    assert net[0].weight.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert net[1].bias.tolist() == [10.0]
    new[0] = 100.0  # the parameters now share the vector's storage, as in PyTorch
    assert net[0].weight[0, 0].item() == 100.0
    with pytest.raises(ValueError, match="has 3 elements but the parameters need 11"):
        vector_to_parameters(gl.zeros(3), net.parameters())
    with pytest.raises(TypeError, match="graphlab Tensor"):
        vector_to_parameters([1.0], net.parameters())
    with pytest.raises(TypeError, match="different devices"):
        parameters_to_vector([nn.Parameter(gl.zeros(1)), nn.Parameter(gl.zeros(1, device="cpu:1"))])
