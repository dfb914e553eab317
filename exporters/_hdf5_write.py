"""Writing graphlab HDF5 dumps (the layout is described in :mod:`exporters.hdf5`).

A dump is written into an h5py group: the file root for ``exporters.hdf5.save``, one
``/models/<i>`` group per model for ``exporters.session``. Tensors are written one at a time: a
parameter on ``cpu`` is handed to h5py as a view of its storage (no copy), one on another device
is copied to the host once through ``graphlab.transfer.move`` and dropped after its dataset is
written. Tied names become hard links to the first name's dataset. Traces are written twice:
as tables for plain readers, and losslessly (:mod:`graphlab.trace.records`) for the loader.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping
from typing import NamedTuple

import h5py
import numpy as np
from h5py import h5a, h5s, h5t

from graphlab import transfer
from graphlab._device import CPU
from graphlab.inspect.hostdata import OptimizerState, _HostCopier, _optimizer_state
from graphlab.inspect.snapshot import Snapshot, _traces
from graphlab.inspect.tables import TensorInfo, _model_entries, tied_parameters
from graphlab.inspect.tree import ModuleNode, module_tree
from graphlab.nn.modules.lazy import LazyInitRecord
from graphlab.serialization import atomic_path
from graphlab.trace import records
from graphlab.trace.events import BackwardEvent, InitEvent, OpEvent, SyncEvent, TransferEvent

FORMAT = "graphlab.hdf5"
VERSION = 2  # 2: traces also stored losslessly (``records`` + ``arrays``), dumps in any group
SESSION_FORMAT = "graphlab.session"  # the root format of an exporters.session file
_COMPRESSIONS = (None, "gzip", "lzf")
_CHUNK_BYTES = 4 << 20  # NOTE: large enough that chunk bookkeeping costs little throughput
_STR = h5py.string_dtype("utf-8")


def _jdump(value) -> str:
    return json.dumps(value, default=repr)


def _h5path(tree: str, name: str) -> str:
    """``"parameters"``, ``"0.net.2.weight"`` → ``"parameters/0/net/2/weight"``."""
    parts = name.split(".")
    if any(not p or "/" in p for p in parts):
        raise ValueError(
            f"exporters.hdf5.save: the name {name!r} cannot be an HDF5 path (empty component or "
            "'/'); rename the module or parameter"
        )
    return tree + "/" + "/".join(parts)


def _chunks(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...] | None:
    """Chunks of at most ~4 MiB, cut along the leading axes; None when chunking is impossible."""
    if not shape or 0 in shape:
        return None
    chunk = list(shape)
    for i in range(len(shape)):
        if math.prod(chunk[i:]) * itemsize <= _CHUNK_BYTES:
            break
        rest = math.prod(chunk[i + 1 :]) * itemsize
        chunk[i] = max(1, min(shape[i], _CHUNK_BYTES // max(rest, 1)))
    return tuple(chunk)


def check_compression(compression, caller: str = "exporters.hdf5.save") -> None:
    """Refuse a ``compression`` argument that is not None, ``"gzip"`` or ``"lzf"``."""
    if compression not in _COMPRESSIONS:
        raise ValueError(
            f"{caller}: compression must be None, 'gzip' or 'lzf', got {compression!r}"
        )


class _Writer:
    """Writes datasets into an open group, linking an array already written (same key)."""

    def __init__(self, f: h5py.Group, compression: str | None):
        check_compression(compression)
        self.f = f
        self.compression = compression
        self.written: dict[tuple[str, int], str] = {}
        self.index: dict[str, list[dict]] = {"parameters": [], "gradients": [], "buffers": []}

    def tensor(self, tree: str, name: str, info: TensorInfo, key: int, fetch, aliases) -> None:
        """Write (or hard-link) the tensor called ``name``; ``fetch()`` gives its host array."""
        path = _h5path(tree, name)
        meta = _tensor_meta(info, aliases)
        self.index[tree].append({"name": name, **meta})
        first = self.written.get((tree, key))
        if first is not None:
            # NOTE: a hard link: one dataset, several names (h5py object ids are equal).
            self.f[path] = self.f[first]
            return
        if info.lazy:
            ds = self.f.create_dataset(path, data=h5py.Empty(np.dtype(info.dtype)))
        else:
            arr = np.require(fetch(), requirements="C")
            # NOTE: contiguous unless compressed: chunked storage costs 2-5x in read and write
            # throughput (measured by bench/io.py) and gains nothing without a filter.
            chunks = _chunks(arr.shape, arr.dtype.itemsize) if self.compression else None
            ds = self.f.create_dataset(
                path,
                shape=arr.shape,
                dtype=arr.dtype,
                chunks=chunks,
                compression=self.compression if chunks else None,
            )
            if arr.size:
                ds.write_direct(arr)
            del arr
        _set_attrs(ds, {k: _jdump(v) if k in _JSON_ATTRS else v for k, v in meta.items()})
        self.written[(tree, key)] = path


_JSON_ATTRS = frozenset(("shape", "aliases", "parameters", "buffers", "children", "devices",
                         "alias_of"))  # fmt: skip
"""Attributes stored as JSON text on their HDF5 object (plain values in ``/index``)."""


_TYPE_IDS: dict[np.dtype, tuple] = {}


def _set_attrs(obj: h5py.HLObject, attrs: dict) -> None:
    """Create the attributes ``attrs`` (str, bool, int or float values) on a new object.

    The same file contents as ``obj.attrs.update(attrs)``, through h5py's low-level calls:
    ~20 us an attribute instead of ~100-160 us, which is most of the time a model with
    thousands of modules and tensors takes to save.
    """
    oid = obj.id
    for key, value in attrs.items():
        arr = np.array(value, dtype=_STR) if isinstance(value, str) else np.asarray(value)
        ids = _TYPE_IDS.get(arr.dtype)
        if ids is None:
            # NOTE: HDF5 stores the logical type (a bool as an enum, text as UTF-8); the write
            # is described by the in-memory, bit-for-bit type, as h5py's attrs.create does.
            ids = _TYPE_IDS[arr.dtype] = (h5t.py_create(arr.dtype, logical=True),
                                          h5t.py_create(arr.dtype))  # fmt: skip
        attr = h5a.create(oid, key.encode("utf-8"), ids[0], h5s.create_simple(()))
        attr.write(arr, mtype=ids[1])


def _tensor_meta(info: TensorInfo, aliases) -> dict:
    """A tensor's attributes (as in the layout), with plain values."""
    return {
        "kind": info.kind,
        "dtype": info.dtype,
        "shape": None if info.shape is None else list(info.shape),
        "device": info.device,
        "module_class": info.module_class,
        "requires_grad": bool(info.requires_grad),
        "lazy": bool(info.lazy),
        "persistent": bool(info.persistent),
        "aliases": list(aliases),
    }


