"""Reading graphlab HDF5 dumps: validation first, then data (layout in :mod:`exporters.hdf5`).

:func:`open_checked` walks every link of the file without following any and refuses what a dump
never holds (soft, external or user-defined links, committed datatypes, external storage,
virtual datasets, groups reached twice) before a single array is read.
"""

from __future__ import annotations

import json
import os

import h5py
import numpy as np

from graphlab import _dtype
from graphlab.inspect.hostdata import OptimizerState
from graphlab.inspect.snapshot import Snapshot
from graphlab.inspect.tables import TensorInfo
from graphlab.inspect.tree import ModuleNode
from graphlab.nn.modules.lazy import LazyInitRecord

from ._hdf5_write import FORMAT, VERSION

_TREES = ("parameters", "gradients", "buffers")


class HDF5FormatError(ValueError):
    """A file that is not a valid graphlab HDF5 dump (the message names the file and the key)."""


def _tuples(value):
    """JSON lists back to the tuples the snapshot held (``_plain`` turns sequences to tuples)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def _attr(path: str, obj, key: str, default=None, required: bool = True):
    if key not in obj.attrs:
        if required:
            raise HDF5FormatError(f"{path}: {obj.name!r} lacks the attribute {key!r}")
        return default
    value = obj.attrs[key]
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, np.generic):
        value = value.item()
    return value


def _json(path: str, obj, key: str, default=None, required: bool = True):
    raw = _attr(path, obj, key, None, required)
    if raw is None:
        return default
    try:
        return json.loads(raw)
    except (TypeError, ValueError) as exc:
        msg = f"{path}: attribute {key!r} of {obj.name!r} is not JSON: {exc}"
        raise HDF5FormatError(msg) from None


def _check_tree(path: str, f: h5py.File) -> None:
    """Refuse every object type and link kind a graphlab dump never contains."""
    seen: set = set()

    def walk(group: h5py.Group) -> None:
        if group.id in seen:
            raise HDF5FormatError(f"{path}: group {group.name!r} is reachable twice (a loop?)")
        seen.add(group.id)
        for key in group:
            where = f"{group.name.rstrip('/')}/{key}"
            try:
                link = group.get(key, getlink=True)
            except (KeyError, TypeError, RuntimeError) as exc:
                raise HDF5FormatError(f"{path}: unreadable link {where!r}: {exc}") from None
            if isinstance(link, h5py.SoftLink):
                raise HDF5FormatError(
                    f"{path}: {where!r} is a soft link (to {link.path!r}); graphlab dumps use "
                    "hard links only, refusing to follow it"
                )
            if isinstance(link, h5py.ExternalLink):
                raise HDF5FormatError(
                    f"{path}: {where!r} is an external link (to {link.filename!r}:{link.path!r}); "
                    "refusing to open other files"
                )
            if not isinstance(link, h5py.HardLink):
                raise HDF5FormatError(f"{path}: {where!r} is a {type(link).__name__}; refused")
            obj = group[key]
            if isinstance(obj, h5py.Group):
                walk(obj)
            elif isinstance(obj, h5py.Dataset):
                if obj.is_virtual:
                    raise HDF5FormatError(f"{path}: {where!r} is a virtual dataset; refused")
                if obj.external:
                    raise HDF5FormatError(
                        f"{path}: {where!r} keeps its data in external files {obj.external}; "
                        "refused"
                    )
            else:
                raise HDF5FormatError(
                    f"{path}: {where!r} is a {type(obj).__name__}; only groups and datasets are "
                    "allowed"
                )

    walk(f)


def open_checked(path) -> h5py.File:
    """Open ``path`` read-only and validate its structure; the caller closes the file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"exporters.hdf5: no such file: {path!r}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise HDF5FormatError(f"{path}: not an HDF5 file ({exc})") from None
    try:
        fmt = _attr(path, f, "format", required=False)
        if fmt != FORMAT:
            raise HDF5FormatError(
                f"{path}: not a graphlab HDF5 dump (root attribute format={fmt!r}, expected "
                f"{FORMAT!r})"
            )
        version = _attr(path, f, "version")
        if not isinstance(version, int) or version > VERSION or version < 1:
            raise HDF5FormatError(
                f"{path}: format version {version!r}; this graphlab reads versions 1..{VERSION} "
                "(upgrade graphlab to read newer dumps)"
            )
        _check_tree(path, f)
    except BaseException:
        f.close()
        raise
    return f


class Entry:
    """One dataset name of a tensor tree, described from its attributes (no data read)."""

    __slots__ = ("name", "ds", "info", "dtype", "shape")

    def __init__(self, path: str, tree: str, name: str, ds: h5py.Dataset):
        self.name, self.ds = name, ds
        where = f"{path}: {tree}/{name.replace('.', '/')}"
        dtype = _attr(path, ds, "dtype")
        try:
            gl = _dtype.to_dtype(dtype)
        except (TypeError, ValueError, KeyError):
            raise HDF5FormatError(f"{where}: unsupported dtype attribute {dtype!r}") from None
        if ds.dtype != np.dtype(gl.np):
            raise HDF5FormatError(
                f"{where}: stored as {ds.dtype} but its dtype attribute says {dtype!r}"
            )
        lazy = bool(_attr(path, ds, "lazy"))
        shape = _json(path, ds, "shape")
        if lazy != (ds.shape is None):
            raise HDF5FormatError(
                f"{where}: lazy={lazy} but the dataset {'has' if ds.shape else 'lacks'} a shape"
            )
        if not lazy and (shape is None or tuple(shape) != ds.shape):
            raise HDF5FormatError(
                f"{where}: stored with shape {ds.shape} but its shape attribute says {shape}"
            )
        self.dtype, self.shape = np.dtype(gl.np), None if lazy else tuple(ds.shape)
        kind = _attr(path, ds, "kind")
        self.info = TensorInfo(
            kind="parameter" if tree == "gradients" else kind,
            shape=self.shape,
            dtype=gl.name,
            device=str(_attr(path, ds, "device")),
            requires_grad=bool(_attr(path, ds, "requires_grad")),
            lazy=lazy,
            persistent=bool(_attr(path, ds, "persistent")),
            module_class=str(_attr(path, ds, "module_class")),
        )


