"""HDF5 dumps of a model: readable by plain h5py and ``h5ls -r``, tied parameters kept.

- :func:`save` — a model (or a :class:`graphlab.inspect.Snapshot`) to one ``.h5`` file;
- :func:`load` — a dump back as a Snapshot (host NumPy arrays, tied names share one array);
- :func:`load_into` — a dump's parameters and persistent buffers into a live model, in place;
- :func:`read_traces` — the trace tables of a dump as NumPy structured arrays.

Layout (format version 2)::

    /                          attrs: format="graphlab.hdf5", version=2, name (the model's
                               class), tied (JSON list of tied name groups), lazy_inits (JSON)
    /parameters/<module path>/<name>   one dataset per parameter name: "0.net.2.weight" is
                               /parameters/0/net/2/weight. Attrs: kind, dtype (graphlab's name),
                               shape (JSON), device (where it lived), module_class,
                               requires_grad, lazy, persistent, aliases (JSON: every name of
                               this tensor)
    /gradients/...             the same tree for ``.grad`` (only parameters that have one)
    /buffers/...               the same tree for buffers (persistent or not: see ``persistent``)
    /modules[/<child>...]      one group per module position; attrs class_name, type_name,
                               extra_repr, repr (``Class(extra_repr)``), parameters, buffers,
                               children (JSON, in registration order), num_parameters,
                               own_num_parameters, lazy, devices, training, alias_of (JSON: the
                               first path of a module used twice); /modules has model_repr
    /optimizer                 attrs type_name, param_groups and param_names (JSON);
      /state/<index>/<key>     state arrays (``exp_avg``…); plain values (``step``) in the
                               group's ``values`` JSON attr
    /traces/<i>                one group per trace; attrs index, roots, level, timing, dropped,
                               interrupted, events. Compound datasets (tables) ``ops``,
                               ``backward``, ``transfers``, ``syncs``, ``inits`` hold the
                               events' scalar fields (shapes, norms and names as JSON strings;
                               missing times as NaN, missing ids and device_bytes as -1),
                               for plain readers
      /records                 the whole trace, losslessly: a JSON string, the record of
                               :mod:`graphlab.trace.records` (what :func:`load` rebuilds)
      /arrays/<k>              the arrays the events hold (op output values, gradient
                               contributions), raveled and concatenated: one 1-D dataset per
                               dtype; ``/arrays/index`` (JSON) lists ``[k, offset, shape]`` for
                               the record's arrays in order
    /index                     JSON: what the loader reads instead of thousands of attributes —
                               {"parameters"|"gradients"|"buffers": [{"name", kind, dtype,
                               shape, device, module_class, requires_grad, lazy, persistent,
                               aliases}, ...], "modules": [{"path", class_name, ...}, ...]}, the
                               same keys and values as the attributes above (lists, not JSON
                               text), in model order

The same layout can sit in any group instead of the root: a session file
(:mod:`exporters.session`) holds one dump per model under ``/models/<i>``. Version 1 files (no
``/index``, no ``records``/``arrays`` in trace groups) still load, from the attributes; their
traces are left out of :func:`load` and read with :func:`read_traces`.

Tied parameters (one tensor, several names) are HDF5 **hard links**: one dataset reached by each
name, so ``f["parameters/2/weight"].id == f["parameters/4/weight"].id`` and the data is stored
once; loading gives one shared array. Tensors are stored contiguously, or chunked (chunks of at
most 4 MiB, cut along the leading axes) when ``gzip``/``lzf`` compression is asked for — chunking
without a filter only costs throughput (see ``bench/io.py``). They are written one at a time (a
``cpu`` tensor is written from its own storage; one on another device is copied to the host
once) into a temporary file in the target's folder that replaces the target atomically.

Lazy models: an uninitialized (lazy) parameter or buffer is saved *as such*, an empty dataset
(``h5py.Empty``, no shape) with ``lazy=True`` and its dtype. :func:`load` lists it in
``tensor_info`` with ``shape=None``; :func:`load_into` skips it when the model's tensor is lazy
too, and reports it as a mismatch when the model's tensor is initialized. A lazy tensor of the
model receiving real data from the file is materialized with the file's shape.

Loading validates before reading any data: the file must carry the format attribute and a known
version; only groups and datasets reached by hard links are accepted (soft, external and
user-defined links, committed datatypes, external storage and virtual datasets are refused), and
each dataset's stored dtype and shape must agree with its entry in ``/index`` (version 1: with
its attributes; from version 2 on the per-object attributes are for other readers, and datasets
the index does not list are not part of the dump). Errors are
:class:`HDF5FormatError` (a ``ValueError``) or ``RuntimeError`` from :func:`load_into`, and name
the file and the key.
"""

