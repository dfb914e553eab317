"""exporters.hdf5: round trips (traces included, losslessly), tied parameters as hard links,
lazy models, strict loading, refusal of links and storage a dump never holds, version-1 files,
and reading a dump without graphlab."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import graphlab as gl
import graphlab.nn as nn
from exporters import hdf5
from graphlab.trace import Trace, records
from graphlab.trace.events import OpEvent, ValueRef


def _tied_net():
    """Example 10's shape: one Linear at positions 2 and 4, plus a BatchNorm (buffers)."""
    gl.manual_seed(0)
    shared = nn.Linear(3, 3)
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), shared, nn.Tanh(), shared, nn.BatchNorm1d(3))


def _values(model) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def _trained(model):
    opt = gl.optim.Adam(model.parameters(), lr=1e-2)
    with gl.record() as trace:
        model(gl.randn(5, 4)).sum().backward()
    opt.step()
    return opt, trace


# ----- round trips ------------------------------------------------------------------------------


@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    dtype=st.sampled_from([gl.float32, gl.float64]),
    compression=st.sampled_from([None, "gzip", "lzf"]),
)
def test_round_trip_random_mlps(tmp_path_factory, sizes, dtype, compression):
    layers = [nn.Linear(a, b).to(dtype=dtype) for a, b in zip(sizes, sizes[1:])]
    net = nn.Sequential(*layers)
    path = tmp_path_factory.mktemp("h5") / "m.h5"
    hdf5.save(net, path, compression=compression)
    snap = hdf5.load(path)
    want = _values(net)
    assert set(snap.parameters) == set(want)
    for k, v in want.items():
        assert snap.parameters[k].dtype == v.dtype
        np.testing.assert_array_equal(snap.parameters[k], v)
        assert snap.tensor_info[k].shape == v.shape
        assert snap.tensor_info[k].dtype == dtype.name
    fresh = nn.Sequential(*[nn.Linear(a, b).to(dtype=dtype) for a, b in zip(sizes, sizes[1:])])
    assert hdf5.load_into(fresh, path) == ([], [])
    for k, v in _values(fresh).items():
        np.testing.assert_array_equal(v, want[k])


def test_round_trip_everything(tmp_path):
    net = _tied_net()
    opt, trace = _trained(net)
    path = tmp_path / "net.h5"
    hdf5.save(net, path, optimizer=opt, traces=trace)
    snap = hdf5.load(path)
    assert snap.name == "Sequential"
    assert str(snap.module_tree) == str(gl.inspect.module_tree(net))
    np.testing.assert_array_equal(snap.gradients["0.weight"], net[0].weight.grad.numpy())
    np.testing.assert_array_equal(snap.buffers["5.running_mean"], net[5].running_mean.numpy())
    assert snap.buffers["5.num_batches_tracked"].shape == ()
    assert snap.optimizer.type_name == "Adam"
    np.testing.assert_array_equal(
        snap.optimizer.state_for("0.weight")["exp_avg"],
        opt.state[net[0].weight]["exp_avg"].numpy(),
    )
    assert snap.optimizer.param_groups[0]["betas"] == opt.param_groups[0]["betas"]
    assert snap.format_parameter_table() == gl.inspect.snapshot(net).format_parameter_table()
    assert len(snap.traces) == 1 and records.same_traces(snap.traces[0], trace)
    tables = hdf5.read_traces(path)
    assert len(tables) == 1
    ops = tables[0]["ops"]
    assert [o.decode() for o in ops["op"]] == [e.op for e in trace.events if e.kind == "op"]
    assert len(tables[0]["backward"]) == sum(e.kind == "backward" for e in trace.events)


def test_save_snapshot_equals_save_model(tmp_path):
    net = _tied_net()
    opt, trace = _trained(net)
    hdf5.save(gl.inspect.snapshot(net, traces=trace, optimizer=opt), tmp_path / "s.h5")
    snap = hdf5.load(tmp_path / "s.h5")
    for k, v in _values(net).items():
        np.testing.assert_array_equal(snap.parameters.get(k, snap.buffers.get(k)), v)
    assert snap.tied == (("2.weight", "4.weight"), ("2.bias", "4.bias"))
    with h5py.File(tmp_path / "s.h5") as f:
        assert len(f["traces"]) == 1
    assert records.same_traces(snap.traces[0], trace)
    with pytest.raises(ValueError, match="taken from a Snapshot"):
        hdf5.save(gl.inspect.snapshot(net), tmp_path / "x.h5", optimizer=opt)


