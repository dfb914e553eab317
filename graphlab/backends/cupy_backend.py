"""The CuPy backend (CUDA devices). Imported only when a CUDA device is first used."""

from __future__ import annotations

import numpy as np

try:  # NOTE: CuPy is optional; require_cupy() turns its absence into a clear error.
    import cupy as xp
    import cupyx

    _IMPORT_ERROR: Exception | None = None
except Exception as exc:  # pragma: no cover - depends on the machine
    xp = cupyx = None
    _IMPORT_ERROR = exc

name = "cupy"


def require_cupy() -> None:
    """Raise a clear error when CuPy is missing or no GPU is usable."""
    if xp is None:
        raise RuntimeError(
            "CUDA device requested but CuPy is not installed or failed to import "
            f"({_IMPORT_ERROR}); install graphlab with the 'cuda12' or 'cuda13' extra, "
            "e.g. pip install 'graphlab[cuda12]'"
        )


def device_count() -> int:
    """How many CUDA devices CuPy sees (0 when the driver is missing)."""
    if xp is None:
        return 0
    try:
        return xp.cuda.runtime.getDeviceCount()
    except Exception:
        return 0


def use(dev):
    """Context manager making ``dev`` CuPy's current device."""
    return xp.cuda.Device(dev.index)


def add_at(target, index, values) -> None:
    """``target[index] += values`` with repeated indices accumulating (scatter-add)."""
    cupyx.scatter_add(target, index, values)


def synchronize(dev=None) -> None:
    """Wait for all work queued on ``dev`` (or the current device)."""
    if dev is None:
        xp.cuda.Device().synchronize()
    else:
        xp.cuda.Device(dev.index).synchronize()


def to_host(a, stream=None):
    """Copy a CuPy array to a NumPy array (blocking)."""
    return xp.asnumpy(a, stream=stream)


def from_host(a, dev, non_blocking=False, stream=None):
    """Copy host array ``a`` to ``dev``; ``non_blocking`` needs pinned memory to overlap."""
    with xp.cuda.Device(dev.index):
        if isinstance(a, np.ndarray):
            out = xp.empty(a.shape, dtype=a.dtype)
            a = np.ascontiguousarray(a)
            out.set(a, stream=stream if non_blocking else None)
            return out
        return xp.array(a, copy=True)  # device to device (peer copy)


def pinned_empty(shape, np_dtype):
    """A NumPy array backed by page-locked (pinned) host memory."""
    n = int(np.prod(shape)) * np.dtype(np_dtype).itemsize
    mem = xp.cuda.alloc_pinned_memory(max(n, 1))
    arr = np.frombuffer(mem, np_dtype, int(np.prod(shape))).reshape(shape)
    return _PinnedArray(arr, mem)


class _PinnedArray(np.ndarray):
    """A NumPy array that keeps its pinned buffer alive and says it is pinned."""

    _graphlab_pinned = True

    def __new__(cls, arr, mem):
        obj = arr.view(cls)
        obj._mem = mem
        return obj

    def __array_finalize__(self, obj):
        self._mem = getattr(obj, "_mem", None)
