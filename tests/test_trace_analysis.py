"""Tests of graphlab.trace.analysis on hand-built events (and on real recordings when available)."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn
from graphlab.trace import analysis as A
from graphlab.trace.events import (
    BackwardEvent,
    InitEvent,
    OpEvent,
    ParamGrad,
    SyncEvent,
    TransferEvent,
    ValueRef,
)

# ---------------------------------------------------------------------------------------------
# Builders: a tiny DSL for hand-made passes.


def ref(vid, shape=(4,), nbytes=None, param=None, aliases=(), const=False, device="cpu"):
    n = int(np.prod(shape)) * 4 if nbytes is None else nbytes
    return ValueRef(vid, tuple(shape), "float32", device, n, param, tuple(aliases), False, const)


class Pass:
    """Builds events with sequential ids."""

    def __init__(self):
        self.events = []
        self._ids = itertools.count()

    def op(self, op, ins, outs, scope="", cls="", seconds=None, attrs=()):
        ev = OpEvent(
            next(self._ids), op, scope, cls, tuple(ins), tuple(outs), tuple(attrs), seconds
        )
        self.events.append(ev)
        return ev

    def bwd(self, op, fid, scope="", seconds=None, param_grads=()):
        ev = BackwardEvent(
            next(self._ids), op, fid, scope, (4,), ((4,),), (1.0,), tuple(param_grads), seconds
        )
        self.events.append(ev)
        return ev

    def transfer(self, nbytes, src="cpu:0", dst="cpu:1", site="a.py:1", pinned=False, s=1e-3):
        ev = TransferEvent(
            next(self._ids), src, dst, nbytes, s, nbytes / s, pinned, False, "", site, "to"
        )
        self.events.append(ev)
        return ev

    def sync(self, site="a.py:9", reason="item"):
        ev = SyncEvent(next(self._ids), "cpu", reason, 4, 0.0, "", site)
        self.events.append(ev)
        return ev

    def init(self, scope, cls="LazyLinear"):
        ev = InitEvent(next(self._ids), scope, cls, (("weight", (4, 4)),), ((2, 4),), "kaiming")
        self.events.append(ev)
        return ev


def mlp_pass(seconds=1e-3, batch=2, with_backward=True):
    """x -> net.0 Linear -> net.1 ReLU -> head Linear -> Sum, with a backward."""
    p = Pass()
    x = ref(0, (batch, 4), const=True)
    w0, b0 = ref(1, (4, 4), param="net.0.weight"), ref(2, (4,), param="net.0.bias")
    w1 = ref(5, (4, 4), param="head.weight")
    h = ref(3, (batch, 4))
    r = ref(4, (batch, 4))
    o = ref(6, (batch, 4))
    s = ref(7, ())
    f0 = p.op("Linear", [x, w0, b0], [h], "net.0", "Linear", seconds)
    f1 = p.op("ReLU", [h], [r], "net.1", "ReLU", seconds)
    f2 = p.op("Linear", [r, w1, None], [o], "head", "Linear", seconds)
    f3 = p.op("Sum", [o], [s], "", "", seconds, attrs=(("dim", None),))
    if with_backward:
        p.bwd("SumBackward0", f3.id, "", seconds)
        p.bwd("LinearBackward0", f2.id, "head", seconds)
        p.bwd("ReluBackward0", f1.id, "net.1", seconds)
        p.bwd("LinearBackward0", f0.id, "net.0", seconds)
    return p


# ---------------------------------------------------------------------------------------------
# Input handling


def test_accepts_trace_like_and_sequences():
    p = mlp_pass()
    duck = SimpleNamespace(events=tuple(p.events))
    assert A.signature(p.events) == A.signature(duck) == A.signature(tuple(p.events))
    assert A.events_of(iter(p.events)) == tuple(p.events)


def test_rejects_non_traces_with_clear_errors():
    with pytest.raises(TypeError, match="expected a graphlab Trace"):
        A.per_module(42)
    with pytest.raises(TypeError, match="expected a graphlab Trace"):
        A.per_module("events")
    with pytest.raises(TypeError, match="trace event 1 is a dict"):
        A.signature([mlp_pass().events[0], {"op": "Add"}])


def test_empty_trace_everywhere():
    assert len(A.per_module([])) == 0
    assert A.format_per_module([]).startswith("scope")
    assert A.transfers([]) == ()
    assert A.transfer_report([]).count == 0
    assert A.peak_live_bytes([]) == 0
    assert A.signature([]) == A.signature(())
    assert A.diff([], []).identical
    assert A.group_by_signature([]) == {}


# ---------------------------------------------------------------------------------------------
# per_module


def test_per_module_rollup_and_order():
    table = A.per_module(mlp_pass(seconds=0.5))
    assert list(table) == ["", "net", "net.0", "net.1", "head"]
    root, net, lin, head = table[""], table["net"], table["net.0"], table["head"]
    assert (root.ops, root.backward_ops, root.self_ops) == (4, 4, 1)
    assert root.seconds == pytest.approx(4.0) and root.untimed == 0
    assert (net.ops, net.backward_ops, net.self_ops, net.module_class) == (2, 2, 0, "")
    assert (lin.ops, lin.module_class, lin.depth) == (1, "Linear", 2)
    assert lin.params == ("net.0.weight", "net.0.bias")
    assert net.params == ("net.0.weight", "net.0.bias")
    assert root.params == ("net.0.weight", "net.0.bias", "head.weight")
    assert head.params == ("head.weight",)
    # bytes produced: each (2, 4) float32 output is 32 bytes, the scalar sum 4
    assert (lin.bytes, net.bytes, root.bytes) == (32, 64, 32 * 3 + 4)
    assert root.self_seconds == pytest.approx(0.5)


def test_per_module_without_timings_or_backward():
    table = A.per_module(mlp_pass(seconds=None, with_backward=False))
    assert table[""].seconds == 0.0 and table[""].untimed == 4
    assert table[""].backward_ops == 0
    text = str(table)
    assert "net" in text and "Linear" in text
    # time column shows "-" when nothing was timed
    assert text.splitlines()[1].split()[3] == "-"


def test_per_module_unknown_scope_lists_close_names():
    table = A.per_module(mlp_pass())
    with pytest.raises(KeyError, match=r"unknown module scope 'net\.2'.*'net\.[01]'"):
        table["net.2"]
    with pytest.raises(KeyError, match="did you mean 'head'"):
        table["haed"]


def test_per_module_counts_init_class_and_ignores_transfers():
    p = mlp_pass()
    p.init("lazy", "LazyLinear")
    p.transfer(100)
    p.sync()
    p.op("Add", [ref(9)], [ref(10)], "lazy", "")
    table = A.per_module(p)
    assert table["lazy"].module_class == "LazyLinear"
    assert table[""].ops == 5


def test_format_per_module_table():
    text = A.format_per_module(mlp_pass(seconds=2e-3))
    lines = text.splitlines()
    assert lines[0].split() == ["scope", "class", "ops", "bwd", "time", "bytes", "out", "params"]
    assert lines[1].startswith("(root)")
    assert "16.000 ms" in lines[1]  # 4 ops + 4 backward nodes of 2 ms
    assert any(line.startswith("    0 ") and "Linear" in line for line in lines)
    assert A.format_per_module(A.per_module(mlp_pass(seconds=2e-3))) == text


# ---------------------------------------------------------------------------------------------
# transfers


def test_transfers_and_report_totals():
    p = mlp_pass()
    t1 = p.transfer(1000, site="train.py:10", s=1e-3)
    t2 = p.transfer(3000, site="train.py:10", s=1e-3)
    t3 = p.transfer(500, src="cpu:1", dst="cpu:0", site="train.py:20", s=5e-4)
    assert A.transfers(p) == (t1, t2, t3)
    rep = A.transfer_report(p)
    assert (rep.count, rep.nbytes, rep.syncs) == (3, 4500, 0)
    assert rep.seconds == pytest.approx(2.5e-3)
    fwd = rep.by_pair[0]
    assert (fwd.src, fwd.dst, fwd.count, fwd.nbytes) == ("cpu:0", "cpu:1", 2, 4000)
    assert fwd.bandwidth == pytest.approx(4000 / 2e-3)
    assert [s.call_site for s in rep.by_site] == ["train.py:10", "train.py:20"]
    assert rep.by_site[0].transfers == 2 and rep.by_site[0].nbytes == 4000
    assert rep.advice == ()
    text = str(rep)
    assert "cpu:0 -> cpu:1: 2 copies" in text and "train.py:20" in text
    assert "advice" not in text


def test_report_advises_batching_small_copies():
    p = Pass()
    for _ in range(A.SMALL_COPIES_PER_SITE):
        p.transfer(1024, site="loop.py:3")
    assert A.transfer_report(p).advice == ()  # exactly the threshold: no advice
    p.transfer(1024, site="loop.py:3")
    p.transfer(10 * 2**20, site="big.py:1")
    (advice,) = A.transfer_report(p).advice
    assert advice.startswith("loop.py:3: 11 copies under 64.0 KiB")
    assert "batch them into one copy" in advice


def test_report_advises_pinned_memory_for_pageable_host_to_gpu():
    p = Pass()
    p.transfer(2**20, src="cpu", dst="cuda:0", site="a.py:5", pinned=False)
    p.transfer(2**20, src="cpu", dst="cuda:0", site="b.py:5", pinned=True)
    p.transfer(2**20, src="cuda:0", dst="cpu", site="c.py:5", pinned=False)
    (advice,) = A.transfer_report(p).advice
    assert advice.startswith("a.py:5: 1 host-to-GPU copies from pageable memory")
    assert "pin_memory()" in advice


def test_report_advises_syncs_in_loops():
    p = mlp_pass()
    for _ in range(A.SYNCS_PER_SITE):
        p.sync(site="train.py:30")
    assert A.transfer_report(p).advice == ()
    p.sync(site="train.py:30")
    for _ in range(5):
        p.sync(site="model.py:7", reason="bool")
    rep = A.transfer_report(p)
    assert rep.syncs == 9
    first, second = rep.advice
    assert first.startswith("train.py:30: 4 host syncs (item)")
    assert ".item() inside a loop stalls the GPU; accumulate on the device and read once" in first
    assert "tensor condition" in second
    assert "4 syncs (item)" in str(rep)


def test_report_without_timing():
    p = Pass()
    p.events.append(TransferEvent(0, "cpu:0", "cpu:1", 8, 0.0, 0.0, False, False, "", "x:1", "to"))
    (pair,) = A.transfer_report(p).by_pair
    assert pair.bandwidth is None
    assert "-" in str(A.transfer_report(p))


# ---------------------------------------------------------------------------------------------
# peak_live_bytes


def test_peak_live_bytes_lifetimes():
    p = Pass()
    x = ref(0, nbytes=100, const=True)  # whole pass
    w = ref(1, nbytes=1000, param="w")  # whole pass
    a, b, c, d = ref(2, nbytes=10), ref(3, nbytes=20), ref(4, nbytes=40), ref(5, nbytes=80)
    p.op("Mul", [x, w], [a])  # live: x w a = 1110
    p.op("Exp", [a], [b])  # x w a b = 1130 (a's last use)
    p.op("Neg", [b], [c])  # x w b c = 1160
    p.op("Neg", [x], [ref(6, nbytes=5000)])  # x w c + dead 5000 = 6140 (never used again)
    p.op("Add", [c, 1.0], [d])  # x w c d = 1220
    assert A.peak_live_bytes(p) == 6140
    p.events.pop(3)
    assert A.peak_live_bytes(p) == 1220
    # a final output of the last op is live at the end
    p.op("Big", [d], [ref(7, nbytes=10_000)])
    assert A.peak_live_bytes(p) == 1100 + 80 + 10_000


def test_peak_live_bytes_params_live_whole_pass_unproduced_from_first_use():
    p = Pass()
    late_param = ref(9, nbytes=500, param="late")
    p.op("Neg", [ref(0, nbytes=7, const=True)], [ref(1, nbytes=1000)])
    p.op("Neg", [ref(1, nbytes=1000)], [ref(2, nbytes=2)])
    p.op("Mul", [ref(2, nbytes=2), late_param], [ref(3, nbytes=3)])
    # the parameter counts from the start: at op 1, 7 + 1000 + 2 + 500
    assert A.peak_live_bytes(p) == 1509
    # not const, not a parameter, not produced by an op: live from its first use only
    made = ref(8, nbytes=7000)
    p.op("Add", [ref(3, nbytes=3), made], [ref(4, nbytes=4)])
    assert A.peak_live_bytes(p) == 7 + 500 + 3 + 7000 + 4


def test_peak_live_bytes_inplace_counted_once_and_device_filter():
    p = Pass()
    x = ref(0, nbytes=100, device="cuda:0")
    p.op("Abs", [x], [ref(1, nbytes=100, device="cuda:0")])
    p.op("Div", [x, 2], [x])  # in place: same vid
    p.op("Div", [x, 2], [x])
    p.op("Neg", [ref(5, nbytes=3)], [ref(6, nbytes=4)])
    assert A.peak_live_bytes(p) == 100 + 100  # x from op 0 to op 2, Abs output at op 0
    assert A.peak_live_bytes(p, device="cuda:0") == 200
    assert A.peak_live_bytes(p, device="cpu") == 7
    assert A.peak_live_bytes(p, device="cuda:1") == 0


def test_peak_live_bytes_ignores_other_events():
    p = mlp_pass()
    base = A.peak_live_bytes(p)
    p.transfer(10**9)
    p.sync()
    p.init("x")
    assert A.peak_live_bytes(p) == base


# ---------------------------------------------------------------------------------------------
# signature


def _renumbered(p: Pass, offset: int) -> list:
    """The same pass with every value id shifted and every timing/event id changed."""

    def shift(r):
        if not isinstance(r, ValueRef):
            return r
        return ValueRef(r.vid + offset, r.shape, r.dtype, r.device, r.nbytes, r.param,
                        r.aliases, r.requires_grad, r.const)  # fmt: skip

    out = []
    for ev in p.events:
        if isinstance(ev, OpEvent):
            ev = OpEvent(ev.id + 100, ev.op, ev.scope, ev.scope_class,
                         tuple(shift(r) for r in ev.inputs), tuple(shift(r) for r in ev.outputs),
                         ev.attrs, 9.9)  # fmt: skip
        out.append(ev)
    return out


def test_signature_is_stable_and_structural():
    a = mlp_pass(seconds=1e-3)
    sig = A.signature(a)
    assert isinstance(sig, str) and len(sig) == 16 and int(sig, 16) >= 0
    assert A.signature(mlp_pass(seconds=None, with_backward=False)) == sig
    assert A.signature(_renumbered(a, 1000)) == sig
    # the value of a constant input does not matter, its presence does
    b, c = Pass(), Pass()
    b.op("Mul", [ref(0), 2.0], [ref(1)])
    c.op("Mul", [ref(0), 3.0], [ref(1)])
    assert A.signature(b) == A.signature(c)
    # shapes, scopes, ops, attrs and wiring all count
    assert A.signature(mlp_pass(batch=3)) != sig
    for change in ("op", "scope", "attr", "wiring", "dtype"):
        d = Pass()
        x, y = ref(0), ref(1)
        d.op("Neg" if change != "op" else "Exp", [x], [y], "s" if change != "scope" else "t")
        z = ref(2) if change != "dtype" else ValueRef(2, (4,), "float64", "cpu", 32)
        attrs = (("dim", 0),) if change != "attr" else (("dim", 1),)
        d.op("Sum", [y if change != "wiring" else x], [z], "s", attrs=attrs)
        e = Pass()
        e.op("Neg", [ref(0)], [ref(1)], "s")
        e.op("Sum", [ref(1)], [ref(2)], "s", attrs=(("dim", 0),))
        assert A.signature(d) != A.signature(e), change


def test_signature_attrs_arrays_by_shape_only():
    a, b = Pass(), Pass()
    a.op("Index", [ref(0)], [ref(1)], attrs=(("idx", np.array([0, 1])),))
    b.op("Index", [ref(0)], [ref(1)], attrs=(("idx", np.array([3, 2])),))
    assert A.signature(a) == A.signature(b)


def test_group_by_signature():
    passes = [
        mlp_pass(batch=2),
        mlp_pass(batch=3),
        mlp_pass(batch=2, seconds=None),
        mlp_pass(batch=3),
    ]
    groups = A.group_by_signature(passes)
    assert list(groups.values()) == [[0, 2], [1, 3]]
    assert list(groups) == [A.signature(passes[0]), A.signature(passes[1])]


# ---------------------------------------------------------------------------------------------
# diff


def loop_pass(iterations: int, batch: int = 2) -> Pass:
    """Example 4's shape: a Linear, then `while X.abs().sum() > 1: X /= 2`, then a Sum."""
    p = Pass()
    x = ref(0, (batch, 4), const=True)
    h = ref(1, (batch, 4))
    p.op("Linear", [x, ref(9, (4, 4), param="linear.weight")], [h], "linear", "Linear")
    vid = itertools.count(10)
    for _ in range(iterations + 1):
        a, s, g = ref(next(vid), (batch, 4)), ref(next(vid), ()), ref(next(vid), ())
        p.op("Abs", [h], [a])
        p.op("Sum", [a], [s])
        p.op("Gt", [s, 1], [g])
        p.sync(site="blocks.py:60", reason="bool")
        if _ < iterations:
            p.op("Div", [h, 2], [h])
    p.op("Sum", [h], [ref(99, ())])
    return p


