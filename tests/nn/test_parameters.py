"""Parameters, buffers, parameter access (examples 6, 8, 9) and state dicts."""

from __future__ import annotations

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn


def _net():
    gl.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))


# ----- Parameter -------------------------------------------------------------------------------


def test_parameter_shares_storage_and_requires_grad():
    t = gl.zeros(3)
    p = nn.Parameter(t)
    assert isinstance(p, gl.Tensor) and type(p) is nn.Parameter
    assert p.requires_grad and p.is_leaf
    t[0] = 5.0
    assert p[0].item() == 5.0
    d = p.data
    assert type(d) is gl.Tensor and not d.requires_grad
    d[1] = 2.0
    assert p[1].item() == 2.0
    assert not nn.Parameter(gl.zeros(2), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    assert type(p * 2) is gl.Tensor


def test_parameter_repr_and_errors():
    torch = pytest.importorskip("torch")
    p = nn.Parameter(gl.tensor([1.0, 2.0]))
    tp = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    assert repr(p) == repr(tp)
    with pytest.raises(TypeError, match="graphlab Tensor"):
        nn.Parameter([1.0])
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(gl.tensor([1, 2]))


def test_buffer_assignment_registers():
    m = nn.Module()
    m.stats = nn.Buffer(gl.zeros(2))
    assert "stats" in m.state_dict()
    assert not m.stats.requires_grad


# ----- example 6: parameter access ------------------------------------------------------------


def test_example_6_parameter_access():
    net = _net()
    X = gl.rand(2, 4)
    net(X)
    sd = net[2].state_dict()
    assert list(sd) == ["weight", "bias"]
    assert type(net[2].bias) is nn.Parameter
    assert type(net[2].bias.data) is gl.Tensor
    assert net[2].weight.grad is None
    assert [(name, tuple(p.shape)) for name, p in net.named_parameters()] == [
        ("0.weight", (8, 4)),
        ("0.bias", (8,)),
        ("2.weight", (1, 8)),
        ("2.bias", (1,)),
    ]
    b = net.state_dict()["2.bias"].data
    assert b.tolist() == net[2].bias.tolist()
    net(X).sum().backward()
    assert net[2].weight.grad.shape == (1, 8)


# ----- examples 8 and 9: built-in and custom initialization -----------------------------------


def test_example_8_apply_init():
    net = _net()

    def init_normal(m):
        if type(m) is nn.Linear:
            nn.init.normal_(m.weight, mean=0, std=0.01)
            nn.init.zeros_(m.bias)

    net.apply(init_normal)
    assert net[0].bias.tolist() == [0.0] * 8
    assert abs(net[0].weight.detach().numpy()).max() < 0.1

    def init_constant(m):
        if type(m) is nn.Linear:
            nn.init.constant_(m.weight, 1)
            nn.init.zeros_(m.bias)

    net.apply(init_constant)
    assert net[0].weight.data[0].tolist() == [1.0] * 4

    def init_xavier(m):
        if type(m) is nn.Linear:
            nn.init.xavier_uniform_(m.weight)

    def init_42(m):
        if type(m) is nn.Linear:
            nn.init.constant_(m.weight, 42)

    net[0].apply(init_xavier)
    net[2].apply(init_42)
    bound = np.sqrt(6 / (4 + 8))
    assert abs(net[0].weight.detach().numpy()).max() <= bound
    assert net[2].weight.data.tolist() == [[42.0] * 8]
    # the parameters are still the same objects, still requiring grad
    assert net[0].weight.requires_grad and net[0].weight.grad_fn is None


def test_example_9_custom_init_and_direct_edits():
    net = _net()

    def my_init(m):
        if type(m) is nn.Linear:
            nn.init.uniform_(m.weight, -10, 10)
            m.weight.data *= m.weight.data.abs() >= 5

    net.apply(my_init)
    w = net[0].weight.detach().numpy()
    assert np.all((w == 0) | (np.abs(w) >= 5))
    before = net[0].weight.detach().numpy().copy()
    net[0].weight.data[:] += 1
    net[0].weight.data[0, 0] = 42
    after = net[0].weight.detach().numpy()
    assert after[0, 0] == 42
    np.testing.assert_allclose(after.ravel()[1:], before.ravel()[1:] + 1)


# ----- state dicts -----------------------------------------------------------------------------


def test_state_dict_is_detached_shares_storage_and_matches_torch_keys():
    torch = pytest.importorskip("torch")
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Linear(3, 1)))
    net.register_buffer("steps", gl.tensor(0))
    net.register_buffer("tmp", gl.zeros(1), persistent=False)
    tnet = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sequential(torch.nn.Linear(3, 1)))
    tnet.register_buffer("steps", torch.tensor(0))
    tnet.register_buffer("tmp", torch.zeros(1), persistent=False)
    sd = net.state_dict()
    assert list(sd) == list(tnet.state_dict())
    assert all(type(v) is gl.Tensor and not v.requires_grad for v in sd.values())
    sd["0.bias"][0] = 9.0
    assert net[0].bias[0].item() == 9.0
    kv = net.state_dict(keep_vars=True)
    assert kv["0.weight"] is net[0].weight
    assert list(net.state_dict(prefix="m.")) == ["m." + k for k in sd]


