"""graphlab.jit.trace: static replay equals eager (values and gradients) on every sample model,
guards its inputs, warns about frozen control flow, and its passes fold and prune."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn
from graphlab.jit import Graph, Node, Ref, StaticGraph

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def load(name: str):
    """Import ``samples/<name>.py`` as a module."""
    sys.path.insert(0, str(SAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(f"jit_sample_{name}", SAMPLES / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(SAMPLES))


def _grads(model, x, out_fn):
    """Output, input gradient and parameter gradients of one forward/backward."""
    model.zero_grad() if isinstance(model, nn.Module) else None
    x = x.detach().requires_grad_(True)
    out = out_fn(x)
    w = gl.tensor(np.linspace(-1.0, 1.0, out.numel()).reshape(tuple(out.shape)), dtype=out.dtype)
    (out * w).sum().backward()
    params = {n: None if p.grad is None else p.grad.numpy().copy() for n, p in _named(model)}
    return out.detach().numpy().copy(), x.grad, params


def _named(model):
    return model.named_parameters() if isinstance(model, nn.Module) else []


def assert_replay_equals_eager(model, example, x=None):
    """Trace on ``example``; on ``x`` (default: the example) the replay's output, input
    gradient and every parameter gradient equal eager's exactly."""
    static = gl.jit.trace(model, example)
    x = example if x is None else x
    e_out, e_gx, e_params = _grads(model, x, model)
    r_out, r_gx, r_params = _grads(model, x, static)
    np.testing.assert_array_equal(r_out, e_out)
    if e_gx is None:
        assert r_gx is None
    else:
        np.testing.assert_array_equal(r_gx.numpy(), e_gx.numpy())
    assert r_params.keys() == e_params.keys()
    for name, g in e_params.items():
        if g is None:
            assert r_params[name] is None, name
        else:
            np.testing.assert_array_equal(r_params[name], g, err_msg=name)
    return static


# ----- every sample model -----------------------------------------------------------------------


def _sample_models():
    blocks = load("blocks")
    params = load("parameters")
    custom = load("custom_layers")
    digits = load("digits_cnn")
    two = load("two_layer_net")
    shared = nn.Linear(8, 8)
    tied = nn.Sequential(
        nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1)
    )
    return {
        "sequential": (blocks.example_1_sequential()[0], (2, 20)),
        "mlp": (blocks.MLP(), (2, 20)),
        "my_sequential": (
            blocks.MySequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10)),
            (2, 20),
        ),
        "nest_mlp": (blocks.NestMLP(), (2, 20)),
        "tied": (tied, (2, 4)),
        "nested_blocks": (nn.Sequential(params.block2(), nn.Linear(4, 1)), (2, 4)),
        "centered": (nn.Sequential(nn.Linear(8, 128), custom.CenteredLayer()), (4, 8)),
        "my_linear": (nn.Sequential(custom.MyLinear(64, 8), custom.MyLinear(8, 1)), (2, 64)),
        "digits_cnn_eval": (digits.DigitsCNN().eval(), (3, 1, 8, 8)),
        "two_layer_net": (two.TwoLayerNet(10, 16, 3), (4, 10)),
    }