def _module_meta(node: ModuleNode) -> dict:
    """A module's attributes (as in the layout), with plain values."""
    return {
        "class_name": node.class_name,
        "type_name": node.type_name,
        "extra_repr": node.extra_repr,
        "repr": node.label,
        "parameters": list(node.parameters),
        "buffers": list(node.buffers),
        "children": [c.name for c in node.children],
        "num_parameters": int(node.num_parameters),
        "own_num_parameters": int(node.own_num_parameters),
        "lazy": bool(node.lazy),
        "devices": list(node.devices),
        "training": bool(node.training),
        "alias_of": node.alias_of,
    }


def _host(t) -> np.ndarray:
    """A live tensor's values on the host: a view on ``cpu``, one recorded copy elsewhere."""
    if t._device is CPU:
        return np.asarray(t._data)
    return np.asarray(transfer.move(t._data, t._device, CPU, reason="export"))


def _model_items(model, grads: bool, buffers: bool) -> Iterator:
    """``(tree, name, info, key, fetch, group)`` for every tensor name of a live model."""
    tied = tied_parameters(model)
    group_of = {n: tuple(g) for g in tied for n in g}
    for name, info, t in _model_entries(model):
        if info.kind == "buffer" and not buffers:
            continue
        tree = "parameters" if info.kind == "parameter" else "buffers"
        aliases = group_of.get(name, (name,))
        yield tree, name, info, id(t), (lambda t=t: _host(t)), aliases
        if grads and info.kind == "parameter" and not info.lazy and t.grad is not None:
            g = t.grad
            ginfo = _grad_info(info, g.dtype.name)
            yield "gradients", name, ginfo, id(g), (lambda g=g: _host(g)), aliases


