"""The trace recorder: what each pass records, when passes start, the ring, and the Trace object."""

from __future__ import annotations

import gc
import importlib.util
import inspect
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphlab as gl
from graphlab import nn
from graphlab.autograd.function import Op
from graphlab.nn import functional as F
from graphlab.trace import (
    BackwardEvent,
    InitEvent,
    OpEvent,
    SyncEvent,
    Trace,
    TransferEvent,
    ValueRef,
)

ROOT = Path(__file__).resolve().parent.parent


def _sample(name: str):
    """A script of samples/ as a module."""
    key = f"_trace_sample_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, ROOT / "samples" / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[key] = mod
        spec.loader.exec_module(mod)
    return sys.modules[key]


# NOTE: every test starts from the default recorder options and leaves them so
pytestmark = pytest.mark.usefixtures("default_trace_options")


def _here(offset: int = 0) -> str:
    f = inspect.currentframe().f_back
    return f"{f.f_code.co_filename}:{f.f_lineno + offset}"


def _ops(trace) -> list[tuple[str, str, str]]:
    return [(e.op, e.scope, e.scope_class) for e in trace.events if isinstance(e, OpEvent)]


def _check_consistent(trace) -> None:
    """Ids are 0..n-1 in order; every input vid was defined earlier or is a first-seen leaf;
    every backward step's forward_id names an OpEvent of the same trace."""
    events = trace.events
    assert [e.id for e in events] == list(range(len(events)))
    ops = {e.id: e for e in events if isinstance(e, OpEvent)}
    produced: dict[int, int] = {}
    for e in events:
        if isinstance(e, OpEvent):
            for v in e.inputs:
                if isinstance(v, ValueRef) and v.vid in produced:
                    assert produced[v.vid] < e.id
            for v in e.outputs:
                produced.setdefault(v.vid, e.id)
        if isinstance(e, BackwardEvent) and e.forward_id is not None:
            assert e.forward_id in ops and e.forward_id < e.id


# ----- event order and scopes ----------------------------------------------------------------


def test_blocks_examples_record_ops_in_order_with_their_scopes():
    blocks = _sample("blocks")
    X = gl.rand(2, 20)
    blocks.MLP()(X)
    assert _ops(gl.last_trace()) == [
        ("Linear", "hidden", "Linear"),
        ("Relu", "", "MLP"),  # F.relu inside MLP.forward: the root's own scope
        ("Linear", "out", "Linear"),
    ]
    blocks.MySequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))(X)
    assert _ops(gl.last_trace()) == [
        ("Linear", "0", "Linear"),
        ("Relu", "1", "ReLU"),
        ("Linear", "2", "Linear"),
    ]


def test_chimera_scopes_follow_named_modules_and_show_the_loop():
    blocks = _sample("blocks")
    gl.manual_seed(0)
    net = blocks.chimera()
    net(gl.rand(2, 20))
    trace = gl.last_trace()
    ops = _ops(trace)
    assert ops[:10] == [
        ("Linear", "0.net.0", "Linear"),
        ("Relu", "0.net.1", "ReLU"),
        ("Linear", "0.net.2", "Linear"),
        ("Relu", "0.net.3", "ReLU"),
        ("Linear", "0.linear", "Linear"),
        ("Linear", "1", "Linear"),
        ("Linear", "2.linear", "Linear"),
        ("MatMul", "2", "FixedHiddenMLP"),
        ("Add", "2", "FixedHiddenMLP"),
        ("Relu", "2", "FixedHiddenMLP"),
    ]
    assert ops[10] == ("Linear", "2.linear", "Linear")  # the same layer again
    assert ops[-1] == ("Sum", "2", "FixedHiddenMLP")
    names = {n for n, _ in net.named_modules()}
    assert {e.scope for e in trace.events if e.scope} <= names
    # the while loop: one bool() sync per test of its condition, inside FixedHiddenMLP
    syncs = trace.filter(kind="sync").events
    assert syncs and all(s.reason == "bool" and s.scope == "2" for s in syncs)
    # the constant weight is an input, not a parameter; the shared layer's weight is one value
    mm = next(e for e in trace.events if isinstance(e, OpEvent) and e.op == "MatMul")
    const = mm.inputs[1]
    assert const.const and const.param is None and const.shape == (20, 20)
    lin = [e for e in trace.events if isinstance(e, OpEvent) and e.scope == "2.linear"]
    assert lin[0].inputs[1].vid == lin[1].inputs[1].vid
    assert lin[0].inputs[1].param == "2.linear.weight"
    _check_consistent(trace)