def test_flags_leave_trees_empty(tmp_path):
    net = _tied_net()
    _trained(net)
    hdf5.save(net, tmp_path / "n.h5", grads=False, buffers=False)
    with h5py.File(tmp_path / "n.h5") as f:
        assert len(f["gradients"]) == 0 and len(f["buffers"]) == 0
        assert "optimizer" not in f


# ----- traces, losslessly -----------------------------------------------------------------------


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_traces_at_level_values_load_exactly(tmp_path, compression):
    net = _tied_net()
    with gl.record(level="values") as first:
        net(gl.randn(5, 4)).to("cpu:1").sum().backward()
    with gl.record(level="stats") as second:
        net(gl.randn(2, 4).to(dtype=gl.float32)).sum().item()
    path = tmp_path / "v.h5"
    hdf5.save(net, path, traces=[first, second], compression=compression)
    snap = hdf5.load(path)
    assert [t.level for t in snap.traces] == ["values", "stats"]
    assert all(records.same_traces(a, b) for a, b in zip((first, second), snap.traces))
    values = [v for e in snap.traces[0].filter(kind="op") for v in e.values]
    assert values and not any(v.flags.writeable for v in values)
    contrib = snap.traces[0].grad_contributions("2.weight")
    np.testing.assert_array_equal(contrib.total, first.grad_contributions("2.weight").total)
    with h5py.File(path) as f:
        pools = [f[f"traces/0/arrays/{k}"].dtype for k in f["traces/0/arrays"] if k != "index"]
        assert sorted(map(str, pools)) == ["float32", "int64"]  # one dataset per dtype
        if compression:
            assert f["traces/0/arrays/0"].compression == compression


def test_version_1_files_still_load(tmp_path):
    net = _tied_net()
    _, trace = _trained(net)
    path = tmp_path / "v1.h5"
    hdf5.save(net, path, traces=trace)
    with h5py.File(path, "a") as f:  # what version 1 wrote: tables only, no index
        f.attrs["version"] = 1
        del f["traces/0/records"], f["traces/0/arrays"], f["index"]
    snap = hdf5.load(path)
    assert snap.traces == ()
    np.testing.assert_array_equal(snap.parameters["0.weight"], net[0].weight.detach().numpy())
    assert len(hdf5.read_traces(path)[0]["ops"]) == len(trace.filter(kind="op"))


def test_a_trace_that_cannot_be_stored_keeps_the_previous_file(tmp_path):
    path = _dump(tmp_path)
    before = path.read_bytes()
    r = ValueRef(0, (1,), "float32", "cpu", 4)
    strings = Trace([OpEvent(0, "Neg", "", "", (r,), (r,), values=(np.array(["a"]),))])
    with pytest.raises(TypeError, match="trace 0 holds an array \\(0\\) of dtype <U1"):
        hdf5.save(nn.Sequential(nn.Linear(2, 2)), path, traces=strings)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["d.h5"]


# ----- tied parameters ----------------------------------------------------------------------


def test_tied_parameters_are_hard_links(tmp_path):
    net = _tied_net()
    _trained(net)
    path = tmp_path / "tied.h5"
    hdf5.save(net, path, compression="gzip")
    with h5py.File(path) as f:
        for tree in ("parameters", "gradients"):
            assert f[f"{tree}/2/weight"].id == f[f"{tree}/4/weight"].id
            assert f[f"{tree}/2/bias"].id == f[f"{tree}/4/bias"].id
            assert f[f"{tree}/0/weight"].id != f[f"{tree}/2/weight"].id
        assert f["parameters/2/weight"].attrs["aliases"] == '["2.weight", "4.weight"]'
        assert f["parameters/2/weight"].compression == "gzip"
    snap = hdf5.load(path)
    assert snap.parameters["2.weight"] is snap.parameters["4.weight"]
    assert snap.gradients["2.bias"] is snap.gradients["4.bias"]


