"""Session files: every model of a :class:`graphlab.inspect.Session` in one HDF5 file.

- :func:`save_session` — a session (models, their state and their recorded passes) to ``.h5``;
- :func:`load_session` — a session file, or a plain single-model dump of :mod:`exporters.hdf5`
  (a session of one model), back as a :class:`~graphlab.inspect.Session`.

Layout (session format version 1)::

    /                 attrs: format="graphlab.session", version=1, name, source, models (JSON:
                      the models' names, in order)
    /models/<i>/      one full dump per model, in order, in the layout of exporters.hdf5
                      (its own format/version attrs, parameters, gradients, buffers, modules,
                      optimizer, traces with their lossless records, index); tied parameters
                      are hard links inside their model's group

Plain h5py reads a model as it reads a dump, one group down: ``f["models/0/parameters/0/weight"]``.
Writing is atomic (a temporary file beside the target replaces it), and loading validates the
whole file's structure (no soft or external links, no virtual datasets or external storage) and
each model's dump before any array is read; errors are :class:`HDF5FormatError` naming the file.
"""

from __future__ import annotations

import json
import os

import h5py

from graphlab.inspect.session import Session
from graphlab.serialization import atomic_path

from . import _hdf5_read as _read
from . import _hdf5_write as _write
from ._hdf5_read import HDF5FormatError

__all__ = ["FORMAT", "VERSION", "HDF5FormatError", "load_session", "save_session"]

FORMAT = _write.SESSION_FORMAT
VERSION = 1


def save_session(session: Session, path: str | os.PathLike, compression: str | None = None):
    """Write ``session`` to the HDF5 file ``path`` (layout in the module docstring).

    Every model is saved whole: parameters, gradients, buffers, optimizer state, lazy records
    and its traces, losslessly. ``compression`` is ``None``, ``"gzip"`` or ``"lzf"``. The file
    is replaced atomically: a failure leaves the previous file intact.
    """
    if not isinstance(session, Session):
        raise TypeError(
            f"exporters.session.save_session: expected a graphlab.inspect.Session, got "
            f"{type(session).__name__}; build one with graphlab.inspect.session(models) or "
            "graphlab.inspect.record_session()"
        )
    _write.check_compression(compression, "exporters.session.save_session")
    sources = [_write.source(m) for m in session.models]
    path = os.fspath(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(
            format=FORMAT,
            version=VERSION,
            name=session.name,
            source=session.source,
            models=json.dumps([m.name for m in session.models]),
        )
        models = f.create_group("models")
        for i, src in enumerate(sources):
            _write.write_dump(models.create_group(str(i)), src, compression)


def load_session(path: str | os.PathLike, defer_traces: bool = False) -> Session:
    """The session saved at ``path`` by :func:`save_session`, as a :class:`Session`.

    A single-model dump of ``exporters.hdf5.save`` opens too, as a session of that one model
    (named after it, ``source`` the file's path). Anything else raises :class:`HDF5FormatError`
    naming the file (``FileNotFoundError`` when there is no file). ``defer_traces``: decode
    each trace on first read of its events, as ``exporters.hdf5.load`` does (the workbench
    opens files this way and decodes the passes in a worker).
    """
    path = os.fspath(path)
    with _read.open_file(path) as f:
        fmt = _read._attr(path, f, "format", required=False)
        if fmt == _write.FORMAT:
            _read.check_dump(path, f)
            _read.check_tree(path, f)
            snap = _read.snapshot_from(path, f, defer_traces)
            return Session(name=snap.name, models=(snap,), source=path)
        if fmt != FORMAT:
            raise HDF5FormatError(
                f"{path}: not a graphlab session file (root attribute format={fmt!r}, expected "
                f"{FORMAT!r} or a single-model dump, {_write.FORMAT!r})"
            )
        version = _read._attr(path, f, "version")
        if not isinstance(version, int) or not 1 <= version <= VERSION:
            raise HDF5FormatError(
                f"{path}: session format version {version!r}; this graphlab reads versions "
                f"1..{VERSION} (upgrade graphlab to read newer sessions)"
            )
        _read.check_tree(path, f)
        models = f.get("models")
        if not isinstance(models, h5py.Group):
            raise HDF5FormatError(f"{path}: no /models group (one group per model)")
        keys = sorted(models, key=lambda k: int(k) if k.isdigit() else -1)
        if keys != [str(i) for i in range(len(keys))]:
            raise HDF5FormatError(
                f"{path}: /models must hold groups named 0..n-1, got {sorted(models)}"
            )
        snaps = []
        for key in keys:
            g = models[key]
            if not isinstance(g, h5py.Group):
                raise HDF5FormatError(f"{path}: /models/{key} is not a group")
            snaps.append(_read.snapshot_from(path, g, defer_traces))
        try:
            return Session(
                name=str(_read._attr(path, f, "name")),
                models=tuple(snaps),
                source=str(_read._attr(path, f, "source", default="", required=False)),
            )
        except ValueError as exc:
            raise HDF5FormatError(f"{path}: {exc}") from None