def test_in_place_division_reads_its_own_result():
    blocks = _sample("blocks")
    gl.manual_seed(0)
    net = blocks.FixedHiddenMLP()
    net(gl.rand(2, 20) * 100)  # large enough that the loop halves X a few times
    events = [e for e in gl.last_trace().events if isinstance(e, OpEvent)]
    divs = [e for e in events if e.op == "Div"]
    assert len(divs) >= 2
    # each Abs of the loop condition reads what the previous division wrote
    for d in divs:
        nxt = next(e for e in events if e.id > d.id and e.op in ("Abs", "Div", "Sum"))
        assert nxt.inputs[0].vid == d.outputs[0].vid


def test_parameters_show_every_alias_and_values_are_plain_refs():
    parameters = _sample("parameters")
    gl.manual_seed(0)
    net, _, _ = parameters.tied()
    net(gl.rand(2, 4))
    (shared_op,) = [e for e in gl.last_trace().events if isinstance(e, OpEvent) and e.id == 2]
    w = shared_op.inputs[1]
    assert (w.param, w.aliases) == ("2.weight", ("2.weight", "4.weight"))
    assert (w.shape, w.dtype, w.device, w.nbytes) == ((8, 8), "float32", "cpu", 256)
    assert w.requires_grad and not w.const


def test_comparisons_argmax_isnan_and_nonzero_are_recorded_as_ops():
    # regression: they computed their results outside Op.apply, so passes showed none of them
    x = gl.tensor([1.0, float("nan"), 3.0], requires_grad=True)
    with gl.record() as tr:
        mask = x > 2
        gl.isnan(x)
        x.argmax()
        mask.nonzero()
        (x == x).all()
    ops = [e for e in tr.events if isinstance(e, OpEvent)]
    assert [e.op for e in ops] == ["Gt", "IsNan", "ArgMax", "NonZero", "Eq", "All"]
    gt, nonzero = ops[0], ops[3]
    out = gt.outputs[0]
    assert (out.dtype, out.shape, out.requires_grad) == ("bool", (3,), False)
    assert nonzero.inputs[0].vid == out.vid  # the mask, read by the next op
    assert not mask.requires_grad and mask.grad_fn is None


def test_each_use_of_a_shared_module_has_its_own_scope():
    # regression: the second use of ``shared`` showed the first one's path ("2")
    from graphlab.nn.modules import module as module_mod

    shared = nn.Linear(8, 8)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared)
    net(gl.rand(2, 4)).sum().backward()
    trace = gl.last_trace()
    forward = [e.scope for e in trace.events if isinstance(e, OpEvent)]
    assert forward == ["0", "1", "2", "3", "4", ""]
    back = [e.scope for e in trace.events if isinstance(e, BackwardEvent)]
    assert back == ["", "4", "3", "2", "1", "0"]
    # a layer called twice through one name keeps that name (blocks.chimera: 2.linear)
    blocks = _sample("blocks")
    blocks.FixedHiddenMLP()(gl.rand(2, 20))
    assert {e.scope for e in gl.last_trace().events if e.kind == "op"} == {"", "linear"}
    # models without shared modules never follow module calls
    nn.Linear(2, 2)(gl.rand(1, 2))
    assert not any("trace" in f.__module__ for f in module_mod.module_observers)


