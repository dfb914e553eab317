"""graphlab.inspect sessions: record_session, session(), summary tables."""

from __future__ import annotations

import pytest

import graphlab as gl
from graphlab import nn
from graphlab.inspect import Session, format_summary, record_session, session, summary


def _step(model, loss_fn, opt, x, y):
    loss = loss_fn(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def test_record_session_attributes_passes_and_optimizers():
    gl.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    head = nn.Linear(2, 1)
    before = gl.set_trace_options()
    with record_session("t", level="stats") as rec:
        opt = gl.optim.SGD(net.parameters(), lr=0.1)
        for _ in range(3):
            _step(net, nn.MSELoss(), opt, gl.randn(5, 4), gl.randn(5, 2))
        # an optimizer made and dropped inside a helper is still found
        _step(head, nn.MSELoss(), gl.optim.Adam(head.parameters()), gl.randn(3, 2), gl.randn(3, 1))
        rec.name_models({"net": net})
    s = rec.session
    assert gl.set_trace_options() == before  # options restored
    assert [m.name for m in s.models] == ["net", "Linear"]  # the loss modules are not models
    assert len(s.model("net").traces) == 3 and len(s.model("Linear").traces) == 1
    assert s.model("net").optimizer.type_name == "SGD"
    assert s.model("Linear").optimizer.type_name == "Adam"
    assert all(t.level == "stats" for t in s.traces)
    assert [t.index for t in s.traces] == sorted(t.index for t in s.traces)
    assert s.model_of(s.traces[-1]).name == "Linear"
    assert all(not t.recording for t in s.traces)  # the open last pass was frozen
    assert "2 model(s)" in repr(s)


def test_record_session_keeps_what_ran_before_an_error():
    net = nn.Linear(2, 2)
    with pytest.raises(KeyError):
        with record_session() as rec:
            net(gl.ones(1, 2))
            raise KeyError("boom")
    assert [m.name for m in rec.session.models] == ["Linear"]
    assert len(rec.session.traces) == 1


def test_second_model_of_a_class_is_numbered_and_unknown_name_lists_names():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    with record_session() as rec:
        a(gl.ones(1, 2))
        b(gl.ones(1, 2))
    s = rec.session
    assert [m.name for m in s.models] == ["Linear", "Linear#2"]
    with pytest.raises(KeyError, match=r"no model 'nope'.*\['Linear', 'Linear#2'\]"):
        s.model("nope")


def test_bad_arguments():
    with pytest.raises(ValueError, match="keep must be an int >= 1"):
        record_session(keep=0)
    with pytest.raises(TypeError, match="Snapshot objects"):
        Session("x", models=("not a snapshot",))
    with pytest.raises(ValueError, match="at least one model"):
        session([])
    with pytest.raises(TypeError):
        session("not a module")


def test_session_of_live_models_matches_optimizers():
    net, other = nn.Linear(3, 3), nn.Linear(3, 1)
    opt = gl.optim.SGD(other.parameters(), lr=0.1)
    s = session([net, other], optimizers=opt)
    assert s.models[0].optimizer is None and s.models[1].optimizer.type_name == "SGD"


def test_summary_counts_tied_once_and_reads_output_shapes():
    shared = nn.Linear(8, 8)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.Linear(8, 1))
    with record_session() as rec:
        net(gl.randn(32, 4)).sum().backward()
    snap = rec.session.models[0]
    rows = {r.path: r for r in summary(snap)}
    assert rows[""].output_shape == (32, 1)
    assert rows["0"].output_shape == (32, 8) and rows["0"].parameters == 40
    assert rows["2"].parameters == 72 and rows["4"].parameters == 0
    assert rows["4"].alias_of == "2"
    text = format_summary(snap)
    assert "Total parameters: 121 (tied parameters counted once)" in text
    assert "Tied parameters: 2.weight = 4.weight; 2.bias = 4.bias" in text
    assert "4 (Linear) = 2" in text


def test_summary_of_a_lazy_model_without_a_pass():
    net = nn.Sequential(nn.LazyLinear(4), nn.ReLU())
    text = format_summary(net)
    assert "Uninitialized (lazy): 0.weight, 0.bias" in text
    assert "no recorded pass" in text
    assert text.splitlines()[5].split()[-2:] == ["lazy", "-"]
