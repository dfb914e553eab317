"""graphlab.autograd.detect_anomaly: the first NaN/Inf, forward or backward, raises an error
naming the event, the op, the module scope and its inputs' statistics; inactive, it costs
nothing (no observer registered)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn
from graphlab.autograd import AnomalyError, detect_anomaly, engine, function, is_anomaly_enabled


@pytest.fixture(autouse=True)
def _quiet_numpy():
    # NOTE: NumPy warns about log(-1) and 1/0 itself; the tests look at our error instead.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _no_observers():
    return (
        _ours(function.op_observers) == [] and _ours(engine.backward_observers) == []
    ) and not is_anomaly_enabled()


def _ours(lst):
    from graphlab.autograd import anomaly

    return [f for f in lst if f in (anomaly._on_op, anomaly._on_backward)]


class LogHead(nn.Module):
    """A layer whose forward takes the log of its (possibly negative) pre-activation."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        return gl.log(self.lin(x))


class SqrtNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
        self.head = SqrtHead()

    def forward(self, x):
        return self.head(self.body(x))


class SqrtHead(nn.Module):
    def forward(self, x):
        return gl.sqrt(x).sum()


def _log_net():
    net = nn.Sequential(nn.Linear(3, 3), LogHead())
    with gl.no_grad():
        net[0].weight.copy_(gl.eye(3))
        net[0].bias.zero_()
        net[1].lin.weight.copy_(gl.tensor([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]))
        net[1].lin.bias.zero_()
    return net


def test_forward_nan_names_op_scope_and_input_statistics():
    net = _log_net()
    x = gl.tensor([[1.0, 2.0, 3.0]])
    with pytest.raises(AnomalyError) as info:
        with detect_anomaly():
            net(x)
    e = info.value
    assert isinstance(e, RuntimeError)
    assert e.event == "forward" and e.op == "Log"
    assert e.scope == "1 (LogHead)"
    msg = str(e)
    assert "forward op Log produced NaN" in msg and "1 (LogHead)" in msg
    assert "input 0: shape (1, 2), float32, min -2, max 1, mean -0.5, nan 0, inf 0" in msg
    assert e.inputs[0]["min"] == -2.0 and e.inputs[0]["nan"] == 0
    assert _no_observers()


def test_forward_inf_from_overflow_is_caught():
    x = gl.tensor([1.0, 100.0])
    with pytest.raises(AnomalyError, match=r"forward op Exp produced Inf") as info:
        with detect_anomaly():
            gl.exp(x)
    assert info.value.scope == "" and info.value.inputs[0]["max"] == 100.0


def test_backward_inf_names_the_node_and_the_scope_of_its_forward_op():
    net = SqrtNet()
    with gl.no_grad():
        net.body[0].weight.copy_(gl.tensor([[1.0, 0.0], [0.0, 0.0]]))
        net.body[0].bias.zero_()
    x = gl.tensor([[4.0, 5.0]])
    with detect_anomaly():
        loss = net(x)  # sqrt(0) is finite: the forward passes
        assert np.isfinite(loss.item())
        with pytest.raises(AnomalyError) as info:
            loss.backward()
    e = info.value
    assert e.event == "backward" and e.op == "SqrtBackward0"
    assert e.scope == "head (SqrtHead)"
    msg = str(e)
    assert "backward node SqrtBackward0" in msg and "produced Inf in the gradient of input 0" in msg
    assert "incoming gradient: shape (1, 2), float32, min 1, max 1, mean 1" in msg
    assert "forward input 0: tensor of shape (1, 2), float32" in msg
    assert net.body[0].weight.grad is None  # stopped before reaching the parameters
    assert _no_observers()


def test_backward_overflow_before_a_leaf_is_caught_and_the_leaf_keeps_no_grad():
    x = gl.tensor([1e-30, 1.0], requires_grad=True)
    with detect_anomaly():
        y = (1 / x).sum()  # 1e30 fits in float32; its derivative -1/x**2 = -1e60 does not
        with pytest.raises(AnomalyError) as info:
            y.backward()
    assert info.value.event == "backward" and info.value.op.endswith("Backward0")
    assert "Inf" in str(info.value)
    assert x.grad is None


def test_finite_training_step_runs_unchanged_under_detect_anomaly():
    gl.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    x = gl.rand(5, 4)
    net(x).sum().backward()
    plain = net[0].weight.grad.numpy().copy()
    net.zero_grad()
    with detect_anomaly():
        net(x).sum().backward()
    np.testing.assert_array_equal(net[0].weight.grad.numpy(), plain)


def test_inactive_costs_nothing_no_observer_is_registered():
    assert _no_observers()
    ctx = detect_anomaly()
    assert _no_observers()  # constructing does not register
    with ctx:
        assert len(_ours(function.op_observers)) == 1
        assert len(_ours(engine.backward_observers)) == 1
        assert is_anomaly_enabled()
    assert _no_observers()


def test_nested_contexts_register_once_and_unregister_at_the_outermost_exit():
    with detect_anomaly():
        with detect_anomaly():
            assert len(_ours(function.op_observers)) == 1
        assert len(_ours(function.op_observers)) == 1
    assert _no_observers()


def test_observers_are_removed_when_the_error_propagates():
    with pytest.raises(AnomalyError):
        with detect_anomaly():
            gl.log(gl.tensor([-1.0]))
    assert _no_observers()


def test_decorator_form():
    @detect_anomaly()
    def step(x):
        return gl.sqrt(x)

    assert step(gl.tensor([4.0])).item() == 2.0
    with pytest.raises(AnomalyError, match=r"forward op Sqrt produced NaN"):
        step(gl.tensor([-4.0]))
    assert _no_observers()


def test_check_nan_false_checks_nothing():
    with detect_anomaly(check_nan=False):
        assert _no_observers()
        out = gl.log(gl.tensor([-1.0]))
    assert np.isnan(out.item())
    with pytest.raises(TypeError, match="check_nan must be a bool"):
        detect_anomaly(check_nan="yes")


def test_integer_ops_are_not_checked():
    with detect_anomaly():
        out = gl.tensor([1, 2]) + gl.tensor([3, 4])
    assert out.tolist() == [4, 6]