def test_diff_identical_and_changed_shapes():
    d = A.diff(mlp_pass(), mlp_pass(seconds=None, with_backward=False))
    assert d.identical and (d.added, d.removed, d.changed) == ((), (), ())
    assert "(no differences)" in str(d)
    d = A.diff(mlp_pass(batch=2), mlp_pass(batch=5))
    assert not d.added and not d.removed
    assert [(x.op, x.scope) for x, _ in d.changed] == [
        ("Linear", "net.0"),
        ("ReLU", "net.1"),
        ("Linear", "head"),
        ("Sum", ""),
    ]
    assert d.changed[0][1].outputs[0].shape == (5, 4)
    text = str(d)
    assert "~ #0 net.0 Linear([2, 4], [4, 4], [4]) -> [2, 4] float32" in text
    assert "~   now #0 net.0 Linear([5, 4], [4, 4], [4]) -> [5, 4] float32" in text
    assert text.splitlines()[-1] == "0 added, 0 removed, 4 changed"


def test_diff_shows_extra_loop_iterations():
    a, b = loop_pass(2), loop_pass(4)
    d = A.diff(a, b)
    # two whole iterations, contiguous in b (where the rotation starts is the aligner's choice)
    added = [e.op for e in d.added]
    assert sorted(added) == sorted(["Abs", "Sum", "Gt", "Div"] * 2)
    assert added[4:] == added[:4]
    b_ops = [e for e in b.events if isinstance(e, OpEvent)]
    start = b_ops.index(d.added[0])
    assert b_ops[start : start + 8] == list(d.added)
    assert d.removed == () and d.changed == ()
    back = A.diff(b, a)
    assert [e.op for e in back.removed] == added
    assert back.added == ()
    text = str(d)
    # each extra iteration is listed whole and contiguous
    plus = [i for i, line in enumerate(text.splitlines()) if line.startswith("+ ")]
    assert plus == list(range(plus[0], plus[0] + 8)) and "\n- " not in text
    assert text.splitlines()[:2] == ["--- a (13 ops)", "+++ b (21 ops)"]
    assert "@@" in text


