"""Devices: ``cpu``, logical ``cpu:N`` (distinct devices on one host) and ``cuda:N``."""

from __future__ import annotations


class device:  # noqa: N801 - PyTorch spells it lower-case
    """A place tensors live: ``device("cpu")``, ``device("cpu:1")``, ``device("cuda:0")``.

    ``cpu`` and ``cpu:0`` are the same device. Extra logical CPU devices behave as separate
    devices (mixing them in one op raises, moving between them is a real, recorded copy), so
    multi-device code and transfer accounting can be tested without a GPU.
    """

    __slots__ = ("type", "index")

    def __new__(cls, spec="cpu", index: int | None = None):
        if isinstance(spec, device):
            return spec
        if isinstance(spec, int) and not isinstance(spec, bool):
            spec, index = "cuda", spec
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string like 'cpu' or 'cuda:0', got {spec!r}")
        kind, sep, idx = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise ValueError(
                f"device: unknown device type {kind!r} in {spec!r}; expected 'cpu', 'cpu:N', "
                "'cuda' or 'cuda:N'"
            )
        if sep:
            if index is not None:
                raise ValueError(f"device: index given twice ({spec!r} and index={index})")
            if not idx.isdigit():
                raise ValueError(f"device: bad index in {spec!r}; expected a number after ':'")
            index = int(idx)
        if index is None:
            index = 0
        if index < 0:
            raise ValueError(f"device: index must be >= 0, got {index}")
        key = (kind, index)
        cached = _CACHE.get(key)
        if cached is None:
            cached = object.__new__(cls)
            object.__setattr__(cached, "type", kind)
            object.__setattr__(cached, "index", index)
            _CACHE[key] = cached
        return cached

    def __setattr__(self, name, value):
        raise AttributeError("graphlab.device is immutable")

    def __reduce__(self):
        return (device, (str(self),))

    def __str__(self) -> str:
        if self.type == "cpu" and self.index == 0:
            return "cpu"
        return f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.type == "cpu" and self.index == 0:
            return "device(type='cpu')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (TypeError, ValueError):
                return False
        return self is other

    def __hash__(self) -> int:
        return hash((self.type, self.index))


_CACHE: dict[tuple[str, int], device] = {}
CPU = device("cpu")
