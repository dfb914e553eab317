"""Reading graphlab HDF5 dumps: validation first, then data (layout in :mod:`exporters.hdf5`).

:func:`open_checked` walks every link of the file without following any and refuses what a dump
never holds (soft, external or user-defined links, committed datatypes, external storage,
virtual datasets, groups reached twice) before a single array is read. A dump can sit in any
group (:func:`check_dump`, :func:`snapshot_from`): the file root, or a session's model.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor

import h5py
import numpy as np
from h5py import h5d, h5l, h5o, h5s

from graphlab import _dtype
from graphlab.inspect.hostdata import OptimizerState
from graphlab.inspect.snapshot import Snapshot
from graphlab.inspect.tables import TensorInfo
from graphlab.inspect.tree import ModuleNode
from graphlab.nn.modules.lazy import LazyInitRecord
from graphlab.trace import LEVELS, Trace, records

from ._hdf5_write import _TABLES, FORMAT, SESSION_FORMAT, VERSION

_TREES = ("parameters", "gradients", "buffers")
_NUMERIC_KINDS = "biufc"


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


def check_tree(path: str, f: h5py.Group) -> None:
    """Refuse every object type and link kind a graphlab dump never contains.

    Walks links and objects with HDF5's own visitors (no h5py object per link): ~10 us per
    object, where opening each one through h5py cost ~100 us. Where a dataset keeps its data
    (virtual, external files) is checked by :func:`stored_here` before it is read.
    """
    base = f.name.rstrip("/")
    problems: list[str] = []

    def where(name: bytes) -> str:
        return f"{base}/{name.decode('utf-8', 'replace')}"

    def on_link(name: bytes, info) -> int | None:
        if info.type == h5l.TYPE_HARD:
            return None
        w = where(name)
        try:
            link = f.get(w, getlink=True)
        except (KeyError, TypeError, RuntimeError, OSError) as exc:
            problems.append(f"unreadable link {w!r}: {exc}")
            return 1
        if isinstance(link, h5py.SoftLink):
            problems.append(
                f"{w!r} is a soft link (to {link.path!r}); graphlab dumps use hard links only, "
                "refusing to follow it"
            )
        elif isinstance(link, h5py.ExternalLink):
            problems.append(
                f"{w!r} is an external link (to {link.filename!r}:{link.path!r}); refusing to "
                "open other files"
            )
        else:
            problems.append(f"{w!r} is a {type(link).__name__}; refused")
        return 1  # NOTE: a non-None return stops the visit

    def on_object(name: bytes, info) -> int | None:
        # NOTE: datasets are checked when read (see stored_here): opening each one here to
        # look at its storage cost more than the rest of loading a 1,000-module model.
        kind = info.type
        if kind == h5o.TYPE_GROUP:
            if info.rc > 1:
                problems.append(f"group {where(name)!r} is reachable twice (a loop?)")
        elif kind != h5o.TYPE_DATASET:
            problems.append(f"{where(name)!r} is a Datatype; only groups and datasets are allowed")
        return 1 if problems else None

    if h5o.get_info(f.id).rc > 1:
        problems.append(f"group {f.name!r} is reachable twice (a loop?)")
    else:
        f.id.links.visit(on_link, info=True)
    if not problems:
        h5o.visit(f.id, on_object, info=True)
    if problems:
        raise HDF5FormatError(f"{path}: {problems[0]}")


def open_file(path) -> h5py.File:
    """Open ``path`` read-only (FileNotFoundError, or HDF5FormatError when not HDF5)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"exporters.hdf5: no such file: {path!r}")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise HDF5FormatError(f"{path}: not an HDF5 file ({exc})") from None


def check_dump(path: str, g: h5py.Group) -> int:
    """The dump format version of group ``g``, after checking its format attributes."""
    fmt = _attr(path, g, "format", required=False)
    if fmt != FORMAT:
        if fmt == SESSION_FORMAT and g.name == "/":
            raise HDF5FormatError(
                f"{path}: this is a session file (several models); use "
                "exporters.session.load_session"
            )
        where = "root" if g.name == "/" else f"{g.name!r}"
        raise HDF5FormatError(
            f"{path}: not a graphlab HDF5 dump ({where} attribute format={fmt!r}, expected "
            f"{FORMAT!r})"
        )
    version = _attr(path, g, "version")
    if not isinstance(version, int) or version > VERSION or version < 1:
        raise HDF5FormatError(
            f"{path}: format version {version!r}; this graphlab reads versions 1..{VERSION} "
            "(upgrade graphlab to read newer dumps)"
        )
    return version