def test_module_classes_name_containers_that_ran_no_op_of_their_own():
    from graphlab.trace import records

    inner = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    shared = nn.Linear(4, 4)
    net = nn.Sequential(inner, shared, nn.Sequential(shared, nn.Tanh()))
    with gl.record() as tr:
        net(gl.randn(2, 3)).sum().backward()
    expected = {
        "": "Sequential", "0": "Sequential", "0.0": "Linear", "0.1": "ReLU", "1": "Linear",
        "2": "Sequential", "2.0": "Linear", "2.1": "Tanh",
    }  # fmt: skip
    assert dict(tr.module_classes) == expected
    table = tr.per_module()
    assert table["0"].module_class == "Sequential" and table["2"].module_class == "Sequential"
    assert table["2.0"].module_class == "Linear"  # the shared layer's second position
    assert dict(tr.filter(kind="backward").module_classes) == expected
    text, arrays = records.dumps(tr)
    back = records.loads(text, arrays)
    assert records.same_traces(tr, back) and dict(back.module_classes) == expected
    # a record from before module classes were kept: derived from its events
    record = __import__("json").loads(text)
    del record["meta"]["module_classes"]
    old = records.trace_from_record(record, arrays)
    assert old.module_classes["0.1"] == "ReLU" and "2" not in old.module_classes
    record["meta"]["module_classes"] = [["0", 1]]
    with pytest.raises(records.RecordError, match="module_classes"):
        records.trace_from_record(record, arrays)


def test_parameter_names_follow_a_model_changed_between_passes():
    net = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    net(gl.rand(1, 3))
    first = [e.inputs[1].aliases for e in gl.last_trace().events if e.op == "Linear"]
    assert first == [("0.weight",), ("1.weight",)]
    net[1].weight = net[0].weight  # tie after a pass: the cached names must not be reused
    net(gl.rand(1, 3))
    tied = [e.inputs[1] for e in gl.last_trace().events if e.op == "Linear"]
    assert tied[0].aliases == tied[1].aliases == ("0.weight", "1.weight")
    assert tied[0].vid == tied[1].vid


def test_a_parameter_written_in_place_within_a_pass_is_a_new_value():
    lin = nn.Linear(2, 2)
    with gl.record() as tr:
        lin(gl.rand(1, 2))
        with gl.no_grad():
            lin.weight.mul_(2)
        lin(gl.rand(1, 2))
    a, b = [e.inputs[1] for e in tr.events if e.op == "Linear"]
    assert a.vid != b.vid and a.param == b.param == "weight"


def test_recording_keeps_no_model_or_input_alive():
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    x = gl.rand(2, 4)
    for _ in range(3):
        net(x).sum().backward()
    refs = [weakref.ref(o) for o in (net, x, net[0].weight)]
    del net, x
    gc.collect()
    assert all(r() is None for r in refs), "the recorder kept the model or its input alive"
    assert gl.last_trace().events  # what was recorded is still there, as plain data


# ----- backward ------------------------------------------------------------------------------


def test_backward_steps_link_to_their_forward_ops():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    out = net(gl.rand(5, 3))
    out.sum().backward()
    trace = gl.last_trace()
    fwd = {e.id: e for e in trace.events if isinstance(e, OpEvent)}
    bwd = [e for e in trace.events if isinstance(e, BackwardEvent)]
    assert [b.op for b in bwd] == [
        "SumBackward0",
        "LinearBackward0",
        "ReluBackward0",
        "LinearBackward0",
    ]
    assert [fwd[b.forward_id].op for b in bwd] == ["Sum", "Linear", "Relu", "Linear"]
    assert [b.scope for b in bwd] == ["", "2", "1", "0"]
    first_linear = bwd[-1]
    assert first_linear.grad_output_shape == (5, 4)
    assert first_linear.grad_input_shapes == (None, (4, 3), (4,))  # the input needs no grad
    names = [pg.name for pg in first_linear.param_grads]
    assert names == ["0.weight", "0.bias"]
    norm = float(np.linalg.norm(net[0].weight.grad.numpy()))
    assert first_linear.param_grads[0].norm == pytest.approx(norm, rel=1e-5)
    _check_consistent(trace)