def _grad_info(info: TensorInfo, dtype: str) -> TensorInfo:
    return TensorInfo(
        kind="gradient",
        shape=info.shape,
        dtype=dtype,
        device=info.device,
        requires_grad=False,
        lazy=False,
        persistent=False,
        module_class=info.module_class,
    )


def _snapshot_items(snap: Snapshot, grads: bool, buffers: bool) -> Iterator:
    group_of = {n: tuple(g) for g in snap.tied for n in g}
    for name, info in snap.tensor_info.items():
        if info.kind == "buffer" and not buffers:
            continue
        store = snap.parameters if info.kind == "parameter" else snap.buffers
        tree = "parameters" if info.kind == "parameter" else "buffers"
        arr = store.get(name)
        aliases = group_of.get(name, (name,))
        yield tree, name, info, id(arr) if arr is not None else id(name), lambda a=arr: a, aliases
        g = snap.gradients.get(name)
        if grads and g is not None:
            yield "gradients", name, _grad_info(info, g.dtype.name), id(g), lambda g=g: g, aliases


# ----- the module tree, optimizer, lazy records, traces -----------------------------------------


def _write_modules(f: h5py.Group, root: ModuleNode, full_repr: str | None) -> list[dict]:
    """The ``/modules`` tree; returns each module's attributes (with its path) for ``/index``."""
    out = []
    for node in root.walk():
        g = f.require_group("modules" if not node.path else _h5path("modules", node.path))
        meta = _module_meta(node)
        _set_attrs(g, {k: _jdump(v) if k in _JSON_ATTRS else v for k, v in meta.items()})
        out.append({"path": node.path, **meta})
    if full_repr is not None:
        f["modules"].attrs["model_repr"] = full_repr
    return out


def _write_optimizer(f: h5py.Group, opt) -> None:
    g = f.create_group("optimizer")
    g.attrs.update(
        type_name=opt.type_name,
        param_groups=_jdump([dict(pg) for pg in opt.param_groups]),
        param_names=_jdump(list(opt.param_names)),
    )
    state = g.create_group("state")
    for index, values in opt.state.items():
        sg = state.create_group(str(index))
        plain = {}
        for key, value in values.items():
            if isinstance(value, np.ndarray):
                sg.create_dataset(key, data=value)
            else:
                plain[key] = value
        sg.attrs["values"] = _jdump(plain)


def _table(rows: list[tuple], fields: list[tuple[str, object]]) -> np.ndarray:
    dtype = np.dtype([(n, t) for n, t in fields])
    out = np.empty(len(rows), dtype=dtype)
    for i, row in enumerate(rows):
        out[i] = row
    return out


def _nan(x) -> float:
    return float("nan") if x is None else float(x)


def _shapes(refs) -> str:
    return _jdump([list(r.shape) if hasattr(r, "shape") else None for r in refs])


def _minus1(n: int | None) -> int:
    """An optional count or id as a table cell: -1 for None."""
    return -1 if n is None else n


def _params(refs) -> str:
    return _jdump([r.param for r in refs if getattr(r, "param", None)])


