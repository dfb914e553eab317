"""Module registries count their writes, so the recorder can trust cached parameter names."""

from __future__ import annotations

import copy

import graphlab as gl
from graphlab import nn
from graphlab.nn.modules._registry import Registry, changes
from graphlab.trace import OpEvent


def test_every_way_of_changing_a_module_tree_is_counted():
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    assert type(net._modules) is Registry and type(net[0]._parameters) is Registry
    edits = [
        lambda: setattr(net[0], "weight", nn.Parameter(gl.zeros(2, 2))),
        lambda: net[0].register_parameter("extra", None),
        lambda: delattr(net[0], "extra"),
        lambda: net.append(nn.Tanh()),
        lambda: net.insert(0, nn.Identity()),
        lambda: net.__delitem__(0),
        lambda: net.add_module("head", nn.Linear(2, 1)),
        lambda: net._modules.pop("head"),
        lambda: net[0]._parameters.update(bias=nn.Parameter(gl.zeros(2))),
    ]
    for edit in edits:
        before = changes()
        edit()
        assert changes() > before
    assert type(net._modules) is Registry  # containers renumber into a new registry
    clone = copy.deepcopy(net)
    assert type(clone._modules) is Registry and type(clone[0]._parameters) is Registry


def test_the_recorder_sees_a_parameter_swapped_between_passes():
    net = nn.Sequential(nn.Linear(3, 3))
    net(gl.randn(1, 3))
    net(gl.randn(1, 3))  # the cached names are trusted from here on
    net[0].weight = nn.Parameter(gl.randn(3, 3))
    net[0]._parameters["bias"] = nn.Parameter(gl.randn(3))  # a direct write counts too
    net(gl.randn(1, 3))
    (op,) = [e for e in gl.last_trace().events if isinstance(e, OpEvent)]
    assert [r.param for r in op.inputs[1:]] == ["0.weight", "0.bias"]
