"""graphlab.inspect: tied groups, module trees, parameter tables and snapshots."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

import graphlab as gl
from graphlab import inspect as gi
from graphlab import nn
from graphlab.nn.modules.lazy import LazyInitRecord

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def load(name: str):
    """Import ``samples/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f"inspect_sample_{name}", SAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def tied_net():
    gl.manual_seed(0)
    net, _, _ = load("parameters").tied()
    return net


def lazy_net():
    return nn.Sequential(nn.LazyLinear(3), nn.ReLU(), nn.LazyBatchNorm1d())


# ----- tied_parameters ------------------------------------------------------------------------


def test_tied_groups_of_example_10(tied_net):
    assert gi.tied_parameters(tied_net) == [["2.weight", "4.weight"], ["2.bias", "4.bias"]]


def test_no_ties_in_a_plain_net():
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    assert gi.tied_parameters(net) == []


def test_ties_are_identity_not_equal_values():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    b.load_state_dict(a.state_dict())
    net = nn.Sequential(a, b)
    assert gi.tied_parameters(net) == []
    b.weight = a.weight  # one parameter object reached by two names
    assert gi.tied_parameters(net) == [["0.weight", "1.weight"]]


def test_tied_buffers_are_grouped_after_parameters():
    bn = nn.BatchNorm1d(3)
    other = nn.BatchNorm1d(3)
    other.running_mean = bn.running_mean
    net = nn.Sequential(bn, other)
    groups = gi.tied_parameters(net)
    assert groups == [["0.running_mean", "1.running_mean"]]


def test_inspect_rejects_non_modules():
    with pytest.raises(TypeError, match="tied_parameters: expected an nn.Module or a Snapshot"):
        gi.tied_parameters([gl.ones(2)])
    with pytest.raises(TypeError, match="module_tree"):
        gi.module_tree("net")


# ----- module_tree ----------------------------------------------------------------------------


def test_module_tree_of_the_chimera():
    gl.manual_seed(0)
    chimera = load("blocks").chimera()
    chimera(gl.rand(2, 20))
    tree = gi.module_tree(chimera)
    assert [n.path for n in tree.walk()] == [n for n, _ in chimera.named_modules()]
    assert tree.class_name == "Sequential" and tree.path == "" and tree.name == ""
    assert [c.class_name for c in tree.children] == ["NestMLP", "Linear", "FixedHiddenMLP"]
    lin = tree.find("0.net.2")
    assert (lin.name, lin.class_name, lin.extra_repr) == (
        "2",
        "Linear",
        "in_features=64, out_features=32, bias=True",
    )
    assert lin.parameters == ("weight", "bias") and lin.own_num_parameters == 64 * 32 + 32
    assert tree.num_parameters == sum(p.numel() for p in chimera.parameters()) == 4712
    # FixedHiddenMLP's rand_weight is a plain tensor attribute, not a parameter.
    assert tree.find("2").num_parameters == 20 * 20 + 20 and tree.find("2").parameters == ()
    assert tree.find("2").own_num_parameters == 0 and tree.find("0.net.1").num_parameters == 0
    assert all(n.devices in ((), ("cpu",)) for n in tree.walk())
    text = str(tree)
    assert text.splitlines()[0] == "Sequential  [4,712 params]"
    assert "      (2): Linear(in_features=64, out_features=32, bias=True)  [2,080 params]" in text
    assert len(text.splitlines()) == len(list(tree.walk()))


def test_module_tree_of_example_7_rgnet():
    rgnet, _ = load("parameters").nested()
    tree = gi.module_tree(rgnet)
    assert [n.path for n in tree.walk()] == [n for n, _ in rgnet.named_modules()]
    block2 = tree.children[0]
    assert [c.name for c in block2.children] == [f"block {i}" for i in range(4)]
    assert tree.find("0.block 1.0").class_name == "Linear"
    per_block = (4 * 8 + 8) + (8 * 4 + 4)
    assert block2.children[1].num_parameters == per_block
    assert tree.num_parameters == 4 * per_block + 5
    lines = tree.format(max_depth=1).splitlines()
    assert lines[1].startswith("  (0): Sequential  [") and lines[2] == "    … 4 children"
    with pytest.raises(KeyError, match="close paths"):
        tree.find("0.block 1.9")