def open_checked(path) -> h5py.File:
    """Open ``path`` read-only and validate its structure; the caller closes the file."""
    path = os.fspath(path)
    f = open_file(path)
    try:
        check_dump(path, f)
        check_tree(path, f)
    except BaseException:
        f.close()
        raise
    return f


def _where(g: h5py.Group, key: str) -> str:
    """``key`` inside group ``g``, as messages show it (no leading slash at the file root)."""
    prefix = g.name.strip("/")
    return f"{prefix}/{key}" if prefix else key


def stored_here(path: str, dsid, name) -> None:
    """Refuse to read a dataset whose data is not in this file: a virtual dataset (data mapped
    from other datasets, maybe other files) or one with external storage. ``dsid`` is the
    dataset's low-level id, ``name`` what to call it in the error."""
    dcpl = dsid.get_create_plist()
    if dcpl.get_layout() == h5d.VIRTUAL:
        raise HDF5FormatError(f"{path}: {name!r} is a virtual dataset; refused")
    if dcpl.get_external_count():
        files = [dcpl.get_external(i)[0] for i in range(dcpl.get_external_count())]
        raise HDF5FormatError(f"{path}: {name!r} keeps its data in external files {files}; refused")


class Entry:
    """One dataset name of a tensor tree, described from its metadata (no data read).

    ``dsid`` is h5py's low-level dataset handle (``h5py.h5d.DatasetID``): equal for two names
    hard-linked to one dataset, and ~3x cheaper to open and read than an ``h5py.Dataset``
    (which matters for the thousands of small tensors of a big model).
    """

    __slots__ = ("name", "dsid", "info", "dtype", "shape")

    def __init__(
        self, path: str, place: str, tree: str, name: str, dsid: h5d.DatasetID, meta: dict
    ):
        self.name, self.dsid = name, dsid
        stored_here(path, dsid, place)
        where = f"{path}: {place}"
        dtype = meta["dtype"]
        try:
            gl = _dtype.to_dtype(dtype)
        except (TypeError, ValueError, KeyError):
            raise HDF5FormatError(f"{where}: unsupported dtype attribute {dtype!r}") from None
        stored = dsid.dtype
        if stored != np.dtype(gl.np):
            raise HDF5FormatError(
                f"{where}: stored as {stored} but its dtype attribute says {dtype!r}"
            )
        space = dsid.get_space()
        ds_shape = None if space.get_simple_extent_type() == h5s.NULL else space.shape
        lazy, shape = meta["lazy"], meta["shape"]
        if lazy != (ds_shape is None):
            raise HDF5FormatError(
                f"{where}: lazy={lazy} but the dataset {'has' if ds_shape else 'lacks'} a shape"
            )
        if not lazy and (shape is None or tuple(shape) != ds_shape):
            raise HDF5FormatError(
                f"{where}: stored with shape {ds_shape} but its shape attribute says {shape}"
            )
        self.dtype, self.shape = np.dtype(gl.np), None if lazy else tuple(ds_shape)
        self.info = TensorInfo(
            kind="parameter" if tree == "gradients" else meta["kind"],
            shape=self.shape,
            dtype=gl.name,
            device=meta["device"],
            requires_grad=meta["requires_grad"],
            lazy=lazy,
            persistent=meta["persistent"],
            module_class=meta["module_class"],
        )

    def read_into(self, arr: np.ndarray) -> None:
        """Read the whole dataset into ``arr`` (C-contiguous, of the entry's shape and dtype)."""
        if arr.size:
            self.dsid.read(h5s.ALL, h5s.ALL, arr)


_TENSOR_META = {
    "kind": (str,), "dtype": (str,), "shape": (list, type(None)), "device": (str,),
    "module_class": (str,), "requires_grad": (bool,), "lazy": (bool,), "persistent": (bool,),
}  # fmt: skip
_MODULE_META = {
    "class_name": (str,), "type_name": (str,), "extra_repr": (str,), "parameters": (list,),
    "buffers": (list,), "children": (list,), "num_parameters": (int,),
    "own_num_parameters": (int,), "lazy": (bool,), "devices": (list,), "training": (bool,),
    "alias_of": (str, type(None)),
}  # fmt: skip


