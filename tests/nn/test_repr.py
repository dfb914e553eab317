"""``repr(model)`` prints the module tree exactly as PyTorch does (example 7 and nests)."""

from __future__ import annotations

from collections import OrderedDict

import pytest

import graphlab as gl
from graphlab import nn

torch = pytest.importorskip("torch")


def _build(lib):
    def block1():
        return lib.Sequential(lib.Linear(4, 8), lib.ReLU(), lib.Linear(8, 4), lib.ReLU())

    def block2():
        net = lib.Sequential()
        for i in range(4):
            net.add_module(f"block {i}", block1())
        return net

    return lib.Sequential(block2(), lib.Linear(4, 1))


def test_example_7_rgnet_prints_like_torch():
    rgnet = _build(nn)
    trgnet = _build(torch.nn)
    assert repr(rgnet) == repr(trgnet)
    assert str(rgnet) == str(trgnet)
    assert rgnet(gl.rand(2, 4)).shape == (2, 1)
    bias = rgnet[0][1][0].bias.data
    assert tuple(bias.shape) == (8,)
    assert [n for n, _ in rgnet.named_parameters()][:2] == [
        "0.block 0.0.weight",
        "0.block 0.0.bias",
    ]


def test_nested_containers_print_like_torch():
    def build(lib):
        class Net(lib.Module):
            def __init__(self):
                super().__init__()
                self.features = lib.ModuleList([lib.Linear(3, 3) for _ in range(3)])
                self.features.append(lib.Linear(3, 2))
                self.heads = lib.ModuleDict(
                    {"cls": lib.Sequential(lib.Flatten(), lib.Linear(2, 5)), "id": lib.Identity()}
                )
                self.seq = lib.Sequential(
                    OrderedDict([("fc", lib.Linear(5, 5, bias=False)), ("act", lib.ReLU())])
                )
                self.empty = lib.ModuleList()
                self.bil = lib.Bilinear(2, 3, 4)
                self.unflat = lib.Unflatten(1, (2, 5))
                self.missing = None

        return Net()

    assert repr(build(nn)) == repr(build(torch.nn))


def test_module_list_compresses_repeats_like_torch():
    def build(lib):
        return lib.ModuleList(
            [lib.Linear(2, 2), lib.Linear(2, 2), lib.Linear(2, 3), lib.ReLU(), lib.ReLU()]
            + [lib.Sequential(lib.Linear(1, 1), lib.ReLU()) for _ in range(2)]
        )

    assert repr(build(nn)) == repr(build(torch.nn))


def test_parameter_containers_print_like_torch_up_to_the_library_name():
    pl = nn.ParameterList([gl.zeros(2, 3), nn.Parameter(gl.ones(4))])
    tpl = torch.nn.ParameterList([torch.zeros(2, 3), torch.nn.Parameter(torch.ones(4))])
    assert repr(pl) == repr(tpl).replace("torch.", "graphlab.")
    pd = nn.ParameterDict({"a": gl.zeros(2, dtype=gl.float64), "b": gl.ones(1)})
    tpd = torch.nn.ParameterDict({"a": torch.zeros(2, dtype=torch.float64), "b": torch.ones(1)})
    assert repr(pd) == repr(tpd).replace("torch.", "graphlab.")


def test_lazy_linear_prints_like_torch_before_and_after():
    lazy = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
    tlazy = torch.nn.Sequential(torch.nn.LazyLinear(256), torch.nn.ReLU(), torch.nn.LazyLinear(10))
    assert repr(lazy) == repr(tlazy)
    lazy(gl.rand(2, 20))
    tlazy(torch.rand(2, 20))
    assert repr(lazy) == repr(tlazy)
