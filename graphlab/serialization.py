"""``graphlab.save`` / ``graphlab.load``: tensors and nested containers, without pickle.

A file (format version 2) is::

    MAGIC | u32 version | u64 header length | JSON header | data | CRC table | u64 n | SHA-256

The JSON header describes the object tree (lists, tuples, dicts, numbers, strings, None, tensors),
each storage (dtype, shape, offset, length, device saved from) and the data layout: the arrays
one after the other, each at a 64-byte-aligned offset, zero padding between them. The data is cut
into chunks of ``chunk_bytes``; the CRC table holds one CRC-32 per chunk (``n`` of them) and the
SHA-256 covers everything else (prefix, header, CRC table, ``n``), so every byte of the file is
checked. CRC-32 rather than one SHA-256 over the data because it is over twice as fast (zlib's
CRC-32 ~3.9 GB/s, OpenSSL's SHA-256 ~1.6 GB/s per core on the development machine) and the
chunks are checked on worker threads while they are read straight into their arrays: a checksum
catches damage, it is not a signature. Version-1 files (one SHA-256 over the whole file, no CRC
table) still load.

Loading never runs code: the header is parsed as JSON (in version 2 only after its SHA-256
matched), checked against a fixed schema, and the storages must tile the data region exactly,
so nothing is allocated beyond the file's size; no tensor is built before every checksum
matched. Writes are atomic: a
temporary file in the target's folder, flushed and fsynced, then ``os.replace`` and an fsync of
the folder, so a crash leaves either the old file or the new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import struct
import tempfile
import zlib
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _dtype, backends
from ._device import CPU
from ._device import device as _device
from .tensor import Tensor

MAGIC = b"GRAPHLAB"
FORMAT_VERSION = 2
_ALIGN = 64
_PREFIX = struct.Struct("<8sIQ")  # magic, version, header length
_FOOTER = struct.Struct("<Q32s")  # number of CRCs, SHA-256 (version 2)
_DIGEST = 32  # the SHA-256 that ends a version-1 file
_MAX_HEADER = 1 << 30
_CHUNK = 4 << 20  # NOTE: the fastest of 256 KiB-16 MiB for read + CRC on 2 threads here
_MIN_CHUNK, _MAX_CHUNK = 4096, 1 << 30
_PARALLEL_MIN = 8 << 20  # below this, thread start-up costs more than it saves
_IOV_MAX = 512  # buffers per preadv call (Linux allows 1024)
_ZEROS = bytes(_ALIGN)
_HAS_PREADV = hasattr(os, "preadv")  # NOTE: else whole-file reads (Windows)
_DTYPE_NAMES = frozenset(d.name for d in _dtype.ALL)


class SerializationError(ValueError):
    """A file that ``graphlab.load`` refuses: names the file and what is wrong."""


# ----- the data region: arrays, padding, chunks, checksums --------------------------------------
def _pad(n: int) -> int:
    return (-n) % _ALIGN


def _offsets(sizes) -> tuple[list[int], int]:
    """Where each array starts in the data region, and the region's length (with padding)."""
    offsets, end = [], 0
    for n in sizes:
        offsets.append(end)
        end += n + _pad(n)
    return offsets, end


def _segments(views: list[memoryview], padding) -> list[memoryview]:
    """The data region as an ordered list of buffers: each array's bytes, then its padding
    (``padding(n)`` gives an ``n``-byte buffer)."""
    out = []
    for v in views:
        if len(v):
            out.append(v)
        if _pad(len(v)):
            out.append(memoryview(padding(_pad(len(v)))))
    return out


def _chunks(segments: list[memoryview], size: int) -> list[list[memoryview]]:
    """Cut the ordered buffers into chunks of ``size`` bytes (the last may be shorter); a chunk
    is a list of slices, so an array spanning chunks, or a chunk spanning arrays, is never
    copied."""
    out, cur, room = [], [], size
    for seg in segments:
        while len(seg):
            take = min(room, len(seg))
            cur.append(seg[:take])
            seg, room = seg[take:], room - take
            if room == 0:
                out.append(cur)
                cur, room = [], size
    if cur:
        out.append(cur)
    return out


def _crc(bufs: list[memoryview]) -> int:
    crc = 0
    for b in bufs:
        crc = zlib.crc32(b, crc)  # NOTE: releases the GIL, so chunks hash in parallel
    return crc


def _workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


