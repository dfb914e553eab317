"""Lossless trace records (graphlab.trace.records) and session files (exporters.session):
round trips of recorded passes and of whole sessions, refusal of corrupt and foreign files, and
reading a session with plain h5py."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from collections import namedtuple

import h5py
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import graphlab as gl
import graphlab.nn as nn
from exporters import hdf5
from exporters.session import HDF5FormatError, load_session, save_session
from graphlab.trace import Trace, records
from graphlab.trace.events import BackwardEvent, OpEvent, ParamGrad, Stats, ValueRef

# NOTE: every test starts from the default recorder options and leaves them so
pytestmark = pytest.mark.usefixtures("default_trace_options")


class _Mover(nn.Module):
    """Sends its input to ``cpu:1`` and back: two transfers inside a module."""

    def forward(self, x):
        return x.to("cpu:1").to("cpu") * 2.0


def _tied_lazy_net():
    gl.manual_seed(0)
    shared = nn.Linear(3, 3)
    return nn.Sequential(nn.LazyLinear(3), nn.ReLU(), shared, _Mover(), nn.Tanh(), shared)


def _recorded(level: str) -> Trace:
    """A pass with every event kind: a lazy init, ops with constants and slice attributes, a
    tied parameter used twice, transfers to cpu:1 and back, backward, and an item() sync."""
    net = _tied_lazy_net()
    with gl.record(level=level) as tr:
        x = gl.randn(5, 4)
        y = net(x)[1:4, ...]
        loss = (y * 0.5).sum()
        loss.backward()
        loss.item()
    return tr


def _strict_json(text: str):
    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


# ----- records: recorded traces ----------------------------------------------------------------


@pytest.mark.parametrize("level", ["meta", "stats", "values"])
def test_recorded_traces_round_trip(level):
    tr = _recorded(level)
    kinds = {e.kind for e in tr.events}
    assert kinds == {"op", "backward", "transfer", "sync", "init"}
    text, arrays = records.dumps(tr)
    _strict_json(text)  # plain JSON: no NaN/Infinity tokens
    back = records.loads(text, arrays)
    assert records.same_traces(tr, back)
    assert (back.index, back.roots, back.level) == (tr.index, tr.roots, level)
    # one ValueRef object per value, as the recorder makes them
    ops = back.filter(kind="op").events
    assert ops[1].inputs[0] is ops[0].outputs[0]
    # the tied weight's two uses and their contributions survive, values included
    assert str(back) == str(tr)
    contrib = tr.grad_contributions("2.weight")
    again = back.grad_contributions("2.weight")
    assert len(contrib.contributions) == len(again.contributions) == 2
    np.testing.assert_array_equal(contrib.total, again.total)
    if level == "values":
        assert all(e.values is not None for e in ops)
        assert len(arrays) >= len(ops)


def test_a_filtered_trace_keeps_its_ids_and_an_empty_one_round_trips():
    tr = _recorded("stats")
    part = tr.filter(kind=("backward", "transfer"))
    back = records.loads(*records.dumps(part))
    assert [e.id for e in back.events] == [e.id for e in part.events]
    assert records.same_traces(part, back)
    empty = Trace()
    assert records.same_traces(empty, records.loads(*records.dumps(empty)))


# ----- records: every value an attribute may hold ----------------------------------------------

_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.binary(max_size=4),
    st.just(Ellipsis),
    st.builds(slice, st.none() | st.integers(-3, 3), st.none() | st.integers(-3, 3)),
    st.sampled_from(
        [
            np.float32(1.5),
            np.float16(-0.0),
            np.int8(-3),
            np.uint64(2**63),
            np.bool_(True),
            np.complex64(1 - 2j),
            np.float64("nan"),
        ]
    ),  # fmt: skip
    st.sampled_from([np.dtype("float32"), np.dtype(">i8"), np.dtype("complex128")]),
    st.sampled_from([gl.float32, gl.int64, gl.bool]),
    st.sampled_from([gl.device("cpu"), gl.device("cpu:1")]),
)
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(tuple),
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=3), inner, max_size=3),
        st.frozensets(st.integers(-5, 5), max_size=3),
        st.sets(st.text(max_size=2), max_size=3),
    ),
    max_leaves=8,
)
_arrays = hnp.arrays(
    dtype=st.sampled_from(
        ["bool", "int8", "uint16", "<i8", "float16", "float32", ">f8", "complex64"]
    ),  # fmt: skip
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
)


def _hand_built(attrs, const, out_values, grad) -> Trace:
    """A trace of hand-built events holding the given attributes, constant and arrays."""
    x = ValueRef(0, (2, 3), "float32", "cpu", 24, const=True)
    w = ValueRef(1, (3,), "float32", "cpu:1", 12, "w", ("w", "v"), requires_grad=True)
    y = ValueRef(2, (2, 3), "float32", "cpu:1", 24, requires_grad=True)
    nan_stats = Stats(math.nan, math.inf, -math.inf, 0.0, 1, 2, 0)
    op = OpEvent(
        0, "Custom", "0.net", "Block", (x, w, const), (y,), attrs=attrs, seconds=None,
        stats=(nan_stats,), values=out_values, thread=7,
    )  # fmt: skip
    bw = BackwardEvent(
        1, "CustomBackward0", 0, "0.net", (2, 3), ((2, 3), None), (1.5, None),
        param_grads=(ParamGrad("w", ("w", "v"), 0, math.nan, grad),),
        seconds=1e-3, stats=(None, Stats(0, 1, 0.5, 0.5, 0, 0, 6)),
    )  # fmt: skip
    return Trace([op, bw], index=None, roots=("Block",), level="values", timing=False)


@given(
    attrs=st.lists(st.tuples(st.text(max_size=4), _values), max_size=4).map(tuple),
    const=_values,
    outs=st.lists(_arrays, max_size=3),
    grad=st.none() | _arrays,
)
def test_hand_built_events_round_trip_every_supported_value(attrs, const, outs, grad):
    tr = _hand_built(attrs, const, tuple(outs), grad)
    text, arrays = records.dumps(tr)
    _strict_json(text)
    assert all(any(a is b for b in arrays) for a in outs)  # handed out, not copied
    back = records.loads(text, [a.copy() for a in arrays])
    assert records.same_traces(tr, back)


def test_same_events_tells_apart_what_equality_must_not_merge():
    a = _hand_built((("k", 1),), 2.0, (np.zeros(2, np.float32),), None)
    same = records.same_events
    assert same(a.events, _hand_built((("k", 1),), 2.0, (np.zeros(2, np.float32),), None).events)
    for attrs, const, outs in [
        ((("k", 1.0),), 2.0, (np.zeros(2, np.float32),)),  # int vs float
        ((("k", [1]),), 2.0, (np.zeros(2, np.float32),)),  # list vs int
        ((("k", 1),), -0.0, (np.zeros(2, np.float32),)),  # 2.0 vs -0.0
        ((("k", 1),), 2.0, (np.zeros(2, np.float64),)),  # dtype
        ((("k", 1),), 2.0, (np.zeros((1, 2), np.float32),)),  # shape
        ((("k", 1),), 2.0, (np.array([0, np.nan], np.float32),)),  # values
    ]:
        assert not same(a.events, _hand_built(attrs, const, outs, None).events)


@pytest.mark.parametrize(
    "bad",
    [object(), print, namedtuple("P", "a")(1), np.datetime64("2024-01-01"), gl.ones(2)],
    ids=["object", "function", "namedtuple", "datetime64", "tensor"],
)
def test_values_without_a_faithful_form_are_refused_by_name(bad):
    tr = _hand_built((("size", bad),), 1, None, None)
    with pytest.raises(TypeError, match="op event 0 field 'attrs'.*no faithful|op event 0"):
        records.dumps(tr)


def test_fields_of_the_wrong_type_are_refused_when_saving():
    r = ValueRef(0, [2, 3], "float32", "cpu", 24)  # a list where the shape tuple belongs
    op = OpEvent(0, "Neg", "", "", (r,), (r,))
    with pytest.raises(TypeError, match="ValueRef vid 0 field 'shape'"):
        records.dumps(Trace([op]))


# ----- records: refusing bad records ---------------------------------------------------------


def _record():
    return records.trace_to_record(_recorded("values"))


def test_bad_records_raise_record_errors():
    record, arrays = _record()
    with pytest.raises(records.RecordError, match="version 9"):
        records.trace_from_record({**record, "version": 9}, arrays)
    with pytest.raises(records.RecordError, match="not a trace record"):
        records.trace_from_record({**record, "format": "x"}, arrays)
    with pytest.raises(records.RecordError, match="arrays index"):
        records.trace_from_record(record, arrays[:-1])
    with pytest.raises(records.RecordError, match="non-finite floats"):
        records.loads('{"x": NaN}')
    with pytest.raises(records.RecordError, match="not JSON"):
        records.loads("{")

    def edited(edit):
        r = json.loads(json.dumps(record))
        edit(r)
        return r

    cases = {
        "unknown tag": lambda r: r["events"]["op"]["attrs"].__setitem__(
            0, [["a", {"$pickle": "x"}]]
        ),
        "refs index": lambda r: r["events"]["op"]["outputs"].__setitem__(0, [10**6]),
        "newer one": lambda r: r["events"]["op"].__setitem__("colour", r["events"]["op"]["id"]),
        "lack the fields": lambda r: r["events"]["op"].pop("op"),
        "different lengths": lambda r: r["events"]["op"]["id"].pop(),
        "unknown kinds": lambda r: r.__setitem__("order", r["order"] + "z"),
        "column 'nbytes' holds": lambda r: r["events"]["transfer"]["nbytes"].__setitem__(0, "1"),
        "one-item list": lambda r: r["events"]["op"]["inputs"].__setitem__(0, [-1]),
        "not a numeric": lambda r: r["events"]["op"]["attrs"].__setitem__(
            0, [["a", {"$dtype": "O"}]]
        ),
    }
    for match, edit in cases.items():
        with pytest.raises(records.RecordError, match=match):
            records.trace_from_record(edited(edit), arrays)


def test_missing_fields_with_defaults_get_them():
    record, arrays = _record()
    r = json.loads(json.dumps(record))
    r["events"]["op"].pop("thread")  # an older writer without the field
    r["events"]["op"].pop("attrs")
    back = records.trace_from_record(r, arrays)
    assert all(e.thread == 0 and e.attrs == () for e in back.filter(kind="op").events)


def test_columns_mixing_forms_round_trip_and_bad_rows_are_named():
    # Decoding works a column at a time; columns that mix forms across events (constants among
    # inputs, None among stats and values, tagged floats in nested tuples) must still round-trip.
    a = _hand_built((("k", (1, (2, math.nan))),), 2.0, (np.zeros(2, np.float32),), None)
    b = _hand_built((("k", (1, 2)),), None, None, np.ones(3, np.float32))
    c = _hand_built((), gl.float32, (), None)
    events = [ev for tr in (a, b, c) for ev in tr.events]
    tr = Trace(events, index=4, roots=("Block",), level="values", timing=False)
    back = records.loads(*records.dumps(tr))
    assert records.same_traces(tr, back)
    assert back.events[0].inputs[2] == 2.0 and back.events[4].inputs[2] is gl.float32
    record, arrays = records.trace_to_record(tr)
    cases = {
        "a ParamGrad row must be a list": lambda r: r["events"]["backward"]["param_grads"][
            1
        ].__setitem__(0, None),
        "the 'norm' is 'x'": lambda r: r["events"]["backward"]["param_grads"][1][0].__setitem__(
            3, "x"
        ),
        "a Stats row must be a list of 7": lambda r: r["events"]["op"]["stats"][2].__setitem__(
            0, [1]
        ),
        "arrays index 99": lambda r: r["events"]["op"]["values"].__setitem__(0, [99]),
    }
    for match, edit in cases.items():
        r = json.loads(json.dumps(record))
        edit(r)
        with pytest.raises(records.RecordError, match=match):
            records.trace_from_record(r, arrays)


# ----- sessions ------------------------------------------------------------------------------


def _session():
    """A recorded session of three models: a tied, lazy net trained with Adam and moving data
    to cpu:1; a plain Linear with SGD and a BatchNorm (buffers); each called twice."""
    net = _tied_lazy_net()
    net(gl.randn(5, 4))  # materialise the lazy layer before building the optimizer
    adam = gl.optim.Adam(net.parameters(), lr=1e-2)
    gl.manual_seed(1)
    small = nn.Sequential(nn.Linear(4, 2), nn.BatchNorm1d(2))
    sgd = gl.optim.SGD(small.parameters(), lr=0.1, momentum=0.9)
    with gl.inspect.record_session("training", level="stats", source="test.py") as rec:
        for _ in range(2):
            for model, opt in ((net, adam), (small, sgd)):
                opt.zero_grad()
                loss = model(gl.randn(5, 4)).sum()
                loss.backward()
                opt.step()
                loss.item()
    return rec.session, net, small


def _assert_same_snapshot(a, b):
    assert a.name == b.name
    assert str(a.module_tree) == str(b.module_tree)
    assert dict(a.tensor_info) == dict(b.tensor_info)
    assert a.tied == b.tied
    assert dict(a.lazy_inits) == dict(b.lazy_inits)
    for tree in ("parameters", "gradients", "buffers"):
        x, y = getattr(a, tree), getattr(b, tree)
        assert list(x) == list(y)
        for k in x:
            assert x[k].dtype == y[k].dtype
            np.testing.assert_array_equal(x[k], y[k])
    for group in a.tied:
        assert all(b.parameters[n] is b.parameters[group[0]] for n in group)
    if a.optimizer is None:
        assert b.optimizer is None
    else:
        assert (a.optimizer.type_name, a.optimizer.param_names) == (
            b.optimizer.type_name,
            b.optimizer.param_names,
        )
        assert a.optimizer.param_groups == b.optimizer.param_groups
        assert list(a.optimizer.state) == list(b.optimizer.state)
        for i, state in a.optimizer.state.items():
            assert list(state) == list(b.optimizer.state[i])
            for key, value in state.items():
                np.testing.assert_array_equal(value, b.optimizer.state[i][key], strict=True)
    assert len(a.traces) == len(b.traces)
    assert all(records.same_traces(x, y) for x, y in zip(a.traces, b.traces, strict=True))
    assert a.format_parameter_table(buffers=True) == b.format_parameter_table(buffers=True)


def test_session_round_trip(tmp_path):
    sess, net, _ = _session()
    assert [m.name for m in sess.models] == ["Sequential", "Sequential#2"]
    assert len(sess.traces) == 4
    path = tmp_path / "run.h5"
    save_session(sess, path)
    back = load_session(path)
    assert (back.name, back.source) == ("training", "test.py")
    for a, b in zip(sess.models, back.models, strict=True):
        _assert_same_snapshot(a, b)
    assert [t.index for t in back.traces] == [t.index for t in sess.traces]
    first = back.models[0].traces[0]
    assert back.model_of(first) is back.models[0]
    assert {e.kind for e in first.events} >= {"op", "backward", "transfer", "sync"}
    # the shared weight is one dataset with two names inside its model's group
    with h5py.File(path) as f:
        assert f["models/0/parameters/2/weight"].id == f["models/0/parameters/5/weight"].id
        assert f["models/0/gradients/2/bias"].id == f["models/0/gradients/5/bias"].id
        assert json.loads(f.attrs["models"]) == ["Sequential", "Sequential#2"]


def test_deferred_traces_decode_on_first_read_and_equal_the_eager_ones(tmp_path):
    sess, _, _ = _session()
    path = tmp_path / "run.h5"
    save_session(sess, path)
    eager = load_session(path)
    deferred = load_session(path, defer_traces=True)
    traces = deferred.traces
    assert traces and not any(t.decoded for t in traces)
    for a, b in zip(eager.traces, traces, strict=True):
        # meta and length come from the group's attributes, without decoding
        assert (b.index, b.roots, b.level, b.timing, len(b)) == (
            a.index, a.roots, a.level, a.timing, len(a.events),
        )  # fmt: skip
        assert not b.decoded
    for a, b in zip(eager.traces, traces, strict=True):
        assert records.same_traces(a, b)
        assert b.decoded
    for a, b in zip(eager.models, deferred.models, strict=True):
        _assert_same_snapshot(a, b)
    single = tmp_path / "one.h5"
    hdf5.save(eager.models[0], single)
    one = hdf5.load(single, defer_traces=True)
    assert not one.traces[0].decoded
    assert records.same_traces(one.traces[0], eager.models[0].traces[0])


def test_a_damaged_deferred_trace_fails_when_read_not_when_loaded(tmp_path):
    sess, _, _ = _session()
    path = tmp_path / "run.h5"
    save_session(sess, path)
    with h5py.File(path, "r+") as f:
        del f["models/0/traces/1/records"]
        f["models/0/traces/1"].create_dataset(
            "records", data='{"format": "something else"}', dtype=h5py.string_dtype()
        )
        f["models/0/traces/0"].attrs["events"] = 3  # a count that the record does not hold
    with pytest.raises(HDF5FormatError, match="traces/1/records"):
        load_session(path)
    back = load_session(path, defer_traces=True)
    first, second = back.models[0].traces[:2]
    assert len(first) == 3 and len(second) > 0
    with pytest.raises(HDF5FormatError, match=r"traces/1/records.*not a trace record"):
        second.events  # noqa: B018
    with pytest.raises(HDF5FormatError, match="'events' attribute says 3"):
        first.events  # noqa: B018
    assert not first.decoded and not second.decoded
    assert back.models[1].traces[0].events  # the other model's passes are fine


def test_a_trace_group_without_attributes_is_decoded_at_once(tmp_path):
    sess, _, _ = _session()
    path = tmp_path / "run.h5"
    save_session(sess, path)
    with h5py.File(path, "r+") as f:
        del f["models/0/traces/0"].attrs["level"]
    back = load_session(path, defer_traces=True)
    assert back.models[0].traces[0].decoded and not back.models[0].traces[1].decoded


def test_lazy_models_and_compression(tmp_path):
    lazy = nn.Sequential(nn.LazyLinear(3), nn.ReLU())  # never called: still lazy
    used = nn.Sequential(nn.LazyLinear(2))
    with gl.record() as tr:
        used(gl.randn(3, 6)).sum().backward()
    sess2 = gl.inspect.Session(
        "lazy", (gl.inspect.snapshot(lazy), gl.inspect.snapshot(used, traces=tr, name="used"))
    )
    path = tmp_path / "lazy.h5"
    save_session(sess2, path, compression="gzip")
    back = load_session(path)
    assert (
        back.models[0].tensor_info["0.weight"].lazy and "0.weight" not in back.models[0].parameters
    )
    assert back.models[1].lazy_inits["0"].shapes == (("weight", (2, 6)), ("bias", (2,)))
    assert back.models[1].traces[0].filter(kind="init").events[0].shapes[0] == ("weight", (2, 6))
    for a, b in zip(sess2.models, back.models, strict=True):
        _assert_same_snapshot(a, b)
    with h5py.File(path) as f:
        assert f["models/1/parameters/0/weight"].compression == "gzip"


@pytest.mark.gpu
def test_a_gpu_session_round_trips_with_its_values(tmp_path):
    gl.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).to("cuda:0")
    with gl.inspect.record_session("gpu", level="values") as rec:
        loss = net(gl.randn(5, 4).to("cuda:0")).sum()
        loss.backward()
        loss.item()
    save_session(rec.session, tmp_path / "gpu.h5")
    back = load_session(tmp_path / "gpu.h5")
    _assert_same_snapshot(rec.session.models[0], back.models[0])
    trace = back.models[0].traces[0]
    assert any(e.values for e in trace.filter(kind="op"))
    assert all(v.device == "cuda:0" for e in trace.filter(kind="op") for v in e.outputs)


def test_an_empty_session_and_a_plain_dump_open(tmp_path):
    save_session(gl.inspect.Session("nothing", ()), tmp_path / "empty.h5")
    empty = load_session(tmp_path / "empty.h5")
    assert (empty.name, empty.models) == ("nothing", ())
    net = _tied_lazy_net()
    with gl.record(level="values") as tr:
        net(gl.randn(2, 4)).sum().backward()
    hdf5.save(net, tmp_path / "one.h5", traces=tr)
    one = load_session(tmp_path / "one.h5")
    assert (one.name, one.source, len(one.models)) == ("Sequential", str(tmp_path / "one.h5"), 1)
    assert records.same_traces(one.models[0].traces[0], tr)


def test_hdf5_load_points_at_load_session(tmp_path):
    sess, net, _ = _session()
    save_session(sess, tmp_path / "s.h5")
    for call in (
        lambda: hdf5.load(tmp_path / "s.h5"),
        lambda: hdf5.load_into(net, tmp_path / "s.h5"),
        lambda: hdf5.read_traces(tmp_path / "s.h5"),
    ):
        with pytest.raises(HDF5FormatError, match="s.h5: this is a session file.*load_session"):
            call()


def test_failed_save_keeps_the_previous_file(tmp_path):
    sess, _, _ = _session()
    path = tmp_path / "keep.h5"
    save_session(sess, path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="save_session: compression must be"):
        save_session(sess, path, compression="zstd")
    bad = gl.inspect.Session("bad", (gl.inspect.snapshot(nn.Linear(2, 2), traces=_hand_built(
        (("fn", print),), 1, None, None)),))  # fmt: skip
    with pytest.raises(TypeError, match="trace 0.*op event 0 field 'attrs'"):
        save_session(bad, path)
    with pytest.raises(TypeError, match="expected a graphlab.inspect.Session"):
        save_session(sess.models[0], path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep.h5"]  # no temporary file left behind


# ----- refusing corrupt and foreign files -----------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    sess, _, _ = _session()
    path = tmp_path / "s.h5"
    save_session(sess, path)
    return path


def test_foreign_files_are_refused_naming_the_file(tmp_path):
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = np.ones(3)
    with pytest.raises(HDF5FormatError, match="plain.h5: not a graphlab session file"):
        load_session(plain)
    text = tmp_path / "text.h5"
    text.write_text("hello")
    with pytest.raises(HDF5FormatError, match="text.h5: not an HDF5 file"):
        load_session(text)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_session(tmp_path / "missing.h5")


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda f: f.attrs.__setitem__("version", 7), "session format version 7"),
        (lambda f: f.__delitem__("models"), "no /models group"),
        (lambda f: f.move("models/1", "models/x"), "groups named 0..n-1"),
        (lambda f: f["models/0"].attrs.__setitem__("format", "x"), "'/models/0' attribute"),
        (lambda f: f["models/1"].attrs.__setitem__("version", 3), "format version 3"),
        (
            lambda f: f.__setitem__("models/0/parameters/0/alias", h5py.SoftLink("/models")),
            "'/models/0/parameters/0/alias' is a soft link",
        ),
        (
            lambda f: f.__setitem__("models/1/extra", h5py.ExternalLink("other.h5", "/x")),
            "external link",
        ),
        (
            lambda f: _edit_index(f["models/0"], lambda i: i["parameters"][2].update(shape=[1])),
            "models/0/parameters/2/weight: stored with shape",
        ),
        (lambda f: _replace(f["models/1"], "index", "[]"), "models/1/index' must map"),
        (
            lambda f: f["models/0/optimizer"].attrs.__setitem__("param_groups", "[1]"),
            "models/0/optimizer' is malformed",
        ),
        (
            lambda f: f["models/0"].attrs.__setitem__("lazy_inits", '[{"a": 1}]'),
            "models/0/lazy_inits' is malformed",
        ),
        (lambda f: f.attrs.__setitem__("models", "[]") or f.move("models/1", "models/0x"), "0..n"),
        (
            lambda f: f["models/1"].attrs.__setitem__("name", "Sequential"),
            "model names must be unique",
        ),
    ],
    ids=[
        "version",
        "no-models",
        "bad-key",
        "model-format",
        "model-version",
        "soft-link",
        "external-link",
        "shape",
        "index",
        "optimizer",
        "lazy-inits",
        "bad-key-2",
        "duplicate-names",
    ],  # fmt: skip
)
def test_corrupt_sessions_are_refused(saved, edit, match):
    with h5py.File(saved, "a") as f:
        edit(f)
    with pytest.raises(HDF5FormatError, match=match) as err:
        load_session(saved)
    assert str(saved) in str(err.value)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda g: _replace(g, "records", "{"), "records.*not JSON"),
        (
            lambda g: _replace(g, "records", '{"format": "graphlab.trace", "version": 5}'),
            "records: trace record version 5",
        ),  # fmt: skip
        (lambda g: g.__delitem__("records"), "records' must be a scalar string"),
        (lambda g: _replace(g, "arrays/index", "[[0, 10000000, [3]]]"), "not \\[dataset, offset"),
        (lambda g: _replace(g, "arrays/index", "[[5, 0, [1]]]"), "not \\[dataset, offset"),
        (lambda g: _replace(g, "arrays/0", np.array(["a"], dtype="S1")), "arrays/0' has dtype"),
        (lambda g: g.__delitem__("arrays"), "arrays': expected a group"),
    ],
    ids=["json", "version", "no-records", "offset", "pool", "pool-dtype", "no-arrays"],
)
def test_corrupt_trace_records_are_refused(saved, edit, match):
    with h5py.File(saved, "a") as f:
        edit(f["models/0/traces/0"])
    with pytest.raises(HDF5FormatError, match=match) as err:
        load_session(saved)
    assert str(saved) in str(err.value) and "models/0/traces/0/" in str(err.value)


def _edit_index(g: h5py.Group, edit) -> None:
    index = json.loads(g["index"][()])
    edit(index)
    _replace(g, "index", json.dumps(index))


def _replace(g: h5py.Group, key: str, value) -> None:
    del g[key]
    if isinstance(value, str):
        g.create_dataset(key, data=value, dtype=h5py.string_dtype("utf-8"))
    else:
        g[key] = value


# ----- readable without graphlab --------------------------------------------------------------


def test_plain_h5py_reads_a_session_without_graphlab(saved, tmp_path):
    code = textwrap.dedent(
        f"""
        import json, sys
        import h5py, numpy as np
        with h5py.File({str(saved)!r}, "r") as f:
            assert f.attrs["format"] == "graphlab.session" and f.attrs["version"] == 1
            assert json.loads(f.attrs["models"]) == ["Sequential", "Sequential#2"]
            m = f["models/0"]
            assert m.attrs["format"] == "graphlab.hdf5" and m.attrs["name"] == "Sequential"
            assert m["parameters/2/weight"].shape == (3, 3)
            assert m["parameters/2/weight"].id == m["parameters/5/weight"].id
            assert len(m["traces/0/ops"]) > 0
            rec = json.loads(m["traces/0/records"][()])
            assert rec["format"] == "graphlab.trace" and "op" in rec["events"]
            assert len(rec["order"]) == m["traces/0"].attrs["events"]
            assert "exp_avg" in m["optimizer/state/0"]
        assert "graphlab" not in sys.modules and "exporters" not in sys.modules
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