def test_tied_contributions_sum_to_grad_exactly():
    parameters = _sample("parameters")
    gl.manual_seed(0)
    net, _, _ = parameters.tied()  # runs net(X).sum().backward()
    trace = next(t for t in reversed(gl.traces()) if t.filter(kind="backward").events)
    uses = [
        pg
        for e in trace.events
        if isinstance(e, BackwardEvent)
        for pg in e.param_grads
        if pg.name == "2.weight"
    ]
    assert len(uses) == 2 and uses[0].forward_id != uses[1].forward_id
    assert all(pg.aliases == ("2.weight", "4.weight") for pg in uses)
    # NOTE: tied() edited the weight after backward; the gradient is untouched by that.
    total = uses[0].value + uses[1].value
    np.testing.assert_array_equal(total, net[2].weight.grad.numpy())
    bias = [
        pg.value for e in trace.events if isinstance(e, BackwardEvent) for pg in e.param_grads
        if pg.name == "2.bias"
    ]  # fmt: skip
    np.testing.assert_array_equal(bias[0] + bias[1], net[2].bias.grad.numpy())


def test_single_use_contributions_are_kept_inside_record_and_from_level_stats():
    net = nn.Linear(3, 2)
    net(gl.rand(4, 3)).sum().backward()
    (pg,) = [p for e in gl.last_trace().events if isinstance(e, BackwardEvent)
             for p in e.param_grads if p.name == "weight"]  # fmt: skip
    assert pg.value is None and pg.norm > 0  # always-on "meta": a single use keeps no copy
    net.zero_grad()
    with gl.record() as tr:
        net(gl.rand(4, 3)).sum().backward()
    (pg,) = [p for e in tr.events if isinstance(e, BackwardEvent)
             for p in e.param_grads if p.name == "weight"]  # fmt: skip
    np.testing.assert_array_equal(pg.value, net.weight.grad.numpy())


def _contributions(tr, name: str) -> list:
    return [p for e in tr.events if isinstance(e, BackwardEvent)
            for p in e.param_grads if p.name == name]  # fmt: skip