@pytest.mark.parametrize(
    "name",
    [
        "sequential",
        "mlp",
        "my_sequential",
        "nest_mlp",
        "tied",
        "nested_blocks",
        "centered",
        "my_linear",
        "digits_cnn_eval",
        "two_layer_net",
    ],
)
def test_replay_equals_eager_on_sample_models(name):
    gl.manual_seed(0)
    model, shape = _sample_models()[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NOTE: none of these has data-dependent control flow
        # a fresh input of the same shape: the graph must not have frozen the example's values
        assert_replay_equals_eager(model, gl.rand(*shape), gl.rand(*shape))


def test_chimera_replays_and_warns_that_control_flow_was_frozen():
    blocks = load("blocks")
    gl.manual_seed(0)
    net = blocks.chimera()
    X = gl.rand(2, 20)
    with pytest.warns(UserWarning, match=r"control flow .*was frozen") as rec:
        static = gl.jit.trace(net, X)
    assert "bool()" in str(rec[0].message) and "blocks.py" in str(rec[0].message)
    # the while loop's condition (abs, sum, gt) steered Python only: dead code, removed
    ops = static.graph.ops()
    assert "Abs" not in ops and "Gt" not in ops
    assert ops.count("Div") >= 1 and ops[-1] == "Sum"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert_replay_equals_eager(net, X)


def test_tied_parameter_is_one_graph_parameter_with_summed_gradient():
    gl.manual_seed(0)
    shared = nn.Linear(8, 8)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared)
    static = assert_replay_equals_eager(net, gl.rand(2, 4))
    assert static.graph.params == ("0.weight", "0.bias", "2.weight", "2.bias")
    uses = [n for n in static.graph if Ref("param", 2) in n.args]
    assert len(uses) == 2


def test_parameters_are_held_by_reference_so_training_updates_are_seen():
    gl.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 2))
    x = gl.rand(3, 5)
    static = gl.jit.trace(net, x)
    opt = gl.optim.SGD(net.parameters(), lr=0.5)
    for _ in range(3):
        opt.zero_grad()
        static(x).pow(2).sum().backward()
        opt.step()
    np.testing.assert_array_equal(static(x).detach().numpy(), net(x).detach().numpy())


def test_multiple_inputs_and_tuple_outputs_from_a_function():
    w = gl.randn(3, 3, requires_grad=True)

    def fn(a, b):
        h = a @ w + b
        return h.relu(), (h * 2).sum()

    a, b = gl.rand(2, 3), gl.rand(2, 3)
    static = gl.jit.trace(fn, (a, b))
    r1, r2 = static(a, b)
    (r1.sum() + r2).backward()
    g_replay = w.grad.numpy().copy()
    w.grad = None
    e1, e2 = fn(a, b)
    (e1.sum() + e2).backward()
    np.testing.assert_array_equal(r1.detach().numpy(), e1.detach().numpy())
    np.testing.assert_array_equal(g_replay, w.grad.numpy())
    assert isinstance(static(a, b), tuple)


def test_replay_under_no_grad_records_nothing():
    net = nn.Linear(3, 2)
    static = gl.jit.trace(net, gl.rand(1, 3))
    with gl.no_grad():
        out = static(gl.rand(1, 3))
    assert out.grad_fn is None and not out.requires_grad


def test_no_grad_blocks_of_the_traced_code_stay_no_grad():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 3)

        def forward(self, x):
            with gl.no_grad():
                frozen = self.a(x)
            return self.b(x) * frozen

    net = Net()
    static = gl.jit.trace(net, gl.rand(2, 3))
    assert [n.grad for n in static.graph] == [False, True, True]
    static(gl.rand(2, 3)).sum().backward()
    assert net.a.weight.grad is None and net.b.weight.grad is not None
    assert gl.is_grad_enabled()


# ----- guards -----------------------------------------------------------------------------------


def _two_input_graph():
    return gl.jit.trace(lambda a, b: a * b + 1, (gl.rand(2, 3), gl.rand(2, 3)))


def test_wrong_shape_names_the_input_and_what_was_expected():
    static = _two_input_graph()
    with pytest.raises(ValueError, match=r"input 1 has shape \(2, 4\) instead of \(2, 3\)"):
        static(gl.rand(2, 3), gl.rand(2, 4))


def test_wrong_dtype_names_the_input():
    static = _two_input_graph()
    with pytest.raises(ValueError, match=r"input 0 has dtype float64 instead of float32"):
        static(gl.rand(2, 3, dtype=gl.float64), gl.rand(2, 3))


def test_wrong_device_names_the_input():
    static = _two_input_graph()
    with pytest.raises(ValueError, match=r"input 1 has device cpu:1 instead of cpu"):
        static(gl.rand(2, 3), gl.rand(2, 3, device="cpu:1"))