def test_diff_replace_and_hunks_with_context():
    a, b = Pass(), Pass()
    for i in range(20):
        a.op(f"Op{i}", [ref(i)], [ref(i + 100)], "m")
        b.op(f"Op{i}" if i != 10 else "Exp", [ref(i)], [ref(i + 100)], "m")
    d = A.diff(a, b)
    assert [e.op for e in d.removed] == ["Op10"] and [e.op for e in d.added] == ["Exp"]
    lines = str(d).splitlines()
    # one hunk: 2 context ops, the removal, the addition, 2 context ops
    assert [line for line in lines if line.startswith("@@")] == ["@@ -8,5 +8,5 @@"]
    body = lines[3:-1]
    assert [line[0] for line in body] == [" ", " ", "-", "+", " ", " "]
    # far-apart differences make separate hunks
    b.events[2] = OpEvent(2, "Log", "m", "", (ref(2),), (ref(102),))
    assert sum(line.startswith("@@") for line in str(A.diff(a, b)).splitlines()) == 2


def test_align_covers_both_sequences_with_true_matches():
    import random

    rng = random.Random(0)
    for _ in range(500):
        ka = [rng.choice("abc") for _ in range(rng.randint(0, 12))]
        kb = [rng.choice("abc") for _ in range(rng.randint(0, 12))]
        i = j = 0
        for tag, i1, i2, j1, j2 in A._align(ka, kb):
            assert (i1, j1) == (i, j) and (i1 < i2 or j1 < j2), (ka, kb)
            if tag == "equal":
                assert ka[i1:i2] == kb[j1:j2]
            i, j = i2, j2
        assert (i, j) == (len(ka), len(kb))


