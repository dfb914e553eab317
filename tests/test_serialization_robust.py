"""gl.save/gl.load under abuse: processes killed mid-save, and 1,000+ mutated files.

A save killed at any moment leaves the old complete file or the new complete file. A mutated
file either loads (a mutation can leave it valid) or raises ``SerializationError``; it never
crashes or hangs the interpreter, so each file is loaded in a worker subprocess watched with a
timeout.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import struct
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest
import xxhash

import graphlab as gl
from graphlab import serialization
from graphlab._serialization import format as fmt

N = 200_000  # big enough that a save takes a few milliseconds

WRITER = f"""
import sys
import graphlab as gl
path = sys.argv[1]
values = [gl.zeros({N}), gl.ones({N})]
print("ready", flush=True)
i = 0
while True:
    gl.save({{"v": values[i % 2], "i": i}}, path)
    i += 1
"""


@pytest.mark.slow
def test_killed_saves_leave_the_old_or_the_new_complete_file(tmp_path):
    path = tmp_path / "ckpt"
    gl.save({"v": gl.full((N,), 2.0), "i": -1}, path)
    rng = random.Random(0)
    outcomes = set()
    for _ in range(100):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0, 0.03))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        obj = gl.load(path)  # must be complete: any error fails the test
        v = obj["v"].numpy()
        assert v.shape == (N,)
        assert np.all(v == v[0]) and v[0] in (0.0, 1.0, 2.0)
        outcomes.add(float(v[0]))
    assert outcomes & {0.0, 1.0}  # the kills did land while saving new versions


_ENTRY = {2: ("I", zlib.crc32), 3: ("Q", xxhash.xxh3_64_intdigest)}  # table entry, checksum


def _body(blob: bytes) -> bytes:
    """A valid file without its checksums: prefix, header and data."""
    version = struct.unpack_from("<I", blob, 8)[0]
    if version == 1:
        return blob[:-32]  # version 1 ends with a SHA-256 of all that comes before
    (count,) = struct.unpack_from("<Q", blob, len(blob) - 40)
    return blob[: len(blob) - 40 - struct.calcsize(_ENTRY[version][0]) * count]


def _seal(body: bytes, chunk: int = 4 << 20) -> bytes:
    """Append valid checksums to ``body`` (prefix, header, data), trusting whatever version and
    header length its prefix claims: version 1, one SHA-256 over the body; versions 2 and 3, a
    CRC-32 (2) or XXH3-64 (3) per ``chunk`` bytes of data, their count, and a SHA-256 over
    prefix, header, table and count. (An independent writer of the format, so edited files get
    past the checksums.)"""
    _, version, hlen = struct.unpack_from("<8sIQ", body)
    if version == 1:
        return body + hashlib.sha256(body).digest()
    entry, checksum = _ENTRY[version]
    head, data = body[: 20 + hlen], body[20 + hlen :]
    sums = [checksum(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    table = struct.pack(f"<{len(sums)}{entry}", *sums) + struct.pack("<Q", len(sums))
    return body + table + hashlib.sha256(head + table).digest()


def _with_header(blob: bytes, header: dict) -> bytes:
    """``blob`` with its JSON header replaced by ``header``, checksums made valid again."""
    body = _body(blob)
    _, version, hlen = struct.unpack_from("<8sIQ", body)
    text = json.dumps(header).encode()
    text += b" " * ((-(20 + len(text))) % 64)
    new = struct.pack("<8sIQ", serialization.MAGIC, version, len(text)) + text + body[20 + hlen :]
    return _seal(new, json.loads(body[20 : 20 + hlen]).get("chunk_bytes", 4 << 20))


def _as_version(blob: bytes, version: int) -> bytes:
    """A version-3 file rewritten in the layout of ``version`` 1 or 2 (its header keeps the
    version-3 keys, which version 1 ignores and version 2 shares)."""
    body = bytearray(_body(blob))
    body[8:12] = struct.pack("<I", version)
    hlen = struct.unpack_from("<Q", body, 12)[0]
    return _seal(bytes(body), json.loads(body[20 : 20 + hlen])["chunk_bytes"])


def _mutations(blob: bytes, rng: random.Random):
    """Mutated copies of a valid file: raw damage, and structured header edits re-checksummed
    so they reach the loader's validation behind the checksums."""
    body = _body(blob)
    magic, version, hlen = struct.unpack_from("<8sIQ", blob)
    header = json.loads(blob[20 : 20 + hlen])
    chunk = header.get("chunk_bytes", 4 << 20)
    yield blob[: rng.randrange(len(blob))]  # truncated
    b = bytearray(blob)
    for _ in range(rng.randint(1, 8)):
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    yield bytes(b)  # bit flips (checksums catch them)
    b = bytearray(body)
    b[rng.randrange(20 + hlen, len(body))] ^= 0xFF
    yield _seal(bytes(b), chunk)  # data damage with valid checksums: loads, values differ
    lie = rng.choice([0, 1, hlen - 1, hlen + 1, 2**40, 2**63])
    yield _seal(struct.pack("<8sIQ", magic, version, lie) + body[20:], chunk)  # lying length
    if version >= 2:
        count = rng.choice([0, 1, 2**20, 2**61, 2**64 - 1])
        yield blob[:-40] + struct.pack("<Q", count) + blob[-32:]  # lying CRC count
        h = dict(header, chunk_bytes=rng.choice([0, 1, 64, 4095, 2**31, "4096", None]))
        yield _with_header(blob, h)  # a chunk size that does not match the CRCs
    h = json.loads(json.dumps(header))
    target = rng.choice(["storage", "tensor", "root", "top"])
    if target == "storage" and h["storages"]:
        s = rng.choice(h["storages"])
        key = rng.choice(["dtype", "shape", "offset", "nbytes", "device"])
        s[key] = rng.choice(
            [
                None,
                -1,
                2**62,
                "x" * 3,
                [],
                [-1],
                [2**40, 2**40],
                {},
                1.5,
                "float32",
                "cuda:0",
                "complex64",
                [3],
            ]
        )
    elif target == "tensor" and h["tensors"]:
        t = rng.choice(h["tensors"])
        key = rng.choice(["storage", "kind", "requires_grad"])
        t[key] = rng.choice([None, -1, 99, "parameter", "code", [], "tensor"])
    elif target == "root":
        h["root"] = rng.choice(
            [
                {"t": "tensor", "i": 10**9},
                {"t": "dict", "k": [1], "v": []},
                {"t": "dict", "k": [[1]], "v": [1]},
                {"t": "__import__", "v": "os"},
                {"t": "list", "v": {"a": 1}},
                {"t": "int", "v": "12x"},
                {"t": "float", "v": "1e999"},
                {"t": "device", "v": "tpu:0"},
                {"t": "dtype", "v": "object"},
                [[[[]]]],
                {"t": "list", "v": [{"t": "tuple", "v": []}] * 3},
                None,
                5,
            ]
        )
    else:
        h[rng.choice(["format", "storages", "tensors", "version"])] = rng.choice(
            [None, 0, "x", [], {}, [{}]]
        )
    yield _with_header(blob, h)
    # a deeply nested root (built as text: too deep for json.dumps itself)
    depth = rng.choice([50, 500, 100_000])
    h = dict(header, root=None)
    text = (
        json.dumps(h)
        .encode()
        .replace(b'"root": null', b'"root": ' + b'{"t": "list", "v": [' * depth + b"]}" * depth)
    )
    text += b" " * ((-(20 + len(text))) % 64)
    yield _seal(struct.pack("<8sIQ", magic, version, len(text)) + text + body[20 + hlen :], chunk)


