"""graphlab.save / graphlab.load: round trips, sharing, devices, atomicity, refusal of bad files."""

from __future__ import annotations

import ast
import base64
import io
import json
import os
import pickle
import struct
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphlab as gl
from graphlab import serialization
from graphlab._serialization import format as fmt
from graphlab._serialization import read as reader


def test_tensor_list_dict_round_trip(tmp_path):
    x, y = gl.arange(4.0), gl.zeros(4)
    for obj in (x, [x, y], {"x": x, "y": y}):
        gl.save(obj, tmp_path / "x-file")
        back = gl.load(tmp_path / "x-file")
        if isinstance(obj, gl.Tensor):
            assert gl.equal(back, obj)
        elif isinstance(obj, list):
            assert all(gl.equal(a, b) for a, b in zip(back, obj))
        else:
            assert back.keys() == obj.keys() and gl.equal(back["y"], y)


@pytest.mark.parametrize(
    "dtype",
    [gl.float16, gl.float32, gl.float64, gl.int8, gl.int16, gl.int32, gl.int64, gl.uint8, gl.bool],
)
def test_dtypes_and_shapes_are_exact(tmp_path, dtype):
    t = (gl.randn(2, 3, 0 + 4) * 10).to(dtype)
    gl.save({"t": t, "empty": gl.zeros(0, 3, dtype=dtype), "scalar": t[0, 0, 0]}, tmp_path / "f")
    back = gl.load(tmp_path / "f")
    assert back["t"].dtype is dtype and back["t"].shape == (2, 3, 4)
    assert np.array_equal(back["t"].numpy(), t.numpy())
    assert back["empty"].shape == (0, 3) and back["scalar"].shape == ()


def test_plain_values_nesting_and_ordered_dicts(tmp_path):
    obj = OrderedDict(
        a=1, b=2.5, c="s", d=None, e=True, f=(1, [2, {"g": float("inf")}]), big=2**70, neg=-(2**60)
    )
    obj[7] = "int key"
    gl.save(obj, tmp_path / "f")
    back = gl.load(tmp_path / "f")
    assert isinstance(back, OrderedDict) and back == obj and list(back) == list(obj)


def test_shared_tensors_stay_shared(tmp_path):
    x = gl.randn(3)
    gl.save({"a": x, "b": x, "c": [x, x.detach()]}, tmp_path / "f")
    back = gl.load(tmp_path / "f")
    assert back["a"] is back["b"] is back["c"][0]
    back["a"].add_(1)  # the detached alias shares storage with x, so it shares after loading too
    assert gl.equal(back["c"][1], back["a"])


def test_requires_grad_is_kept(tmp_path):
    w = gl.randn(2, requires_grad=True)
    gl.save([w], tmp_path / "f")
    (back,) = gl.load(tmp_path / "f")
    assert back.requires_grad and back.is_leaf


def test_map_location_to_logical_cpu(tmp_path):
    gl.save([gl.ones(2)], tmp_path / "f")
    (back,) = gl.load(tmp_path / "f", map_location="cpu:1")
    assert back.device == gl.device("cpu:1")
    (back,) = gl.load(tmp_path / "f", map_location={"cpu": "cpu:2"})
    assert back.device == "cpu:2"
    (back,) = gl.load(tmp_path / "f", map_location=lambda saved: "cpu:3")
    assert back.device == "cpu:3"


def test_unsupported_objects_raise_type_error_naming_the_path(tmp_path):
    with pytest.raises(TypeError, match=r"obj\['k'\]\[1\]"):
        gl.save({"k": [1, object()]}, tmp_path / "f")
    assert not (tmp_path / "f").exists()


