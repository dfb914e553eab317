"""Writing graphlab HDF5 dumps (the layout is described in :mod:`exporters.hdf5`).

Tensors are written one at a time: a parameter on ``cpu`` is handed to h5py as a view of its
storage (no copy), one on another device is copied to the host once through
``graphlab.transfer.move`` and dropped after its dataset is written. Tied names become hard links
to the first name's dataset.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator

import h5py
import numpy as np

from graphlab import transfer
from graphlab._device import CPU
from graphlab.inspect.hostdata import _HostCopier, _optimizer_state
from graphlab.inspect.snapshot import Snapshot, _traces
from graphlab.inspect.tables import TensorInfo, _model_entries, tied_parameters
from graphlab.inspect.tree import ModuleNode, module_tree
from graphlab.nn.modules.lazy import LazyInitRecord
from graphlab.serialization import atomic_path
from graphlab.trace.events import BackwardEvent, InitEvent, OpEvent, SyncEvent, TransferEvent

FORMAT = "graphlab.hdf5"
VERSION = 1
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


class _Writer:
    """Writes datasets into an open file, linking an array already written (same key)."""

    def __init__(self, f: h5py.File, compression: str | None):
        if compression not in (None, "gzip", "lzf"):
            raise ValueError(
                f"exporters.hdf5.save: compression must be None, 'gzip' or 'lzf', got "
                f"{compression!r}"
            )
        self.f = f
        self.compression = compression
        self.written: dict[tuple[str, int], str] = {}

    def tensor(self, tree: str, name: str, info: TensorInfo, key: int, fetch, aliases) -> None:
        """Write (or hard-link) the tensor called ``name``; ``fetch()`` gives its host array."""
        path = _h5path(tree, name)
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
        ds.attrs.update(
            kind=info.kind,
            dtype=info.dtype,
            shape=_jdump(None if info.shape is None else list(info.shape)),
            device=info.device,
            module_class=info.module_class,
            requires_grad=bool(info.requires_grad),
            lazy=bool(info.lazy),
            persistent=bool(info.persistent),
            aliases=_jdump(list(aliases)),
        )
        self.written[(tree, key)] = path


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


def _write_modules(f: h5py.File, root: ModuleNode, full_repr: str | None) -> None:
    for node in root.walk():
        g = f.require_group("modules" if not node.path else _h5path("modules", node.path))
        g.attrs.update(
            class_name=node.class_name,
            type_name=node.type_name,
            extra_repr=node.extra_repr,
            repr=node.label,
            parameters=_jdump(list(node.parameters)),
            buffers=_jdump(list(node.buffers)),
            children=_jdump([c.name for c in node.children]),
            num_parameters=int(node.num_parameters),
            own_num_parameters=int(node.own_num_parameters),
            lazy=bool(node.lazy),
            devices=_jdump(list(node.devices)),
            training=bool(node.training),
            alias_of=_jdump(node.alias_of),
        )
    if full_repr is not None:
        f["modules"].attrs["model_repr"] = full_repr


def _write_optimizer(f: h5py.File, opt) -> None:
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


def _params(refs) -> str:
    return _jdump([r.param for r in refs if getattr(r, "param", None)])


_TABLES = {
    "ops": (
        OpEvent,
        [("id", "i8"), ("op", _STR), ("scope", _STR), ("scope_class", _STR), ("seconds", "f8"),
         ("thread", "i8"), ("input_shapes", _STR), ("output_shapes", _STR),
         ("output_dtypes", _STR), ("params", _STR)],
        lambda e: (e.id, e.op, e.scope, e.scope_class, _nan(e.seconds), e.thread,
                   _shapes(e.inputs), _shapes(e.outputs), _jdump([o.dtype for o in e.outputs]),
                   _params(e.inputs)),
    ),
    "backward": (
        BackwardEvent,
        [("id", "i8"), ("op", _STR), ("forward_id", "i8"), ("scope", _STR), ("seconds", "f8"),
         ("grad_output_shape", _STR), ("grad_input_norms", _STR), ("params", _STR)],
        lambda e: (e.id, e.op, -1 if e.forward_id is None else e.forward_id, e.scope,
                   _nan(e.seconds), _jdump(list(e.grad_output_shape)),
                   _jdump(list(e.grad_input_norms)), _jdump([p.name for p in e.param_grads])),
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


def _write_traces(f: h5py.File, traces) -> None:
    root = f.create_group("traces")
    for i, trace in enumerate(traces):
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


def _lazy_json(records) -> str:
    out = []
    for path, r in records.items():
        item = {k: getattr(r, k) for k in LazyInitRecord.__dataclass_fields__}
        item["path"] = path
        out.append(item)
    return _jdump(out)


# ----- the whole file -------------------------------------------------------------------------


def write(source, path, grads, buffers, optimizer, traces, compression) -> None:
    """Write the dump of ``source`` (a model or a Snapshot) to ``path`` atomically."""
    from graphlab.nn.modules.module import Module

    if isinstance(source, Snapshot):
        if optimizer is not None or traces is not None:
            raise ValueError(
                "exporters.hdf5.save: optimizer= and traces= are taken from a Snapshot itself; "
                "pass them to graphlab.inspect.snapshot(model, traces=..., optimizer=...) instead"
            )
        items = _snapshot_items(source, grads, buffers)
        name, tree, tied, opt, trs = (
            source.name, source.module_tree, source.tied, source.optimizer, source.traces,
        )  # fmt: skip
        lazy_inits, full_repr = source.lazy_inits, None
    elif isinstance(source, Module):
        items = _model_items(source, grads, buffers)
        name, tree = source._get_name(), module_tree(source)
        tied = tied_parameters(source)
        # NOTE: optimizer state is small next to the model only for plain SGD; for Adam it is
        # copied once here (host data for the file), the parameters are not.
        opt = None if optimizer is None else _optimizer_state(optimizer, source, _HostCopier())
        trs = _traces(traces)
        lazy_inits = {
            p: m._lazy_init_record
            for p, m in source.named_modules()
            if isinstance(getattr(m, "_lazy_init_record", None), LazyInitRecord)
        }
        full_repr = repr(source)
    else:
        raise TypeError(
            f"exporters.hdf5.save: expected an nn.Module or a graphlab.inspect.Snapshot, got "
            f"{type(source).__name__}; pass the model (or graphlab.inspect.snapshot(model))"
        )
    path = os.fspath(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(
            format=FORMAT,
            version=VERSION,
            name=name,
            tied=_jdump([list(g) for g in tied]),
            lazy_inits=_lazy_json(lazy_inits),
        )
        for group in ("parameters", "gradients", "buffers"):
            f.create_group(group)
        w = _Writer(f, compression)
        order: dict[str, list[str]] = {"parameters": [], "gradients": [], "buffers": []}
        for item in items:
            w.tensor(*item)
            order[item[0]].append(item[1])
        # NOTE: HDF5 lists a group's members by name; the model's order is kept here.
        for group, names in order.items():
            f[group].attrs["order"] = _jdump(names)
        _write_modules(f, tree, full_repr)
        if opt is not None:
            _write_optimizer(f, opt)
        _write_traces(f, trs)
