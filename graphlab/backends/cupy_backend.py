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


# NOTE: the dtypes CuPy's scatter-add (atomicAdd) takes; any other raises TypeError there.
_ATOMIC_ADD = frozenset(("int32", "uint32", "uint64", "float16", "float32", "float64"))


def add_at(target, index, values) -> None:
    """``target[index] += values`` with repeated indices accumulating (scatter-add)."""
    name = target.dtype.name
    if name in _ATOMIC_ADD:
        cupyx.scatter_add(target, index, values)
    elif name == "int64":
        # NOTE: two's-complement addition gives the same bits signed or unsigned, so int64
        # adds exactly as uint64 (views: the sums land in ``target``).
        v = xp.asarray(values).astype(xp.int64, copy=False).view(xp.uint64)
        cupyx.scatter_add(target.view(xp.uint64), index, v)
    else:  # int8, int16, uint8, bool: through an int64 copy (wrapping or or-ing as NumPy does)
        wide = target.astype(xp.int64)
        add_at(wide, index, values)
        target[...] = wide.astype(target.dtype)


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
            # NOTE: set() makes ``a`` contiguous itself and wants its exact shape, so no
            # np.ascontiguousarray here: that turns a 0-d array into a 1-d one.
            out.set(a, stream=stream if non_blocking else None)
            if non_blocking and stream is not None:
                _keep_until_copied(a, stream)
            return out
        return xp.array(a, copy=True)  # device to device (peer copy)


_in_flight: list = []  # (event, host array) of non-blocking copies the GPU may still be reading


def _keep_until_copied(a, stream) -> None:
    """Keep host array ``a`` alive until the copy queued on ``stream`` has read it.

    NOTE: CuPy's pinned memory pool does not know about streams: a pinned batch freed while its
    copy is queued (``x = next(batches).to("cuda", non_blocking=True)`` in a loop) would hand
    its buffer to the next batch mid-copy. PyTorch's host allocator guards against the same
    with events; so does this, pruning finished copies at each new one.
    """
    _in_flight[:] = [e for e in _in_flight if not e[0].done]
    ev = xp.cuda.Event(block=False, disable_timing=True)
    ev.record(stream)
    _in_flight.append((ev, a))


def pinned_empty(shape, np_dtype):
    """A NumPy array backed by page-locked (pinned) host memory."""
    n = int(np.prod(shape)) * np.dtype(np_dtype).itemsize
    mem = xp.cuda.alloc_pinned_memory(max(n, 1))
    arr = np.frombuffer(mem, np_dtype, int(np.prod(shape))).reshape(shape)
    return _PinnedArray(arr, mem)


class _PinnedArray(np.ndarray):
    """A NumPy array that keeps its pinned buffer alive and says it is pinned.

    NOTE: NumPy hands the subclass on to every result computed from such an array (``p * 2``,
    ``p.copy()``) in new, pageable memory; only arrays whose data lies in the pinned buffer (the
    array and its views) keep the buffer and say they are pinned."""

    def __new__(cls, arr, mem):
        obj = arr.view(cls)
        obj._mem = mem
        return obj

    def __array_finalize__(self, obj):
        mem = getattr(obj, "_mem", None)
        if mem is not None and not _inside(self, mem):
            mem = None
        self._mem = mem

    @property
    def _graphlab_pinned(self) -> bool:
        return self._mem is not None


def _inside(a: np.ndarray, mem) -> bool:
    """Whether the data of ``a`` starts inside pinned buffer ``mem`` (a PinnedMemoryPointer)."""
    start = a.__array_interface__["data"][0]
    return mem.ptr <= start < mem.ptr + mem.size
