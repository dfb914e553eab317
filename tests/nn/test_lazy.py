"""Deferred initialization (example 11): uninitialized parameters, first-call shapes, records."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn
from graphlab.nn.modules import lazy as lazy_mod
from graphlab.nn.parameter import UninitializedParameter, is_lazy


def _net():
    return nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))


def test_example_11_shapes_after_the_first_call():
    net = _net()
    params = list(net.parameters())
    assert len(params) == 4
    assert all(is_lazy(p) and isinstance(p, UninitializedParameter) for p in params)
    assert [repr(p) for p in params] == ["<UninitializedParameter>"] * 4
    net(gl.rand(2, 20))
    assert [tuple(p.shape) for p in net.parameters()] == [(256, 20), (256,), (10, 256), (10,)]
    assert not any(is_lazy(p) for p in net.parameters())
    assert all(type(p) is nn.Parameter for p in net.parameters())
    assert [p is q for p, q in zip(params, net.parameters())] == [True] * 4
    assert net[0].in_features == 20 and net[2].in_features == 256


def test_touching_an_uninitialized_parameter_says_run_a_forward_pass():
    net = _net()
    w = net[0].weight
    for touch in (
        lambda: w.shape,
        lambda: w.numel(),
        lambda: w + 1,
        lambda: w.data,
        lambda: w.tolist(),
        lambda: nn.init.zeros_(w),
        lambda: net.state_dict()["0.weight"].detach(),
    ):
        with pytest.raises(RuntimeError, match="Run a forward pass first"):
            touch()
    # what is known before the call stays readable
    assert w.dtype is gl.float32 and w.device == gl.device("cpu") and w.requires_grad


def test_initializer_runs_with_pytorch_bounds_and_seed_reproduces():
    gl.manual_seed(3)
    a = nn.LazyLinear(50)
    a(gl.ones(1, 16))
    gl.manual_seed(3)
    b = nn.LazyLinear(50)
    b(gl.ones(1, 16))
    assert gl.equal(a.weight.detach(), b.weight.detach())
    bound = 1 / math.sqrt(16)
    w = a.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(a.bias.detach().numpy()).max() <= bound


def test_optimizer_made_before_the_first_call_updates_the_real_parameters():
    net = _net()
    params = list(net.parameters())  # what an optimizer would hold
    X, y = gl.rand(4, 20), gl.rand(4, 10)
    loss = ((net(X) - y) ** 2).mean()
    loss.backward()
    before = [p.detach().clone() for p in net.parameters()]
    with gl.no_grad():
        for p in params:  # one plain SGD step over the list captured before the call
            p -= 0.1 * p.grad
    for p, b in zip(net.parameters(), before):
        assert not gl.equal(p.detach(), b)
    loss2 = ((net(X) - y) ** 2).mean()
    assert loss2.item() < loss.item()


def test_record_and_observers():
    seen = []
    lazy_mod.lazy_init_observers.append(seen.append)
    try:
        net = _net()
        net(gl.rand(3, 20))
        net(gl.rand(3, 20))  # later calls record nothing
    finally:
        lazy_mod.lazy_init_observers.remove(seen.append)
    assert [r.path for r in seen] == ["0", "2"]
    first = seen[0]
    assert first is net[0]._lazy_init_record
    assert first.module_type == "LazyLinear" and first.becomes == "Linear"
    assert first.root_type == "Sequential"
    assert first.input_shapes == ((3, 20),)
    assert dict(first.shapes) == {"weight": (256, 20), "bias": (256,)}
    assert "kaiming_uniform_" in first.initializer
    assert dict(seen[1].shapes) == {"weight": (10, 256), "bias": (10,)}
    # the init hook removed itself: the fast call path is back
    assert net[0]._forward_pre_hooks == []


def test_bad_first_input_keeps_the_module_lazy():
    lin = nn.LazyLinear(4)
    with pytest.raises(RuntimeError, match="first input must be a tensor"):
        lin(gl.tensor(1.0))
    assert is_lazy(lin.weight)
    assert lin(gl.ones(2, 3)).shape == (2, 4)


def test_to_before_the_first_call_and_no_bias():
    lin = nn.LazyLinear(3, bias=False).double().to("cpu:1")
    assert lin.bias is None
    assert lin.weight.dtype is gl.float64 and lin.weight.device == gl.device("cpu:1")
    out = lin(gl.ones(2, 5, dtype=gl.float64, device="cpu:1"))
    assert out.dtype is gl.float64 and lin.weight.shape == (3, 5)
    assert [n for n, _ in lin.named_parameters()] == ["weight"]


def test_load_state_dict_materializes_lazy_parameters_without_reinitializing():
    src = nn.Sequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
    net = _net()
    net.load_state_dict(src.state_dict())
    assert net[0].weight.shape == (256, 20)
    X = gl.rand(2, 20)
    assert gl.equal(net(X), src(X))  # the first call did not re-draw the loaded weights
    assert net[0]._lazy_init_record is None
    with pytest.raises(RuntimeError, match="uninitialized"):
        nn.Linear(2, 2).load_state_dict(nn.LazyLinear(2).state_dict())


def test_lazy_matches_torch_shapes_and_dtype_errors():
    torch = pytest.importorskip("torch")
    t = torch.nn.Sequential(torch.nn.LazyLinear(256), torch.nn.ReLU(), torch.nn.LazyLinear(10))
    t(torch.rand(2, 20))
    net = _net()
    net(gl.rand(2, 20))
    assert [tuple(p.shape) for p in net.parameters()] == [tuple(p.shape) for p in t.parameters()]