def test_module_tree_shows_a_shared_module_once_and_counts_it_once(tied_net):
    tree = gi.module_tree(tied_net)
    assert tree.num_parameters == 40 + 72 + 9
    second = tree.find("4")
    assert second.alias_of == "2" and second.children == ()
    assert second.parameters == ("weight", "bias")
    assert "(4): Linear(in_features=8, out_features=8, bias=True)  [same module as '2']" in str(
        tree
    )


def test_module_tree_lazy_state():
    net = lazy_net()
    tree = gi.module_tree(net)
    assert tree.find("0").lazy and tree.find("0").type_name == "LazyLinear"
    assert tree.num_parameters == 0 and "lazy: uninitialized" in str(tree)
    net(gl.randn(4, 5))
    tree = gi.module_tree(net)
    assert not tree.find("0").lazy
    assert (tree.find("0").class_name, tree.find("0").type_name) == ("Linear", "LazyLinear")
    assert tree.num_parameters == 5 * 3 + 3 + 3 + 3


def test_module_tree_is_frozen_and_holds_no_modules(tied_net):
    tree = gi.module_tree(tied_net)
    with pytest.raises(dataclasses.FrozenInstanceError):
        tree.name = "x"
    for node in tree.walk():
        for f in dataclasses.fields(node):
            assert not isinstance(getattr(node, f.name), nn.Module)


# ----- parameter_table ------------------------------------------------------------------------


def test_parameter_table_rows(tied_net):
    rows = gi.parameter_table(tied_net)
    assert [r.name for r in rows] == [
        n for n, _ in tied_net.named_parameters(remove_duplicate=False)
    ]
    w = {r.name: r for r in rows}["0.weight"]
    value = tied_net[0].weight.detach().numpy()
    assert (w.shape, w.dtype, w.device, w.count, w.kind) == (
        (8, 4),
        "float32",
        "cpu",
        32,
        "parameter",
    )
    assert w.requires_grad and not w.lazy and w.tie_group is None and w.aliases == ("0.weight",)
    assert w.stats.min == pytest.approx(value.min()) and w.stats.max == pytest.approx(value.max())
    assert w.stats.mean == pytest.approx(value.mean(), rel=1e-6)
    assert w.stats.std == pytest.approx(value.std(), rel=1e-5)
    assert (w.stats.nan, w.stats.inf, w.stats.count) == (0, 0, 32)
    by_name = {r.name: r for r in rows}
    assert by_name["2.weight"].tie_group == by_name["4.weight"].tie_group == 0
    assert by_name["4.bias"].tie_group == 1 and by_name["4.bias"].aliases == ("2.bias", "4.bias")
    # Tied names share one Stats object: computed once.
    assert by_name["2.weight"].stats is by_name["4.weight"].stats


def test_parameter_table_grad_stats_after_backward():
    gl.manual_seed(1)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    assert all(r.grad_stats is None and r.grad_norm is None for r in gi.parameter_table(net))
    net(gl.randn(5, 3)).sum().backward()
    rows = {r.name: r for r in gi.parameter_table(net)}
    g = net[0].weight.grad.numpy()
    r = rows["0.weight"]
    assert r.grad_stats.mean == pytest.approx(g.mean(), rel=1e-5, abs=1e-7)
    assert r.grad_stats.max == pytest.approx(g.max()) and r.grad_stats.count == 12
    assert r.grad_norm == pytest.approx(float(np.linalg.norm(g)), rel=1e-6)
    # d(sum)/d(last bias) is the batch size.
    assert rows["2.bias"].grad_stats.min == rows["2.bias"].grad_stats.max == pytest.approx(5.0)