def test_non_tensor_input_and_wrong_count_are_type_errors():
    static = _two_input_graph()
    with pytest.raises(TypeError, match=r"input 0 must be a Tensor"):
        static([[1.0] * 3] * 2, gl.rand(2, 3))
    with pytest.raises(TypeError, match=r"expected 2 input\(s\).*got 1"):
        static(gl.rand(2, 3))
    with pytest.raises(TypeError, match=r"example input 1 must be a Tensor"):
        gl.jit.trace(lambda a, b: a, (gl.rand(1), 3))


# ----- passes -----------------------------------------------------------------------------------


class _UnusedBranch(nn.Module):
    def __init__(self):
        super().__init__()
        self.used, self.unused = nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x):
        side = self.unused(x).exp().sum()  # computed, never returned
        del side
        return self.used(x).relu()


def test_dead_code_elimination_removes_an_unused_branch():
    net = _UnusedBranch()
    x = gl.rand(3, 4)
    kept = gl.jit.trace(net, x, eliminate_dead_code=False)
    pruned = gl.jit.trace(net, x)
    assert kept.graph.ops() == ["Linear", "Exp", "Sum", "Linear", "Relu"]
    assert pruned.graph.ops() == ["Linear", "Relu"]
    assert pruned.stats["dead"] == 3
    assert pruned.graph.params == ("used.weight", "used.bias")  # unused parameters dropped too
    np.testing.assert_array_equal(pruned(x).detach().numpy(), kept(x).detach().numpy())
    assert_replay_equals_eager(net, x)


class _ConstSubgraph(nn.Module):
    def __init__(self):
        super().__init__()
        self.table = gl.rand(4, 4)  # a constant: no gradient, not a parameter
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        k = (self.table * 2 + 1).t()  # no-grad, input-independent: 3 ops to fold
        return self.lin(x) @ k


def test_constant_folding_folds_a_no_grad_subgraph():
    net = _ConstSubgraph()
    x = gl.rand(3, 4)
    plain = gl.jit.trace(net, x, fold_constants=False)
    folded = gl.jit.trace(net, x)
    assert len(plain.graph) == 5 and len(folded.graph) == 2
    assert folded.stats["folded"] == 3
    assert folded.graph.ops() == ["Linear", "MatMul"]
    assert len(folded.graph.consts) == 1  # the folded value; the raw table is no longer needed
    expected = (net.table.numpy() * 2 + 1).T
    np.testing.assert_allclose(folded._consts[0].numpy(), expected, rtol=1e-6)
    assert_replay_equals_eager(net, x, gl.rand(3, 4))


def test_parameters_and_their_data_are_never_folded():
    custom = load("custom_layers")
    layer = custom.MyLinear(3, 2)  # reads weight.data: no gradient, but training changes it
    static = gl.jit.trace(layer, gl.rand(1, 3))
    assert static.stats["folded"] == 0
    with gl.no_grad():
        layer.weight.mul_(2)
    x = gl.rand(1, 3)
    np.testing.assert_array_equal(static(x).numpy(), layer(x).numpy())


# ----- the graph as data ------------------------------------------------------------------------


def test_graph_is_plain_frozen_data_and_prints_its_nodes():
    blocks = load("blocks")
    net = blocks.MLP()
    static = gl.jit.trace(net, gl.rand(2, 20))
    g = static.graph
    assert isinstance(static, StaticGraph) and isinstance(g, Graph)
    assert all(isinstance(n, Node) for n in g) and [n.id for n in g] == [0, 1, 2]
    assert g.nodes[0].args == (Ref("input", 0), Ref("param", 0), Ref("param", 1))
    assert g.nodes[0].scope == "hidden" and g.nodes[2].scope == "out"
    assert g.outputs == (Ref("node", 2),)
    assert tuple(g.inputs[0].shape) == (2, 20) and g.inputs[0].dtype == "float32"
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.nodes[0].op = "Mul"
    text = str(static)
    assert "%0 = Linear(%x0, %p0, %p1)" in text and "%1 = Relu(%0)" in text
    assert "%p0: hidden.weight" in text and "return %2" in text