def _typed(where: str, item, fields: dict) -> dict:
    """``item`` (an ``/index`` record) checked to hold ``fields`` with the right types."""
    if not isinstance(item, dict):
        raise HDF5FormatError(f"{where}: expected a JSON object, got {type(item).__name__}")
    for key, types in fields.items():
        if key not in item:
            raise HDF5FormatError(f"{where}: lacks {key!r}")
        if not isinstance(item[key], types) or (bool not in types and type(item[key]) is bool):
            raise HDF5FormatError(f"{where}: {key!r} is {item[key]!r:.60}")
    return item


def dump_index(path: str, f: h5py.Group) -> dict | None:
    """The ``index`` of the dump in group ``f`` (None for version 1, which has none)."""
    if check_dump(path, f) < 2:
        return None
    where = _where(f, "index")
    index = _json_dataset(path, f, "index", where)
    if not isinstance(index, dict) or not all(
        isinstance(index.get(k), list) for k in (*_TREES, "modules")
    ):
        raise HDF5FormatError(
            f"{path}: {where!r} must map parameters, gradients, buffers and modules to lists"
        )
    return index


def entries(path: str, f: h5py.Group, tree: str, index: dict | None = None) -> dict[str, Entry]:
    """Every dataset under ``tree`` of group ``f`` by dotted name, validated from its metadata
    (the dump's ``index``, or for version 1 each dataset's attributes)."""
    if index is None:
        index = dump_index(path, f)
    if index is None:
        return _entries_v1(path, f, tree)
    out: dict[str, Entry] = {}
    for i, item in enumerate(index[tree]):
        w = f"{path}: {_where(f, 'index')}[{tree!r}][{i}]"
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            raise HDF5FormatError(f"{w}: expected an object with a string 'name'")
        key = f"{tree}/{name.replace('.', '/')}"
        place = _where(f, key)
        w = f"{path}: {place}"
        try:
            dsid = h5o.open(f.id, key.encode())
        except (KeyError, ValueError):
            dsid = None
        if not isinstance(dsid, h5d.DatasetID):
            raise HDF5FormatError(f"{w}: listed in the index but not a dataset in the file")
        out[name] = Entry(path, place, tree, name, dsid, _typed(w, item, _TENSOR_META))
    return out


def _entries_v1(path: str, f: h5py.Group, tree: str) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    if tree not in f:
        return out

    def visit(group: h5py.Group, prefix: str) -> None:
        for key, obj in group.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(obj, h5py.Group):
                visit(obj, name)
            else:
                meta = {k: _attr(path, obj, k) for k in _TENSOR_META if k != "shape"}
                meta["shape"] = _json(path, obj, "shape")
                meta = {k: v if k in ("shape", "dtype") else _plain(k, v) for k, v in meta.items()}
                key = f"{tree}/{name.replace('.', '/')}"
                out[name] = Entry(path, _where(f, key), tree, name, obj.id, meta)

    visit(f[tree], "")
    # NOTE: back in the model's order (HDF5 iterates by name); unlisted names go last.
    order = _json(path, f[tree], "order", default=[], required=False)
    rank = {n: i for i, n in enumerate(order)}
    return dict(sorted(out.items(), key=lambda kv: rank.get(kv[0], len(rank))))


def _plain(key: str, value):
    """A version-1 attribute as the type the index holds (bools for flags, else strings)."""
    return bool(value) if key in ("requires_grad", "lazy", "persistent") else str(value)


def read(entry: Entry, cache: dict, readonly: bool = True) -> np.ndarray:
    """The entry's data (each HDF5 object read once: hard-linked names share the array)."""
    arr = cache.get(entry.dsid)
    if arr is None:
        # NOTE: reading into a fresh array is about twice as fast as ds[()] for chunked data.
        arr = np.empty(entry.shape, entry.dtype)
        entry.read_into(arr)
        arr.flags.writeable = not readonly
        cache[entry.dsid] = arr
    return arr


