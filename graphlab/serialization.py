"""``graphlab.save`` / ``graphlab.load``: tensors and nested containers, without pickle.

A file (format version 3) is::

    MAGIC | u32 version | u64 header length | JSON header | data | checksum table | u64 n | SHA-256

The JSON header describes the object tree (lists, tuples, dicts, numbers, strings, None, tensors),
each storage (dtype, shape, offset, length, device saved from) and the data layout: the arrays
one after the other, each at a 64-byte-aligned offset, zero padding between them. The data is cut
into chunks of ``chunk_bytes`` (4 MiB); the checksum table holds one XXH3-64 per chunk (``n``
little-endian u64s) and the SHA-256 covers everything else (prefix, header, table, ``n``), so
every byte of the file is checked. XXH3 rather than a cryptographic hash over the data because
it runs at memory speed (~25 GB/s per core on the development machine, against ~1.6 GB/s for
SHA-256 and ~4 GB/s for zlib's CRC-32): a checksum catches damage, it is not a signature.
Older files still load: version 2 is the same layout with a CRC-32 (u32) per chunk, version 1
has one SHA-256 over the whole file and no table.

Loading never runs code: the header is parsed as JSON (from version 2 on, only after its SHA-256
matched), checked against a fixed schema, and the storages must tile the data region exactly,
so nothing is allocated beyond the file's size; the data is read straight into fresh arrays,
chunks checked as they arrive, and no tensor is built before every checksum matched. Writes are
atomic: a temporary file in the target's folder, flushed and fsynced, then ``os.replace`` and an
fsync of the folder, so a crash leaves either the old file or the new one.

The implementation lives in :mod:`graphlab._serialization`.
"""

from __future__ import annotations

from ._serialization.format import FORMAT_VERSION, MAGIC, SerializationError
from ._serialization.read import load
from ._serialization.write import atomic_path, atomic_write, save

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "SerializationError",
    "atomic_path",
    "atomic_write",
    "load",
    "save",
]