_TABLES = {
    "ops": (
        OpEvent,
        [("id", "i8"), ("op", _STR), ("scope", _STR), ("scope_class", _STR), ("seconds", "f8"),
         ("thread", "i8"), ("input_shapes", _STR), ("output_shapes", _STR),
         ("output_dtypes", _STR), ("params", _STR), ("device_bytes", "i8")],
        lambda e: (e.id, e.op, e.scope, e.scope_class, _nan(e.seconds), e.thread,
                   _shapes(e.inputs), _shapes(e.outputs), _jdump([o.dtype for o in e.outputs]),
                   _params(e.inputs), _minus1(e.device_bytes)),
    ),
    "backward": (
        BackwardEvent,
        [("id", "i8"), ("op", _STR), ("forward_id", "i8"), ("scope", _STR), ("seconds", "f8"),
         ("grad_output_shape", _STR), ("grad_input_norms", _STR), ("params", _STR),
         ("device_bytes", "i8")],
        lambda e: (e.id, e.op, _minus1(e.forward_id), e.scope, _nan(e.seconds),
                   _jdump(list(e.grad_output_shape)), _jdump(list(e.grad_input_norms)),
                   _jdump([p.name for p in e.param_grads]), _minus1(e.device_bytes)),
    ),
    "transfers": (
        TransferEvent,
        [("id", "i8"), ("src", _STR), ("dst", _STR), ("nbytes", "i8"), ("seconds", "f8"),
         ("bandwidth", "f8"), ("pinned", "?"), ("non_blocking", "?"), ("scope", _STR),
         ("call_site", _STR), ("reason", _STR)],
        lambda e: (e.id, e.src, e.dst, e.nbytes, e.seconds, e.bandwidth, e.pinned,
                   e.non_blocking, e.scope, e.call_site, e.reason),
    ),
    "syncs": (
        SyncEvent,
        [("id", "i8"), ("device", _STR), ("reason", _STR), ("nbytes", "i8"), ("seconds", "f8"),
         ("scope", _STR), ("call_site", _STR)],
        lambda e: (e.id, e.device, e.reason, e.nbytes, e.seconds, e.scope, e.call_site),
    ),
    "inits": (
        InitEvent,
        [("id", "i8"), ("scope", _STR), ("module_class", _STR), ("shapes", _STR),
         ("input_shapes", _STR), ("initializer", _STR)],
        lambda e: (e.id, e.scope, e.module_class, _jdump(e.shapes), _jdump(e.input_shapes),
                   e.initializer),
    ),
}  # fmt: skip


def _write_traces(f: h5py.Group, traces, compression: str | None) -> None:
    root = f.create_group("traces")
    for i, trace in enumerate(traces):
        # NOTE: encoded first, so a trace that cannot be stored fails before its group exists.
        try:
            record, arrays = records.trace_to_record(trace)
        except TypeError as exc:
            raise TypeError(f"exporters.hdf5.save: trace {i} ({trace!r}): {exc}") from None
        g = root.create_group(str(i))
        g.attrs.update(
            index=-1 if trace.index is None else int(trace.index),
            roots=_jdump(list(trace.roots)),
            level=trace.level,
            timing=bool(trace.timing),
            dropped=int(trace.dropped),
            interrupted=bool(trace.interrupted),
            events=len(trace.events),
        )
        for table, (cls, fields, row) in _TABLES.items():
            rows = [row(e) for e in trace.events if isinstance(e, cls)]
            g.create_dataset(table, data=_table(rows, fields))
        text = json.dumps(record, allow_nan=False, separators=(",", ":"))
        g.create_dataset("records", data=text, dtype=_STR)
        _write_arrays(g.create_group("arrays"), arrays, compression, f"trace {i}")


def _write_arrays(g: h5py.Group, arrays: list, compression: str | None, where: str) -> None:
    """The arrays of a trace, packed: one 1-D dataset per dtype, ``index`` says where each is."""
    pools: dict[np.dtype, int] = {}
    parts: list[list[np.ndarray]] = []
    sizes: list[int] = []
    index = []
    for i, a in enumerate(arrays):
        if a.dtype.kind not in "biufc" or a.dtype.fields is not None:
            raise TypeError(
                f"exporters.hdf5.save: {where} holds an array ({i}) of dtype {a.dtype}; only "
                "bool, integer, float and complex arrays can be stored"
            )
        k = pools.setdefault(a.dtype, len(pools))
        if k == len(parts):
            parts.append([])
            sizes.append(0)
        index.append([k, sizes[k], list(a.shape)])
        parts[k].append(a.reshape(-1))
        sizes[k] += a.size
    for dt, k in pools.items():
        # NOTE: one dataset per dtype, not per array: a values-level trace holds one array per
        # op, and thousands of tiny datasets cost far more to write and open than one.
        data = np.concatenate(parts[k]) if sizes[k] else np.empty(0, dt)
        chunks = _chunks(data.shape, dt.itemsize) if compression else None
        ds = g.create_dataset(
            str(k),
            shape=data.shape,
            dtype=dt,
            chunks=chunks,
            compression=compression if chunks else None,
        )
        if data.size:
            ds.write_direct(data)
    g.create_dataset("index", data=_jdump(index), dtype=_STR)