def read_in_place(path: str, reads: list[tuple[np.ndarray, Entry]]) -> None:
    """Read each entry's data straight into its array, all or nothing: if a read fails (a
    damaged chunk, an I/O error, an interrupt), every array is put back as it was and the error
    is raised (an :class:`HDF5FormatError` naming the file and the entry for a failed read).

    The arrays must have the entries' dtypes and shapes, be C-contiguous and writable, and own
    their memory (so no two overlap). Each array's old contents are copied aside on a worker
    thread one array ahead of the reads: the copy releases the GIL and overlaps the previous
    read, so this costs about one read into fresh memory, where reading into fresh arrays and
    then copying them into place is a second pass over the data (``bench/io.py``: 0.64x of raw
    h5py's read). (Cutting arrays into smaller steps gained nothing: h5py holds the GIL while
    it reads, and memory bandwidth is the limit.)
    """
    reads = [(arr, entry) for arr, entry in reads if arr.size]
    if not reads:
        return
    written: list[tuple[np.ndarray, np.ndarray]] = []
    with ThreadPoolExecutor(1, thread_name_prefix="graphlab-h5-backup") as pool:
        backups = [pool.submit(np.copy, arr) for arr, _ in reads]
        entry = None
        try:
            for (arr, entry), backup in zip(reads, backups):
                written.append((arr, backup.result()))
                entry.read_into(arr)
        except BaseException as exc:
            for fut in backups:
                fut.cancel()
            # NOTE: in reverse, so each array gets the contents it had before its own read.
            for arr, old in reversed(written):
                np.copyto(arr, old)
            if isinstance(exc, (OSError, ValueError)) and entry is not None:
                raise HDF5FormatError(
                    f"{path}: reading {entry.name!r} failed ({exc}); nothing was loaded"
                ) from None
            raise


def _module_tree(path: str, f: h5py.Group, index: dict | None) -> ModuleNode:
    """The module tree, from the index (version 2) or the ``/modules`` attributes (version 1)."""
    if index is None:
        if "modules" not in f:
            raise HDF5FormatError(f"{path}: no {_where(f, 'modules')!r} group (the module tree)")
        return _module_node(path, f, f["modules"], "")
    where = f"{path}: {_where(f, 'index')}['modules']"
    by_path = {}
    for i, item in enumerate(index["modules"]):
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise HDF5FormatError(f"{where}[{i}]: expected an object with a string 'path'")
        by_path[item["path"]] = _typed(f"{where}[{i}]", item, _MODULE_META)

    def node(mpath: str) -> ModuleNode:
        m = by_path.get(mpath)
        if m is None:
            raise HDF5FormatError(f"{where}: no module {mpath!r} (listed as a child)")
        names = (m["parameters"], m["buffers"], m["children"], m["devices"])
        if not all(isinstance(n, str) for group in names for n in group):
            raise HDF5FormatError(f"{where}: module {mpath!r} lists a name that is not a string")
        if not all(c and "." not in c for c in m["children"]):
            raise HDF5FormatError(f"{where}: module {mpath!r} has children {m['children']}")
        return ModuleNode(
            path=mpath,
            name=mpath.rsplit(".", 1)[-1] if mpath else "",
            class_name=m["class_name"],
            type_name=m["type_name"],
            extra_repr=m["extra_repr"],
            parameters=tuple(m["parameters"]),
            buffers=tuple(m["buffers"]),
            children=tuple(node(f"{mpath}.{c}" if mpath else c) for c in m["children"]),
            num_parameters=m["num_parameters"],
            own_num_parameters=m["own_num_parameters"],
            lazy=m["lazy"],
            devices=tuple(m["devices"]),
            training=m["training"],
            alias_of=m["alias_of"],
        )

    return node("")


def _module_node(path: str, f: h5py.Group, group: h5py.Group, mpath: str) -> ModuleNode:
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


def _optimizer(path: str, f: h5py.Group) -> OptimizerState | None:
    if "optimizer" not in f:
        return None
    g = f["optimizer"]
    state = {}
    if "state" in g:
        for key, sg in g["state"].items():
            values = _tuples(_json(path, sg, "values"))
            for name, ds in sg.items():
                stored_here(path, ds.id, ds.name)
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


def _traces(path: str, f: h5py.Group, defer: bool = False) -> tuple:
    """The traces of a version-2 dump, rebuilt from each trace's ``records`` and ``arrays``.

    ``defer``: the bytes are read now (the file closes after loading) but each trace is decoded
    the first time its events are read (:meth:`Trace.deferred`), its meta and length coming
    from the group's attributes; a trace group without usable attributes is decoded at once.
    """
    if "traces" not in f:
        return ()
    groups = f["traces"]
    keys = sorted(groups, key=lambda k: int(k) if k.isdigit() else -1)
    if keys != [str(i) for i in range(len(keys))]:
        raise HDF5FormatError(
            f"{path}: {_where(groups, '')!r} must hold groups 0..n-1, got {sorted(groups)}"
        )
    out = []
    for key in keys:
        g = groups[key]
        where = _where(g, "records")
        ds = g.get("records")
        if not isinstance(ds, h5py.Dataset) or ds.shape != () or not _is_str(ds):
            raise HDF5FormatError(f"{path}: {where!r} must be a scalar string dataset (JSON)")
        stored_here(path, ds.id, where)
        decode = _TraceDecoder(path, where, ds[()], *_trace_pools(path, g))
        meta = _trace_meta(g) if defer else None
        if meta is None:
            out.append(decode())
        else:
            decode.count = meta["count"]
            out.append(Trace.deferred(decode, **meta))
    return tuple(out)