from __future__ import annotations

import math
import os
from typing import NamedTuple

import numpy as np

from graphlab.inspect.snapshot import Snapshot

from . import _hdf5_read as _read
from . import _hdf5_write as _write
from ._hdf5_read import HDF5FormatError, read_traces

__all__ = ["FORMAT", "VERSION", "HDF5FormatError", "LoadResult", "load", "load_into", "save"]

FORMAT = _write.FORMAT
VERSION = _write.VERSION
__all__ += ["read_traces"]


def save(
    model_or_snapshot,
    path: str | os.PathLike,
    grads: bool = True,
    buffers: bool = True,
    optimizer=None,
    traces=None,
    compression: str | None = None,
) -> None:
    """Write ``model_or_snapshot`` to the HDF5 file ``path`` (layout in the module docstring).

    ``grads``/``buffers`` include the gradient and buffer trees; ``optimizer`` (a
    ``graphlab.optim.Optimizer``) and ``traces`` (a ``Trace`` or a list) are only accepted with a
    live model — a Snapshot carries its own. ``compression`` is ``None``, ``"gzip"`` or
    ``"lzf"``. The file is replaced atomically: a failure leaves the previous file intact.
    """
    _write.write(model_or_snapshot, path, grads, buffers, optimizer, traces, compression)


def load(path: str | os.PathLike, defer_traces: bool = False) -> Snapshot:
    """The dump at ``path`` as a :class:`~graphlab.inspect.Snapshot` of host arrays.

    Tied names map to one shared array; uninitialized lazy tensors appear in ``tensor_info``
    only. ``traces`` are the saved passes rebuilt exactly (the events' arrays are read-only);
    empty for a version-1 file, whose trace tables :func:`read_traces` still reads. A session
    file (several models) is refused: open it with ``exporters.session.load_session``.

    ``defer_traces=True`` reads the traces' bytes but decodes each trace the first time its
    events are read (``Trace.deferred``: meta and ``len()`` are there at once, from the trace
    group's attributes). A big file's models are then ready in a fraction of the time; a
    malformed trace record raises ``HDF5FormatError`` at that first read instead of here.
    """
    return _read.load_snapshot(path, defer_traces)


def _in_place(target, cpu) -> bool:
    """Whether ``load_into`` reads straight into ``target``'s array: an initialized tensor on
    the CPU device whose array owns its memory (so it overlaps no other) and is C-contiguous."""
    from graphlab.nn.parameter import is_lazy

    if is_lazy(target) or target._device is not cpu:
        return False
    data = target._data
    return data.base is None and data.flags.c_contiguous and data.flags.writeable