# ----- what cannot be traced --------------------------------------------------------------------


def test_device_move_inside_the_traced_code_is_refused():
    with pytest.raises(RuntimeError, match=r"cannot trace a device move \(cpu -> cpu:1"):
        gl.jit.trace(lambda x: (x * 2).to("cpu:1"), gl.rand(2))


def test_user_autograd_function_with_grad_is_refused_by_name():
    class Square(gl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = gl.rand(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"cannot trace the autograd.Function Square"):
        gl.jit.trace(lambda t: Square.apply(t * 1).sum(), x)


def test_writing_an_input_in_place_is_refused():
    def fn(x):
        x += 1
        return x * 2

    with pytest.raises(RuntimeError, match=r"writes its input 0 .* in place"):
        gl.jit.trace(fn, gl.rand(2))


def test_in_place_ops_on_intermediates_are_replayed_out_of_place():
    def fn(x, w):
        h = x * w
        h *= 3
        return h.sum()

    x, w = gl.rand(4), gl.rand(4, requires_grad=True)
    static = gl.jit.trace(fn, (x, w))
    assert "Mul" in static.graph.ops()
    out = static(x, w)
    out.backward()
    np.testing.assert_allclose(w.grad.numpy(), 3 * x.numpy(), rtol=1e-6)
    np.testing.assert_allclose(out.item(), fn(x, w).item(), rtol=1e-6)


def test_dropout_in_training_mode_warns_that_the_mask_is_frozen():
    net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    with pytest.warns(UserWarning, match=r"random numbers"):
        gl.jit.trace(net, gl.rand(2, 4))
    net.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gl.jit.trace(net, gl.rand(2, 4))


def test_detach_inside_the_traced_code_cuts_the_gradient():
    w = gl.rand(3, requires_grad=True)

    def fn(x):
        h = x * w
        return h + h.detach() * 0  # the detached half must carry no gradient

    static = gl.jit.trace(fn, gl.rand(3))
    assert "detach" in static.graph.ops()
    x = gl.rand(3)
    static(x).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), x.numpy(), rtol=1e-6)


def test_comparisons_and_argmax_are_replayed_not_frozen():
    # regression: comparisons, argmax, isnan… ran outside Op.apply, so a static graph froze the
    # capture's mask (and jit spied on Tensor._wrap to refuse them); they are ops now
    def fn(x):
        return gl.where(x > 0.5, x, 0.0) + gl.isnan(x).float() + x.argmax().float()

    static = gl.jit.trace(fn, gl.rand(5))
    assert {"Gt", "IsNan", "ArgMax"} <= set(static.graph.ops())
    x = gl.tensor([0.9, 0.1, 0.7, 0.2, 0.3])  # another mask and another argmax
    np.testing.assert_array_equal(static(x).numpy(), fn(x).numpy())
    values, indices = gl.jit.trace(lambda x: x.max(1), gl.rand(1, 5))(x.reshape(1, 5))
    assert indices.tolist() == [0] and values.tolist() == [pytest.approx(0.9)]


def test_data_dependent_indexing_and_side_results_are_refused():
    with pytest.raises(RuntimeError, match=r"cannot trace op GetItem: .*data-dependent indexing"):
        gl.jit.trace(lambda x: x[x.argmax()] * 2, gl.rand(5))
    # max_pool hands its indices out through an attribute: a replay would not recompute them
    with pytest.raises(RuntimeError, match=r"handed out through its indices_out attribute"):
        gl.jit.trace(
            lambda x: nn.functional.max_pool2d(x, 2, return_indices=True)[1].float() * 1,
            gl.rand(1, 1, 4, 4),
        )
    # a constant index is fine, and replays on new values
    static = gl.jit.trace(lambda x: x[gl.tensor([0, 2])] * 2, gl.rand(5))
    x = gl.rand(5)
    np.testing.assert_array_equal(static(x).numpy(), (x[gl.tensor([0, 2])] * 2).numpy())