def entries(path: str, f: h5py.File, tree: str) -> dict[str, Entry]:
    """Every dataset under ``/tree`` by dotted name, validated from its metadata."""
    out: dict[str, Entry] = {}
    if tree not in f:
        return out

    def visit(group: h5py.Group, prefix: str) -> None:
        for key, obj in group.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(obj, h5py.Group):
                visit(obj, name)
            else:
                out[name] = Entry(path, tree, name, obj)

    visit(f[tree], "")
    # NOTE: back in the model's order (HDF5 iterates by name); unlisted names go last.
    order = _json(path, f[tree], "order", default=[], required=False)
    rank = {n: i for i, n in enumerate(order)}
    return dict(sorted(out.items(), key=lambda kv: rank.get(kv[0], len(rank))))


def read(entry: Entry, cache: dict, readonly: bool = True) -> np.ndarray:
    """The entry's data (each HDF5 object read once: hard-linked names share the array)."""
    if entry.ds.id not in cache:
        ds = entry.ds
        # NOTE: read_direct into a fresh array is about twice as fast as ds[()] for chunked data.
        arr = np.empty(ds.shape, ds.dtype)
        if arr.size:
            ds.read_direct(arr)
        arr.flags.writeable = not readonly
        cache[entry.ds.id] = arr
    return cache[entry.ds.id]


def _module_node(path: str, f: h5py.File, group: h5py.Group, mpath: str) -> ModuleNode:
    a = lambda k: _attr(path, group, k)  # noqa: E731
    j = lambda k: _json(path, group, k)  # noqa: E731
    children = []
    for name in j("children"):
        if name not in group or not isinstance(group[name], h5py.Group):
            raise HDF5FormatError(f"{path}: module group {group.name!r} lacks child {name!r}")
        children.append(_module_node(path, f, group[name], f"{mpath}.{name}" if mpath else name))
    return ModuleNode(
        path=mpath,
        name=mpath.rsplit(".", 1)[-1] if mpath else "",
        class_name=str(a("class_name")),
        type_name=str(a("type_name")),
        extra_repr=str(a("extra_repr")),
        parameters=tuple(j("parameters")),
        buffers=tuple(j("buffers")),
        children=tuple(children),
        num_parameters=int(a("num_parameters")),
        own_num_parameters=int(a("own_num_parameters")),
        lazy=bool(a("lazy")),
        devices=tuple(j("devices")),
        training=bool(a("training")),
        alias_of=j("alias_of"),
    )


def _optimizer(path: str, f: h5py.File) -> OptimizerState | None:
    if "optimizer" not in f:
        return None
    g = f["optimizer"]
    state = {}
    if "state" in g:
        for key, sg in g["state"].items():
            values = _tuples(_json(path, sg, "values"))
            for name, ds in sg.items():
                arr = np.asarray(ds[()])
                arr.flags.writeable = False
                values[name] = arr
            state[int(key)] = values
    return OptimizerState(
        type_name=str(_attr(path, g, "type_name")),
        param_groups=tuple(_tuples(pg) for pg in _json(path, g, "param_groups")),
        state=state,
        param_names=tuple(_json(path, g, "param_names")),
    )


def load_snapshot(path) -> Snapshot:
    """The dump at ``path`` as a Snapshot (traces are not rebuilt; see ``read_traces``)."""
    path = os.fspath(path)
    with open_checked(path) as f:
        found = {tree: entries(path, f, tree) for tree in _TREES}
        cache: dict = {}
        arrays = {
            tree: {n: read(e, cache) for n, e in found[tree].items() if not e.info.lazy}
            for tree in _TREES
        }
        info = {n: e.info for n, e in found["parameters"].items()}
        info.update({n: e.info for n, e in found["buffers"].items()})
        for name in found["gradients"]:
            if name not in info:
                raise HDF5FormatError(f"{path}: gradients/{name} has no parameter")
        tied = _json(path, f, "tied")
        lazy_inits = {}
        for item in _json(path, f, "lazy_inits", default=[], required=False):
            item = _tuples(item)
            lazy_inits[item["path"]] = LazyInitRecord(**item)
        if "modules" not in f:
            raise HDF5FormatError(f"{path}: no /modules group (the module tree)")
        return Snapshot(
            name=str(_attr(path, f, "name")),
            module_tree=_module_node(path, f, f["modules"], ""),
            parameters=arrays["parameters"],
            gradients=arrays["gradients"],
            buffers=arrays["buffers"],
            tensor_info=info,
            tied=tuple(tuple(g) for g in tied),
            optimizer=_optimizer(path, f),
            lazy_inits=lazy_inits,
        )


def read_traces(path) -> list[dict[str, object]]:
    """The trace tables of the dump: one dict per trace, ``"attrs"`` plus one structured
    array per table (``ops``, ``backward``, ``transfers``, ``syncs``, ``inits``)."""
    path = os.fspath(path)
    out = []
    with open_checked(path) as f:
        if "traces" not in f:
            return out
        groups = f["traces"]
        for key in sorted(groups, key=lambda k: int(k) if k.isdigit() else -1):
            g = groups[key]
            item: dict[str, object] = {"attrs": {k: _attr(path, g, k) for k in g.attrs}}
            for table, ds in g.items():
                item[table] = ds[()]
            out.append(item)
    return out