def _trace_meta(g: h5py.Group) -> dict | None:
    """A trace's meta and event count from its group's attributes (None if any is missing or
    of the wrong type: the trace is then decoded at once, and its record is what counts)."""
    a = g.attrs
    try:
        meta = {
            "count": a["events"].item(),
            "index": a["index"].item(),
            "roots": json.loads(a["roots"]),
            "level": a["level"],
            "timing": a["timing"].item(),
            "dropped": a["dropped"].item(),
            "interrupted": a["interrupted"].item(),
        }
    except (KeyError, AttributeError, TypeError, ValueError):
        return None
    meta["level"] = meta["level"].decode() if isinstance(meta["level"], bytes) else meta["level"]
    meta["index"] = None if meta["index"] == -1 else meta["index"]
    ok = (
        all(type(meta[k]) is int and meta[k] >= 0 for k in ("count", "dropped"))
        and (meta["index"] is None or type(meta["index"]) is int)
        and isinstance(meta["roots"], list)
        and all(isinstance(r, str) for r in meta["roots"])
        and meta["level"] in LEVELS
        and all(type(meta[k]) is bool for k in ("timing", "interrupted"))
    )
    if not ok:
        return None
    meta["roots"] = tuple(meta["roots"])
    return meta


class _TraceDecoder:
    """Decodes one trace from its record text and array pools (already read from the file)."""

    __slots__ = ("path", "where", "text", "index_text", "index_where", "pools", "count")

    def __init__(self, path, where, text, index_text, index_where, pools):
        self.path, self.where, self.text = path, where, text
        self.index_text, self.index_where, self.pools = index_text, index_where, pools
        self.count = None  # the event count the group's attributes promised, if deferred

    def __call__(self) -> Trace:
        arrays = _slice_pools(self.path, self.index_where, self.index_text, self.pools)
        try:
            trace = records.loads(self.text, arrays)
        except (records.RecordError, TypeError) as exc:
            raise HDF5FormatError(f"{self.path}: {self.where}: {exc}") from None
        if self.count is not None and len(trace.events) != self.count:
            raise HDF5FormatError(
                f"{self.path}: {self.where} holds {len(trace.events)} events; the group's "
                f"'events' attribute says {self.count}"
            )
        return trace


def _is_str(ds: h5py.Dataset) -> bool:
    return h5py.check_string_dtype(ds.dtype) is not None


def _json_dataset(path: str, group, name: str, where: str):
    """The JSON value stored in the scalar string dataset ``group[name]``, checked."""
    ds = group.get(name)
    if not isinstance(ds, h5py.Dataset) or ds.shape != () or not _is_str(ds):
        raise HDF5FormatError(f"{path}: {where!r} must be a scalar string dataset (JSON)")
    stored_here(path, ds.id, where)
    try:
        return json.loads(ds[()])
    except ValueError as exc:
        raise HDF5FormatError(f"{path}: {where!r} is not JSON: {exc}") from None


def _trace_pools(path: str, g: h5py.Group) -> tuple[str | bytes, str, dict[int, np.ndarray]]:
    """What :func:`_slice_pools` needs of a trace's ``arrays`` group, read from the file: the
    ``index`` JSON text, where it is, and each 1-D dataset as one read-only array."""
    ag = g.get("arrays")
    if not isinstance(ag, h5py.Group):
        raise HDF5FormatError(f"{path}: {_where(g, 'arrays')!r}: expected a group")
    where = _where(ag, "index")
    ds = ag.get("index")
    if not isinstance(ds, h5py.Dataset) or ds.shape != () or not _is_str(ds):
        raise HDF5FormatError(f"{path}: {where!r} must be a scalar string dataset (JSON)")
    pools = {}
    for key, pds in ag.items():
        if key == "index":
            continue
        if not key.isdigit() or not isinstance(pds, h5py.Dataset) or pds.ndim != 1:
            raise HDF5FormatError(
                f"{path}: {_where(ag, key)!r}: expected 1-D datasets named 0, 1, ... and index"
            )
        if pds.dtype.kind not in _NUMERIC_KINDS or pds.dtype.fields is not None:
            raise HDF5FormatError(f"{path}: {_where(ag, key)!r} has dtype {pds.dtype}; refused")
        stored_here(path, pds.id, _where(ag, key))
        arr = np.empty(pds.shape, pds.dtype)
        if arr.size:
            pds.read_direct(arr)
        arr.flags.writeable = False
        pools[int(key)] = arr
    stored_here(path, ds.id, where)
    return ds[()], where, pools


