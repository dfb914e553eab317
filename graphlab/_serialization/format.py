"""The ``graphlab.save`` file layout: constants, the data region, chunk checksums.

The layout itself is described in :mod:`graphlab.serialization`. This module holds what the
writer and the reader share: the fixed-size parts, how arrays lie in the data region (each at
a 64-byte-aligned offset) and how that region is cut into checksummed chunks.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import xxhash

MAGIC = b"GRAPHLAB"
FORMAT_VERSION = 3
ALIGN = 64
PREFIX = struct.Struct("<8sIQ")  # magic, version, header length
FOOTER = struct.Struct("<Q32s")  # number of chunk checksums, SHA-256 (versions 2 and 3)
DIGEST = 32  # the SHA-256 that ends a version-1 file
MAX_HEADER = 1 << 30
MIN_CHUNK, MAX_CHUNK = 4096, 1 << 30
# NOTE: what the writer picks, read at each save (tests make it tiny so small files span many
# chunks); 1-16 MiB load about equally fast here, and a 4 MiB chunk is still in the cache when
# it is written after being hashed.
CHUNK = 4 << 20
ZEROS = bytes(ALIGN)


class SerializationError(ValueError):
    """A file that ``graphlab.load`` refuses: names the file and what is wrong."""


def _crc32(bufs: list[memoryview]) -> int:
    crc = 0
    for b in bufs:
        crc = zlib.crc32(b, crc)
    return crc


def _xxh3(bufs: list[memoryview]) -> int:
    if len(bufs) == 1:
        return xxhash.xxh3_64_intdigest(bufs[0])
    h = xxhash.xxh3_64()  # NOTE: streamed, the digest of the slices' concatenation
    for b in bufs:
        h.update(b)
    return h.intdigest()


class ChunkSum(NamedTuple):
    """The checksum of each data chunk in one format version: name, table dtype, function of
    the chunk's buffers."""

    name: str
    dtype: str
    fn: Callable[[list[memoryview]], int]

    @property
    def size(self) -> int:
        """Bytes per table entry."""
        return np.dtype(self.dtype).itemsize


# NOTE: XXH3-64 runs at memory speed (~25 GB/s per core here, against zlib's CRC-32 at ~4 GB/s),
# so checking no longer limits loading; version 2's CRC-32 still reads old files.
CHUNK_SUMS = {2: ChunkSum("CRC-32", "<u4", _crc32), 3: ChunkSum("XXH3-64", "<u8", _xxh3)}


def pad(n: int) -> int:
    """Zero bytes after an array of ``n`` bytes, up to the next aligned offset."""
    return (-n) % ALIGN


def offsets(sizes) -> tuple[list[int], int]:
    """Where each array starts in the data region, and the region's length (with padding)."""
    out, end = [], 0
    for n in sizes:
        out.append(end)
        end += n + pad(n)
    return out, end


def bytes_view(arr: np.ndarray) -> memoryview:
    """The bytes of a C-contiguous array, without a copy."""
    return memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else memoryview(b"")


def segments(views: list[memoryview], padding) -> list[memoryview]:
    """The data region as an ordered list of buffers: each array's bytes, then its padding
    (``padding(n)`` gives an ``n``-byte buffer)."""
    out = []
    for v in views:
        if len(v):
            out.append(v)
        if pad(len(v)):
            out.append(memoryview(padding(pad(len(v)))))
    return out


def chunks(segs: list[memoryview], size: int) -> list[list[memoryview]]:
    """Cut the ordered buffers into chunks of ``size`` bytes (the last may be shorter); a chunk
    is a list of slices, so an array spanning chunks, or a chunk spanning arrays, is never
    copied."""
    out, cur, room = [], [], size
    for seg in segs:
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