WORKER = """
import sys
import graphlab as gl
for line in sys.stdin:
    path = line.strip()
    try:
        gl.load(path)
        print("ok", flush=True)
    except gl.SerializationError as exc:
        print("refused", flush=True) if repr(path) in str(exc) else print("unnamed", flush=True)
    except Exception as exc:
        print("other " + type(exc).__name__ + " " + str(exc)[:200].replace(chr(10), " "),
              flush=True)
"""


@pytest.mark.slow
def test_fuzzed_files_are_refused_cleanly_in_a_subprocess(tmp_path, monkeypatch):
    rng = random.Random(1)
    monkeypatch.setattr(fmt, "CHUNK", 4096)  # so that files hold several chunks
    sources = [
        {"w": gl.randn(5, 3), "b": gl.zeros(3, dtype=gl.int64), "n": [1, 2.5, "s", None]},
        [gl.ones(4, dtype=gl.float16), gl.tensor([True, False]), {"deep": {"x": gl.arange(6)}}],
        gl.randn(2, 2, requires_grad=True),
        {"big": gl.randn(3000), "small": [gl.ones(3), gl.arange(10)]},
    ]
    blobs = []
    for i, obj in enumerate(sources):
        p = tmp_path / f"src{i}"
        gl.save(obj, p)
        blobs.append(p.read_bytes())
    blobs += [_as_version(b, v) for v in (1, 2) for b in blobs]
    for b in blobs:
        (tmp_path / "check").write_bytes(b)
        gl.load(tmp_path / "check")  # the sources are valid, in every version
    files = []
    while len(files) < 1000:
        blob = rng.choice(blobs)
        for data in _mutations(blob, rng):
            p = tmp_path / f"m{len(files):04d}"
            p.write_bytes(data)
            files.append(p)
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    counts: dict[str, int] = {}
    try:
        for p in files:
            worker.stdin.write(f"{p}\n")
            worker.stdin.flush()
            line = _readline(worker, timeout=10)
            assert line is not None, f"loading {p.name} crashed or hung the interpreter"
            assert line in ("ok", "refused"), f"{p.name}: {line}"
            counts[line] = counts.get(line, 0) + 1
    finally:
        worker.kill()
        worker.wait()
    assert counts.get("refused", 0) > 500
    assert sum(counts.values()) == len(files) >= 1000


def _readline(proc, timeout: float):
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        if not sel.select(timeout):
            return None
        line = proc.stdout.readline()
        return line.strip() if line else None
    finally:
        sel.close()


def test_loader_refuses_a_header_that_points_outside_the_file(tmp_path):
    p = tmp_path / "f"
    gl.save({"w": gl.ones(4)}, p)
    blob = p.read_bytes()
    hlen = struct.unpack_from("<Q", blob, 12)[0]
    header = json.loads(blob[20 : 20 + hlen])
    header["storages"][0]["offset"] = 10**6
    p.write_bytes(_with_header(blob, header))
    with pytest.raises(gl.SerializationError, match="past the end"):
        gl.load(p)
    assert os.path.exists(p)


@pytest.mark.parametrize(
    "edit",
    [
        {"device": "xxx"},  # regression: raised ValueError from graphlab.device
        {"dtype": {}},  # regression: raised TypeError (unhashable) from a set lookup
        {"dtype": "object"},
        {"shape": [-1]},
    ],
)
def test_bad_storage_fields_are_refused(tmp_path, edit):
    p = tmp_path / "f"
    gl.save(gl.ones(2), p)
    blob = p.read_bytes()
    hlen = struct.unpack_from("<Q", blob, 12)[0]
    header = json.loads(blob[20 : 20 + hlen])
    header["storages"][0].update(edit)
    p.write_bytes(_with_header(blob, header))
    with pytest.raises(gl.SerializationError, match="storage 0"):
        gl.load(p)
