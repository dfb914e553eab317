"""``graphlab.load``: the prefix and header checked, the data read straight into fresh arrays
and checked chunk by chunk, then the object tree rebuilt (:mod:`.decode`).

Layout in :mod:`graphlab.serialization`; versions 1 (one SHA-256 over the file), 2 (CRC-32 per
chunk) and 3 (XXH3-64 per chunk) all load.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import format as fmt
from .decode import Decoder, check_header, empty_arrays, is_int

_PARALLEL_MIN = 8 << 20  # below this, thread start-up costs more than it saves
_IOV_MAX = 512  # buffers per preadv call (Linux allows 1024)
_HAS_PREADV = hasattr(os, "preadv")  # NOTE: else whole-file reads (Windows)


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


def _workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


@contextlib.contextmanager
def _pool(workers: int):
    """A thread pool of ``workers`` threads, or ``None`` when ``workers`` is 0."""
    if workers < 1:
        yield None
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="graphlab-load") as pool:
        yield pool


class _Reader:
    def __init__(self, name: str, src, map_location):
        self.name, self.src, self.map_location = name, src, map_location

    def fail(self, what: str):
        raise fmt.SerializationError(f"graphlab.load: {self.name!r}: {what}")

    def run(self):
        try:
            header, arrays = self.read()
        except EOFError as exc:  # NOTE: the file shrank after its size was checked
            self.fail(str(exc))
        return Decoder(header, arrays, self.map_location, self.fail).decode(header["root"])

    def read(self) -> tuple[dict, list[np.ndarray]]:
        """The checked header and the storages' arrays, every checksum matched."""
        size = self.src.size
        if size < fmt.PREFIX.size + fmt.DIGEST:
            start = self.src.read(0, min(2, size))
            if start[:1] == b"\x80":
                self.fail("this looks like a pickle file; graphlab never loads pickle")
            self.fail(f"file too short ({size} bytes) to be a graphlab file (truncated?)")
        prefix = self.src.read(0, fmt.PREFIX.size)
        magic, version, hlen = fmt.PREFIX.unpack(prefix)
        if magic != fmt.MAGIC:
            if prefix[:1] == b"\x80" or prefix[:2] == b"PK":
                self.fail(
                    "this looks like a pickle/zip file (e.g. written by torch.save); "
                    "graphlab never loads pickle"
                )
            self.fail("not a graphlab file (bad magic bytes)")
        if version > fmt.FORMAT_VERSION:
            self.fail(
                f"format version {version} is newer than this graphlab supports "
                f"({fmt.FORMAT_VERSION}); upgrade graphlab"
            )
        if version < 1:
            self.fail(f"invalid format version {version}")
        trailer = fmt.DIGEST if version == 1 else fmt.FOOTER.size
        if hlen > fmt.MAX_HEADER or fmt.PREFIX.size + hlen + trailer > size:
            self.fail(f"header length {hlen} runs past the end of the file (truncated?)")
        self.data_start = fmt.PREFIX.size + hlen
        head = prefix + self.src.read(fmt.PREFIX.size, hlen)
        if version == 1:
            header = self.parse(head, size - self.data_start - fmt.DIGEST)
            return header, self.read_v1(head, header)
        checksum = fmt.CHUNK_SUMS[version]
        header, table = self.open_chunked(head, size, checksum)
        return header, self.read_chunked(header, table, checksum)

    def parse(self, head: bytes, data_bytes: int) -> dict:
        """The JSON header, checked against the schema and the data region's size."""
        try:
            header = json.loads(head[fmt.PREFIX.size :].decode())
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            self.fail(f"header is not valid JSON ({exc})")
        check_header(header, data_bytes, self.fail)
        return header

    # -- versions 2 and 3: SHA-256 over the metadata, one checksum per chunk of data -------------
    def open_chunked(self, head: bytes, size: int, checksum) -> tuple[dict, np.ndarray]:
        """The header and the chunk checksum table, after the SHA-256 over both matched (the
        header is parsed only then)."""
        count, digest = fmt.FOOTER.unpack(self.src.read(size - fmt.FOOTER.size, fmt.FOOTER.size))
        room = size - self.data_start - fmt.FOOTER.size
        if count > room // checksum.size:
            self.fail(f"checksum table of {count} entries does not fit (truncated or corrupted?)")
        nbytes = checksum.size * count
        table = self.src.read(size - fmt.FOOTER.size - nbytes, nbytes)
        if hashlib.sha256(head + table + struct.pack("<Q", count)).digest() != digest:
            self.fail("checksum mismatch in the header: the file is corrupted or truncated")
        data_bytes = room - nbytes
        header = self.parse(head, data_bytes)
        chunk = header.get("chunk_bytes")
        if not is_int(chunk) or not fmt.MIN_CHUNK <= chunk <= fmt.MAX_CHUNK:
            self.fail(f"header: malformed chunk_bytes {chunk!r}")
        if header.get("data_bytes") != data_bytes or count != -(-data_bytes // chunk):
            self.fail(
                f"header: {header.get('data_bytes')!r} data bytes in chunks of {chunk} do not "
                f"match the file's {data_bytes} data bytes and {count} checksums"
            )
        return header, np.frombuffer(table, checksum.dtype)

    def read_chunked(self, header: dict, table: np.ndarray, checksum) -> list[np.ndarray]:
        """Read the data region into fresh arrays, a chunk at a time, each chunk hashed right
        after it is read (while it is in the cache)."""
        arrays = empty_arrays(header)
        segs = fmt.segments([fmt.bytes_view(a) for a in arrays], bytearray)
        chunk, start, src = header["chunk_bytes"], self.data_start, self.src
        chunks = fmt.chunks(segs, chunk)

        def fill(k: int) -> int:
            src.readinto(chunks[k], start + k * chunk)
            return checksum.fn(chunks[k])

        # NOTE: two or more threads read (preadv releases the GIL) and hash stripes of chunks:
        # the kernel's copies and the page faults of the fresh arrays then run in parallel,
        # 1.5x faster than one thread on 2 cores (bench/io.py).
        big = isinstance(src, _FileSource) and header["data_bytes"] >= _PARALLEL_MIN
        with _pool(_workers() if big else 0) as pool:
            sums = list((pool.map if pool else map)(fill, range(len(chunks))))
        bad = np.flatnonzero(np.asarray(sums, dtype=table.dtype) != table)
        if bad.size:
            lo = int(bad[0]) * chunk
            hi = min(lo + chunk, header["data_bytes"])
            where = [
                f"storage {i}"
                for i, s in enumerate(header["storages"])
                if s["offset"] < hi and s["offset"] + s["nbytes"] > lo
            ]
            self.fail(
                f"{checksum.name} checksum mismatch in data bytes {lo}..{hi} "
                f"({', '.join(where) or 'padding'}; {bad.size} of {len(chunks)} chunks bad): "
                "the file is corrupted"
            )
        return arrays

    # -- version 1: one SHA-256 over the whole file ---------------------------------------------
    def read_v1(self, head: bytes, header: dict) -> list[np.ndarray]:
        arrays = empty_arrays(header)
        segs = fmt.segments([fmt.bytes_view(a) for a in arrays], bytearray)
        self.src.readinto(segs, self.data_start)
        h = hashlib.sha256(head)
        for seg in segs:
            h.update(seg)
        if h.digest() != self.src.read(self.src.size - fmt.DIGEST, fmt.DIGEST):
            self.fail("checksum mismatch: the file is corrupted or truncated")
        return arrays
