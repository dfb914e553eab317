"""Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn


def _layers(n=4):
    return [nn.Linear(i + 1, i + 2) for i in range(n)]


def test_sequential_indexing_slicing_and_iteration():
    layers = _layers()
    seq = nn.Sequential(*layers)
    assert len(seq) == 4
    assert seq[0] is layers[0] and seq[-1] is layers[3] and seq[-4] is layers[0]
    with pytest.raises(IndexError, match="out of range"):
        seq[4]
    with pytest.raises(IndexError):
        seq[-5]
    with pytest.raises(TypeError, match="integers or slices"):
        seq["0"]
    sub = seq[1:3]
    assert type(sub) is nn.Sequential and list(sub) == layers[1:3]
    assert [n for n, _ in sub.named_children()] == ["1", "2"]  # slicing keeps the names
    assert list(seq) == layers
    assert list(seq[::-1]) == layers[::-1]
    x = gl.randn(2, 1)
    assert seq(x).shape == (2, 5)
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.ReLU())]))
    assert [n for n, _ in named.named_children()] == ["fc", "act"]
    assert named.fc is named[0]


def test_sequential_append_extend_insert_del_pop_setitem():
    a, b, c, d = _layers()
    seq = nn.Sequential(a)
    assert seq.append(b) is seq
    seq.extend([c])
    assert list(seq) == [a, b, c]
    seq.insert(0, d)
    assert list(seq) == [d, a, b, c]
    seq.insert(-1, nn.ReLU())
    assert type(seq[3]).__name__ == "ReLU" and seq[4] is c
    del seq[3]
    assert list(seq) == [d, a, b, c]
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2", "3"]
    del seq[1:3]
    assert list(seq) == [d, c]
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert seq.pop(0) is d and list(seq) == [c]
    seq[0] = a
    assert seq[0] is a and seq.get_submodule("0") is a
    with pytest.raises(IndexError):
        seq.insert(5, b)
    with pytest.raises(TypeError):
        seq.insert(0, "not a module")
    both = nn.Sequential(a) + nn.Sequential(b)
    assert list(both) == [a, b]
    assert list(nn.Sequential(a) * 2) == [a, a]
    with pytest.raises(ValueError, match="Sequential"):
        nn.Sequential(a) + [b]


def test_module_list():
    layers = _layers(3)
    ml = nn.ModuleList(layers)
    assert len(ml) == 3 and ml[-1] is layers[2] and list(ml) == layers
    assert type(ml[:2]) is nn.ModuleList and list(ml[:2]) == layers[:2]
    ml.append(nn.ReLU())
    ml.extend([nn.Identity()])
    ml.insert(1, nn.Flatten())
    assert [type(m).__name__ for m in ml] == [
        "Linear",
        "Flatten",
        "Linear",
        "Linear",
        "ReLU",
        "Identity",
    ]
    del ml[1]
    assert list(ml)[:3] == layers
    assert len(list(ml.parameters())) == 6
    ml += [nn.Linear(1, 1)]
    assert len(ml) == 6
    with pytest.raises(TypeError, match="iterable"):
        ml.extend(3)
    with pytest.raises(IndexError):
        ml[10]

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(nn.Linear(2, 2) for _ in range(3))

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    h = Holder()
    assert h(gl.ones(1, 2)).shape == (1, 2)
    assert len(list(h.parameters())) == 6
    assert "layers.2.bias" in h.state_dict()


def test_module_dict():
    md = nn.ModuleDict({"b": nn.Linear(2, 2), "a": nn.ReLU()})
    assert list(md.keys()) == ["b", "a"]  # insertion order kept for dicts
    md["c"] = nn.Identity()
    assert "c" in md and len(md) == 3
    assert md.pop("a").__class__.__name__ == "ReLU"
    assert list(md) == ["b", "c"]
    md.update([("d", nn.Flatten())])
    assert [k for k, _ in md.items()] == ["b", "c", "d"]
    assert list(md.values())[0] is md["b"]
    with pytest.raises(KeyError, match="no key 'zz'"):
        md["zz"]
    with pytest.raises(ValueError, match="length 1"):
        md.update([("x",)])
    md.clear()
    assert len(md) == 0


def test_parameter_list():
    pl = nn.ParameterList([gl.zeros(2), nn.Parameter(gl.ones(3))])
    assert len(pl) == 2
    assert all(type(p) is nn.Parameter for p in pl)
    pl.append(gl.ones(1))
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"]
    assert pl[-1].shape == (1,)
    assert type(pl[:2]) is nn.ParameterList and len(pl[:2]) == 2
    pl[0] = gl.full((2,), 5.0)
    assert pl[0].tolist() == [5.0, 5.0]
    with pytest.raises(RuntimeError, match="should not be called"):
        pl(1)
    with pytest.raises(TypeError, match="iterable"):
        pl.extend(gl.zeros(2))


def test_parameter_dict():
    pd = nn.ParameterDict({"right": gl.zeros(2), "left": nn.Parameter(gl.ones(2))})
    assert list(pd.keys()) == ["left", "right"]  # a plain dict is added sorted, as in PyTorch
    pd["mid"] = gl.ones(1)
    assert type(pd["mid"]) is nn.Parameter
    assert [n for n, _ in pd.named_parameters()] == ["left", "right", "mid"]
    assert pd.get("nope", 3) == 3
    assert pd.setdefault("new", gl.zeros(1)).shape == (1,)
    k, v = pd.popitem()
    assert k == "new" and v.shape == (1,)
    assert "new" not in pd
    assert list(pd.copy().keys()) == list(pd.keys())
    with pytest.raises(TypeError, match="not a string"):
        pd[1] = gl.zeros(1)
    with pytest.raises(KeyError):
        pd["missing"]
    pd.clear()
    assert len(pd) == 0


def test_containers_in_state_dicts_and_devices():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.ps = nn.ParameterList([gl.zeros(2)])
            self.pd = nn.ParameterDict({"w": gl.ones(2)})
            self.md = nn.ModuleDict({"fc": nn.Linear(2, 2)})

    m = M()
    assert list(m.state_dict()) == ["ps.0", "pd.w", "md.fc.weight", "md.fc.bias"]
    m.double()
    assert m.ps[0].dtype is gl.float64 and m.pd["w"].dtype is gl.float64
    np.testing.assert_array_equal(m.pd["w"].detach().numpy(), [1.0, 1.0])