def test_load_state_dict_round_trip_in_place():
    a, b = _net(), nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    weight_obj = b[0].weight
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    assert b[0].weight is weight_obj
    X = gl.rand(3, 4)
    assert gl.equal(a(X), b(X))
    # the loaded values are copies: editing the source later doesn't change b
    a[0].weight.data[0, 0] = 123.0
    assert b[0].weight[0, 0].item() != 123.0


def test_load_state_dict_casts_float_dtypes_and_moves_devices():
    a = nn.Linear(2, 2).double().to("cpu:1")
    b = nn.Linear(2, 2)
    b.load_state_dict(a.state_dict())
    assert b.weight.dtype is gl.float32 and b.weight.device == gl.device("cpu")
    np.testing.assert_allclose(b.weight.detach().numpy(), a.weight.detach().cpu().numpy(), 1e-6)


def test_strict_load_lists_every_problem_at_once_and_changes_nothing():
    net = _net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    bad = {k: v.clone() + 1 for k, v in net.state_dict().items()}
    del bad["0.bias"]
    del bad["2.bias"]
    bad["extra.weight"] = gl.zeros(1)
    bad["0.weight"] = gl.zeros(3, 3)
    bad["2.weight"] = gl.zeros(1, 8, dtype=gl.int64)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(bad)
    msg = str(info.value)
    assert msg.startswith("Error(s) in loading state_dict for Sequential:")
    assert 'Missing key(s) in state_dict: "0.bias", "2.bias".' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight".' in msg
    assert "size mismatch for 0.weight" in msg
    assert "graphlab.Size([3, 3])" in msg and "graphlab.Size([8, 4])" in msg
    assert "dtype mismatch for 2.weight" in msg
    assert msg.index("Missing") < msg.index("Unexpected") < msg.index("size mismatch")
    for k, v in net.state_dict().items():
        assert gl.equal(v, before[k]), k


def test_torch_lists_the_same_keys():
    torch = pytest.importorskip("torch")
    tnet = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    bad = dict(tnet.state_dict())
    del bad["0.bias"]
    bad["extra.weight"] = torch.zeros(1)
    r = tnet.load_state_dict(bad, strict=False)
    net = _net()
    gbad = dict(net.state_dict())
    del gbad["0.bias"]
    gbad["extra.weight"] = gl.zeros(1)
    g = net.load_state_dict(gbad, strict=False)
    assert g.missing_keys == r.missing_keys and g.unexpected_keys == r.unexpected_keys


def test_non_strict_returns_keys_but_mismatches_still_raise():
    net = _net()
    sd = net.state_dict()
    partial = {"0.weight": sd["0.weight"].clone() * 0, "junk": gl.zeros(1)}
    result = net.load_state_dict(partial, strict=False)
    assert result.missing_keys == ["0.bias", "2.weight", "2.bias"]
    assert result.unexpected_keys == ["junk"]
    assert (net[0].weight == 0).all()
    with pytest.raises(RuntimeError, match="size mismatch for 2.bias"):
        net.load_state_dict({"2.bias": gl.zeros(5)}, strict=False)
    with pytest.raises(RuntimeError, match="expected a graphlab Tensor"):
        net.load_state_dict({**net.state_dict(), "2.bias": [1.0]})
    with pytest.raises(TypeError, match="dict-like"):
        net.load_state_dict([1, 2])


def test_buffers_round_trip_and_non_persistent_are_skipped():
    m = nn.Module()
    m.register_buffer("count", gl.tensor(3))
    m.register_buffer("cache", gl.zeros(2), persistent=False)
    n = nn.Module()
    n.register_buffer("count", gl.tensor(0))
    n.register_buffer("cache", gl.ones(2), persistent=False)
    n.load_state_dict(m.state_dict())
    assert n.count.item() == 3 and n.cache.tolist() == [1.0, 1.0]