def test_diff_of_long_passes_is_fast():
    # common ends are matched in linear time: 15,000-op passes differing by 5 iterations
    a, b = loop_pass(3000), loop_pass(3005)
    d = A.diff(a, b)
    assert len(d.added) == 20 and not d.removed


# ---------------------------------------------------------------------------------------------
# grad_contributions


def tied_pass(values=((1.0, 2.0), (0.1, 0.2), (3.0, 5.0))):
    """A parameter "a.weight" (alias "c.weight") used in three ops; backward in reverse order."""
    p = Pass()
    w = ref(1, (2,), param="a.weight", aliases=("a.weight", "c.weight"))
    other = ref(2, (2,), param="b.weight", aliases=("b.weight",))
    fids = [p.op("Mul", [ref(0, (2,)), w], [ref(10 + i, (2,))], f"s{i}").id for i in range(3)]
    p.op("Mul", [ref(0, (2,)), other], [ref(20, (2,))], "b")
    grads = [np.array(v, dtype=np.float32) for v in values]
    for fid, g in reversed(list(zip(fids, grads))):
        pg = ParamGrad("a.weight", ("a.weight", "c.weight"), fid, float(np.linalg.norm(g)), g)
        p.bwd("MulBackward0", fid, param_grads=(pg,))
    return p, fids, grads


