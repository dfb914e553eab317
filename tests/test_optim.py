"""Optimizers: trajectories against PyTorch, parameter groups, state dicts, and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphlab as gl
from graphlab import optim

RNG = np.random.default_rng(0)
X = RNG.standard_normal((16, 3))
Y = RNG.standard_normal((16, 4))
W0 = RNG.standard_normal((3, 4))
B0 = RNG.standard_normal(4)

CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.01, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9), maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.02, weight_decay=0.5, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.005, alpha=0.9, momentum=0.9, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.005, centered=True, eps=1e-6)),
    ("RMSprop", dict(lr=0.002, centered=True, momentum=0.5, alpha=0.9)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1)),
    ("Adagrad", dict(lr=0.1, eps=1e-4, maximize=True)),
]


def _gl_loss(w, b, x, y):
    # NOTE: a linear regression plus a non-quadratic term, so every coordinate of the
    # gradient changes from step to step.
    r = x @ w + b - y
    return (r * r).mean() + (w * w * w).abs().mean() * 0.1


def _trajectory_gl(name, kwargs, dtype, steps=100):
    w = gl.tensor(W0, dtype=dtype, requires_grad=True)
    b = gl.tensor(B0, dtype=dtype, requires_grad=True)
    x, y = gl.tensor(X, dtype=dtype), gl.tensor(Y, dtype=dtype)
    opt = getattr(optim, name)([w, b], **kwargs)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        _gl_loss(w, b, x, y).backward()
        opt.step()
        out.append(np.concatenate([w.detach().numpy().ravel(), b.detach().numpy().ravel()]))
    return np.array(out)


def _trajectory_torch(name, kwargs, dtype, steps=100):
    torch = pytest.importorskip("torch")
    w = torch.tensor(W0, dtype=dtype, requires_grad=True)
    b = torch.tensor(B0, dtype=dtype, requires_grad=True)
    x, y = torch.tensor(X, dtype=dtype), torch.tensor(Y, dtype=dtype)
    opt = getattr(torch.optim, name)([w, b], foreach=False, **kwargs)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        r = x @ w + b - y
        ((r * r).mean() + (w * w * w).abs().mean() * 0.1).backward()
        opt.step()
        out.append(np.concatenate([w.detach().numpy().ravel(), b.detach().numpy().ravel()]))
    return np.array(out)


@pytest.mark.torch
@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=lambda c: str(c))
def test_trajectory_matches_torch_float64(name, kwargs):
    torch = pytest.importorskip("torch")
    ours = _trajectory_gl(name, kwargs, gl.float64)
    ref = _trajectory_torch(name, kwargs, torch.float64)
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6)
    # NOTE: guards against a test that passes because nothing moved.
    assert np.abs(ref[-1] - np.concatenate([W0.ravel(), B0])).max() > 1e-2


# NOTE: PyTorch's CPU kernels fuse multiply-adds (FMA) in float32, NumPy does not, so the two
# differ by an ulp per step; these cases are well conditioned enough to stay within 1e-6 over
# 100 steps (centered RMSprop with momentum amplifies ulps chaotically and is checked in float64).
@pytest.mark.torch
@pytest.mark.parametrize(
    ("name", "kwargs"),
    [CASES[1], CASES[3], CASES[6], CASES[8], CASES[10], CASES[11], CASES[13], CASES[16], CASES[17]],
    ids=lambda c: str(c),
)
def test_trajectory_matches_torch_float32(name, kwargs):
    torch = pytest.importorskip("torch")
    ours = _trajectory_gl(name, kwargs, gl.float32)
    ref = _trajectory_torch(name, kwargs, torch.float32)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6)


@pytest.mark.torch
def test_param_groups_with_own_options_match_torch():
    torch = pytest.importorskip("torch")
    groups_gl = [gl.tensor(W0, requires_grad=True), gl.tensor(B0, requires_grad=True)]
    groups_t = [torch.tensor(W0, requires_grad=True), torch.tensor(B0, requires_grad=True)]
    opt_gl = optim.SGD(
        [{"params": [groups_gl[0]]}, {"params": groups_gl[1], "lr": 0.05, "momentum": 0.0}],
        lr=0.1,
        momentum=0.9,
    )
    opt_t = torch.optim.SGD(
        [{"params": [groups_t[0]]}, {"params": groups_t[1], "lr": 0.05, "momentum": 0.0}],
        lr=0.1,
        momentum=0.9,
    )
    assert opt_gl.param_groups[1]["lr"] == 0.05 and opt_gl.param_groups[0]["lr"] == 0.1
    for _ in range(10):
        for (w, b), opt in ((groups_gl, opt_gl), (groups_t, opt_t)):
            opt.zero_grad()
            ((w * w).sum() + (b * b * b).sum()).backward()
            opt.step()
    np.testing.assert_allclose(groups_gl[0].detach().numpy(), groups_t[0].detach().numpy())
    np.testing.assert_allclose(groups_gl[1].detach().numpy(), groups_t[1].detach().numpy())


def test_step_updates_in_place_and_bumps_version():
    w = gl.ones(3, requires_grad=True)
    data, version = w._data, w._version.value
    opt = optim.SGD([w], lr=0.5)
    (w * w).sum().backward()
    opt.step()
    assert w._data is data
    assert w._version.value == version + 1
    np.testing.assert_allclose(w.detach().numpy(), [0.0, 0.0, 0.0])
    assert w.grad_fn is None and w.requires_grad


def test_step_after_saved_graph_makes_backward_raise():
    w = gl.ones(3, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    y = (w * w).sum()
    (w * 2).sum().backward()
    opt.step()
    with pytest.raises(RuntimeError):
        y.backward()


def test_parameters_without_grad_are_skipped():
    a = gl.ones(2, requires_grad=True)
    b = gl.ones(2, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    (a * 3).sum().backward()
    opt.step()
    assert b.tolist() == [1.0, 1.0]
    assert a.tolist() != [1.0, 1.0]
    assert b not in opt.state and set(opt.state[a]) == {"step", "exp_avg", "exp_avg_sq"}


def test_zero_grad_set_to_none_and_to_zero():
    w = gl.ones(3, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    g = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is g and w.grad.tolist() == [0.0, 0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None


def test_closure_is_called_with_grad_enabled_and_returns_loss():
    w = gl.tensor([2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with gl.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0
    assert w.tolist() == [1.0]


def test_duplicate_parameter_warns_and_is_updated_once():
    w = gl.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="more than once"):
        opt = optim.SGD([w, w], lr=0.5)
    assert len(opt.param_groups[0]["params"]) == 1
    (w * 2).sum().backward()
    opt.step()
    assert w.tolist() == [0.0, 0.0]


def test_parameter_in_two_groups_raises():
    w = gl.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)


def test_bad_params_raise_clear_errors():
    w = gl.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.Adam(w)
    with pytest.raises(TypeError, match="params\\[1\\].*ndarray"):
        optim.SGD([w, np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf.*MulBackward0"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(TypeError, match="not a set"):
        optim.SGD({w}, lr=0.1)
    with pytest.raises(TypeError, match="iterable"):
        optim.SGD(3, lr=0.1)


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [
        (optim.SGD, dict(lr=-1.0), "learning rate"),
        (optim.SGD, dict(momentum=-0.1), "momentum"),
        (optim.SGD, dict(nesterov=True), "Nesterov"),
        (optim.SGD, dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov"),
        (optim.Adam, dict(betas=(1.0, 0.9)), "beta parameter at index 0"),
        (optim.Adam, dict(eps=-1.0), "epsilon"),
        (optim.AdamW, dict(weight_decay=-1.0), "weight_decay"),
        (optim.RMSprop, dict(alpha=-0.5), "alpha"),
        (optim.Adagrad, dict(lr_decay=-1.0), "lr_decay"),
    ],
)
def test_invalid_options_raise(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls([gl.ones(2, requires_grad=True)], **kwargs)


def test_add_param_group_uses_defaults():
    a = gl.ones(2, requires_grad=True)
    b = gl.ones(2, requires_grad=True)
    opt = optim.Adam([a], lr=0.1, betas=(0.5, 0.6))
    opt.add_param_group({"params": b, "lr": 0.2})
    assert opt.param_groups[1]["betas"] == (0.5, 0.6)
    assert opt.param_groups[1]["lr"] == 0.2
    with pytest.raises(ValueError, match="'params'"):
        opt.add_param_group({"lr": 0.1})


def test_named_parameters_are_accepted():
    a = gl.ones(2, requires_grad=True)
    opt = optim.SGD([("weight", a)], lr=0.1)
    assert opt.param_groups[0]["params"][0] is a
    assert opt.param_groups[0]["param_names"] == ["weight"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight"]


def _train(opt, params, steps):
    for _ in range(steps):
        opt.zero_grad()
        sum(((p * p * p).abs().sum() for p in params), gl.tensor(0.0)).backward()
        opt.step()


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (optim.SGD, dict(lr=0.01, momentum=0.9)),
        (optim.Adam, dict(lr=0.01, amsgrad=True)),
        (optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5)),
        (optim.Adagrad, dict(lr=0.1)),
    ],
)
def test_state_dict_round_trip_continues_identically(cls, kwargs, tmp_path):
    def fresh():
        return [gl.tensor(W0, requires_grad=True), gl.tensor(B0, requires_grad=True)]

    ref = fresh()
    opt_ref = cls(ref, **kwargs)
    _train(opt_ref, ref, 5)
    sd = opt_ref.state_dict()
    assert sorted(sd["state"]) == [0, 1]
    assert sd["param_groups"][0]["params"] == [0, 1]
    # NOTE: state dicts hold copies: training on must not change the saved state.
    saved = {k: v.numpy().copy() for k, v in sd["state"][0].items() if isinstance(v, gl.Tensor)}
    path = tmp_path / "opt.gl"
    gl.save(sd, str(path))
    params = [gl.tensor(p.detach().numpy(), requires_grad=True) for p in ref]
    _train(opt_ref, ref, 5)
    for k, v in saved.items():
        np.testing.assert_array_equal(sd["state"][0][k].numpy(), v)
    opt = cls(params, **{**kwargs, "lr": 123.0})
    opt.load_state_dict(gl.load(str(path)))
    assert opt.param_groups[0]["lr"] == kwargs["lr"]
    assert opt.param_groups[0]["params"][0] is params[0]
    _train(opt, params, 5)
    for p, q in zip(params, ref):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12)


def test_load_state_dict_mismatch_raises_and_changes_nothing():
    a = gl.ones(2, requires_grad=True)
    b = gl.ones(3, requires_grad=True)
    src = optim.SGD([a, b], lr=0.1, momentum=0.9)
    _train(src, [a, b], 1)
    sd = src.state_dict()
    one = optim.SGD([gl.ones(2, requires_grad=True)], lr=0.5, momentum=0.9)
    with pytest.raises(ValueError, match="has 2 parameters.*has 1"):
        one.load_state_dict(sd)
    assert one.param_groups[0]["lr"] == 0.5 and not one.state
    two_groups = optim.SGD(
        [{"params": [gl.ones(2, requires_grad=True)]}, {"params": [gl.ones(3, requires_grad=True)]}]
    )
    with pytest.raises(ValueError, match="1 parameter groups.*has 2"):
        two_groups.load_state_dict(sd)
    swapped = optim.SGD([gl.ones(3, requires_grad=True), gl.ones(2, requires_grad=True)], lr=0.5)
    with pytest.raises(ValueError, match="momentum_buffer.*shape"):
        swapped.load_state_dict(sd)
    assert swapped.param_groups[0]["lr"] == 0.5 and not swapped.state
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        swapped.load_state_dict({"state": {}})


def test_load_state_dict_casts_floating_state_to_parameter_dtype():
    a = gl.ones(2, dtype=gl.float64, requires_grad=True)
    src = optim.Adam([a], lr=0.1)
    _train(src, [a], 2)
    b = gl.ones(2, dtype=gl.float32, requires_grad=True)
    dst = optim.Adam([b], lr=0.1)
    dst.load_state_dict(src.state_dict())
    assert dst.state[b]["exp_avg"].dtype is gl.float32
    assert dst.state[b]["step"] == 2


def test_repr_lists_groups_like_torch():
    opt = optim.SGD([gl.ones(2, requires_grad=True)], lr=0.1)
    assert repr(opt).splitlines() == [
        "SGD (",
        "Parameter Group 0",
        "    dampening: 0.0",
        "    lr: 0.1",
        "    maximize: False",
        "    momentum: 0.0",
        "    nesterov: False",
        "    weight_decay: 0.0",
        ")",
    ]


def test_lr_change_in_group_takes_effect():
    w = gl.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    opt.param_groups[0]["lr"] = 0.5
    (w * 2).sum().backward()
    opt.step()
    assert w.tolist() == [0.0]


def _nn_or_skip():
    nn = pytest.importorskip("graphlab.nn")
    if not hasattr(nn, "Linear") or not hasattr(nn, "Parameter"):
        pytest.skip("graphlab.nn.Linear is not available yet")
    return nn


def test_module_parameters_and_tied_weights():
    nn = _nn_or_skip()
    gl.manual_seed(0)
    shared = nn.Linear(4, 4)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tied parameters are listed once: no duplicate warning
        opt = optim.SGD(net.parameters(), lr=0.1)
    assert len(opt.param_groups[0]["params"]) == 2
    w_before = shared.weight.detach().numpy().copy()
    x = gl.randn(3, 4)
    net(x).sum().backward()
    grad = shared.weight.grad.numpy().copy()
    opt.step()
    np.testing.assert_allclose(shared.weight.detach().numpy(), w_before - 0.1 * grad, rtol=1e-6)


def test_optimizer_before_lazy_module_first_call():
    nn = _nn_or_skip()
    if not hasattr(nn, "LazyLinear"):
        pytest.skip("nn.LazyLinear is not available yet")
    net = nn.LazyLinear(3)
    opt = optim.Adam(net.parameters(), lr=0.1)
    x = gl.randn(5, 2)
    net(x).sum().backward()
    before = net.weight.detach().numpy().copy()
    opt.step()
    assert net.weight.shape == (3, 2)
    assert not np.allclose(net.weight.detach().numpy(), before)
    assert opt.state[net.weight]["exp_avg"].shape == (3, 2)


@pytest.mark.gpu
@pytest.mark.parametrize(
    ("name", "kwargs"), [CASES[3], CASES[7], CASES[10], CASES[14], CASES[16]], ids=str
)
def test_cuda_matches_cpu(name, kwargs):
    cpu = _trajectory_gl(name, kwargs, gl.float64, steps=20)
    w = gl.tensor(W0, dtype=gl.float64, device="cuda", requires_grad=True)
    b = gl.tensor(B0, dtype=gl.float64, device="cuda", requires_grad=True)
    x = gl.tensor(X, dtype=gl.float64, device="cuda")
    y = gl.tensor(Y, dtype=gl.float64, device="cuda")
    opt = getattr(optim, name)([w, b], **kwargs)
    data = w._data
    for _ in range(20):
        opt.zero_grad()
        _gl_loss(w, b, x, y).backward()
        opt.step()
    assert w._data is data and w.device.type == "cuda"
    assert all(v.device.type == "cuda" for v in opt.state[w].values() if isinstance(v, gl.Tensor))
    got = np.concatenate([w.detach().cpu().numpy().ravel(), b.detach().cpu().numpy().ravel()])
    np.testing.assert_allclose(got, cpu[-1], rtol=1e-9, atol=1e-9)