def test_load_into_keeps_the_models_tie(tmp_path):
    src = _tied_net()
    hdf5.save(src, tmp_path / "t.h5")
    gl.manual_seed(1)
    dst = _tied_net()
    with gl.no_grad():
        dst[2].weight.fill_(7.0)
    hdf5.load_into(dst, tmp_path / "t.h5")
    assert dst[2].weight is dst[4].weight
    np.testing.assert_array_equal(dst[4].weight.detach().numpy(), src[2].weight.detach().numpy())


def test_model_tie_but_separate_datasets_is_refused(tmp_path):
    untied = nn.Sequential(
        nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 3),
        nn.BatchNorm1d(3),
    )  # fmt: skip
    hdf5.save(untied, tmp_path / "u.h5")
    tied = _tied_net()
    before = _values(tied)
    with pytest.raises(RuntimeError, match="tied to '2.weight'.*separate datasets"):
        hdf5.load_into(tied, tmp_path / "u.h5")
    for k, v in _values(tied).items():
        np.testing.assert_array_equal(v, before[k])


# ----- lazy models (saved as such: empty datasets with lazy=True) --------------------------------


def test_lazy_parameters_saved_as_such(tmp_path):
    lazy = nn.Sequential(nn.LazyLinear(3), nn.ReLU())
    path = tmp_path / "lazy.h5"
    hdf5.save(lazy, path)
    with h5py.File(path) as f:
        ds = f["parameters/0/weight"]
        assert ds.shape is None and bool(ds.attrs["lazy"]) and ds.attrs["shape"] == "null"
    snap = hdf5.load(path)
    assert "0.weight" not in snap.parameters
    assert snap.tensor_info["0.weight"].lazy and snap.tensor_info["0.weight"].shape is None
    # lazy into lazy: nothing to copy, the model stays lazy
    other = nn.Sequential(nn.LazyLinear(3), nn.ReLU())
    hdf5.load_into(other, path)
    assert gl.nn.parameter.is_lazy(other[0].weight)
    # lazy file into an initialized model: a clear mismatch, nothing loaded
    ready = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    with pytest.raises(RuntimeError, match="uninitialized \\(lazy\\).*forward pass"):
        hdf5.load_into(ready, path)


def test_initialized_file_materializes_a_lazy_model(tmp_path):
    src = nn.Sequential(nn.LazyLinear(3))
    src(gl.randn(2, 5))
    hdf5.save(src, tmp_path / "init.h5")
    loaded = hdf5.load(tmp_path / "init.h5").lazy_inits  # the records travel
    assert dict(loaded) == dict(gl.inspect.snapshot(src).lazy_inits) and loaded["0"].shapes
    dst = nn.Sequential(nn.LazyLinear(3))
    hdf5.load_into(dst, tmp_path / "init.h5")
    assert tuple(dst[0].weight.shape) == (3, 5)
    np.testing.assert_array_equal(dst[0].weight.detach().numpy(), src[0].weight.detach().numpy())


# ----- strict loading ---------------------------------------------------------------------------


def test_strict_lists_every_problem_and_changes_nothing(tmp_path):
    src = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2), nn.Linear(2, 2))
    hdf5.save(src, tmp_path / "s.h5")
    dst = nn.Sequential(
        nn.Linear(4, 3).to(dtype=gl.float64),  # dtype mismatch
        nn.Linear(3, 5),  # shape mismatch
    )
    dst.add_module("extra", nn.Linear(1, 1))  # missing in the file
    before = _values(dst)
    with pytest.raises(RuntimeError) as err:
        hdf5.load_into(dst, tmp_path / "s.h5")
    msg = str(err.value)
    assert str(tmp_path / "s.h5") in msg
    assert "missing key(s)" in msg and "extra.weight" in msg and "extra.bias" in msg
    assert "unexpected key(s)" in msg and "2.weight" in msg and "2.bias" in msg
    assert "0.weight: dtype float32 in the file, float64 in the model" in msg
    assert "1.weight: shape (2, 3) in the file" in msg and "(5, 3) in the model" in msg
    assert "model is unchanged" in msg
    for k, v in _values(dst).items():
        np.testing.assert_array_equal(v, before[k])
    # strict=False skips missing/unexpected keys, never mismatches
    with pytest.raises(RuntimeError, match="1.weight: shape"):
        hdf5.load_into(dst, tmp_path / "s.h5", strict=False)
    ok = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    ok.add_module("extra", nn.Linear(1, 1))
    res = hdf5.load_into(ok, tmp_path / "s.h5", strict=False)
    assert res.missing_keys == ["extra.weight", "extra.bias"]
    assert res.unexpected_keys == ["2.weight", "2.bias"]
    np.testing.assert_array_equal(ok[1].weight.detach().numpy(), src[1].weight.detach().numpy())


