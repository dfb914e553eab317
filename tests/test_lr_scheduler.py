"""Learning-rate schedulers: sequences against PyTorch, state dicts, warnings, bad input."""

from __future__ import annotations

import math
import warnings

import pytest

import graphlab as gl
from graphlab import optim
from graphlab.optim import lr_scheduler


def _params():
    return [gl.ones(2, requires_grad=True)], [gl.ones(3, requires_grad=True)]


def _gl_opt(lrs=(0.1, 0.02)):
    a, b = _params()
    return optim.SGD([{"params": a, "lr": lrs[0]}, {"params": b, "lr": lrs[1]}], momentum=0.9)


def _sequence(opt, sched, n):
    out = []
    for _ in range(n):
        opt.step()
        sched.step()
        out.append(sched.get_last_lr())
    return out


SCHEDULES = [
    ("StepLR", dict(step_size=3)),
    ("StepLR", dict(step_size=2, gamma=0.5)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
]


@pytest.mark.torch
@pytest.mark.parametrize(("name", "kwargs"), SCHEDULES, ids=str)
def test_sequence_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    opt = _gl_opt()
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    a, b = torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)
    topt = torch.optim.SGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.02}], momentum=0.9)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    assert sched.get_last_lr() == tsched.get_last_lr()
    ours = _sequence(opt, sched, 30)
    ref = _sequence(topt, tsched, 30)
    for x, y in zip(ours, ref):
        assert x == pytest.approx(y, rel=1e-12, abs=1e-15)
    assert [g["lr"] for g in opt.param_groups] == ours[-1]
    assert len({tuple(x) for x in ours}) > 2  # the rate really changes


@pytest.mark.torch
def test_lambda_lr_matches_torch_with_one_lambda_per_group():
    torch = pytest.importorskip("torch")
    fns = [lambda e: 0.95**e, lambda e: 1.0 / (1 + e)]
    opt = _gl_opt()
    sched = lr_scheduler.LambdaLR(opt, fns)
    a, b = torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)
    topt = torch.optim.SGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.02}])
    tsched = torch.optim.lr_scheduler.LambdaLR(topt, fns)
    assert _sequence(opt, sched, 12) == _sequence(topt, tsched, 12)


def test_step_lr_hand_values():
    opt = _gl_opt((1.0, 0.5))
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    seq = [lr[0] for lr in _sequence(opt, sched, 6)]
    assert seq == pytest.approx([1.0, 0.1, 0.1, 0.01, 0.01, 0.001])


def test_cosine_hand_values():
    opt = _gl_opt((1.0, 1.0))
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    seq = [lr[0] for lr in _sequence(opt, sched, 4)]
    assert seq == pytest.approx([(1 + math.cos(math.pi * t / 4)) / 2 for t in range(1, 5)])
    assert seq[-1] == pytest.approx(0.0, abs=1e-12)


def test_scheduler_records_initial_lr_and_changes_optimizer_steps():
    w = gl.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    sched = lr_scheduler.LambdaLR(opt, lambda e: 0.5**e)
    assert opt.param_groups[0]["initial_lr"] == 1.0
    opt.step()
    sched.step()
    (w * 4).sum().backward()
    opt.step()  # lr is now 0.5
    assert w.tolist() == [-1.0]


def test_state_dict_round_trip_resumes_sequence():
    opt = _gl_opt()
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    _sequence(opt, sched, 4)
    sd, opt_sd = sched.state_dict(), opt.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 4
    rest = _sequence(opt, sched, 5)
    opt2 = _gl_opt()
    opt2.load_state_dict(opt_sd)
    sched2 = lr_scheduler.CosineAnnealingLR(opt2, T_max=10)
    sched2.load_state_dict(sd)
    assert sched2.get_last_lr() == [g["lr"] for g in opt2.param_groups]
    resumed = _sequence(opt2, sched2, 5)
    assert [x for lrs in resumed for x in lrs] == pytest.approx([x for lrs in rest for x in lrs])


def test_lambda_state_dict_keeps_callable_objects_state():
    class Factor:
        def __init__(self):
            self.k = 0.5

        def __call__(self, epoch):
            return self.k**epoch

    opt = _gl_opt()
    f = Factor()
    sched = lr_scheduler.LambdaLR(opt, [f, lambda e: 1.0])
    f.k = 0.25
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"k": 0.25}, None]
    g = Factor()
    sched2 = lr_scheduler.LambdaLR(_gl_opt(), [g, lambda e: 1.0])
    sched2.load_state_dict(sd)
    assert g.k == 0.25


def test_warns_when_scheduler_steps_before_optimizer():
    opt = _gl_opt()
    sched = lr_scheduler.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt2 = _gl_opt()
    sched2 = lr_scheduler.StepLR(opt2, step_size=1)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()


def test_bad_input():
    with pytest.raises(TypeError, match="Optimizer"):
        lr_scheduler.StepLR(object(), step_size=1)
    with pytest.raises(ValueError, match="step_size"):
        lr_scheduler.StepLR(_gl_opt(), step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        lr_scheduler.CosineAnnealingLR(_gl_opt(), T_max=0)
    with pytest.raises(ValueError, match="expected 2 lr_lambdas"):
        lr_scheduler.LambdaLR(_gl_opt(), [lambda e: 1.0])
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(_gl_opt(), step_size=2, last_epoch=3)
