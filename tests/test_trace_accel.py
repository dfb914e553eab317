"""The recorder's C fast path (graphlab/trace/_fastrec.c) records what the Python observers do.

Every workload runs twice from the same seed, once with the C observers and once with the Python
ones (the reference), and the traces must match event for event: kinds, ops, scopes, value ids,
shapes, dtypes, parameter names and aliases, attributes, backward links and per-use gradient
copies. Only the timings differ, and the floats that C sums in another order than NumPy: the
squared norms of gradients and the statistics of level "stats" (compared to 1e-5).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphlab as gl
from graphlab import nn, optim
from graphlab.autograd import engine, function
from graphlab.nn import functional as F
from graphlab.nn.modules import module as module_mod
from graphlab.trace import _accel, _backward, _observers, _stats, _store, recorder

needs_c = pytest.mark.skipif(
    not _accel.available, reason="the C recorder was not built (see the first test)"
)


@pytest.fixture(autouse=True)
def default_options():
    old = gl.set_trace_options(keep=64, level="meta", timing=True, enabled=True)
    was = recorder._set_accelerated(True)
    yield
    recorder._set_accelerated(was)
    gl.set_trace_options(**old)


def test_the_fast_path_is_built_and_installed():
    assert _accel.available, (
        "graphlab/trace/_fastrec.c was not compiled: `pip install -e .` builds it (a C compiler, "
        "the Python headers and NumPy are needed); without it the recorder runs its Python "
        "observers"
    )
    assert function.op_observers.count(_accel._fastrec.on_op) == 1
    assert engine.backward_observers.count(_accel._fastrec.on_backward) == 1
    assert module_mod.top_level_observers.count(_accel._fastrec.on_top_level) == 1
    assert _observers.on_op not in function.op_observers
    assert recorder._on_top_level not in module_mod.top_level_observers


@needs_c
def test_an_out_of_date_build_is_left_unused_with_a_warning(monkeypatch):
    monkeypatch.setattr(_accel._fastrec, "API", _accel.API - 1)
    old, now = _accel.API - 1, _accel.API
    message = rf"out of date \(API {old}, expected {now}\).*rebuilt: pip install -e \."
    with pytest.warns(RuntimeWarning, match=message):
        assert _accel._load() is None
    monkeypatch.undo()
    assert _accel._load() is _accel._fastrec  # NOTE: configured again, as on import


@needs_c
def test_switching_paths_swaps_the_installed_observers():
    recorder._set_accelerated(False)
    assert _observers.on_op in function.op_observers
    assert _backward.on_backward in engine.backward_observers
    assert _accel._fastrec.on_op not in function.op_observers
    recorder._set_accelerated(True)
    assert _observers.on_op not in function.op_observers
    gl.set_trace_options(enabled=False)
    assert _accel._fastrec.on_op not in function.op_observers
    assert _accel._fastrec.on_backward not in engine.backward_observers
    assert _accel._fastrec.on_top_level not in module_mod.top_level_observers


# ----- comparing traces --------------------------------------------------------------------------

_TIMES = {"seconds", "bandwidth", "call_site"}
_NORMS = {"grad_input_norms", "norm", "min", "max", "mean", "std"}  # NOTE: summed differently


def _plain(x, norms: list):
    """``x`` as nested tuples, timings left out, norms moved to ``norms``."""
    if dataclasses.is_dataclass(x):
        out = [type(x).__name__]
        for f in dataclasses.fields(x):
            v = getattr(x, f.name)
            if f.name in _TIMES:
                continue
            if f.name in _NORMS:
                norms.extend(v if isinstance(v, tuple) else (v,))
                continue
            out.append((f.name, _plain(v, norms)))
        return tuple(out)
    if isinstance(x, np.ndarray):
        return ("array", x.dtype.str, x.shape, x.tobytes())
    if isinstance(x, (tuple, list)):
        return tuple(_plain(v, norms) for v in x)
    return x


def _recorded(workload, fast: bool) -> tuple[list, list]:
    recorder._set_accelerated(fast)
    gl.set_trace_options(keep=0)
    gl.set_trace_options(keep=64)  # NOTE: an empty ring, so the workload's passes are all of it
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # NOTE: a broken recorder warns
        workload()
    with gl.record():  # NOTE: closes the last always-on pass
        pass
    new = gl.traces()[:-1]  # NOTE: the empty record() pass left out
    norms: list = []
    steps = [b.index - a.index for a, b in zip(new, new[1:])]  # NOTE: numbered one by one
    events = [
        (t.roots, t.level, t.timing, t.dropped, t.interrupted, _plain(t.events, norms)) for t in new
    ]
    assert steps == [1] * len(steps)
    return events, norms


def _same_traces(workload):
    gl.manual_seed(0)
    fast, fast_norms = _recorded(workload, True)
    gl.manual_seed(0)
    ref, ref_norms = _recorded(workload, False)
    assert len(fast) == len(ref)
    for i, (a, b) in enumerate(zip(fast, ref)):
        assert a == b, f"pass {i} differs"
    assert len(fast_norms) == len(ref_norms)
    for a, b in zip(fast_norms, ref_norms):
        if a is None or b is None:
            assert a is b
        else:
            assert math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-12)
    return fast


# ----- workloads ---------------------------------------------------------------------------------


def _train(model, x, y, steps=3, loss_fn=F.cross_entropy):
    opt = optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()


@needs_c
def test_mlp_training_steps():
    def run():
        net = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 10))
        _train(net, gl.randn(16, 20), gl.randint(0, 10, (16,)))

    traces = _same_traces(run)
    assert any("Linear" in str(t) for t in traces)


@needs_c
def test_a_node_class_renamed_between_steps_is_named_by_its_name_then():
    from graphlab.nn.functional.linear import Linear as LinearNode

    def run():
        net = nn.Linear(4, 3)
        x = gl.randn(2, 4)
        net(x).sum().backward()
        LinearNode.name = lambda self: "Renamed"  # NOTE: the C observer remembers classes
        try:
            net(x).sum().backward()
        finally:
            del LinearNode.name
        net(x).sum().backward()

    _same_traces(run)  # NOTE: the C observer names the steps as the Python one does
    names = [
        e.op for t in gl.traces() for e in t.events if e.kind == "backward" and "Sum" not in e.op
    ]
    assert names == ["LinearBackward0", "Renamed", "LinearBackward0"]


@needs_c
def test_cnn_with_tuple_attributes_array_operands_and_three_deep_stacks():
    def run():
        net = nn.Sequential(
            nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
            nn.Flatten(),
            nn.Dropout(0.5),
            nn.Linear(4 * 4 * 4, 10),
        )
        _train(net, gl.randn(6, 1, 8, 8), gl.randint(0, 10, (6,)), steps=2)

    _same_traces(run)


@needs_c
def test_tied_parameters_reused_and_copied():
    def run():
        shared = nn.Linear(8, 8)
        net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.Linear(8, 1))
        _train(net, gl.randn(5, 4), gl.randn(5, 1), loss_fn=F.mse_loss)

    _same_traces(run)


class _Deep(nn.Module):
    """Module stacks of three and more (the C scope cache covers one and two)."""

    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Sequential(nn.Linear(6, 6), nn.Tanh()), nn.Linear(6, 3))

    def forward(self, x):
        h = self.block(x)
        with gl.no_grad():
            mask = (h > 0).float()  # NOTE: no-grad outputs are found through vid_of
        return h * mask + h.sum(dim=1, keepdim=True) * 0.5


@needs_c
def test_deep_stacks_no_grad_outputs_constants_and_attributes():
    def run():
        net = _Deep().double()
        x = gl.randn(4, 6, dtype=gl.float64)
        for _ in range(2):
            out = net(x)
            (out.pow(2).mean() + 1.0).backward()
            net.zero_grad()

    _same_traces(run)


@needs_c
def test_explicit_record_with_ops_outside_modules_and_in_place_writes():
    def run():
        lin = nn.Linear(3, 3)
        x = gl.randn(2, 3, requires_grad=True)
        with gl.record():
            y = lin(x)
            z = (y * 2).sum() + x.mean()
            z.backward()
            with gl.no_grad():
                lin.weight.mul_(0.5)  # NOTE: written in place: the next read is a new Leaf
            w = lin(x).sum() + lin(x).mean()
            w.backward()
            float(z.item())

    _same_traces(run)


@needs_c
def test_graph_built_before_the_pass_and_float16_and_strided_gradients():
    def run():
        a = nn.Parameter(gl.randn(4, 4))
        pre = a * 3  # NOTE: a node no op of the pass recorded: uses found by identity
        lin = nn.Linear(4, 4)
        lin.weight = a
        out = lin(pre.t())  # transposed input: strided gradients flow back
        out.sum().backward()
        h = nn.Linear(4, 2).to(dtype=gl.float16)
        h(gl.randn(3, 4, dtype=gl.float16)).float().sum().backward()

    _same_traces(run)


def test_shared_attributes_keep_their_types_and_signs():
    x = gl.randn(3, requires_grad=True)
    with gl.record() as tr:
        for _ in range(2):  # NOTE: the second round meets the shared copies of the first
            F.leaky_relu(x, 0.0)
            F.leaky_relu(x, -0.0)
            F.leaky_relu(x, float("-0.0"))  # NOTE: a new float object each call
            x.sum(dim=0, keepdim=True)
            x.sum(dim=0, keepdim=1)
    attrs = [dict(e.attrs) for e in tr.events]
    slopes = [a["negative_slope"] for a in attrs if "negative_slope" in a]
    assert [math.copysign(1, v) for v in slopes] == [1, -1, -1, 1, -1, -1]
    assert [type(a["keepdim"]) for a in attrs if "keepdim" in a] == [bool, int, bool, int]


@needs_c
def test_levels_limits_shared_modules_and_lazy_init_take_the_python_path():
    def run():
        gl.set_trace_options(level="stats")
        net = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
        _train(net, gl.randn(2, 3), gl.randn(2, 3), steps=1, loss_fn=F.mse_loss)
        gl.set_trace_options(level="meta", max_events=3)
        _train(net, gl.randn(2, 3), gl.randn(2, 3), steps=1, loss_fn=F.mse_loss)
        gl.set_trace_options(max_events=100_000)
        inner = nn.Linear(3, 3)
        shared = nn.Sequential(inner, nn.Sequential(inner))
        shared(gl.randn(2, 3)).sum().backward()
        lazy = nn.Sequential(nn.LazyLinear(5), nn.ReLU())
        lazy(gl.randn(2, 7)).sum().backward()

    try:
        _same_traces(run)
    finally:
        gl.set_trace_options(level="meta", max_events=100_000)


@needs_c
def test_a_recorder_error_stops_the_pass_and_warns_in_c_too(monkeypatch):
    net = nn.Linear(2, 2)
    net(gl.randn(1, 2))

    class Exploding:
        """A module stack whose scope lookup fails."""

        def __bool__(self):
            raise RuntimeError("boom")

        __len__ = __bool__

    p = recorder._tls.current
    monkeypatch.setattr(recorder._store, "_warned", False)
    p.ops_ok, p.open, p.stack = True, True, Exploding()
    with pytest.warns(RuntimeWarning, match="boom"):
        _accel._fastrec.on_op(*_an_op_call())
    assert p.interrupted and not p.open


def _an_op_call():
    """``(op, args, attrs, out)`` as ``Op.apply`` hands them to the observers."""
    seen = []
    function.op_observers.append(lambda *a: seen.append(a))
    try:
        gl.randn(2, requires_grad=True) * 2
    finally:
        function.op_observers.pop()
    return seen[-1]


@needs_c
def test_unconfigured_and_wrong_calls_say_what_is_expected():
    with pytest.raises(TypeError, match=r"on_op\(\) takes 4 arguments"):
        _accel._fastrec.on_op(1, 2)
    with pytest.raises(TypeError, match=r"on_backward\(\) takes 3 arguments"):
        _accel._fastrec.on_backward(1)
    with pytest.raises(TypeError, match=r"on_top_level\(\) takes 3 arguments"):
        _accel._fastrec.on_top_level(1)


# ----- the top-level observer --------------------------------------------------------------------


@contextlib.contextmanager
def _python_top_level_calls():
    """The modules whose top-level calls the C observer handed to the Python one."""
    calls: list = []

    def counting(module, args, kwargs):
        calls.append(module)
        return recorder._on_top_level(module, args, kwargs)

    recorder._configure_passes(counting)
    try:
        yield calls
    finally:
        recorder._configure_passes(recorder._on_top_level)


def _mlp():
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))


@needs_c
def test_the_passes_of_a_training_loop_are_opened_in_c():
    net = _mlp()
    with _python_top_level_calls() as calls:
        _train(net, gl.randn(4, 6), gl.randint(0, 3, (4,)), steps=20)
    # NOTE: the first step opens the thread's first pass of the model, and the second learns
    # its parameter names; every later step is C's
    assert len(calls) <= 2
    passes = gl.traces()[-20:]
    assert [t.roots for t in passes] == [("Sequential",)] * 20
    assert all(len(t.events) == 8 for t in passes[:-1])


@needs_c
def test_the_ring_the_c_hook_pushes_to_keeps_the_last_keep_passes_as_keep_changes():
    net = _mlp()
    x, y = gl.randn(4, 6), gl.randint(0, 3, (4,))
    with _python_top_level_calls() as calls:
        gl.set_trace_options(keep=3)
        _train(net, x, y, steps=20)
        kept = gl.traces()
        assert [t.index - kept[0].index for t in kept] == [0, 1, 2]
        gl.set_trace_options(keep=6)
        _train(net, x, y, steps=4)
        assert [t.index - kept[0].index for t in gl.traces()] == [1, 2, 3, 4, 5, 6]
        gl.set_trace_options(keep=2)
        newest = gl.traces()[-2:]
        assert gl.traces() == newest and gl.last_trace() is newest[-1]
    assert len(calls) <= 2  # NOTE: the steps' passes were pushed by the C hook


def _slots(p) -> dict:
    return {name: getattr(p, name) for name in _store.Pass.__slots__ if name != "__dict__"}


@needs_c
def test_a_pass_opened_in_c_is_the_pass_python_opens():
    net = _mlp()
    x, y = gl.randn(4, 6), gl.randint(0, 3, (4,))
    opened = {}
    for fast in (True, False):
        recorder._set_accelerated(fast)
        _train(net, x, y, steps=3)
        with _python_top_level_calls() as calls:
            net(x)  # NOTE: ends the last step's pass and opens one
        assert not calls  # NOTE: C opened it (the Python path never asks C)
        p = recorder._tls.current
        assert p.open and p.auto and not p.backward_seen and not vars(p)
        opened[fast] = _slots(p)  # NOTE: now: the next pass closes this one
    c, py = opened[True], opened[False]
    assert c.keys() == py.keys()
    for name in c:
        a, b = c[name], py[name]
        assert type(a) is type(b), name
        if name in ("stack", "params"):
            assert a is b, name  # the thread's module stack; the model's cached names
        elif name == "index":
            assert a < b
        elif name == "raw":
            assert len(a) == len(b) == 3  # NOTE: the forward ops of net(x), timed differently
        elif name == "vid_of":
            assert a.keys() == b.keys() == set()
        elif name != "last_t":
            assert a == b, name


@needs_c
def test_changed_models_and_rare_cases_go_to_the_python_observer():
    def run():
        net = _mlp()
        x, y = gl.randn(4, 6), gl.randint(0, 3, (4,))
        _train(net, x, y, steps=3)
        net[2] = nn.Linear(8, 3)  # NOTE: a new child: the names are made again
        _train(net, x, y, steps=2)
        net.register_parameter("scale", nn.Parameter(gl.ones(1)))
        _train(net, x, y, steps=2)
        del net
        other = _mlp()  # NOTE: may live where the dead model lived: known by its weakref
        _train(other, x, y, steps=2)
        gl.set_trace_options(level="stats")  # NOTE: options read at each pass
        _train(other, x, y, steps=2)
        gl.set_trace_options(level="meta", timing=False)
        _train(other, x, y, steps=2)
        gl.set_trace_options(timing=True)

    _same_traces(run)
    recorder._set_accelerated(True)
    gl.set_trace_options(keep=0)
    gl.set_trace_options(keep=64)
    with _python_top_level_calls() as calls:
        run()
    assert 4 <= len(calls) < 13  # NOTE: each change, then C again
    traces = gl.traces()
    names = [
        {getattr(r, "param", None) for e in t.events if e.kind == "op" for r in e.inputs}
        for t in traces
    ]
    every = {None, "0.weight", "0.bias", "2.weight", "2.bias"}
    assert names == [every] * len(traces)  # NOTE: the new layer's too
    assert [(t.level, t.timing) for t in traces][-5:] == [
        ("meta", True), ("stats", True), ("stats", True), ("meta", False), ("meta", False),
    ]  # fmt: skip


@needs_c
def test_a_ring_that_keeps_nothing_keeps_nothing_in_c_too():
    net = _mlp()
    gl.set_trace_options(keep=0)
    with _python_top_level_calls():
        _train(net, gl.randn(4, 6), gl.randint(0, 3, (4,)), steps=5)
    assert gl.traces() == ()
    gl.set_trace_options(keep=4)
    _train(net, gl.randn(4, 6), gl.randint(0, 3, (4,)), steps=5)
    assert [len(t.events) for t in gl.traces()[:-1]] == [8, 8, 8]


# ----- the statistics kernel ---------------------------------------------------------------------


@needs_c
@given(
    st.sampled_from([np.float32, np.float64]),
    st.integers(1, 3000),
    st.sampled_from(["spread", "constant", "nan", "inf", "-inf", "huge", "strided", "offset"]),
    st.integers(0, 2**32 - 1),
)
@settings(max_examples=80, deadline=None)
def test_the_statistics_kernel_agrees_with_numpy(dtype, n, kind, seed):
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal(n) * 10 + rng.uniform(-1e3, 1e3)).astype(dtype)
    if kind == "constant":
        a[:] = a[0]
    elif kind in ("nan", "inf", "-inf"):
        a[rng.integers(0, n)] = float(kind)
    elif kind == "huge":
        a *= np.finfo(dtype).max / 4e3  # NOTE: squares overflow the float32 lanes: NumPy's path
    elif kind == "strided":
        a = np.repeat(a, 2)[::2]  # NOTE: not contiguous: NumPy's path
    elif kind == "offset":
        a = a.reshape(-1)[n // 2 :]
    assert _stats.moments is not None
    fast = _stats.summary(a)
    _stats.moments = None
    try:
        slow = _stats.summary(a)
    finally:
        _stats.moments = _accel._fastrec.moments
    (f, fsq), (s, ssq) = fast, slow
    assert f[4:] == s[4:]  # NaN, Inf and element counts
    # NOTE: the variance is E[x²] - E[x]², so float32 sums leave an error of the order of
    # eps * E[x²] in it, whichever order they run in
    scale = {3: 1e-5 * abs(float(ssq)) / f[6] if f[6] else 0.0}
    for i, (x, y) in enumerate(zip((*f[:4], fsq), (*s[:4], ssq))):
        x, y = float(x), float(y)
        tol = pytest.approx(y, rel=2e-5, abs=scale.get(i, 1e-9))
        assert (math.isnan(x) and math.isnan(y)) or x == tol


@needs_c
def test_the_kernel_takes_only_finite_contiguous_float_arrays():
    m = _accel._fastrec.moments
    assert m(np.arange(37, dtype=np.float32)) == (0.0, 36.0, 666.0, 16206.0)
    assert m(np.array([2.5])) == (2.5, 2.5, 2.5, 6.25)
    for other in (
        np.array([1.0, np.nan], np.float32),
        np.array([np.inf, 1.0]),
        np.ones(8, np.float32)[::2],
        np.zeros(0, np.float32),
        np.ones(3, np.int32),
        np.ones(3, np.float16),
        np.float32(3.0),
        [1.0, 2.0],
    ):
        assert m(other) is None


def test_threads_training_at_once_each_record_their_own_passes():
    errors: list = []

    def train(seed):
        try:
            gl.manual_seed(seed)
            net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
            _train(net, gl.randn(4, 8), gl.randint(0, 2, (4,)), steps=100)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=train, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    traces = gl.traces()
    assert len(traces) == 64
    for t in traces:  # NOTE: every pass whole (4 ops, 4 backward steps) and from one thread
        assert [e.kind for e in t.events] == ["op"] * 4 + ["backward"] * 4
        assert len({e.thread for e in t.events if e.kind == "op"}) == 1
