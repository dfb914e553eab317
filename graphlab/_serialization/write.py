"""``graphlab.save``: the object tree as JSON, the arrays as raw bytes, atomic writes.

Layout in :mod:`graphlab.serialization`; the shared pieces in :mod:`.format`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from collections import OrderedDict

import numpy as np

from .. import _dtype, backends
from .._device import device as _device
from ..tensor import Tensor
from . import format as fmt


class _Encoder:
    """Turns an object tree into the header's JSON nodes, collecting each tensor once and each
    storage (a host array) once."""

    def __init__(self):
        self.storages: list[dict] = []
        self.arrays: list[np.ndarray] = []
        self.tensors: list[dict] = []
        self._by_tensor: dict[int, int] = {}
        self._by_array: dict[tuple, int] = {}
        self._keep: list = []  # NOTE: keeps encoded objects alive so id() stays unique

    def encode(self, obj, path: str):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return obj if abs(obj) < 2**53 else {"t": "int", "v": str(obj)}
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"t": "float", "v": repr(obj)}
        if isinstance(obj, Tensor):
            return {"t": "tensor", "i": self._tensor(obj)}
        if isinstance(obj, _dtype.dtype):
            return {"t": "dtype", "v": obj.name}
        if isinstance(obj, _device):
            return {"t": "device", "v": str(obj)}
        if isinstance(obj, (list, tuple)):
            kind = "list" if isinstance(obj, list) else "tuple"
            return {"t": kind, "v": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, dict):
            keys = list(obj.keys())
            for k in keys:
                if not isinstance(k, (str, int)) or isinstance(k, bool):
                    raise TypeError(
                        f"graphlab.save: dict keys must be str or int, got "
                        f"{type(k).__name__} {k!r} at {path}"
                    )
            return {
                "t": "odict" if isinstance(obj, OrderedDict) else "dict",
                "k": keys,
                "v": [self.encode(obj[k], f"{path}[{k!r}]") for k in keys],
            }
        if isinstance(obj, np.ndarray):
            raise TypeError(
                f"graphlab.save: NumPy array at {path}; wrap it with graphlab.from_numpy(...) first"
            )
        raise TypeError(
            f"graphlab.save: cannot save {type(obj).__name__} at {path}; supported: tensors, "
            "lists, tuples, dicts with str/int keys, numbers, strings, None (no pickle)"
        )

    def _tensor(self, t: Tensor) -> int:
        if id(t) in self._by_tensor:
            return self._by_tensor[id(t)]
        self._keep.append(t)
        arr = t._data
        key = (id(arr), arr.shape, arr.dtype.str)
        s = self._by_array.get(key)
        if s is None:
            host = arr if t.device.type == "cpu" else backends.cuda().to_host(arr)
            host = np.ascontiguousarray(host)
            s = len(self.storages)
            self.storages.append(
                {"dtype": t.dtype.name, "shape": list(arr.shape), "device": str(t.device)}
            )
            self.arrays.append(host)
            self._by_array[key] = s
            self._keep.append(arr)
        kind = "parameter" if type(t).__name__ == "Parameter" else "tensor"
        self.tensors.append({"storage": s, "requires_grad": bool(t.requires_grad), "kind": kind})
        self._by_tensor[id(t)] = len(self.tensors) - 1
        return len(self.tensors) - 1


def save(obj, f) -> None:
    """Save ``obj`` (a tensor, a state dict, nested lists/tuples/dicts of tensors and plain
    values) to path ``f`` atomically, or to a writable binary file object."""
    enc = _Encoder()
    root = enc.encode(obj, "obj")
    starts, data_bytes = fmt.offsets(a.nbytes for a in enc.arrays)
    for meta, arr, off in zip(enc.storages, enc.arrays, starts):
        meta["offset"], meta["nbytes"] = off, int(arr.nbytes)
    chunk = fmt.CHUNK
    header = json.dumps(
        {
            "format": "graphlab.save",
            "version": fmt.FORMAT_VERSION,
            "root": root,
            "storages": enc.storages,
            "tensors": enc.tensors,
            "data_bytes": data_bytes,
            "chunk_bytes": chunk,
        },
        separators=(",", ":"),
        allow_nan=False,
    ).encode()
    header += b" " * fmt.pad(fmt.PREFIX.size + len(header))
    head = fmt.PREFIX.pack(fmt.MAGIC, fmt.FORMAT_VERSION, len(header)) + header
    segs = fmt.segments([fmt.bytes_view(a) for a in enc.arrays], lambda n: fmt.ZEROS[:n])
    chunks = fmt.chunks(segs, chunk)
    checksum = fmt.CHUNK_SUMS[fmt.FORMAT_VERSION]

    def write(out) -> None:
        # NOTE: each chunk is hashed, then written while it is still in the CPU cache, straight
        # from the arrays' memory: nothing is copied. XXH3 is fast enough that worker threads
        # no longer pay for themselves.
        out.write(head)
        sums = []
        for bufs in chunks:
            sums.append(checksum.fn(bufs))
            for b in bufs:
                out.write(b)
        table = np.asarray(sums, dtype=checksum.dtype).tobytes()
        count = len(chunks).to_bytes(8, "little")
        out.write(table)
        out.write(fmt.FOOTER.pack(len(chunks), hashlib.sha256(head + table + count).digest()))

    if hasattr(f, "write"):
        write(f)
        return
    atomic_write(os.fspath(f), write)


@contextlib.contextmanager
def atomic_path(path: str):
    """Yield a temporary path beside ``path``; when the block ends, fsync it, atomically
    replace ``path`` with it and fsync the folder. On an error the temporary file is removed and
    ``path`` is left as it was. (Used by ``graphlab.save`` and ``exporters.hdf5``.)"""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + os.path.basename(path) + "-", dir=folder)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write(path: str, write) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then atomically replace it."""
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        write(out)