class LoadResult(NamedTuple):
    """What :func:`load_into` returns: the keys it skipped (only possible with ``strict=False``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def load_into(model, path: str | os.PathLike, strict: bool = True) -> LoadResult:
    """Copy the dump's parameters and persistent buffers into ``model`` in place.

    Every key of ``model.state_dict()`` is checked against the file before any data is read:
    missing keys, unexpected keys (both errors when ``strict``), dtype and shape mismatches
    (always errors), lazy/initialized mismatches and names tied in the model but stored as
    separate datasets are all collected and raised together in one ``RuntimeError`` naming the
    file, and the model is left untouched. Values are then read into the existing tensors (CPU
    tensors in place, each dataset once), so tied parameters stay tied and optimizers keep their
    references; if any read fails, every tensor is put back as it was and an
    :class:`HDF5FormatError` names the dataset. Gradients and non-persistent buffers in the file
    are not loaded.
    """
    import graphlab
    from graphlab._device import CPU
    from graphlab.creation import from_numpy
    from graphlab.inspect.tables import _model_entries
    from graphlab.inspect.tree import _check_module
    from graphlab.nn.parameter import is_lazy

    try:
        _check_module(model, "load_into")
    except TypeError as exc:
        raise TypeError(str(exc).replace("graphlab.inspect.", "exporters.hdf5.")) from None
    path = os.fspath(path)
    expected = {
        name: t
        for name, info, t in _model_entries(model)
        if info.persistent  # state_dict keys
    }
    with _read.open_checked(path) as f:
        stored = _read.entries(path, f, "parameters")
        stored.update(
            {n: e for n, e in _read.entries(path, f, "buffers").items() if e.info.persistent}
        )
        missing = [k for k in expected if k not in stored]
        unexpected = [k for k in stored if k not in expected]
        errors: list[str] = []
        if strict and missing:
            errors.append("missing key(s) (in the model, not in the file): " + ", ".join(missing))
        if strict and unexpected:
            errors.append(
                "unexpected key(s) (in the file, not in the model): " + ", ".join(unexpected)
            )
        plan = []
        by_tensor: dict[int, tuple[str, object]] = {}
        for key, target in expected.items():
            entry = stored.get(key)
            if entry is None:
                continue
            want = target.dtype.np if hasattr(target.dtype, "np") else target.dtype
            if entry.info.lazy:
                if not is_lazy(target):
                    errors.append(
                        f"{key}: the file holds an uninitialized (lazy) tensor but the model's is "
                        f"initialized with shape {tuple(target.shape)}; save the model after a "
                        "forward pass"
                    )
                continue
            if entry.dtype != want or entry.dtype.itemsize != want.itemsize:
                errors.append(f"{key}: dtype {entry.dtype} in the file, {want} in the model")
                continue
            if not is_lazy(target) and entry.shape != tuple(target.shape):
                nbytes = math.prod(entry.shape) * want.itemsize
                errors.append(
                    f"{key}: shape {entry.shape} in the file ({nbytes} bytes), "
                    f"{tuple(target.shape)} in the model"
                )
                continue
            first = by_tensor.get(id(target))
            if first is not None:
                if first[1].dsid != entry.dsid:
                    errors.append(
                        f"{key}: tied to {first[0]!r} in the model, but the file stores them as "
                        "separate datasets (not hard links)"
                    )
                continue
            by_tensor[id(target)] = (key, entry)
            plan.append((target, entry))
        if errors:
            raise RuntimeError(
                f"exporters.hdf5.load_into: {len(errors)} problem(s) loading {path!r} into "
                f"{model._get_name()}:\n\t"
                + "\n\t".join(errors)
                + "\nNothing was loaded: the model is unchanged. Fix the file or the model "
                "(strict=False ignores missing and unexpected keys, never mismatches)."
            )
        # NOTE: the model is left untouched if any read fails: initialized CPU tensors are
        # read into in place, all or nothing (read_in_place keeps a copy of their old values
        # meanwhile); the rest (lazy tensors, other devices) are read first into host arrays
        # and only moved into the model once every read succeeded.
        direct, later = [], []
        for target, entry in plan:
            (direct if _in_place(target, CPU) else later).append((target, entry))
        cache: dict = {}
        staged = []
        for target, entry in later:
            try:
                staged.append((target, _read.read(entry, cache, readonly=False)))
            except (OSError, ValueError) as exc:
                raise HDF5FormatError(
                    f"{path}: reading {entry.name!r} failed ({exc}); nothing was loaded"
                ) from None
        _read.read_in_place(path, [(t._data, e) for t, e in direct])
    with graphlab.no_grad():
        for target, _ in direct:
            target._version.value += 1
        for target, arr in staged:
            if is_lazy(target):
                target.materialize(arr.shape)
            if target._device is CPU:
                # NOTE: the file's array already has the tensor's dtype and shape, so one copy
                # does; copy_ broadcasts and casts through an op (3x slower on 400 MB).
                np.copyto(target._data, arr)
                target._version.value += 1
            else:
                target.copy_(from_numpy(arr))
    return LoadResult(missing, unexpected)
