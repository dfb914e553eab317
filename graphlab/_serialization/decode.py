"""The header of a ``graphlab.save`` file: checked against a fixed schema, then its object tree
rebuilt (tensors, parameters, containers, plain values) from arrays already read and checked.

Nothing here reads the file or runs code from it; every problem goes to ``fail(message)``,
which raises the loader's ``SerializationError`` naming the file.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from typing import NoReturn

import numpy as np

from .. import _dtype
from .._device import CPU
from .._device import device as _device
from ..tensor import Tensor
from . import format as fmt

_DTYPE_NAMES = frozenset(d.name for d in _dtype.ALL)
_MAX_DEPTH = 200


def is_int(x) -> bool:
    """Whether ``x`` is an int and not a bool (JSON's true is no count)."""
    return isinstance(x, int) and not isinstance(x, bool)


def check_header(h, data_bytes: int, fail: Callable[[str], NoReturn]) -> None:
    """Check the parsed JSON header: its keys, each storage's dtype, shape, device, offset and
    length (the storages must tile the ``data_bytes`` of the data region exactly, in order, so
    nothing is allocated beyond the file's size) and each tensor's storage reference."""
    if not isinstance(h, dict) or h.get("format") != "graphlab.save":
        fail("header: expected format 'graphlab.save'")
    for key, typ in (("storages", list), ("tensors", list), ("root", object)):
        if key not in h or not isinstance(h[key], typ):
            fail(f"header: missing or malformed {key!r}")
    expected = 0
    for i, s in enumerate(h["storages"]):
        if not isinstance(s, dict):
            fail(f"storage {i}: expected an object")
        if not isinstance(s.get("dtype"), str) or s["dtype"] not in _DTYPE_NAMES:
            fail(f"storage {i}: unsupported dtype {s.get('dtype')!r}")
        shape, off, n = s.get("shape"), s.get("offset"), s.get("nbytes")
        if not isinstance(shape, list) or not all(is_int(x) and 0 <= x < 2**62 for x in shape):
            fail(f"storage {i}: malformed shape {shape!r}")
        if not all(is_int(x) and x >= 0 for x in (off, n)):
            fail(f"storage {i}: malformed offset/nbytes")
        itemsize = _dtype.to_dtype(s["dtype"]).itemsize
        if math.prod(shape) * itemsize != n:
            fail(f"storage {i}: {n} bytes do not match shape {shape} of {s['dtype']}")
        if off + n > data_bytes:
            fail(f"storage {i}: data runs past the end of the file (truncated?)")
        if off != expected:
            fail(
                f"storage {i}: offset {off}, expected {expected} (storages lie in order, "
                f"each {fmt.ALIGN}-byte aligned)"
            )
        expected = off + n + fmt.pad(n)
        if not isinstance(s.get("device"), str):
            fail(f"storage {i}: malformed device")
        try:
            _device(s["device"])
        except (TypeError, ValueError):
            fail(f"storage {i}: unknown device {s['device']!r}")
    if expected != data_bytes:
        fail(
            f"the header describes {expected} data bytes, the file holds {data_bytes} "
            "(truncated or corrupted?)"
        )
    for i, t in enumerate(h["tensors"]):
        if (
            not isinstance(t, dict)
            or not is_int(t.get("storage"))
            or not (0 <= t["storage"] < len(h["storages"]))
        ):
            fail(f"tensor {i}: bad storage reference")
        if t.get("kind") not in ("tensor", "parameter"):
            fail(f"tensor {i}: unknown kind {t.get('kind')!r}")


def empty_arrays(header: dict) -> list[np.ndarray]:
    """Uninitialized host arrays for the (checked) header's storages, to read the data into."""
    return [np.empty(s["shape"], _dtype.to_dtype(s["dtype"]).np) for s in header["storages"]]


class Decoder:
    """Rebuilds the object tree of a checked header from its storages' host arrays: each tensor
    once (so tensors shared in the saved object stay shared), each storage moved to its device
    once (``map_location``: a device, string, dict or callable)."""

    def __init__(self, header: dict, arrays: list, map_location, fail: Callable[[str], NoReturn]):
        self.header, self.arrays = header, arrays
        self.map_location, self.fail = map_location, fail
        self.storages: list = [None] * len(header["storages"])
        self.tensors: list = [None] * len(header["tensors"])

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
            from .. import cuda

            if not cuda.is_available():
                self.fail(
                    f"tensors were saved on {saved} but CUDA is not available here; pass "
                    "map_location='cpu' to load them onto the CPU"
                )
        return dev

    def storage(self, i: int):
        if self.storages[i] is None:
            host = self.arrays[i]
            dev = self.target_device(self.header["storages"][i]["device"])
            data = host if dev.type == "cpu" else _to_device(host, dev)
            self.storages[i] = (data, dev)
        return self.storages[i]

    def tensor(self, i: int):
        if self.tensors[i] is None:
            meta = self.header["tensors"][i]
            data, dev = self.storage(meta["storage"])
            if meta["kind"] == "parameter":
                from ..nn.parameter import Parameter

                t = Parameter(Tensor._wrap(data, dev), requires_grad=meta["requires_grad"])
            else:
                t = Tensor._wrap(data, dev, bool(meta["requires_grad"]))
            self.tensors[i] = t
        return self.tensors[i]

    def decode(self, node, depth: int = 0):
        """The object of a header node (the root: ``decode(header["root"])``)."""
        if depth > _MAX_DEPTH:
            self.fail("object tree nested too deeply")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or not isinstance(node.get("t"), str):
            self.fail(f"malformed object node {str(node)[:60]!r}")
        t = node["t"]
        if t == "tensor":
            i = node.get("i")
            if not is_int(i) or not 0 <= i < len(self.tensors):
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


def _to_device(host, dev):
    from .. import transfer

    return transfer.move(host, CPU, dev, reason="load")
