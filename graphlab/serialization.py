"""``graphlab.save`` / ``graphlab.load``: tensors and nested containers, without pickle.

A file is ``MAGIC | u32 version | u64 header length | JSON header | aligned raw arrays | SHA-256``.
The header describes the object tree (lists, tuples, dicts, numbers, strings, None, tensors) and
each storage (dtype, shape, offset, length, device saved from). Loading never runs code: the
header is parsed as JSON and checked against a fixed schema, every storage is bounds-checked and
the checksum verified before any tensor is built. Writes are atomic: a temporary file in the
target's folder, flushed and fsynced, then ``os.replace`` and an fsync of the folder, so a crash
leaves either the old file or the new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import struct
import tempfile
from collections import OrderedDict

import numpy as np

from . import _dtype, backends
from ._device import CPU
from ._device import device as _device
from .tensor import Tensor

MAGIC = b"GRAPHLAB"
FORMAT_VERSION = 1
_ALIGN = 64
_PREFIX = struct.Struct("<8sIQ")  # magic, version, header length
_DIGEST = 32
_MAX_HEADER = 1 << 30
_DTYPE_NAMES = frozenset(d.name for d in _dtype.ALL)


class SerializationError(ValueError):
    """A file that ``graphlab.load`` refuses: names the file and what is wrong."""


# ----- saving -----------------------------------------------------------------------------------
class _Writer:
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
            return {"t": "tensor", "i": self._tensor(obj, path)}
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

    def _tensor(self, t: Tensor, path: str) -> int:
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


def _pad(n: int) -> int:
    return (-n) % _ALIGN


def save(obj, f) -> None:
    """Save ``obj`` (a tensor, a state dict, nested lists/tuples/dicts of tensors and plain
    values) to path ``f`` atomically, or to a writable binary file object."""
    w = _Writer()
    root = w.encode(obj, "obj")
    offset = 0
    for meta, arr in zip(w.storages, w.arrays):
        meta["offset"] = offset
        meta["nbytes"] = int(arr.nbytes)
        offset += arr.nbytes + _pad(arr.nbytes)
    header = json.dumps(
        {
            "format": "graphlab.save",
            "version": FORMAT_VERSION,
            "root": root,
            "storages": w.storages,
            "tensors": w.tensors,
            "data_bytes": offset,
        },
        separators=(",", ":"),
        allow_nan=False,
    ).encode()
    header += b" " * _pad(_PREFIX.size + len(header))

    def write(out) -> None:
        h = hashlib.sha256()

        def put(b) -> None:
            h.update(b)
            out.write(b)

        put(_PREFIX.pack(MAGIC, FORMAT_VERSION, len(header)))
        put(header)
        for arr in w.arrays:
            put(memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else b"")
            put(b"\0" * _pad(arr.nbytes))
        out.write(h.digest())

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


# ----- loading ----------------------------------------------------------------------------------
def load(f, map_location=None, weights_only: bool = True):
    """Load what ``save`` wrote; ``map_location`` (a device, string, dict or callable) moves
    tensors. Never runs code from the file; a bad file raises ``SerializationError``."""
    name = getattr(f, "name", None) if hasattr(f, "read") else os.fspath(f)
    name = str(name or "<stream>")
    if hasattr(f, "read"):
        blob = f.read()
    else:
        try:
            with open(name, "rb") as fh:
                blob = fh.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"graphlab.load: no such file: {name!r}") from None
    return _Reader(name, blob, map_location).run()


class _Reader:
    def __init__(self, name, blob, map_location):
        self.name, self.blob, self.map_location = name, blob, map_location

    def fail(self, what: str):
        raise SerializationError(f"graphlab.load: {self.name!r}: {what}")

    def run(self):
        blob = self.blob
        if len(blob) < _PREFIX.size + _DIGEST:
            if blob[:2] == b"\x80\x04" or blob[:1] == b"\x80":
                self.fail("this looks like a pickle file; graphlab never loads pickle")
            self.fail(f"file too short ({len(blob)} bytes) to be a graphlab file (truncated?)")
        magic, version, hlen = _PREFIX.unpack_from(blob)
        if magic != MAGIC:
            if blob[:1] == b"\x80" or blob[:2] == b"PK":
                self.fail(
                    "this looks like a pickle/zip file (e.g. written by torch.save); "
                    "graphlab never loads pickle"
                )
            self.fail("not a graphlab file (bad magic bytes)")
        if version > FORMAT_VERSION:
            self.fail(
                f"format version {version} is newer than this graphlab supports "
                f"({FORMAT_VERSION}); upgrade graphlab"
            )
        if version < 1:
            self.fail(f"invalid format version {version}")
        if hlen > _MAX_HEADER or _PREFIX.size + hlen + _DIGEST > len(blob):
            self.fail(f"header length {hlen} runs past the end of the file (truncated?)")
        body, digest = blob[:-_DIGEST], blob[-_DIGEST:]
        if hashlib.sha256(body).digest() != digest:
            self.fail("checksum mismatch: the file is corrupted or truncated")
        try:
            header = json.loads(blob[_PREFIX.size : _PREFIX.size + hlen].decode())
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            self.fail(f"header is not valid JSON ({exc})")
        self.data_start = _PREFIX.size + hlen
        self.data_end = len(blob) - _DIGEST
        self.check_header(header)
        self.storages = [None] * len(header["storages"])
        self.tensors = [None] * len(header["tensors"])
        self.header = header
        return self.decode(header["root"], 0)

    def check_header(self, h) -> None:
        if not isinstance(h, dict) or h.get("format") != "graphlab.save":
            self.fail("header: expected format 'graphlab.save'")
        for key, typ in (("storages", list), ("tensors", list), ("root", object)):
            if key not in h or not isinstance(h[key], typ):
                self.fail(f"header: missing or malformed {key!r}")
        for i, s in enumerate(h["storages"]):
            if not isinstance(s, dict):
                self.fail(f"storage {i}: expected an object")
            if not isinstance(s.get("dtype"), str) or s["dtype"] not in _DTYPE_NAMES:
                self.fail(f"storage {i}: unsupported dtype {s.get('dtype')!r}")
            shape, off, n = s.get("shape"), s.get("offset"), s.get("nbytes")
            if not isinstance(shape, list) or not all(
                isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 2**62 for x in shape
            ):
                self.fail(f"storage {i}: malformed shape {shape!r}")
            if not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in (off, n)):
                self.fail(f"storage {i}: malformed offset/nbytes")
            itemsize = _dtype.to_dtype(s["dtype"]).itemsize
            if math.prod(shape) * itemsize != n:
                self.fail(f"storage {i}: {n} bytes do not match shape {shape} of {s['dtype']}")
            if self.data_start + off + n > self.data_end:
                self.fail(f"storage {i}: data runs past the end of the file (truncated?)")
            if not isinstance(s.get("device"), str):
                self.fail(f"storage {i}: malformed device")
            try:
                _device(s["device"])
            except (TypeError, ValueError):
                self.fail(f"storage {i}: unknown device {s['device']!r}")
        for i, t in enumerate(h["tensors"]):
            if (
                not isinstance(t, dict)
                or not isinstance(t.get("storage"), int)
                or not (0 <= t["storage"] < len(h["storages"]))
            ):
                self.fail(f"tensor {i}: bad storage reference")
            if t.get("kind") not in ("tensor", "parameter"):
                self.fail(f"tensor {i}: unknown kind {t.get('kind')!r}")

    def target_device(self, saved: str):
        ml = self.map_location
        if ml is None:
            dev = _device(saved)
        elif callable(ml) and not isinstance(ml, (str, _device)):
            dev = _device(ml(saved))
        elif isinstance(ml, dict):
            dev = _device(ml.get(saved, saved))
        else:
            dev = _device(ml)
        if dev.type == "cuda":
            from . import cuda

            if not cuda.is_available():
                self.fail(
                    f"tensors were saved on {saved} but CUDA is not available here; pass "
                    "map_location='cpu' to load them onto the CPU"
                )
        return dev

    def storage(self, i: int):
        if self.storages[i] is None:
            s = self.header["storages"][i]
            d = _dtype.to_dtype(s["dtype"])
            start = self.data_start + s["offset"]
            raw = np.frombuffer(self.blob, np.uint8, s["nbytes"], start)
            host = raw.view(d.np).reshape(s["shape"]).copy()
            dev = self.target_device(s["device"])
            data = host if dev.type == "cpu" else _to_cuda(host, dev)
            self.storages[i] = (data, dev)
        return self.storages[i]

    def tensor(self, i: int):
        if self.tensors[i] is None:
            meta = self.header["tensors"][i]
            data, dev = self.storage(meta["storage"])
            if meta["kind"] == "parameter":
                from .nn.parameter import Parameter

                t = Parameter(Tensor._wrap(data, dev), requires_grad=meta["requires_grad"])
            else:
                t = Tensor._wrap(data, dev, bool(meta["requires_grad"]))
            self.tensors[i] = t
        return self.tensors[i]

    def decode(self, node, depth: int):
        if depth > 200:
            self.fail("object tree nested too deeply")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or not isinstance(node.get("t"), str):
            self.fail(f"malformed object node {str(node)[:60]!r}")
        t = node["t"]
        if t == "tensor":
            i = node.get("i")
            if not isinstance(i, int) or not 0 <= i < len(self.tensors):
                self.fail(f"bad tensor reference {i!r}")
            return self.tensor(i)
        if t in ("list", "tuple"):
            items = node.get("v")
            if not isinstance(items, list):
                self.fail(f"malformed {t}")
            out = [self.decode(v, depth + 1) for v in items]
            return out if t == "list" else tuple(out)
        if t in ("dict", "odict"):
            keys, vals = node.get("k"), node.get("v")
            if not isinstance(keys, list) or not isinstance(vals, list) or len(keys) != len(vals):
                self.fail("malformed dict")
            if not all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in keys):
                self.fail("dict keys must be str or int")
            d = OrderedDict() if t == "odict" else {}
            for k, v in zip(keys, vals):
                d[k] = self.decode(v, depth + 1)
            return d
        if t == "int" and isinstance(node.get("v"), str):
            try:
                return int(node["v"])
            except ValueError:
                self.fail("malformed big int")
        if t == "float" and node.get("v") in ("nan", "inf", "-inf"):
            return float(node["v"])
        if t == "dtype" and isinstance(node.get("v"), str) and node["v"] in _DTYPE_NAMES:
            return _dtype.to_dtype(node["v"])
        if t == "device" and isinstance(node.get("v"), str):
            try:
                return _device(node["v"])
            except (TypeError, ValueError):
                self.fail(f"bad device {node['v']!r}")
        self.fail(f"unknown object node type {t!r}")


def _to_cuda(host, dev):
    from . import transfer

    return transfer.move(host, CPU, dev, reason="load")


__all__ = ["save", "load", "SerializationError", "atomic_write"]
