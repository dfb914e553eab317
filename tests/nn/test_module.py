"""nn.Module: registration, walking the tree, modes, devices/dtypes, hooks, scopes and errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn
from graphlab.nn import functional as F
from graphlab.nn.modules import module as module_mod


class MLP(nn.Module):
    """Example 2."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(20, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, x):
        return self.out(F.relu(self.hidden(x)))


class MySequential(nn.Module):
    """Example 3."""

    def __init__(self, *args):
        super().__init__()
        for idx, module in enumerate(args):
            self.add_module(str(idx), module)

    def forward(self, x):
        for block in self.children():
            x = block(x)
        return x


class FixedHiddenMLP(nn.Module):
    """Example 4."""

    def __init__(self):
        super().__init__()
        self.rand_weight = gl.rand((20, 20), requires_grad=False)
        self.linear = nn.Linear(20, 20)

    def forward(self, x):
        x = self.linear(x)
        x = F.relu(gl.mm(x, self.rand_weight) + 1)
        x = self.linear(x)
        while x.abs().sum() > 1:
            x /= 2
        return x.sum()


class NestMLP(nn.Module):
    """Example 5."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
        self.linear = nn.Linear(32, 16)

    def forward(self, x):
        return self.linear(self.net(x))


class CenteredLayer(nn.Module):
    """Example 12."""

    def forward(self, x):
        return x - x.mean()


class MyLinear(nn.Module):
    """Example 13."""

    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(gl.randn(in_units, units))
        self.bias = nn.Parameter(gl.randn(units))

    def forward(self, x):
        return F.relu(gl.matmul(x, self.weight.data) + self.bias.data)


# ----- examples ------------------------------------------------------------------------------


def test_examples_1_to_5_run_and_register():
    X = gl.rand(2, 20)
    net = nn.Sequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
    assert net(X).shape == (2, 10)
    mlp = MLP()
    assert mlp(X).shape == (2, 10)
    assert [n for n, _ in mlp.named_parameters()] == [
        "hidden.weight",
        "hidden.bias",
        "out.weight",
        "out.bias",
    ]
    myseq = MySequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
    assert myseq(X).shape == (2, 10)
    assert [n for n, _ in myseq.named_children()] == ["0", "1", "2"]
    fixed = FixedHiddenMLP()
    out = fixed(X)
    assert out.ndim == 0
    # the constant weight is a plain attribute, not a parameter; the shared Linear is listed once
    assert [n for n, _ in fixed.named_parameters()] == ["linear.weight", "linear.bias"]
    chimera = nn.Sequential(NestMLP(), nn.Linear(16, 20), FixedHiddenMLP())
    assert chimera(X).ndim == 0
    assert len(list(chimera.modules())) == 11


def test_examples_12_and_13():
    layer = CenteredLayer()
    assert layer(gl.tensor([1.0, 2.0, 3.0, 4.0, 5.0])).tolist() == [-2, -1, 0, 1, 2]
    net = nn.Sequential(nn.Linear(8, 128), CenteredLayer())
    assert abs(net(gl.rand(4, 8)).mean().item()) < 1e-5
    linear = MyLinear(5, 3)
    assert [n for n, _ in linear.named_parameters()] == ["weight", "bias"]
    X = gl.rand(2, 5)
    expected = np.maximum(
        X.numpy() @ linear.weight.detach().numpy() + linear.bias.detach().numpy(), 0
    )
    np.testing.assert_allclose(linear(X).numpy(), expected, rtol=1e-5)
    seq = nn.Sequential(MyLinear(64, 8), MyLinear(8, 1))
    assert seq(gl.rand(2, 64)).shape == (2, 1)


# ----- registration ------------------------------------------------------------------------


def test_setattr_registers_parameters_modules_and_buffers():
    m = nn.Module()
    m.p = nn.Parameter(gl.zeros(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("running", gl.ones(2))
    m.register_buffer("scratch", gl.ones(1), persistent=False)
    m.buf2 = nn.Buffer(gl.zeros(3), persistent=False)
    m.plain = gl.ones(3)  # a plain tensor attribute is not registered
    assert list(m._parameters) == ["p"]
    assert list(m._modules) == ["sub"]
    assert list(m._buffers) == ["running", "scratch", "buf2"]
    assert "plain" not in m.state_dict()
    assert list(m.state_dict()) == ["p", "running", "sub.weight", "sub.bias"]
    assert [n for n, _ in m.named_buffers()] == ["running", "scratch", "buf2"]
    # assigning a tensor to a registered buffer name keeps it a buffer
    m.running = gl.zeros(2)
    assert m._buffers["running"].tolist() == [0, 0]
    # re-assigning a name moves it between registries
    m.sub = nn.Parameter(gl.zeros(1))
    assert "sub" not in m._modules and "sub" in m._parameters
    del m.sub
    assert not hasattr(m, "sub")


def test_registration_errors():
    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(gl.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="Parameter or None"):
        m.weight = gl.zeros(2, 2)
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("weight", gl.zeros(1))
    with pytest.raises(TypeError, match="not a Module subclass"):
        m.add_module("x", 3)
    with pytest.raises(ValueError, match="non-leaf"):
        m.register_parameter("z", _nonleaf_param())
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        m.nope  # noqa: B018


def _nonleaf_param():
    """A Parameter object carrying history (what PyTorch rejects as a non-leaf parameter)."""
    q = nn.Parameter(gl.zeros(1))
    q.grad_fn = (nn.Parameter(gl.zeros(1)) * 2).grad_fn
    return q


def test_walks_and_lookups():
    net = nn.Sequential(MLP(), nn.Sequential(nn.Linear(10, 4), nn.ReLU()))
    names = [n for n, _ in net.named_modules()]
    assert names == ["", "0", "0.hidden", "0.out", "1", "1.0", "1.1"]
    assert [n for n, _ in net.named_modules(prefix="net")][:2] == ["net", "net.0"]
    assert [n for n, _ in net.named_children()] == ["0", "1"]
    assert [n for n, _ in net.named_parameters(prefix="m", recurse=True)][0] == "m.0.hidden.weight"
    assert list(net.named_parameters(recurse=False)) == []
    assert net.get_submodule("0.out") is net[0].out
    assert net.get_parameter("1.0.bias") is net[1][0].bias
    with pytest.raises(AttributeError, match="has no attribute `foo`"):
        net.get_submodule("0.foo")
    with pytest.raises(AttributeError, match="is not an nn.Parameter"):
        net.get_parameter("0.training")
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen[-1] == "Sequential" and seen[0] == "Linear"


def test_train_eval_requires_grad_and_zero_grad():
    net = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.Linear(3, 1)))
    assert net.training and net[1][0].training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="boolean"):
        net.train("no")
    net(gl.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all((p.grad == 0).all() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


# ----- devices and dtypes --------------------------------------------------------------------


def test_to_and_double_move_in_place_keeping_identity():
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    net.register_buffer("steps", gl.tensor(3))
    params = list(net.parameters())
    net(gl.randn(2, 3)).sum().backward()
    assert net.double() is net
    assert [p is q for p, q in zip(params, net.parameters())] == [True] * 4
    assert all(p.dtype is gl.float64 for p in net.parameters())
    assert all(p.grad.dtype is gl.float64 for p in net.parameters())
    assert net.steps.dtype is gl.int64  # only floating tensors change dtype
    assert net(gl.randn(2, 3, dtype=gl.float64)).dtype is gl.float64
    net.float()
    assert params[0].dtype is gl.float32
    net.to("cpu:1")
    assert all(p.device == gl.device("cpu:1") for p in net.parameters())
    assert params[0].grad.device == gl.device("cpu:1")
    assert net.steps.device == gl.device("cpu:1")
    assert net.to(gl.device("cpu")).cpu() is net
    assert params[0].device == gl.device("cpu")
    net.to(gl.zeros(1, dtype=gl.float16))
    assert params[0].dtype is gl.float16
    with pytest.raises(TypeError, match="floating point"):
        net.to(gl.int64)


def test_an_optimizer_step_after_to_updates_the_module():
    net = nn.Linear(2, 1)
    params = list(net.parameters())
    net.double()
    net(gl.ones(1, 2, dtype=gl.float64)).sum().backward()
    before = net.weight.detach().clone()
    with gl.no_grad():
        for p in params:
            p -= 0.5 * p.grad
    assert not gl.equal(before, net.weight.detach())


def test_deepcopy_copies_parameters_and_keeps_ties():
    shared = nn.Linear(2, 2)
    net = nn.Sequential(shared, shared)
    clone = copy.deepcopy(net)
    assert clone[0] is clone[1] and clone[0] is not shared
    assert clone[0].weight is not shared.weight
    assert gl.equal(clone[0].weight.detach(), shared.weight.detach())


# ----- hooks -------------------------------------------------------------------------------


def test_forward_pre_hooks_and_forward_hooks_with_removable_handles():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: calls.append("pre") or (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append("post") or out + 1)
    out = lin(gl.ones(1, 2))
    assert calls == ["pre", "post"]
    np.testing.assert_allclose(out.detach().numpy(), lin.bias.detach().numpy()[None] + 1)
    h1.remove()
    h2.remove()
    h2.remove()  # a second remove does nothing
    calls.clear()
    lin(gl.ones(1, 2))
    assert calls == []
    with lin.register_forward_hook(lambda m, a, o: calls.append("ctx")):
        lin(gl.ones(1, 2))
    lin(gl.ones(1, 2))
    assert calls == ["ctx"]
    # with_kwargs and prepend
    order = []
    lin.register_forward_pre_hook(lambda m, a: order.append(1))
    lin.register_forward_pre_hook(
        lambda m, a, k: order.append(0) or ((a[0],), k), prepend=True, with_kwargs=True
    )
    lin(gl.ones(1, 2))
    assert order == [0, 1]


def test_always_call_forward_hook_runs_when_forward_raises():
    lin = nn.Linear(2, 2)
    seen = []
    lin.register_forward_hook(lambda m, a, o: seen.append(o), always_call=True)
    with pytest.raises(RuntimeError):
        lin(gl.ones(1, 3))
    assert seen == [None]


def test_full_backward_hook_matches_torch():
    torch = pytest.importorskip("torch")
    lin = nn.Linear(3, 2)
    tlin = torch.nn.Linear(3, 2)
    lin.weight.data = gl.tensor(tlin.weight.detach().numpy())
    lin.bias.data = gl.tensor(tlin.bias.detach().numpy())
    got, tgot = [], []
    lin.register_full_backward_hook(lambda m, gi, go: got.append((gi, go)))
    tlin.register_full_backward_hook(lambda m, gi, go: tgot.append((gi, go)))
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    xg = gl.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    (lin(xg) ** 2).sum().backward()
    (tlin(xt) ** 2).sum().backward()
    assert len(got) == len(tgot) == 1
    (gi,), (go,) = got[0]
    (tgi,), (tgo,) = tgot[0]
    np.testing.assert_allclose(gi.numpy(), tgi.numpy(), rtol=1e-5)
    np.testing.assert_allclose(go.numpy(), tgo.numpy(), rtol=1e-5)
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-5)


def test_full_backward_hook_can_replace_grad_input_and_fires_without_input_grads():
    lin = nn.Linear(3, 2)
    lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0,))
    x = gl.randn(2, 3, requires_grad=True)
    lin(x).sum().backward()
    assert (x.grad == 0).all()
    assert lin.weight.grad is not None and not (lin.weight.grad == 0).all()
    # no input requires grad: the hook still sees grad_output, with grad_input (None,)
    lin2 = nn.Linear(3, 2)
    seen = []
    lin2.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go[0].shape)))
    lin2(gl.randn(2, 3)).sum().backward()
    assert seen == [((None,), (2, 2))]


def test_full_backward_pre_hook_can_scale_grad_output():
    lin = nn.Linear(3, 2)
    lin.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
    x = gl.randn(2, 3, requires_grad=True)
    lin(x).sum().backward()
    np.testing.assert_allclose(lin.bias.grad.numpy(), np.full(2, 4.0, dtype=np.float32), rtol=1e-6)


# ----- scopes, observers, errors --------------------------------------------------------------


def test_scope_stack_and_observers():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2)))
    stacks = []
    events = []
    net[1][0].register_forward_pre_hook(
        lambda m, a: stacks.append(list(module_mod.current_scope()))
    )
    before = list(module_mod.module_observers)  # NOTE: the trace recorder's observer is one
    handle = module_mod.add_module_observer(lambda ev, m: events.append((ev, type(m).__name__)))
    try:
        net(gl.ones(1, 2))
    finally:
        handle.remove()
    assert stacks == [[net, net[1], net[1][0]]]
    assert module_mod.current_scope() == []
    assert events == [
        ("enter", "Sequential"),
        ("enter", "Linear"),
        ("exit", "Linear"),
        ("enter", "Sequential"),
        ("enter", "Linear"),
        ("exit", "Linear"),
        ("exit", "Sequential"),
        ("exit", "Sequential"),
    ]
    assert module_mod.module_observers == before


def test_wrong_input_shape_names_the_layer_path_once():
    net = nn.Sequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
    with pytest.raises(RuntimeError) as info:
        net(gl.rand(2, 30))
    msg = str(info.value)
    assert msg.startswith("net.0 (Linear(in_features=20, out_features=256, bias=True)): ")
    assert "expected input with 20 features" in msg and "got shape (2, 30)" in msg
    assert msg.count("Linear(") == 1
    assert module_mod.current_scope() == []

    outer = nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(6, 4), nn.Linear(5, 1)))
    with pytest.raises(RuntimeError, match=r"^outer\.1\.1 \(Linear\(in_features=5, out_features=1"):
        outer(gl.rand(2, 2, 3))


def test_error_path_inside_a_custom_module_and_with_unknown_root_name():
    mlp = MLP()

    def run(model):
        return model(gl.rand(2, 7))

    with pytest.raises(RuntimeError, match=r"^model\.hidden \(Linear\(in_features=20"):
        run(mlp)
    with pytest.raises(RuntimeError, match=r"^MLP\.hidden \(Linear"):
        [MLP()][0](gl.rand(2, 7))


def test_errors_that_are_not_annotated_and_forward_missing():
    class Boom(nn.Module):
        def forward(self, x):
            raise KeyError("k")

    with pytest.raises(KeyError) as info:
        Boom()(1)
    assert str(info.value) == "'k'"
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)


def test_scope_stack_is_per_thread():
    import threading

    inner = []
    net = nn.Sequential(nn.Linear(2, 2))
    net[0].register_forward_pre_hook(lambda m, a: inner.append(len(module_mod.current_scope())))

    def other_thread():
        inner.append(("other", len(module_mod.current_scope())))

    def hook(m, a):
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()

    net.register_forward_pre_hook(hook)
    net(gl.ones(1, 2))
    assert inner == [("other", 0), 2]


@pytest.mark.gpu
def test_module_cuda_round_trip_keeps_parameter_identity():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.LazyLinear(2))
    net.register_buffer("count", gl.tensor(1))
    params = list(net.parameters())
    assert net.cuda() is net
    out = net(gl.randn(5, 3, device="cuda"))
    assert out.device == gl.device("cuda:0")
    out.sum().backward()
    assert [p is q for p, q in zip(params, net.parameters())] == [True] * 4
    assert all(p.device == gl.device("cuda:0") for p in net.parameters())
    assert net.count.device == gl.device("cuda:0")
    total = nn.utils.clip_grad_norm_(net.parameters(), 0.01)
    assert total.device == gl.device("cuda:0")
    nn.init.orthogonal_(net[0].weight)
    nn.init.trunc_normal_(net[2].weight, a=3.0, b=4.0)
    assert float(net[2].weight.detach().min()) >= 3.0
    net.cpu()
    assert params[0].device == gl.device("cpu") and params[0].grad.device == gl.device("cpu")
    ref = nn.Linear(3, 4)
    ref.load_state_dict(net[0].state_dict())
    assert gl.equal(ref.weight.detach(), net[0].weight.detach())