def test_parameter_table_counts_nan_and_inf_without_propagating():
    lin = nn.Linear(2, 3)
    with gl.no_grad():
        lin.weight.copy_(
            gl.tensor([[1.0, float("nan")], [float("inf"), -2.0], [float("nan"), 3.0]])
        )
    row = gi.parameter_table(lin)[0]
    assert (row.stats.nan, row.stats.inf, row.stats.count) == (2, 1, 6)
    assert (row.stats.min, row.stats.max) == (-2.0, 3.0)
    assert row.stats.mean == pytest.approx(2.0 / 3.0)
    text = gi.format_parameter_table([row])
    assert "2/1" in text
    all_nan = gi.array_stats(np.array([np.nan, np.nan], dtype=np.float32))
    assert all_nan.nan == 2 and math.isnan(all_nan.mean) and all_nan.count == 2


def test_parameter_table_lazy_before_and_after_first_call(monkeypatch):
    net = lazy_net()
    # Touching an uninitialized parameter's data raises; the table must not.
    rows = gi.parameter_table(net, buffers=True)
    lazy = [r for r in rows if r.lazy]
    assert [r.name for r in lazy] == [
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
        "2.running_mean",
        "2.running_var",
    ]
    assert all(r.shape is None and r.count is None and r.stats is None for r in lazy)
    assert all(r.dtype == "float32" and r.device == "cpu" for r in lazy)
    assert [r.kind for r in rows].count("buffer") == 3  # num_batches_tracked is known already
    text = gi.format_parameter_table(rows)
    assert "? (uninitialized)" in text and "4 uninitialized (lazy, not counted)" in text
    net(gl.randn(4, 5))
    rows = {r.name: r for r in gi.parameter_table(net)}
    assert rows["0.weight"].shape == (3, 5) and not rows["0.weight"].lazy
    assert rows["2.weight"].stats.min == rows["2.weight"].stats.max == 1.0  # BatchNorm: ones
    assert "2.running_mean" not in rows  # buffers only on request


def test_format_parameter_table_is_aligned_with_a_total(tied_net):
    text = gi.format_parameter_table(gi.parameter_table(tied_net))
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["name", "shape", "dtype", "device"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].startswith("0.weight  (8, 4)  float32  cpu")
    # The name column has one width: every data row's shape starts at the same column.
    col = lines[0].index("shape")
    assert all(line[col] == "(" for line in lines[2:-1])
    assert lines[-1] == "121 parameters in 8 names (2 tied groups counted once)"


# ----- snapshot -------------------------------------------------------------------------------