def _read_fails_at(monkeypatch, fail_at: int) -> list:
    """Make the ``fail_at``-th dataset read (0-based) scribble over its destination and raise,
    as a damaged chunk or an I/O error part-way through would; return the list of reads."""
    from exporters import _hdf5_read

    real = _hdf5_read.Entry.read_into
    calls: list = []

    def read_into(self, dest):
        calls.append(self.name)
        if len(calls) - 1 == fail_at:
            dest[...] = 99
            raise OSError("Can't read data (simulated)")
        return real(self, dest)

    monkeypatch.setattr(_hdf5_read.Entry, "read_into", read_into)
    return calls


def test_a_failed_read_leaves_the_model_untouched(tmp_path, monkeypatch):
    src = _tied_net()
    hdf5.save(src, tmp_path / "t.h5")
    reads = len({id(t._data) for t in src.state_dict().values()})  # tied: one read each
    for fail_at in range(reads):
        gl.manual_seed(1)
        dst = _tied_net()
        with gl.no_grad():
            dst[2].weight.fill_(7.0)
        before = _values(dst)
        with monkeypatch.context() as m:
            calls = _read_fails_at(m, fail_at)
            with pytest.raises(hdf5.HDF5FormatError, match="reading .* failed.*nothing was loaded"):
                hdf5.load_into(dst, tmp_path / "t.h5")
        assert len(calls) == fail_at + 1
        for k, v in _values(dst).items():
            np.testing.assert_array_equal(v, before[k], err_msg=f"{k} (failed read {fail_at})")
        assert dst[2].weight is dst[4].weight
    hdf5.load_into(dst, tmp_path / "t.h5")  # and the file itself was fine
    np.testing.assert_array_equal(dst[4].weight.detach().numpy(), src[2].weight.detach().numpy())


def test_a_damaged_chunk_leaves_the_model_untouched(tmp_path):
    gl.manual_seed(0)
    src = nn.Sequential(*[nn.Linear(64, 64) for _ in range(4)])
    path = tmp_path / "gz.h5"
    hdf5.save(src, path, compression="gzip")
    with h5py.File(path) as f:
        info = f["parameters/3/weight"].id.get_chunk_info(0)  # read after the other weights
    with open(path, "r+b") as fh:
        fh.seek(info.byte_offset)
        fh.write(bytes(info.size))  # zeros: not a deflate stream
    gl.manual_seed(1)
    dst = nn.Sequential(*[nn.Linear(64, 64) for _ in range(4)])
    before = _values(dst)
    with pytest.raises(hdf5.HDF5FormatError, match="'3.weight' failed.*nothing was loaded"):
        hdf5.load_into(dst, path)
    for k, v in _values(dst).items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_load_into_other_devices_and_lazy_tensors_together(tmp_path):
    src = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    hdf5.save(src, tmp_path / "m.h5")
    dst = nn.Sequential(nn.Linear(3, 4).to("cpu:1"), nn.LazyLinear(2))
    hdf5.load_into(dst, tmp_path / "m.h5")
    assert dst[0].weight.device == gl.device("cpu:1") and tuple(dst[1].weight.shape) == (2, 4)
    for k, v in _values(src).items():
        np.testing.assert_array_equal(_values(dst)[k], v)


@pytest.mark.gpu
def test_load_into_a_cuda_model_is_all_or_nothing(tmp_path, monkeypatch):
    src = _tied_net()
    hdf5.save(src, tmp_path / "t.h5")
    gl.manual_seed(1)
    dst = _tied_net().to("cuda:0")
    before = {k: v.cpu().numpy() for k, v in dst.state_dict().items()}
    with monkeypatch.context() as m:
        _read_fails_at(m, 3)
        with pytest.raises(hdf5.HDF5FormatError, match="nothing was loaded"):
            hdf5.load_into(dst, tmp_path / "t.h5")
    for k, v in dst.state_dict().items():
        np.testing.assert_array_equal(v.cpu().numpy(), before[k], err_msg=k)
    hdf5.load_into(dst, tmp_path / "t.h5")
    assert dst[2].weight is dst[4].weight and dst[2].weight.device == gl.device("cuda:0")
    for k, v in _values(src).items():
        np.testing.assert_array_equal(dst.state_dict()[k].cpu().numpy(), v, err_msg=k)