def test_grad_contributions_per_use_and_sum():
    p, fids, grads = tied_pass()
    gc = A.grad_contributions(p, "a.weight")
    assert gc.name == "a.weight" and gc.aliases == ("a.weight", "c.weight")
    assert [c.forward_id for c in gc.contributions] == fids  # forward order
    # summed in backward order, like the engine: ((g2 + g1) + g0), bit for bit
    expected = (grads[2] + grads[1]) + grads[0]
    assert gc.total.dtype == np.float32
    np.testing.assert_array_equal(gc.total, expected)
    assert "uses=3" in repr(gc)
    alias = A.grad_contributions(p, "c.weight")
    assert alias.name == "a.weight" and len(alias.contributions) == 3


def test_grad_contributions_errors_and_missing_data():
    p, _, _ = tied_pass()
    with pytest.raises(KeyError, match=r"unknown parameter 'a\.wieght'.*did you mean 'a\.weight'"):
        A.grad_contributions(p, "a.wieght")
    with pytest.raises(TypeError, match="expected a parameter name"):
        A.grad_contributions(p, 3)
    # a parameter used in forward but without gradient contributions
    gc = A.grad_contributions(p, "b.weight")
    assert gc.contributions == () and gc.total is None
    # no backward at all
    fwd = [e for e in p.events if isinstance(e, OpEvent)]
    with pytest.raises(ValueError, match="no backward pass"):
        A.grad_contributions(fwd, "a.weight")
    # the recorder kept no values: contributions but no total
    q = Pass()
    q.op("Neg", [ref(1, param="w")], [ref(2)])
    q.bwd("NegBackward0", 0, param_grads=(ParamGrad("w", ("w",), 0, 1.0, None),))
    gc = A.grad_contributions(q, "w")
    assert len(gc.contributions) == 1 and gc.total is None