def _walk(obj, seen=None):
    """Every object reachable from a snapshot through fields, mappings and sequences."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _walk(getattr(obj, f.name), seen)
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from _walk(k, seen)
            yield from _walk(v, seen)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _walk(v, seen)


def _trained(net, x, opt=None):
    out = net(x).sum()
    out.backward()
    if opt is not None:
        opt.step()


def test_snapshot_holds_no_live_objects(tied_net):
    opt = gl.optim.Adam(tied_net.parameters(), lr=0.01)
    _trained(tied_net, gl.rand(2, 4), opt)
    snap = gi.snapshot(tied_net, optimizer=opt, name="tied")
    objs = list(_walk(snap))
    assert len(objs) > 50
    for o in objs:
        assert not isinstance(o, (gl.Tensor, nn.Module, gl.optim.Optimizer)), type(o)
    arrays = [o for o in objs if isinstance(o, np.ndarray)]
    assert arrays and all(not a.flags.writeable for a in arrays)
    assert snap.name == "tied" and "tied" in repr(snap)
    # The shared layer's parameters are one optimizer entry each, under their first name.
    assert snap.optimizer.param_names == (
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
        "6.weight",
        "6.bias",
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.name = "other"
    with pytest.raises(TypeError):
        snap.parameters["0.weight"] = np.zeros(1)


def test_snapshot_keeps_tie_groups_as_one_array(tied_net):
    snap = gi.snapshot(tied_net)
    assert snap.tied == (("2.weight", "4.weight"), ("2.bias", "4.bias"))
    assert snap.parameters["2.weight"] is snap.parameters["4.weight"]
    assert snap.gradients["2.bias"] is snap.gradients["4.bias"]
    assert snap.parameters["0.weight"] is not snap.parameters["2.weight"]
    np.testing.assert_array_equal(snap.gradients["2.weight"], tied_net[2].weight.grad.numpy())
    assert snap.aliases("4.weight") == ("2.weight", "4.weight")
    assert snap.num_parameters == 121


def test_snapshot_is_a_copy(tied_net):
    snap = gi.snapshot(tied_net)
    before = snap.parameters["0.weight"].copy()
    with gl.no_grad():
        tied_net[0].weight.mul_(2)
    np.testing.assert_array_equal(snap.parameters["0.weight"], before)


def test_functions_answer_the_same_for_a_model_and_its_snapshot(tied_net):
    snap = gi.snapshot(tied_net)
    assert gi.tied_parameters(snap) == gi.tied_parameters(tied_net)
    assert gi.module_tree(snap) == gi.module_tree(tied_net)
    assert gi.parameter_table(snap) == gi.parameter_table(tied_net)
    assert gi.format_parameter_table(gi.parameter_table(snap)) == snap.format_parameter_table()


def test_snapshot_includes_optimizer_state_after_an_adam_step():
    gl.manual_seed(2)
    net = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    opt = gl.optim.Adam(net.parameters(), lr=0.05, betas=(0.8, 0.9))
    _trained(net, gl.randn(4, 3), opt)
    snap = gi.snapshot(net, optimizer=opt)
    state = snap.optimizer
    assert state.type_name == "Adam" and len(state.param_groups) == 1
    group = state.param_groups[0]
    assert group["lr"] == 0.05 and group["betas"] == (0.8, 0.9)
    assert group["params"] == (0, 1, 2, 3)
    assert state.param_names == ("0.weight", "0.bias", "2.weight", "2.bias")
    reference = opt.state_dict()["state"]
    assert sorted(state.state) == sorted(reference) == [0, 1, 2, 3]
    for i, s in reference.items():
        assert state.state[i]["step"] == s["step"] == 1
        np.testing.assert_array_equal(state.state[i]["exp_avg"], s["exp_avg"].numpy())
        np.testing.assert_array_equal(state.state[i]["exp_avg_sq"], s["exp_avg_sq"].numpy())
    np.testing.assert_array_equal(
        state.state_for("2.weight")["exp_avg"], opt.state[net[2].weight]["exp_avg"].numpy()
    )
    with pytest.raises(KeyError, match="no parameter named"):
        state.state_for("9.weight")
    with pytest.raises(TypeError, match="graphlab.optim.Optimizer"):
        gi.snapshot(net, optimizer=object())


def test_snapshot_of_a_model_on_logical_device_cpu1_copies_each_tensor_once(tied_net):
    records = []
    handle = gl.transfer.add_observer(records.append)
    try:
        net = nn.Sequential(tied_net, nn.BatchNorm1d(1)).to("cpu:1")
        net.train()
        _trained(net, gl.rand(3, 4, device="cpu:1"))
        records.clear()
        snap = gi.snapshot(net)
    finally:
        handle.remove()
    distinct = {id(t) for t in net.parameters()}
    distinct |= {id(t.grad) for t in net.parameters()}
    distinct |= {id(b) for b in net.buffers()}
    moves = [r for r in records if isinstance(r, gl.transfer.Transfer)]
    assert len(moves) == len(distinct) == 6 * 2 + 2 * 2 + 3
    assert all((r.src, r.dst, r.reason) == ("cpu:1", "cpu", "snapshot") for r in moves)
    expected = sum(p.numel() * 4 for p in net.parameters()) * 2 + 4 + 4 + 8
    assert sum(r.nbytes for r in moves) == expected
    assert {i.device for i in snap.tensor_info.values()} == {"cpu:1"}
    assert snap.tensor_info["1.num_batches_tracked"].dtype == "int64"
    assert {r.device for r in snap.parameter_table(buffers=True)} == {"cpu:1"}
    assert snap.module_tree.find("0.2").devices == ("cpu:1",)
    np.testing.assert_array_equal(snap.buffers["1.running_mean"], net[1].running_mean.numpy())


@pytest.mark.gpu
def test_snapshot_of_a_gpu_model_copies_each_tensor_to_the_host_once():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)).to("cuda")
    net(gl.randn(2, 3, device="cuda")).sum().backward()
    records = []
    handle = gl.transfer.add_observer(records.append)
    try:
        snap = gi.snapshot(net)
    finally:
        handle.remove()
    moves = [r for r in records if isinstance(r, gl.transfer.Transfer)]
    assert [(r.src, r.dst, r.reason) for r in moves] == [("cuda:0", "cpu", "snapshot")] * 8
    assert all(type(a) is np.ndarray for a in snap.parameters.values())
    assert {i.device for i in snap.tensor_info.values()} == {"cuda:0"}
    np.testing.assert_array_equal(snap.gradients["2.bias"], net[2].bias.grad.cpu().numpy())


def test_parameter_table_on_cpu1_reads_each_tensor_once(tied_net):
    tied_net.to("cpu:1")
    records = []
    handle = gl.transfer.add_observer(records.append)
    try:
        rows = gi.parameter_table(tied_net)
    finally:
        handle.remove()
    assert {r.device for r in rows} == {"cpu:1"}
    reasons = [r.reason for r in records if isinstance(r, gl.transfer.Transfer)]
    assert reasons == ["inspect"] * (6 * 2)  # six distinct parameters, each value and grad


def test_snapshot_of_a_lazy_model_before_and_after_the_first_call():
    net = lazy_net()
    before = gi.snapshot(net)
    assert set(before.parameters) == set() and set(before.buffers) == {"2.num_batches_tracked"}
    assert before.tensor_info["0.weight"].lazy and before.tensor_info["0.weight"].shape is None
    assert before.lazy_inits == {}
    net(gl.randn(4, 5))
    after = gi.snapshot(net)
    assert after.parameters["0.weight"].shape == (3, 5)
    rec = after.lazy_inits["0"]
    assert isinstance(rec, LazyInitRecord) and rec.shapes == (("weight", (3, 5)), ("bias", (3,)))
    assert set(after.lazy_inits) == {"0", "2"}


def test_snapshot_stores_traces():
    net = nn.Linear(2, 2)
    marker = ("a recorded pass",)
    try:
        from graphlab.trace import Trace  # noqa: F401
    except ImportError:
        snap = gi.snapshot(net, traces=[marker, marker])
        assert snap.traces == (marker, marker)
    else:
        with gl.record() as tr:
            net(gl.ones(1, 2)).sum().backward()
        assert gi.snapshot(net, traces=tr).traces == (tr,)
        assert gi.snapshot(net, traces=[tr, tr]).traces == (tr, tr)
        with pytest.raises(TypeError, match="graphlab.trace.Trace"):
            gi.snapshot(net, traces=[marker])
    assert gi.snapshot(net).traces == ()


def test_snapshot_constructor_validates_and_freezes_plain_data():
    tree = gi.module_tree(nn.Linear(1, 1))
    with pytest.raises(ValueError, match="without an entry in tensor_info"):
        gi.Snapshot("s", tree, {"weight": np.zeros((1, 1))}, {}, {}, {})
    info = gi.TensorInfo("parameter", (1, 1), "float32", "cpu", True, False, True, "Linear")
    snap = gi.Snapshot("s", tree, {"weight": np.ones((1, 1))}, {}, {}, {"weight": info})
    assert isinstance(snap.parameters, Mapping) and snap.tied == () and snap.optimizer is None
    (row,) = snap.parameter_table()
    assert row.name == "weight" and row.stats.mean == 1.0 and row.grad_stats is None