def test_load_into_needs_a_module(tmp_path):
    with pytest.raises(TypeError, match="exporters.hdf5.load_into: expected an nn.Module"):
        hdf5.load_into({"a": 1}, tmp_path / "x.h5")


# ----- refusing what a dump never holds ----------------------------------------------------------


def _dump(tmp_path):
    path = tmp_path / "d.h5"
    hdf5.save(nn.Sequential(nn.Linear(2, 2)), path)
    return path


def test_soft_link_refused(tmp_path):
    path = _dump(tmp_path)
    with h5py.File(path, "a") as f:
        f["parameters/0/alias"] = h5py.SoftLink("/parameters/0/weight")
    with pytest.raises(hdf5.HDF5FormatError, match="d.h5.*'/parameters/0/alias' is a soft link"):
        hdf5.load(path)
    with pytest.raises(hdf5.HDF5FormatError, match="soft link"):
        hdf5.load_into(nn.Sequential(nn.Linear(2, 2)), path)


def test_external_link_refused(tmp_path):
    path = _dump(tmp_path)
    with h5py.File(tmp_path / "other.h5", "w") as g:
        g["w"] = np.zeros((2, 2), np.float32)
    with h5py.File(path, "a") as f:
        f["parameters/0/ext"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/w")
    with pytest.raises(hdf5.HDF5FormatError, match="external link"):
        hdf5.load(path)


def test_virtual_dataset_refused(tmp_path):
    path = _dump(tmp_path)
    with h5py.File(path, "a") as f:
        layout = h5py.VirtualLayout(shape=(2, 2), dtype="f4")
        layout[:] = h5py.VirtualSource(f["parameters/0/weight"])
        del f["parameters/0/weight"]
        f.create_virtual_dataset("parameters/0/weight", layout)
    with pytest.raises(hdf5.HDF5FormatError, match="virtual dataset"):
        hdf5.load(path)


def test_external_storage_refused(tmp_path):
    path = _dump(tmp_path)
    raw = tmp_path / "raw.bin"
    raw.write_bytes(bytes(16))
    with h5py.File(path, "a") as f:
        attrs = dict(f["parameters/0/weight"].attrs)
        del f["parameters/0/weight"]
        ds = f.create_dataset(
            "parameters/0/weight", shape=(2, 2), dtype="f4", external=[(str(raw), 0, 16)]
        )
        ds.attrs.update(attrs)
    with pytest.raises(hdf5.HDF5FormatError, match="external files"):
        hdf5.load(path)


def test_committed_datatype_refused(tmp_path):
    path = _dump(tmp_path)
    with h5py.File(path, "a") as f:
        f["parameters/0/kind"] = np.dtype("f4")
    with pytest.raises(hdf5.HDF5FormatError, match="only groups and datasets"):
        hdf5.load(path)


@pytest.mark.parametrize("target", ["parameters", "/"])
def test_groups_reached_twice_refused(tmp_path, target):
    path = _dump(tmp_path)
    with h5py.File(path, "a") as f:
        f["parameters/0/loop"] = f[target]  # a hard link back up the tree: a loop
    with pytest.raises(hdf5.HDF5FormatError, match="reachable twice"):
        hdf5.load(path)


def test_wrong_files_refused(tmp_path):
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = np.ones(3)
    with pytest.raises(hdf5.HDF5FormatError, match="plain.h5: not a graphlab HDF5 dump"):
        hdf5.load(plain)
    text = tmp_path / "text.h5"
    text.write_text("hello")
    with pytest.raises(hdf5.HDF5FormatError, match="not an HDF5 file"):
        hdf5.load(text)
    path = _dump(tmp_path)
    with h5py.File(path, "a") as f:
        f.attrs["version"] = 99
    with pytest.raises(hdf5.HDF5FormatError, match="format version 99"):
        hdf5.load(path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        hdf5.load(tmp_path / "missing.h5")


def _edit_index(f: h5py.Group, edit) -> None:
    """Rewrite the dump's ``index`` (JSON) through ``edit(dict)``."""
    index = json.loads(f["index"][()])
    edit(index)
    del f["index"]
    f.create_dataset("index", data=json.dumps(index), dtype=h5py.string_dtype("utf-8"))


def test_metadata_and_data_disagreeing_refused(tmp_path):
    path = _dump(tmp_path)
    with h5py.File(path, "a") as f:
        _edit_index(f, lambda i: i["parameters"][0].update(shape=[4, 1]))
    with pytest.raises(hdf5.HDF5FormatError, match="parameters/0/weight: stored with shape"):
        hdf5.load(path)
    # version 1 had no index: each dataset's own attributes were checked
    path = _dump(tmp_path)
    with h5py.File(path, "a") as f:
        f.attrs["version"] = 1
        del f["index"]
        f["parameters/0/weight"].attrs["shape"] = "[4, 1]"
    with pytest.raises(hdf5.HDF5FormatError, match="parameters/0/weight: stored with shape"):
        hdf5.load(path)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda i: i["parameters"][0].update(lazy="no"), "'lazy' is 'no'"),
        (lambda i: i["parameters"][0].pop("device"), "lacks 'device'"),
        (lambda i: i["parameters"].append({"name": "9.weight"}), "listed in the index but not"),
        (lambda i: i["modules"][0]["children"].append("7"), "no module '7'"),
        (lambda i: i["modules"][1].update(num_parameters=True), "'num_parameters' is True"),
        (lambda i: i.pop("buffers"), "must map parameters, gradients, buffers and modules"),
    ],
    ids=["flag-type", "missing-key", "missing-dataset", "missing-module", "bool-int", "no-tree"],
)
def test_a_bad_index_is_refused(tmp_path, edit, match):
    path = _dump(tmp_path)
    with h5py.File(path, "a") as f:
        _edit_index(f, edit)
    with pytest.raises(hdf5.HDF5FormatError, match=match) as err:
        hdf5.load(path)
    assert "d.h5" in str(err.value)