@contextlib.contextmanager
def _striped(fn, n: int, workers: int):
    """Start ``fn(k)`` for ``k`` in ``range(n)`` on ``workers`` threads, one stripe of ``k``
    each (inline when ``workers`` is 0); yield a function that waits and returns the results in
    order. The body of the ``with`` runs meanwhile (the writer writes while CRCs are computed)."""
    workers = min(workers, n)
    if workers < 1:
        yield lambda: [fn(k) for k in range(n)]
        return

    def stripe(t: int) -> list:
        return [fn(k) for k in range(t, n, workers)]

    with ThreadPoolExecutor(workers, thread_name_prefix="graphlab-io") as pool:
        futures = [pool.submit(stripe, t) for t in range(workers)]

        def results() -> list:
            out = [0] * n
            for t, fut in enumerate(futures):
                out[t::workers] = fut.result()
            return out

        yield results


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


def _bytes_view(arr: np.ndarray) -> memoryview:
    """The bytes of a C-contiguous array, without a copy."""
    return memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else memoryview(b"")


def save(obj, f) -> None:
    """Save ``obj`` (a tensor, a state dict, nested lists/tuples/dicts of tensors and plain
    values) to path ``f`` atomically, or to a writable binary file object."""
    w = _Writer()
    root = w.encode(obj, "obj")
    offsets, data_bytes = _offsets(a.nbytes for a in w.arrays)
    for meta, arr, off in zip(w.storages, w.arrays, offsets):
        meta["offset"], meta["nbytes"] = off, int(arr.nbytes)
    header = json.dumps(
        {
            "format": "graphlab.save",
            "version": FORMAT_VERSION,
            "root": root,
            "storages": w.storages,
            "tensors": w.tensors,
            "data_bytes": data_bytes,
            "chunk_bytes": _CHUNK,
        },
        separators=(",", ":"),
        allow_nan=False,
    ).encode()
    header += b" " * _pad(_PREFIX.size + len(header))
    head = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(header)) + header
    segments = _segments([_bytes_view(a) for a in w.arrays], lambda n: _ZEROS[:n])
    chunks = _chunks(segments, _CHUNK)

    def write(out, flush_early: bool = False) -> None:
        # NOTE: the arrays go to the file straight from their buffers while worker threads
        # compute the chunks' CRCs from the same memory; nothing is copied.
        # NOTE: one core is left to the writing thread (its copies into the page cache).
        workers = max(1, _workers() - 1) if data_bytes >= _PARALLEL_MIN else 0
        with _striped(lambda k: _crc(chunks[k]), len(chunks), workers) as crcs:
            out.write(head)
            for seg in segments:
                out.write(seg)
            if flush_early and workers:
                # NOTE: the disk takes the data while the CRCs are finished; the final fsync
                # (atomic_path) then has only the CRC table and the footer left to flush.
                out.flush()
                getattr(os, "fdatasync", os.fsync)(out.fileno())  # NOTE: macOS has no fdatasync
            table = np.asarray(crcs(), dtype="<u4").tobytes()
        count = len(chunks).to_bytes(8, "little")
        out.write(table)
        out.write(_FOOTER.pack(len(chunks), hashlib.sha256(head + table + count).digest()))

    if hasattr(f, "write"):
        write(f)
        return
    atomic_write(os.fspath(f), lambda out: write(out, flush_early=True))


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
class _FileSource:
    """Positional reads from a file descriptor (thread-safe: ``preadv`` has no shared offset)."""

    def __init__(self, fd: int, base: int):
        self.fd, self.base = fd, base
        self.size = max(0, os.fstat(fd).st_size - base)

    def read(self, pos: int, n: int) -> bytes:
        buf = bytearray(n)
        self.readinto([memoryview(buf)], pos)
        return bytes(buf)

    def readinto(self, bufs: list[memoryview], pos: int) -> None:
        """Fill the byte buffers ``bufs`` in order from ``pos`` on."""
        pos += self.base
        for i in range(0, len(bufs), _IOV_MAX):
            group = bufs[i : i + _IOV_MAX]
            want = sum(len(b) for b in group)
            got = os.preadv(self.fd, group, pos)
            if got < want:
                self._finish(group, pos, got)
            pos += want

    def _finish(self, group: list[memoryview], pos: int, got: int) -> None:
        """Complete a short read one buffer at a time (rare: a signal, or a file that shrank
        after its size was checked)."""
        for b in group:
            done = min(got, len(b))
            got -= done
            while done < len(b):
                n = os.preadv(self.fd, [b[done:]], pos + done)
                if n == 0:
                    raise EOFError("the file ended early (was it truncated while loading?)")
                done += n
            pos += len(b)