def test_pickle_is_never_used_and_pickle_files_are_refused(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "dumps", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    monkeypatch.setattr(pickle, "load", boom)
    gl.save({"x": gl.ones(2)}, tmp_path / "ok")
    gl.load(tmp_path / "ok")
    # A pickle payload that would run code when unpickled.
    payload = b"\x80\x04cos\nsystem\n(S'echo hacked'\ntR."
    (tmp_path / "evil").write_bytes(payload)
    with pytest.raises(gl.SerializationError, match="pickle"):
        gl.load(tmp_path / "evil")
    package = Path(fmt.__file__).parent
    files = [Path(serialization.__file__), *sorted(package.glob("*.py"))]
    assert len(files) >= 5
    for path in files:
        tree = ast.parse(path.read_text())
        imported = {
            a.name
            for n in ast.walk(tree)
            if isinstance(n, (ast.Import, ast.ImportFrom))
            for a in n.names
        } | {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not imported & {"pickle", "marshal", "shelve", "dill", "cloudpickle"}, path


def test_bad_files_name_the_file_and_the_problem(tmp_path):
    good = tmp_path / "good"
    gl.save({"w": gl.randn(10)}, good)
    blob = good.read_bytes()
    cases = {
        "truncated": (blob[: len(blob) // 2], "truncated|checksum"),
        "bitflip": (blob[:100] + bytes([blob[100] ^ 1]) + blob[101:], "checksum|header"),
        "not ours": (b"hello world, this is a text file" * 3, "not a graphlab file"),
        "empty": (b"", "too short"),
    }
    for name, (data, msg) in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(gl.SerializationError, match=msg) as ei:
            gl.load(p)
        assert str(p) in str(ei.value)


def test_newer_format_version_is_refused(tmp_path):
    p = tmp_path / "f"
    gl.save(gl.ones(1), p)
    blob = bytearray(p.read_bytes())
    blob[8:12] = (serialization.FORMAT_VERSION + 1).to_bytes(4, "little")
    p.write_bytes(bytes(blob))
    with pytest.raises(gl.SerializationError, match="newer"):
        gl.load(p)


def test_failed_write_leaves_previous_file_intact(tmp_path, monkeypatch):
    p = tmp_path / "ckpt"
    gl.save({"v": gl.ones(3)}, p)
    before = p.read_bytes()

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        gl.save({"v": gl.zeros(3)}, p)
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["ckpt"]  # no temporary file left behind


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        gl.load(tmp_path / "nope")


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    gl.save([gl.ones(2)], buf)
    buf.seek(0)
    assert gl.equal(gl.load(buf)[0], gl.ones(2))


_DTYPES = [
    gl.float16,
    gl.float32,
    gl.float64,
    gl.int8,
    gl.int16,
    gl.int32,
    gl.int64,
    gl.uint8,
    gl.bool,
]


@st.composite
def _saveable(draw, depth=0):
    """Nested lists/tuples/dicts of tensors (some shared) and plain values."""
    leaf = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False),
        st.text(max_size=5),
        st.builds(
            lambda shape, d, seed: gl.tensor(
                np.random.default_rng(seed).standard_normal(shape) * 10
            ).to(d),
            st.lists(st.integers(0, 3), max_size=3).map(tuple),
            st.sampled_from(_DTYPES),
            st.integers(0, 100),
        ),
    )
    if depth >= 2:
        return draw(leaf)
    child = _saveable(depth=depth + 1)
    return draw(
        st.one_of(
            leaf,
            st.lists(child, max_size=3),
            st.lists(child, max_size=3).map(tuple),
            st.dictionaries(st.one_of(st.text(max_size=4), st.integers(-5, 5)), child, max_size=3),
        )
    )


def _same(a, b) -> bool:
    if isinstance(a, gl.Tensor):
        return (
            isinstance(b, gl.Tensor)
            and a.dtype is b.dtype
            and a.shape == b.shape
            and np.array_equal(a.numpy(), b.numpy())
        )
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return a == b and type(a) is type(b)


@given(obj=_saveable())
@settings(max_examples=60, deadline=None)
def test_round_trip_property(obj):
    buf = io.BytesIO()
    gl.save([obj, obj], buf)  # the same object twice: tensors inside must come back shared
    buf.seek(0)
    back = gl.load(buf)
    assert _same(back[0], obj) and _same(back[1], obj)
    if isinstance(obj, gl.Tensor):
        assert back[0] is back[1]


# A version-1 file written by graphlab.save before format version 2 (one SHA-256 over the file):
# an OrderedDict with a tied Parameter, int64/float16/bool/empty tensors, a tensor that requires
# grad, plain values and a device. zlib-compressed, base64.
_V1_FILE = (
    "eNqllM1u00AQxx3BG3DgCiOOVuVdfzTxhbaXItRD6QmpiqpNsk5MHK+7uw6KokjlzBNwKk/AE3DgEThw4BE4cAdx"
    "AGb9QRLVjUI6sj32eP6/nZ1d+/js8PTZyeFRy7Ks7/etwuYQCTlhGkIYSpaNEtbbU2zKwYYplyoWKYTEBikEpszB"
    "5IlB3Nf4fgzhObzGGx3zAbo41QrdiCURuihhQ/PIJ5meoUe6SZpwzdAN+BS6OAQiSqjmqRLSUCB0FvaWQdIUpE1B"
    "tynoNQX9OpjEykzT1EhsuufbgPNJ8ySpRXmW8CpBy5xXYWxDGQRC2o7fIQF19sm+R4jruB71YNGtR1ht5Hi9H1Ei"
    "WM2J08iIljI+jfvVyNDP8pAUTFBaSDbkqoAM9CzjNcilmK1GzETOqe127RpSAPCliCLFEe7YkPZm2kBo0Z6ag9MK"
    "vBXKBkbg3QYpiiHBajG3YwhtLzlrmJ4QyZaMDl2p5UYpa31x7A0g6gdLkLMZtC2mvcDEcuuVa1YtYLEKkl/mseTq"
    "ovhwwmKDwThO8R4yJhl+SFyCKeSfitxQRSxRS1m1y9c0dAeNu4PG20Hjb+5CLTHdZppdVF11qbN41GjlH+/qKV4O"
    "8MDzCs/3B9aW1qr87z+l3bP+09rWR+sO1rLuavXcd7NP7z58+SXn9KF88PjHi+M3P1+9/Nq77lx+Pnl+xJ+8/fYX"
    "0eqoxA=="
)


def _v1_blob() -> bytes:
    return zlib.decompress(base64.b64decode(_V1_FILE))


def test_version_1_files_still_load(tmp_path):
    p = tmp_path / "old"
    p.write_bytes(_v1_blob())
    assert p.read_bytes()[8:12] == (1).to_bytes(4, "little")
    back = gl.load(p)
    assert list(back) == ["w", "tied", "ints", "half", "flags", "empty", "grad", "meta", "dev"]
    assert back["w"] is back["tied"] and isinstance(back["w"], gl.nn.Parameter)
    assert back["w"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert back["ints"].dtype is gl.int64 and back["ints"].tolist() == [1, -2, 3]
    assert back["half"].dtype is gl.float16 and back["half"].tolist() == [0.5, -1.0]
    assert back["flags"].tolist() == [True, False] and back["empty"].shape == (0, 2)
    assert back["grad"].requires_grad and back["meta"][4] == (True, 2**70)
    assert back["meta"][5]["k"] == float("inf") and back["dev"] == gl.device("cpu:1")
    assert gl.load(io.BytesIO(_v1_blob()))["ints"].tolist() == [1, -2, 3]  # from memory, too


def test_version_1_files_are_still_checked(tmp_path):
    blob = _v1_blob()
    for name, data in {
        "flipped": blob[:-40] + bytes([blob[-40] ^ 4]) + blob[-39:],
        "truncated": blob[:-1],
    }.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(gl.SerializationError, match="checksum|truncated") as ei:
            gl.load(tmp_path / name)
        assert name in str(ei.value)


# A version-2 file (CRC-32 per chunk), written by graphlab.save before format version 3 with
# 4 KiB chunks: the objects of the version-1 file plus "long", a float32 tensor of 2,500
# elements (i % 10) spanning three chunks. zlib-compressed, base64.
_V2_FILE = (
    "eNrtmr1v00AUwN0CYkIgJkZ0s1X5zh9JvJCwwMDAx4RCVF2Sc2LF8Rn7kioqkSrmSmwVY5lBYmFkQIh/go1/gJmN8v"
    "zVJGqShpaB4T3FueT5934+vztnyoOnjccPHzXub2ua9uGalsU+8WQ85Iq4pBfzqB/w9k7Cx4LoZCzixJchcZlOYikB"
    "2ScpJ7t+R8H5AXGbZA8+KF90YfBDlcDQ54EHgxfwXvpVDCM1gRHsKRTIsAfDUCgOQ1eMSQuuBKbcrUSYyDiVEdeY6h"
    "sm6bIkW5Y0lyWtZUl7WdIpk4GfpC1IJ051tmPrBO41HAVBWTSKAlEAKh6JIg0typOE0qph16jDjAqtWJSahmkxi0xb"
    "5RXmmzxYbJIXSF56/NBLi2ZlYux3iiuTTjRyaeYkiZIx74kkk3TVJBKlyGRAJ32eZppMN1t6KckEcFJ6XiJAbugkbE"
    "9UKmFZz0oP3JZjzVnWOBxrlSSbDHXmJ7NaQ1l15lnQtKUMNnTU2NxczkxloS+GvkbEbGcmMtaLNtVUz9HYhrHaZLK5"
    "paIGxBTgfCPnO6DYDtmaxuLlyI9Fsps9om62XcnAD+EziXjM4VkVMUnnc1pFz1R5PEhmZcUzs1DDLlBjXqDGukCNvb"
    "4Ly0qcDS+TrhJXfPd0NUwHtm6nPwoHZc4yas707vmR/2If3IO3OrzgOIDjuK5tGFvF+PskjyvaX0ZV+6xdIra0y0Z5"
    "7//CMd+/L3D8SL0NTbvVQA455JBDDjnkkEMOOeSQQw455JBDDjnkkEMOOeSQQw455JBDDjnkkEMOOeSQQw65/5/bPF"
    "69OLqzfXQYDH69PSz/Oxi++2bcvu7eeH6z8v3rm4/Pjq++lz/74ZPXJ81PjfpA/QGQkpTq"
)


def _v2_blob() -> bytes:
    return zlib.decompress(base64.b64decode(_V2_FILE))


def test_version_2_files_still_load(tmp_path):
    p = tmp_path / "v2"
    p.write_bytes(_v2_blob())
    assert p.read_bytes()[8:12] == (2).to_bytes(4, "little")
    for back in (gl.load(p), gl.load(io.BytesIO(_v2_blob()))):
        assert list(back) == [
            "w", "tied", "ints", "half", "flags", "empty", "grad", "long", "meta", "dev"
        ]  # fmt: skip
        assert back["w"] is back["tied"] and isinstance(back["w"], gl.nn.Parameter)
        assert back["w"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
        assert back["ints"].dtype is gl.int64 and back["half"].tolist() == [0.5, -1.0]
        assert back["grad"].requires_grad and back["meta"][4] == (True, 2**70)
        assert back["empty"].shape == (0, 2) and back["dev"] == gl.device("cpu:1")
        want = (np.arange(2500) % 10).astype(np.float32)
        assert np.array_equal(back["long"].numpy(), want)


def test_version_2_files_are_still_checked(tmp_path):
    blob = _v2_blob()
    start = 20 + int.from_bytes(blob[12:20], "little")
    header = json.loads(blob[20:start])
    (long,) = [s for s in header["storages"] if s["shape"] == [2500]]
    at = start + long["offset"] + 6000  # in the second chunk
    for name, data, msg in [
        ("flipped", blob[:at] + bytes([blob[at] ^ 4]) + blob[at + 1 :], "CRC-32 checksum mis"),
        ("truncated", blob[:-1], "checksum|truncated"),
    ]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(gl.SerializationError, match=msg) as ei:
            gl.load(tmp_path / name)
        assert name in str(ei.value)


def test_new_files_are_version_3_with_an_xxh3_per_chunk(tmp_path, small_chunks):
    import xxhash

    gl.save(_many_tensors(), tmp_path / "f")
    blob = (tmp_path / "f").read_bytes()
    magic, version, hlen = struct.unpack_from("<8sIQ", blob)
    assert (magic, version) == (b"GRAPHLAB", 3) == (serialization.MAGIC, fmt.FORMAT_VERSION)
    header = json.loads(blob[20 : 20 + hlen])
    (count,) = struct.unpack_from("<Q", blob, len(blob) - 40)
    data = blob[20 + hlen : len(blob) - 40 - 8 * count]
    assert header["chunk_bytes"] == 4096 and len(data) == header["data_bytes"]
    table = struct.unpack_from(f"<{count}Q", blob, len(blob) - 40 - 8 * count)
    assert list(table) == [
        xxhash.xxh3_64_intdigest(data[i : i + 4096]) for i in range(0, len(data), 4096)
    ]


def _many_tensors() -> dict:
    rng = np.random.default_rng(0)
    dims = [(3,), (1000,), (2, 3000), (0,), (5, 7), (4097,), (1,), (64, 64)]
    return {f"t{i}": gl.from_numpy(rng.standard_normal(s, np.float32)) for i, s in enumerate(dims)}


@pytest.fixture
def small_chunks(monkeypatch):
    """4 KiB checksum chunks and worker threads for any size: arrays span chunks, chunks span
    arrays, and the threaded reader and writer run on tiny files."""
    monkeypatch.setattr(fmt, "CHUNK", 4096)
    monkeypatch.setattr(reader, "_PARALLEL_MIN", 0)


def test_round_trip_across_chunks_and_threads(tmp_path, small_chunks):
    obj = _many_tensors()
    gl.save(obj, tmp_path / "f")
    back = gl.load(tmp_path / "f")
    assert all(np.array_equal(back[k].numpy(), v.numpy()) for k, v in obj.items())


def test_every_data_byte_is_checked(tmp_path, small_chunks):
    obj = _many_tensors()
    gl.save(obj, tmp_path / "f")
    blob = (tmp_path / "f").read_bytes()
    hlen = int.from_bytes(blob[12:20], "little")
    start = 20 + hlen
    header = json.loads(blob[20:start])
    s2 = header["storages"][2]  # (2, 3000) float32: spans several chunks
    cases = {
        "array": (start + s2["offset"] + 9000, "storage 2"),
        "padding": (start + 12 + 4, "bytes 0..4096"),  # between t0's 3 floats and t1
        "shared": (start + 4096 - 1, "storage"),
    }
    for name, (pos, where) in cases.items():
        bad = bytearray(blob)
        bad[pos] ^= 0x10
        (tmp_path / name).write_bytes(bytes(bad))
        with pytest.raises(gl.SerializationError, match=f"checksum mismatch.*{where}") as ei:
            gl.load(tmp_path / name)
        assert name in str(ei.value)


def test_short_reads_are_completed(tmp_path, monkeypatch, small_chunks):
    obj = _many_tensors()
    gl.save(obj, tmp_path / "f")
    real = os.preadv

    def stingy(fd, bufs, pos):  # at most 1000 bytes per call, as a signal or a pipe may give
        return real(fd, [memoryview(bufs[0])[:1000]], pos)

    monkeypatch.setattr(os, "preadv", stingy)
    back = gl.load(tmp_path / "f")
    assert all(np.array_equal(back[k].numpy(), v.numpy()) for k, v in obj.items())
    monkeypatch.setattr(os, "preadv", lambda fd, bufs, pos: 0)
    with pytest.raises(gl.SerializationError, match="ended early"):
        gl.load(tmp_path / "f")


def test_open_file_objects_start_at_their_position(tmp_path):
    p = tmp_path / "f"
    with open(p, "wb") as fh:
        fh.write(b"preamble")
        gl.save({"w": gl.arange(5.0)}, fh)
    with open(p, "rb") as fh:
        assert fh.read(8) == b"preamble"
        back = gl.load(fh)
        assert fh.read() == b""  # the stream is left at its end, as after read()
    assert back["w"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


@pytest.mark.gpu
def test_cuda_tensors_round_trip_and_map_to_the_cpu(tmp_path):
    w = gl.randn(300, 70).to("cuda:0")  # 84 kB: several chunks of small_chunks' size too
    gl.save({"w": w, "again": w, "cpu": gl.ones(2)}, tmp_path / "f")
    back = gl.load(tmp_path / "f")
    assert back["w"].device == gl.device("cuda:0") and back["w"] is back["again"]
    assert np.array_equal(back["w"].cpu().numpy(), w.cpu().numpy())
    on_cpu = gl.load(tmp_path / "f", map_location="cpu")
    assert on_cpu["w"].device == gl.device("cpu")
    assert np.array_equal(on_cpu["w"].numpy(), w.cpu().numpy())