def test_capture_leaves_tensor_wrap_alone():
    # regression: the capture replaced Tensor._wrap while it ran
    from graphlab.tensor import Tensor

    wrap = Tensor.__dict__["_wrap"]
    seen = []

    def fn(x):
        seen.append(Tensor.__dict__["_wrap"])
        return x * 2

    gl.jit.trace(fn, gl.rand(3))
    assert seen and all(w is wrap for w in seen)


def test_lazy_modules_materialize_during_capture_without_a_random_warning():
    gl.manual_seed(0)
    net = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        static = assert_replay_equals_eager(net, gl.rand(3, 5), gl.rand(3, 5))
    assert static.graph.params == ("0.weight", "0.bias", "2.weight", "2.bias")


# ----- recording: a static graph's top-level call starts a pass, as its module's call would ---


def _kinds(trace) -> list[str]:
    return [e.kind for e in trace.events]


@pytest.mark.usefixtures("default_trace_options")
def test_each_training_step_over_a_static_graph_is_one_recorded_pass():
    gl.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = gl.rand(5, 3)
    static = gl.jit.trace(net, x)
    opt = gl.optim.SGD(net.parameters(), lr=0.1)
    first = gl.last_trace().index
    for _ in range(3):
        opt.zero_grad()
        static(x).sum().backward()
        opt.step()
    steps = [t for t in gl.traces() if t.index > first]
    assert len(steps) == 3 and [t.roots for t in steps] == [("Sequential",)] * 3
    for t in steps:
        assert _kinds(t) == ["op"] * 4 + ["backward"] * 4
        ops = {e.id: e for e in t.events if e.kind == "op"}
        assert [e.op for e in ops.values()] == ["Linear", "Relu", "Linear", "Sum"]
        assert {e.scope for e in ops.values()} == {""}  # no module code ran
        backward = [e for e in t.events if e.kind == "backward"]
        assert all(e.forward_id in ops for e in backward), "backward not linked to its op"
    # the traced module names the parameters; the last step's one use of 2.weight is its .grad
    (use,) = steps[-1].grad_contributions("2.weight").contributions
    assert use.norm == pytest.approx(float(np.linalg.norm(net[2].weight.grad.numpy())), rel=1e-6)


@pytest.mark.usefixtures("default_trace_options")
def test_a_static_graph_of_a_function_opens_its_own_pass():
    static = gl.jit.trace(lambda a, b: a * b + 1, (gl.rand(2, 3), gl.rand(2, 3)))
    before = gl.last_trace().index
    static(gl.rand(2, 3), gl.rand(2, 3))
    t = gl.last_trace()
    assert t.index > before and t.roots == ("StaticGraph",)
    assert [e.op for e in t.events] == ["Mul", "Add"]


@pytest.mark.usefixtures("default_trace_options")
def test_a_static_graph_called_inside_a_module_continues_the_callers_pass():
    inner = gl.jit.trace(nn.Linear(3, 3), gl.rand(2, 3))

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(3, 1)

        def forward(self, x):
            return self.head(inner(x).relu())

    Outer()(gl.rand(2, 3))
    t = gl.last_trace()
    assert t.roots == ("Outer",)
    assert [(e.op, e.scope) for e in t.events] == [("Linear", ""), ("Relu", ""), ("Linear", "head")]


@pytest.mark.usefixtures("default_trace_options")
def test_replaying_in_a_loop_keeps_memory_bounded_by_the_ring():
    # regression: replays were no top-level calls, so every replay's ops piled up in the last
    # eager pass (up to max_events: 100,000 events) instead of each opening a pass of the ring
    net = nn.Linear(4, 4)
    static = gl.jit.trace(net, gl.rand(2, 4))
    x = gl.rand(2, 4)
    for _ in range(500):
        static(x)
    assert len(gl.traces()) == 8
    assert all(len(t) == 1 for t in gl.traces())