class _BytesSource:
    """Reads from bytes already in memory (file objects without a file descriptor)."""

    def __init__(self, blob: bytes):
        self.blob = memoryview(blob)
        self.size = len(blob)

    def read(self, pos: int, n: int) -> bytes:
        return bytes(self.blob[pos : pos + n])

    def readinto(self, bufs: list[memoryview], pos: int) -> None:
        for b in bufs:
            b[:] = self.blob[pos : pos + len(b)]
            pos += len(b)


def load(f, map_location=None, weights_only: bool = True):
    """Load what ``save`` wrote; ``map_location`` (a device, string, dict or callable) moves
    tensors. Never runs code from the file; a bad file raises ``SerializationError``."""
    if not hasattr(f, "read"):
        name = str(os.fspath(f))
        try:
            fh = open(name, "rb", buffering=0)
        except FileNotFoundError:
            raise FileNotFoundError(f"graphlab.load: no such file: {name!r}") from None
        with fh:
            src = _FileSource(fh.fileno(), 0) if _HAS_PREADV else _BytesSource(fh.read())
            return _Reader(name, src, map_location).run()
    name = str(getattr(f, "name", None) or "<stream>")
    try:
        base = f.tell() if f.seekable() else None
        fd = f.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        base = fd = None
    if base is None or fd is None or not _HAS_PREADV:
        return _Reader(name, _BytesSource(f.read()), map_location).run()
    src = _FileSource(fd, base)
    try:
        return _Reader(name, src, map_location).run()
    finally:
        f.seek(base + src.size)  # NOTE: like read(), leave the stream at its end


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