def test_failed_save_keeps_the_previous_file(tmp_path):
    path = _dump(tmp_path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="compression must be"):
        hdf5.save(nn.Sequential(nn.Linear(3, 3)), path, compression="zstd")
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["d.h5"]  # no temporary file left behind


# ----- readable without graphlab -------------------------------------------------------------


def test_plain_h5py_reads_a_dump_without_graphlab(tmp_path):
    net = _tied_net()
    _, trace = _trained(net)
    path = tmp_path / "plain.h5"
    hdf5.save(net, path, traces=trace)
    np.save(tmp_path / "w0.npy", net[0].weight.detach().numpy())
    code = textwrap.dedent(
        f"""
        import json, sys
        import h5py, numpy as np
        with h5py.File({str(path)!r}, "r") as f:
            assert f.attrs["format"] == "graphlab.hdf5" and f.attrs["version"] == 2
            w = f["parameters/0/weight"]
            assert w.attrs["dtype"] == "float32" and json.loads(w.attrs["shape"]) == [3, 4]
            assert np.array_equal(w[()], np.load({str(tmp_path / "w0.npy")!r}))
            assert f["parameters/2/weight"].id == f["parameters/4/weight"].id
            assert f["modules/5"].attrs["class_name"] == "BatchNorm1d"
            assert len(f["traces/0/ops"]) > 0 and "op" in f["traces/0/ops"].dtype.names
            record = json.loads(f["traces/0/records"][()])
            assert record["events"]["op"]["op"][0] == "Linear"
        assert "graphlab" not in sys.modules and "exporters" not in sys.modules
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


@pytest.mark.skipif(shutil.which("h5ls") is None, reason="h5ls (Debian hdf5-tools) not installed")
def test_h5ls_lists_the_layout(tmp_path):
    net = _tied_net()
    _, trace = _trained(net)
    hdf5.save(net, tmp_path / "ls.h5", traces=trace)
    out = subprocess.run(["h5ls", "-r", str(tmp_path / "ls.h5")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for p in ("/parameters/0/weight", "/parameters/4/weight", "/gradients/0/bias",
              "/buffers/5/running_mean", "/modules/5", "/traces/0/ops"):  # fmt: skip
        assert p in out.stdout