class _RescalesItsWeight(nn.Module):
    """Writes its weight in place (a recorded no-grad op) before reading it."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        with gl.no_grad():
            self.lin.weight.mul_(1.0)
        return self.lin(x)


def test_a_parameter_written_in_place_during_the_pass_keeps_its_contribution():
    net = _RescalesItsWeight()
    with gl.record() as tr:
        net(gl.rand(4, 3)).sum().backward()
    (pg,) = _contributions(tr, "lin.weight")
    np.testing.assert_array_equal(pg.value, net.lin.weight.grad.numpy())
    assert pg.forward_id is not None


def test_backward_of_a_graph_built_before_the_pass_names_parameters_by_identity():
    net = nn.Linear(3, 2)
    loss = net(gl.rand(4, 3)).sum()  # NOTE: the forward is in the always-on pass
    with gl.record() as tr:
        net(gl.rand(1, 3))  # makes net a root of this block's pass, which names its parameters
        loss.backward()
    (pg,) = _contributions(tr, "weight")
    assert pg.forward_id is None  # the node was recorded by another pass
    np.testing.assert_array_equal(pg.value, net.weight.grad.numpy())


# ----- transfers, syncs, lazy initialization ---------------------------------------------------


class _Mover(nn.Module):
    def forward(self, x):
        return (x * 2).to("cpu:1")


def test_transfers_between_logical_devices_have_bytes_and_call_sites():
    x = gl.ones(4, 8)
    with gl.record() as tr:
        site = _here(1)
        y = x.to("cpu:1")
        back = y.to("cpu")
    (a, b) = tr.filter(kind="transfer").events
    assert (a.src, a.dst, a.nbytes, a.reason) == ("cpu", "cpu:1", 4 * 8 * 4, "to")
    assert (b.src, b.dst, b.nbytes) == ("cpu:1", "cpu", 128)
    assert a.call_site == site and b.call_site == _here(-4)
    assert a.scope == "" and not a.pinned and not a.non_blocking and a.bandwidth >= 0
    assert back.device == gl.device("cpu")
    # inside a module: the transfer carries the module's scope
    net = nn.Sequential(nn.Identity(), _Mover())
    net(gl.ones(2, 3, dtype=gl.float64))
    (t,) = gl.last_trace().filter(kind="transfer").events
    assert (t.scope, t.nbytes, t.dst) == ("1", 48, "cpu:1")
    assert tr.filter(device="cpu:1").events == (a, b)


def test_item_is_a_sync_event_with_its_call_site():
    net = nn.Linear(3, 1)
    loss = net(gl.rand(2, 3)).sum()
    loss.backward()
    site = _here(1)
    value = loss.item()
    trace = gl.last_trace()
    sync = trace.events[-1]
    assert isinstance(sync, SyncEvent) and isinstance(value, float)
    assert (sync.reason, sync.device, sync.nbytes, sync.call_site) == ("item", "cpu", 4, site)


def test_lazy_modules_record_init_events():
    net = nn.Sequential(nn.LazyLinear(6), nn.ReLU(), nn.LazyLinear(2))
    net(gl.rand(3, 5))
    events = gl.last_trace().events
    inits = [e for e in events if isinstance(e, InitEvent)]
    assert [(e.scope, e.module_class) for e in inits] == [
        ("0", "LazyLinear"),
        ("2", "LazyLinear"),
    ]
    assert inits[0].shapes == (("weight", (6, 5)), ("bias", (6,)))
    assert inits[0].input_shapes == ((3, 5),)
    first_op = next(e for e in events if isinstance(e, OpEvent))
    assert inits[0].id < first_op.id  # initialized before its first op ran
    assert first_op.inputs[1].param == "0.weight"
    net(gl.rand(3, 5))
    assert not gl.last_trace().filter(kind="init").events  # only the first call initializes


# ----- when passes start; record() -------------------------------------------------------------


def test_each_top_level_call_is_a_pass_and_a_loss_module_continues_it():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    loss_fn = nn.CrossEntropyLoss()
    before = gl.last_trace()
    out = net(gl.rand(5, 3))
    first = gl.last_trace()
    assert first is not before and first.recording
    loss = loss_fn(out, gl.tensor([0, 1, 0, 1, 1]))  # reads the pass's output: same pass
    loss.backward()
    assert gl.last_trace() is first and first.roots == ("Sequential", "CrossEntropyLoss")
    assert [e.kind for e in first.events] == ["op"] * 4 + ["backward"] * 4
    net(gl.rand(5, 3))  # fresh input: a new pass, and the first one is complete
    assert gl.last_trace() is not first and not first.recording
    net(gl.rand(5, 3))
    assert len({t.index for t in gl.traces()[-2:]}) == 2


def test_optimizer_bookkeeping_after_backward_is_not_part_of_the_pass():
    net = nn.Linear(3, 2)
    opt = gl.optim.SGD(net.parameters(), lr=0.1)
    out = net(gl.rand(4, 3))
    F.mse_loss(out, gl.zeros(4, 2)).backward()
    opt.step()
    acc = (out.argmax(1) == 0).float().mean()  # metrics after backward: left out
    acc.item()
    kinds = [e.kind for e in gl.last_trace().events]
    first_backward = kinds.index("backward")
    assert "op" not in kinds[first_backward:] and kinds[-1] == "sync"


def test_record_context_collects_several_calls_and_code_outside_modules():
    a, b = nn.Linear(3, 4), nn.Linear(4, 2)
    x = gl.rand(2, 3)
    with gl.record(level="stats") as tr:
        assert gl.last_trace() is tr and tr.recording
        h = a(x)
        y = b(gl.relu(h)).sum()
        y.backward()
        z = y * 2  # after backward: still recorded inside record()
    assert not tr.recording and gl.last_trace() is tr
    assert [e.op for e in tr.events if isinstance(e, OpEvent)] == [
        "Linear",
        "Relu",
        "Linear",
        "Sum",
        "Mul",
    ]
    assert tr.roots == ("Linear",) and tr.level == "stats"
    relu = tr.filter(op="Relu").events[0]
    (s,) = relu.stats
    ref = np.maximum(h.detach().numpy(), 0)
    assert (s.min, s.max, s.nan, s.inf, s.count) == (ref.min(), ref.max(), 0, 0, ref.size)
    assert s.mean == pytest.approx(ref.mean(), rel=1e-5)
    assert s.std == pytest.approx(ref.std(), rel=1e-4)
    assert float(z.item()) == pytest.approx(2 * float(y.item()))
    with gl.record(level="values") as tv:
        out = a(x)
    np.testing.assert_array_equal(tv.events[0].values[0], out.detach().numpy())


def test_stats_count_nan_and_inf_without_propagating_them():
    x = gl.tensor([1.0, float("nan"), float("inf"), 3.0])
    with gl.record(level="stats") as tr:
        x * 1
    (s,) = tr.events[0].stats
    assert (s.min, s.max, s.mean, s.nan, s.inf, s.count) == (1.0, 3.0, 2.0, 1, 1, 4)


def test_options_are_validated_and_returned_for_restoring():
    old = gl.set_trace_options(level="stats")
    assert old["level"] == "meta" and gl.set_trace_options(**old)["level"] == "stats"
    with pytest.raises(ValueError, match="level must be one of"):
        gl.set_trace_options(level="everything")
    with pytest.raises(ValueError, match="keep must be an int"):
        gl.set_trace_options(keep=-1)
    with pytest.raises(TypeError, match="enabled must be True or False"):
        gl.set_trace_options(enabled="yes")


def test_disabled_recorder_records_nothing_and_hooks_nothing():
    from graphlab.autograd import function
    from graphlab.nn.modules import module as module_mod

    net = nn.Linear(3, 2)
    net(gl.rand(1, 3))
    last = gl.last_trace()
    gl.set_trace_options(enabled=False)
    assert not last.recording
    n = len(last.events)
    net(gl.rand(1, 3)).sum().backward()
    gl.ones(2).to("cpu:1").sum().item()
    assert gl.last_trace() is last and len(last.events) == n
    assert not any("recorder" in getattr(f, "__module__", "") for f in function.op_observers)
    assert not any("recorder" in getattr(f, "__module__", "") for f in module_mod.module_observers)
    with gl.record() as tr:  # explicit recording still works
        net(gl.rand(1, 3))
    assert [e.op for e in tr.events] == ["Linear"]


def test_switching_the_recorder_mid_pass_leaves_consistent_traces():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))

    def switch(on: bool):
        def hook(module, args, out):
            gl.set_trace_options(enabled=on)

        return hook

    net[1].register_forward_hook(switch(False))
    out = net(gl.rand(2, 3))
    cut = gl.last_trace()
    assert cut.interrupted and not cut.recording
    assert [e.op for e in cut.events] == ["Linear", "Relu"]
    gl.set_trace_options(enabled=True)
    out.sum().backward()  # no pass is open: the backward of the cut pass is not recorded
    assert len(cut.events) == 2
    net[1]._forward_hooks.clear()
    net[1].register_forward_hook(switch(True))
    gl.set_trace_options(enabled=False)
    net(gl.rand(2, 3)).sum().backward()  # switched on inside the call: nothing half-recorded
    assert gl.last_trace() is cut
    net[1]._forward_hooks.clear()
    net(gl.rand(2, 3)).sum().backward()
    whole = gl.last_trace()
    assert whole is not cut and not whole.interrupted
    assert [e.kind for e in whole.events].count("backward") == 4
    for t in (cut, whole):
        _check_consistent(t)


# ----- the ring --------------------------------------------------------------------------------


def test_ring_keeps_the_last_passes_and_no_live_objects():
    gl.set_trace_options(keep=5)
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    refs: list = []

    def observe(op, args, attrs, out):
        refs.append(weakref.ref(op))
        refs.append(weakref.ref(out))

    from graphlab.autograd import function

    function.op_observers.append(observe)
    try:
        for i in range(10_000):
            out = net(gl.rand(2, 4))
            if i % 1000 == 0:
                out.sum().backward()
            if i == 100:
                del refs[:]
    finally:
        function.op_observers.remove(observe)
    del out
    gc.collect()
    kept = gl.traces()
    assert len(kept) == 5 and [t.index for t in kept] == sorted(t.index for t in kept)
    assert kept[-1].index - kept[0].index == 4
    assert all(r() is None for r in refs), "the recorder kept an Op or a Tensor alive"
    assert all(len(t) == 2 for t in kept)
    gl.set_trace_options(keep=2)
    assert len(gl.traces()) == 2


def test_ring_memory_is_bounded():
    import tracemalloc

    net = nn.Linear(8, 8)
    x = gl.rand(2, 8)
    for _ in range(200):
        net(x)
    gc.collect()
    tracemalloc.start()
    for _ in range(500):
        net(x)
    gc.collect()
    mid = tracemalloc.get_traced_memory()[0]
    for _ in range(3000):
        net(x)
    gc.collect()
    end = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert end - mid < 64 * 1024, f"memory grew by {end - mid} bytes over 3,000 passes"


def test_fresh_inputs_every_pass_are_not_kept_alive():
    import weakref

    net = nn.Linear(4, 4)
    inputs = []
    for _ in range(500):
        x = gl.rand(2, 4)  # a new input tensor each pass, as a training loop's batches
        inputs.append(weakref.ref(x))
        net(x).sum().backward()
    del x
    gc.collect()
    assert sum(r() is not None for r in inputs) == 0


def test_fresh_inputs_every_pass_leave_no_pile_of_descriptions():
    from graphlab.trace import _values

    net = nn.Linear(7, 5)
    for _ in range(9000):  # NOTE: more than the 8,192 tuples after which a cache is cleared
        net(gl.rand(3, 7)).sum().backward()  # NOTE: a new batch each step, as a training loop's
    gc.collect()
    live = sum(1 for o in gc.get_objects() if type(o) is _values.Leaf and o.shape == (3, 7))
    # NOTE: at most the ring's passes and the C recorder's 512-slot identity cache hold them
    assert live < 600, f"{live} Leafs of dead inputs alive after 9,000 passes"


def test_a_tensor_keeps_its_leaf_entry_and_it_dies_with_it():
    net = nn.Linear(4, 4)
    x = gl.rand(2, 4)
    net(x)
    entry = x._trace_leaf
    assert entry.owner == id(x) and entry.leaf.shape == (2, 4) and entry.leaf.param is None
    assert net.weight._trace_leaf.leaf.param == "weight"
    net(x)
    assert x._trace_leaf is entry  # NOTE: the same Leaf from pass to pass
    held = sys.getrefcount(entry)
    del x
    gc.collect()
    assert sys.getrefcount(entry) == held - 1  # NOTE: the tensor held it, and nothing else


def test_an_entry_copied_to_another_tensor_is_not_taken_for_its():
    net = nn.Linear(4, 4)
    other = gl.rand(4, 4, requires_grad=True)
    net(gl.rand(2, 4))
    other._trace_leaf = net.weight._trace_leaf  # NOTE: as a copy of the slots would leave it
    with gl.record() as tr:
        gl.mm(net(gl.rand(2, 4)), other)
    (mm,) = tr.filter(op="MatMul")
    assert mm.inputs[1].param is None and mm.inputs[1].shape == (4, 4)
    assert other._trace_leaf.owner == id(other)


def test_a_pass_stops_growing_at_max_events():
    gl.set_trace_options(max_events=10)
    cell = nn.Linear(4, 4)
    with gl.no_grad():
        h = cell(gl.rand(1, 4))
        for _ in range(20):
            h = cell(h)  # reads the pass's own output: one growing pass
    trace = gl.last_trace()
    assert len(trace.events) == 10 and trace.dropped == 11


# ----- the Trace object ----------------------------------------------------------------------


def test_filter_len_iter_getitem_and_unknown_scope():
    blocks = _sample("blocks")
    net = blocks.NestMLP()
    net(gl.rand(2, 20)).sum().backward()
    trace = gl.last_trace()
    assert len(trace) == len(trace.events) == len(list(trace))
    assert trace[0] is trace.events[0] and isinstance(trace[1:3], Trace) and len(trace[1:3]) == 2
    sub = trace.filter(scope="net")
    assert {e.scope for e in sub} == {"net.0", "net.1", "net.2", "net.3"}
    assert [e.kind for e in sub].count("backward") == 4
    assert [e.op for e in trace.filter(kind="op", scope="linear")] == ["Linear"]
    lin = trace.filter(op="Linear")
    assert len(lin.filter(kind="op")) == 3 and len(lin.filter(kind="backward")) == 3
    assert len(trace.filter(device="cpu")) == len(trace.filter(kind=("op", "backward")))
    with pytest.raises(KeyError, match="net.0"):
        trace.filter(scope="net.O")
    with pytest.raises(ValueError, match="unknown kind"):
        trace.filter(kind="ops")
    with pytest.raises(IndexError, match="out of range"):
        trace[100]
    assert trace.scopes()[:2] == ("", "net")


def test_str_lists_events_grouped_by_module():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    net(gl.rand(2, 3)).sum().backward()
    text = str(gl.last_trace())
    lines = text.splitlines()
    assert lines[0].startswith("Trace #") and "Sequential" in lines[0]
    assert lines[1] == "0 (Linear)"
    assert "= Linear(v0:f32[2,3], 0.weight, 0.bias)" in lines[2]
    assert "1 (ReLU)" in lines and "── backward ──" in lines
    assert "0.weight += |" in text
    assert repr(gl.last_trace()).startswith("<Trace #")


def test_trace_from_events_is_plain_data_and_binds_the_analyses():
    net = nn.Linear(3, 2)
    with gl.record() as tr:
        net(gl.rand(2, 3)).sum().backward()
    copy = Trace(tr.events, roots=tr.roots)
    assert copy.events == tr.events and not copy.recording and copy.index is None
    with pytest.raises(TypeError, match="expected the records"):
        Trace([1, 2])
    assert isinstance(tr.signature(), str) and tr.signature() == copy.signature()
    assert tr.transfers() == ()
    assert tr.peak_live_bytes() > 0
    assert "" in tr.per_module()
    assert len(tr.grad_contributions("weight").contributions) == 1
    tr.transfer_report()
    tr.diff(copy)


def test_transfer_event_fields_match_the_transfer_module():
    with gl.record() as tr:
        gl.zeros(16, dtype=gl.float64).to("cpu:2")
    (t,) = tr.events
    assert isinstance(t, TransferEvent) and (t.dst, t.nbytes) == ("cpu:2", 128)
    assert Op is not None  # the engine's node class stays importable next to the recorder


@given(
    st.sampled_from([np.float32, np.float64, np.int64]),
    st.integers(1, 300),
    st.floats(-1e3, 1e3),
    st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_statistics_match_numpy_for_constant_and_spread_arrays(dtype, n, value, constant):
    from graphlab.trace import _stats

    rng = np.random.default_rng(n)
    a = np.full(n, value) if constant else value + rng.standard_normal(n) * 10
    a = a.astype(dtype)
    raw, sq = _stats.summary(a)
    s = _stats.finish(raw)
    ref = a.astype(np.float64)
    assert (s.min, s.max, s.nan, s.inf, s.count) == (ref.min(), ref.max(), 0, 0, n)
    assert s.mean == pytest.approx(ref.mean(), rel=1e-5, abs=1e-4)
    assert s.std == pytest.approx(ref.std(), rel=1e-3, abs=1e-3)
    assert float(sq) == pytest.approx(float(ref.dot(ref)), rel=1e-5)