def test_require_name_lists_known_names():
    with pytest.raises(KeyError, match="the trace has: 'x', 'y'"):
        A.require_name("zzz", ["x", "y"], "thing")
    A.require_name("x", ["x"], "thing")  # no error


# ---------------------------------------------------------------------------------------------
# Real recordings of the samples

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def load_sample(name: str):
    """Import ``samples/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f"sample_{name}", SAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _divs(tr) -> int:
    return sum(1 for e in tr.events if isinstance(e, OpEvent) and e.op == "Div")


def test_real_example_4_diff_shows_extra_loop_iterations():
    blocks = load_sample("blocks")
    gl.manual_seed(0)
    model = blocks.FixedHiddenMLP()
    X = gl.rand(2, 20)
    with gl.record() as small:
        model(X)
    with gl.record() as large:
        model(X * 1e4)  # larger activations: more halvings before |X|.sum() <= 1
    extra = _divs(large) - _divs(small)
    assert extra > 0
    d = A.diff(small, large)
    assert d.removed == () and d.changed == ()
    # the inputs differ by one op (X * 1e4); every other added op is a whole loop iteration:
    # the test of the condition (Abs, Sum, and its comparison Gt) and the division
    body = [e.op for e in d.added if e.op != "Mul"]
    assert len(body) == 4 * extra
    assert sorted(set(body)) == ["Abs", "Div", "Gt", "Sum"]
    assert all(body.count(op) == extra for op in ("Abs", "Div", "Gt", "Sum"))
    assert all(e.scope == "" for e in d.added)
    text = str(d)
    assert text.count("\n+ ") == len(d.added) and "\n- " not in text
    back = A.diff(large, small)
    assert len(back.removed) == len(d.added) and back.added == ()
    # the loop's bool() syncs come from one line: the report flags it
    rep = A.transfer_report(large)
    assert rep.syncs == _divs(large) + 1
    assert any("blocks.py:60" in a and "inside a loop" in a for a in rep.advice)
    # different graphs, different signatures; the same input again: the same one
    with gl.record() as again:
        model(X)
    groups = A.group_by_signature([small, large, again])
    assert list(groups.values()) == [[0, 2], [1]]
    # the Trace methods are these functions
    assert small.signature() == A.signature(small)
    assert small.diff(large).added == d.added


def test_real_tied_contributions_sum_to_grad_exactly():
    gl.manual_seed(0)
    shared = nn.Linear(8, 8)
    net = nn.Sequential(
        nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1)
    )
    X = gl.rand(2, 4)
    with gl.record() as tr:
        net(X).sum().backward()
    gc = A.grad_contributions(tr, "2.weight")
    assert gc.name == "2.weight" and set(gc.aliases) >= {"2.weight", "4.weight"}
    assert len(gc.contributions) == 2
    first, second = gc.contributions
    assert first.forward_id < second.forward_id
    np.testing.assert_array_equal(gc.total, net[2].weight.grad.numpy())
    alias = A.grad_contributions(tr, "4.bias")
    np.testing.assert_array_equal(alias.total, net[2].bias.grad.numpy())
    single = A.grad_contributions(tr, "0.weight")
    assert len(single.contributions) == 1
    np.testing.assert_array_equal(single.total, net[0].weight.grad.numpy())
    with pytest.raises(KeyError, match=r"did you mean '2\.weight'"):
        A.grad_contributions(tr, "2.weigth")
    # per-module: each use of the shared layer has its own path (the second one was "2" too)
    table = A.per_module(tr)
    assert table["2"].ops == table["4"].ops == 1
    assert table["2"].params == table["4"].params == ("2.weight", "2.bias")
    assert table[""].ops == sum(isinstance(e, OpEvent) for e in tr.events)
    assert table[""].backward_ops == sum(isinstance(e, BackwardEvent) for e in tr.events)


def test_real_nested_per_module_rollup():
    blocks = load_sample("blocks")
    gl.manual_seed(0)
    model = blocks.chimera()
    X = gl.rand(2, 20)
    with gl.record() as tr:
        model(X).backward()
    table = A.per_module(tr)
    assert {"", "0", "0.net", "0.net.0", "0.linear", "1", "2", "2.linear"} <= set(table)
    net = table["0.net"]
    kids = [table[f"0.net.{i}"] for i in range(4)]
    assert net.ops == sum(k.ops for k in kids) and net.self_ops == 0
    assert net.bytes == sum(k.bytes for k in kids)
    assert table["0"].ops == net.ops + table["0.linear"].ops + table["0"].self_ops
    assert table["0.net.0"].module_class == "Linear"
    assert table["2"].module_class == "FixedHiddenMLP"
    assert "0.net.0.weight" in table["0"].params
    text = A.format_per_module(tr)
    assert "FixedHiddenMLP" in text
    assert [line.split()[0] for line in text.splitlines()[1:5]] == ["(root)", "0", "net", "0"]
    with pytest.raises(KeyError, match=r"'0\.net\.0'"):
        table["0.net.0.0"]


def test_real_transfers_small_copies_and_item_syncs():
    x = gl.ones(16)
    with gl.record() as tr:
        for _ in range(12):
            x.to("cpu:1")  # 64 bytes each
        total = 0.0
        for _ in range(5):
            total += (x * 2).sum().item()
    moved = A.transfers(tr)
    assert len(moved) == 12 and all(t.nbytes == 64 for t in moved)
    rep = A.transfer_report(tr)
    (pair,) = rep.by_pair
    assert (pair.dst, pair.count, pair.nbytes) == ("cpu:1", 12, 768)
    sites = {s.call_site.rsplit("/", 1)[-1]: s for s in rep.by_site}
    copy_site = [s for s in sites.values() if s.transfers]
    assert len(copy_site) == 1 and copy_site[0].transfers == 12
    assert "test_trace_analysis.py:" in copy_site[0].call_site
    assert any("batch them into one copy" in a for a in rep.advice)
    assert any(".item() inside a loop stalls the GPU" in a for a in rep.advice)
    # x (64 B, a constant) + one (x * 2) (64 B) + its sum (4 B)
    assert A.peak_live_bytes(tr) == 64 + 64 + 4


def test_a_deferred_trace_decodes_once_on_first_read_from_any_thread():
    import threading

    from graphlab.trace import Trace

    with gl.record() as source:
        nn.Linear(3, 2)(gl.randn(2, 3)).sum().backward()
    calls = []
    gate = threading.Event()

    def decode():
        calls.append(1)
        gate.wait(5)
        return Trace(source.events, index=7, roots=("Net",))

    t = Trace.deferred(decode, count=len(source.events), index=3, roots=("X",))
    assert not t.decoded and (t.index, t.roots) == (3, ("X",)) and not calls
    assert len(t) == len(source.events) > 0 and not calls  # len() does not decode
    got = []
    readers = [threading.Thread(target=lambda: got.append(t.events)) for _ in range(3)]
    for r in readers:
        r.start()
    gate.set()
    for r in readers:
        r.join(5)
    assert len(calls) == 1 and len(got) == 3 and all(g is got[0] for g in got)
    assert t.decoded and (t.index, t.roots) == (7, ("Net",))  # the decoded trace's meta wins


def test_a_deferred_trace_that_fails_to_decode_raises_on_every_read():
    from graphlab.trace import Trace

    def broken():
        raise ValueError("record damaged")

    t = Trace.deferred(broken, count=4)
    for _ in range(2):
        with pytest.raises(ValueError, match="record damaged"):
            t.events  # noqa: B018
    assert not t.decoded and len(t) == 4


# ----- device memory (graphlab.trace.memory) ---------------------------------------------------


def _on_gpu_pass():
    """Three ops and two backward steps on cuda:0 with pool readings, one op on the CPU."""
    import dataclasses

    p = Pass()
    x = ref(0, (2, 4), device="cuda:0")
    readings = iter([1000, 5000, 3000, 9000, 8500])
    a = p.op("Exp", [x], [ref(1, (2, 4), device="cuda:0")])
    b = p.op("Mul", [a.outputs[0], x], [ref(2, (2, 4), device="cuda:0")])
    p.op("Add", [ref(7), ref(8)], [ref(9)])  # on the CPU: no reading
    c = p.op("Sum", [b.outputs[0]], [ref(3, (), device="cuda:0")])
    p.bwd("SumBackward0", c.id)
    p.bwd("MulBackward0", b.id)
    out = []
    for ev in p.events:
        on_gpu = isinstance(ev, OpEvent) and ev.outputs[0].device == "cuda:0"
        on_gpu = on_gpu or isinstance(ev, BackwardEvent)
        out.append(dataclasses.replace(ev, device_bytes=next(readings)) if on_gpu else ev)
    return out


def test_device_memory_peak_and_allocations_per_device():
    from graphlab.trace import Trace
    from graphlab.trace.memory import device_memory, format_device_memory

    trace = Trace(_on_gpu_pass())
    memory = trace.device_memory()
    assert list(memory) == ["cuda:0"]  # the CPU op has no reading
    m = memory["cuda:0"]
    assert (m.peak_bytes, m.peak_event, m.first_bytes, m.last_bytes, m.readings) == (
        9000, 4, 1000, 8500, 5,
    )  # fmt: skip
    # each reading minus the previous one on the device (the CPU op in between does not count)
    assert m.allocations == ((1, 4000), (3, -2000), (4, 6000), (5, -500))
    assert m.largest(2) == ((4, 6000), (1, 4000))
    text = format_device_memory(trace)
    assert "cuda:0: peak 8.8 KiB in use (after event 4)" in text
    assert "event     4  SumBackward0" in text
    assert "device memory cuda:0: peak 8.8 KiB" in str(trace)
    assert device_memory(Trace(mlp_pass().events)) == {}
    assert "no device memory recorded" in format_device_memory(Trace(mlp_pass().events))


def test_device_bytes_round_trip_through_records_and_hdf5_tables(tmp_path):
    import h5py

    from exporters import hdf5
    from graphlab.inspect import snapshot
    from graphlab.trace import Trace, records

    trace = Trace(_on_gpu_pass())
    text, arrays = records.dumps(trace)
    back = records.loads(text, arrays)
    assert records.same_traces(trace, back)
    assert [e.device_bytes for e in back.events if e.kind in ("op", "backward")] == [
        1000, 5000, None, 3000, 9000, 8500,
    ]  # fmt: skip
    hdf5.save(snapshot(nn.Linear(2, 2), traces=[trace]), tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as f:
        assert list(f["traces/0/ops"]["device_bytes"]) == [1000, 5000, -1, 3000]
        assert list(f["traces/0/backward"]["device_bytes"]) == [9000, 8500]


@pytest.mark.gpu
def test_a_cuda_pass_records_pool_memory_without_syncing():
    cp = pytest.importorskip("cupy")
    net = nn.Sequential(nn.Linear(256, 1024), nn.ReLU(), nn.Linear(1024, 10)).to("cuda:0")
    x = gl.randn(512, 256).to("cuda:0")
    with gl.record() as tr:
        net(x).sum().backward()
    m = tr.device_memory()["cuda:0"]
    assert m.readings == len(tr.filter(kind=("op", "backward")).events)
    assert m.peak_bytes >= 512 * 1024 * 4  # the hidden activations at least
    assert m.peak_bytes <= cp.get_default_memory_pool().total_bytes()
    first_linear = tr.filter(op="Linear").events[0]
    grew = dict(m.allocations).get(first_linear.id)
    assert grew is None or grew >= 0  # the first reading has no allocation; later ones grow
    assert not tr.filter(kind="sync").events  # reading the pool is host-side bookkeeping