def _slice_pools(path: str, where: str, text, pools: dict[int, np.ndarray]) -> list[np.ndarray]:
    """The arrays of one trace: views into its pools (one read-only array per dtype), as the
    ``index`` JSON ``text`` (``[pool, offset, shape]`` per array) says."""
    try:
        index = json.loads(text)
    except ValueError as exc:
        raise HDF5FormatError(f"{path}: {where!r} is not JSON: {exc}") from None
    if not isinstance(index, list):
        raise HDF5FormatError(f"{path}: {where!r} must be a JSON list")
    out = []
    for i, item in enumerate(index):
        ok = (
            isinstance(item, list)
            and len(item) == 3
            and type(item[0]) is int
            and type(item[1]) is int
            and isinstance(item[2], list)
            and all(type(n) is int and n >= 0 for n in item[2])
        )
        pool = pools.get(item[0]) if ok else None
        size = math.prod(item[2]) if ok else 0
        if pool is None or item[1] < 0 or item[1] + size > pool.shape[0]:
            raise HDF5FormatError(
                f"{path}: {where!r} entry {i} ({item!r:.60}) is not [dataset, offset, shape] "
                "inside one of the datasets"
            )
        out.append(pool[item[1] : item[1] + size].reshape(item[2]))
    return out


def snapshot_from(path: str, f: h5py.Group, defer_traces: bool = False) -> Snapshot:
    """The dump in group ``f`` of the open, structure-checked file ``path``, as a Snapshot
    (``defer_traces``: see :func:`_traces`)."""
    index = dump_index(path, f)
    found = {tree: entries(path, f, tree, index) for tree in _TREES}
    info = {n: e.info for n, e in found["parameters"].items()}
    info.update({n: e.info for n, e in found["buffers"].items()})
    for name in found["gradients"]:
        if name not in info:
            raise HDF5FormatError(f"{path}: {_where(f, 'gradients')}/{name} has no parameter")
    modules = _module_tree(path, f, index)
    with _malformed(path, f, "tied"):
        tied = tuple(tuple(str(n) for n in g) for g in _json(path, f, "tied"))
    with _malformed(path, f, "lazy_inits"):
        lazy_inits = {}
        for item in _json(path, f, "lazy_inits", default=[], required=False):
            item = _tuples(item)
            lazy_inits[item["path"]] = LazyInitRecord(**item)
    # NOTE: data is read only now, after every piece of metadata above was checked.
    cache: dict = {}
    arrays = {
        tree: {n: read(e, cache) for n, e in found[tree].items() if not e.info.lazy}
        for tree in _TREES
    }
    with _malformed(path, f, "optimizer"):
        optimizer = _optimizer(path, f)
    with _malformed(path, f, None):
        return Snapshot(
            name=str(_attr(path, f, "name")),
            module_tree=modules,
            parameters=arrays["parameters"],
            gradients=arrays["gradients"],
            buffers=arrays["buffers"],
            tensor_info=info,
            tied=tied,
            optimizer=optimizer,
            lazy_inits=lazy_inits,
            # NOTE: version 1 kept only the lossy tables; its traces are left to read_traces.
            traces=_traces(path, f, defer_traces) if index is not None else (),
        )


@contextlib.contextmanager
def _malformed(path: str, f: h5py.Group, key: str | None):
    """Turn Python's errors on malformed metadata under ``key`` (None: the whole dump in ``f``)
    into HDF5FormatError."""
    try:
        yield
    except HDF5FormatError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        where = f.name if key is None else _where(f, key)
        raise HDF5FormatError(
            f"{path}: {where!r} is malformed ({type(exc).__name__}: {exc})"
        ) from None


def load_snapshot(path, defer_traces: bool = False) -> Snapshot:
    """The dump at ``path`` as a Snapshot, with its traces (from version 2 on)."""
    path = os.fspath(path)
    with open_checked(path) as f:
        return snapshot_from(path, f, defer_traces)


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
            for table in _TABLES:
                if table in g:
                    stored_here(path, g[table].id, g[table].name)
                    item[table] = g[table][()]
            out.append(item)
    return out