class _Reader:
    def __init__(self, name: str, src, map_location):
        self.name, self.src, self.map_location = name, src, map_location

    def fail(self, what: str):
        raise SerializationError(f"graphlab.load: {self.name!r}: {what}")

    def run(self):
        try:
            return self.read()
        except EOFError as exc:  # NOTE: the file shrank after its size was checked
            self.fail(str(exc))

    def read(self):
        size = self.src.size
        if size < _PREFIX.size + _DIGEST:
            start = self.src.read(0, min(2, size))
            if start[:1] == b"\x80":
                self.fail("this looks like a pickle file; graphlab never loads pickle")
            self.fail(f"file too short ({size} bytes) to be a graphlab file (truncated?)")
        prefix = self.src.read(0, _PREFIX.size)
        magic, version, hlen = _PREFIX.unpack(prefix)
        if magic != MAGIC:
            if prefix[:1] == b"\x80" or prefix[:2] == b"PK":
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
        trailer = _DIGEST if version == 1 else _FOOTER.size
        if hlen > _MAX_HEADER or _PREFIX.size + hlen + trailer > size:
            self.fail(f"header length {hlen} runs past the end of the file (truncated?)")
        self.data_start = _PREFIX.size + hlen
        head = prefix + self.src.read(_PREFIX.size, hlen)
        if version == 1:
            header = self.parse(head, size - self.data_start - _DIGEST)
            arrays = self.read_v1(head, header)
        else:
            header, table = self.open_v2(head, size)
            arrays = self.read_v2(header, table)
        self.header, self.arrays = header, arrays
        self.storages = [None] * len(header["storages"])
        self.tensors = [None] * len(header["tensors"])
        return self.decode(header["root"], 0)

    def parse(self, head: bytes, data_bytes: int) -> dict:
        """The JSON header, checked against the schema and the data region's size."""
        try:
            header = json.loads(head[_PREFIX.size :].decode())
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            self.fail(f"header is not valid JSON ({exc})")
        self.check_header(header, data_bytes)
        return header

    # -- version 2: SHA-256 over the metadata, one CRC-32 per chunk of data ----------------------
    def open_v2(self, head: bytes, size: int) -> tuple[dict, np.ndarray]:
        count, digest = _FOOTER.unpack(self.src.read(size - _FOOTER.size, _FOOTER.size))
        room = size - self.data_start - _FOOTER.size
        if count > room // 4:
            self.fail(f"checksum table of {count} entries does not fit (truncated or corrupted?)")
        table = self.src.read(size - _FOOTER.size - 4 * count, 4 * count)
        if hashlib.sha256(head + table + struct.pack("<Q", count)).digest() != digest:
            self.fail("checksum mismatch in the header: the file is corrupted or truncated")
        data_bytes = room - 4 * count
        header = self.parse(head, data_bytes)
        chunk = header.get("chunk_bytes")
        if not _is_int(chunk) or not _MIN_CHUNK <= chunk <= _MAX_CHUNK:
            self.fail(f"header: malformed chunk_bytes {chunk!r}")
        if header.get("data_bytes") != data_bytes or count != -(-data_bytes // chunk):
            self.fail(
                f"header: {header.get('data_bytes')!r} data bytes in chunks of {chunk} do not "
                f"match the file's {data_bytes} data bytes and {count} checksums"
            )
        return header, np.frombuffer(table, "<u4")

    def read_v2(self, header: dict, table: np.ndarray) -> list[np.ndarray]:
        arrays, segments = self.allocate(header)
        chunk, start, src = header["chunk_bytes"], self.data_start, self.src
        chunks = _chunks(segments, chunk)

        def fill(k: int) -> int:
            src.readinto(chunks[k], start + k * chunk)
            return _crc(chunks[k])

        big = isinstance(src, _FileSource) and header["data_bytes"] >= _PARALLEL_MIN
        workers = _workers() if big else 0
        with _striped(fill, len(chunks), workers) as results:
            crcs = np.asarray(results(), dtype=np.uint32)
        bad = np.flatnonzero(crcs != table)
        if bad.size:
            lo = int(bad[0]) * chunk
            hi = min(lo + chunk, header["data_bytes"])
            where = [
                f"storage {i}"
                for i, s in enumerate(header["storages"])
                if s["offset"] < hi and s["offset"] + s["nbytes"] > lo
            ]
            self.fail(
                f"checksum mismatch in data bytes {lo}..{hi} ({', '.join(where) or 'padding'}; "
                f"{bad.size} of {len(chunks)} chunks bad): the file is corrupted"
            )
        return arrays

    # -- version 1: one SHA-256 over the whole file ---------------------------------------------
    def read_v1(self, head: bytes, header: dict) -> list[np.ndarray]:
        arrays, segments = self.allocate(header)
        self.src.readinto(segments, self.data_start)
        h = hashlib.sha256(head)
        for seg in segments:
            h.update(seg)
        if h.digest() != self.src.read(self.src.size - _DIGEST, _DIGEST):
            self.fail("checksum mismatch: the file is corrupted or truncated")
        return arrays

    def allocate(self, header: dict) -> tuple[list[np.ndarray], list[memoryview]]:
        """Empty arrays for the storages (the header was checked against the file's size), and
        the data region as buffers to read into: the arrays' bytes and scratch padding."""
        arrays = [np.empty(s["shape"], _dtype.to_dtype(s["dtype"]).np) for s in header["storages"]]
        return arrays, _segments([_bytes_view(a) for a in arrays], bytearray)

    def check_header(self, h, data_bytes: int) -> None:
        if not isinstance(h, dict) or h.get("format") != "graphlab.save":
            self.fail("header: expected format 'graphlab.save'")
        for key, typ in (("storages", list), ("tensors", list), ("root", object)):
            if key not in h or not isinstance(h[key], typ):
                self.fail(f"header: missing or malformed {key!r}")
        expected = 0
        for i, s in enumerate(h["storages"]):
            if not isinstance(s, dict):
                self.fail(f"storage {i}: expected an object")
            if not isinstance(s.get("dtype"), str) or s["dtype"] not in _DTYPE_NAMES:
                self.fail(f"storage {i}: unsupported dtype {s.get('dtype')!r}")
            shape, off, n = s.get("shape"), s.get("offset"), s.get("nbytes")
            if not isinstance(shape, list) or not all(_is_int(x) and 0 <= x < 2**62 for x in shape):
                self.fail(f"storage {i}: malformed shape {shape!r}")
            if not all(_is_int(x) and x >= 0 for x in (off, n)):
                self.fail(f"storage {i}: malformed offset/nbytes")
            itemsize = _dtype.to_dtype(s["dtype"]).itemsize
            if math.prod(shape) * itemsize != n:
                self.fail(f"storage {i}: {n} bytes do not match shape {shape} of {s['dtype']}")
            if off + n > data_bytes:
                self.fail(f"storage {i}: data runs past the end of the file (truncated?)")
            if off != expected:
                self.fail(
                    f"storage {i}: offset {off}, expected {expected} (storages lie in order, "
                    f"each {_ALIGN}-byte aligned)"
                )
            expected = off + n + _pad(n)
            if not isinstance(s.get("device"), str):
                self.fail(f"storage {i}: malformed device")
            try:
                _device(s["device"])
            except (TypeError, ValueError):
                self.fail(f"storage {i}: unknown device {s['device']!r}")
        if expected != data_bytes:
            self.fail(
                f"the header describes {expected} data bytes, the file holds {data_bytes} "
                "(truncated or corrupted?)"
            )
        for i, t in enumerate(h["tensors"]):
            if (
                not isinstance(t, dict)
                or not _is_int(t.get("storage"))
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
            host = self.arrays[i]
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


__all__ = ["save", "load", "SerializationError", "atomic_path", "atomic_write"]