def _lazy_json(records) -> str:
    out = []
    for path, r in records.items():
        item = {k: getattr(r, k) for k in LazyInitRecord.__dataclass_fields__}
        item["path"] = path
        out.append(item)
    return _jdump(out)


# ----- the whole file -------------------------------------------------------------------------


class Source(NamedTuple):
    """What a dump holds, gathered from a live model or a Snapshot (see :func:`source`)."""

    items: Iterator  # (tree, name, info, key, fetch, aliases) for every tensor name
    name: str
    tree: ModuleNode
    tied: tuple
    optimizer: OptimizerState | None
    traces: tuple
    lazy_inits: Mapping[str, LazyInitRecord]
    full_repr: str | None


def source(obj, grads=True, buffers=True, optimizer=None, traces=None) -> Source:
    """The :class:`Source` of ``obj`` (a model or a Snapshot); argument errors raise here."""
    from graphlab.nn.modules.module import Module

    if isinstance(obj, Snapshot):
        if optimizer is not None or traces is not None:
            raise ValueError(
                "exporters.hdf5.save: optimizer= and traces= are taken from a Snapshot itself; "
                "pass them to graphlab.inspect.snapshot(model, traces=..., optimizer=...) instead"
            )
        return Source(
            _snapshot_items(obj, grads, buffers), obj.name, obj.module_tree, obj.tied,
            obj.optimizer, obj.traces, obj.lazy_inits, None,
        )  # fmt: skip
    if isinstance(obj, Module):
        # NOTE: optimizer state is small next to the model only for plain SGD; for Adam it is
        # copied once here (host data for the file), the parameters are not.
        opt = None if optimizer is None else _optimizer_state(optimizer, obj, _HostCopier())
        lazy_inits = {
            p: m._lazy_init_record
            for p, m in obj.named_modules()
            if isinstance(getattr(m, "_lazy_init_record", None), LazyInitRecord)
        }
        return Source(
            _model_items(obj, grads, buffers), obj._get_name(), module_tree(obj),
            tied_parameters(obj), opt, _traces(traces), lazy_inits, repr(obj),
        )  # fmt: skip
    raise TypeError(
        f"exporters.hdf5.save: expected an nn.Module or a graphlab.inspect.Snapshot, got "
        f"{type(obj).__name__}; pass the model (or graphlab.inspect.snapshot(model))"
    )


def write_dump(g: h5py.Group, src: Source, compression: str | None) -> None:
    """Write the dump of ``src`` into the group ``g`` (the file root, or a session's model)."""
    g.attrs.update(
        format=FORMAT,
        version=VERSION,
        name=src.name,
        tied=_jdump([list(t) for t in src.tied]),
        lazy_inits=_lazy_json(src.lazy_inits),
    )
    for group in ("parameters", "gradients", "buffers"):
        g.create_group(group)
    w = _Writer(g, compression)
    order: dict[str, list[str]] = {"parameters": [], "gradients": [], "buffers": []}
    for item in src.items:
        w.tensor(*item)
        order[item[0]].append(item[1])
    # NOTE: HDF5 lists a group's members by name; the model's order is kept here.
    for group, names in order.items():
        g[group].attrs["order"] = _jdump(names)
    modules = _write_modules(g, src.tree, src.full_repr)
    if src.optimizer is not None:
        _write_optimizer(g, src.optimizer)
    _write_traces(g, src.traces, compression)
    # NOTE: what the loader needs, in one read: every per-object attribute costs an HDF5 call
    # (~50 us), which made a 1,000-module model take seconds to open.
    index = {**w.index, "modules": modules}
    g.create_dataset("index", data=json.dumps(index, allow_nan=False), dtype=_STR)


def write(obj, path, grads, buffers, optimizer, traces, compression) -> None:
    """Write the dump of ``obj`` (a model or a Snapshot) to the file ``path`` atomically."""
    src = source(obj, grads, buffers, optimizer, traces)
    check_compression(compression)
    path = os.fspath(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        write_dump(f, src, compression)
