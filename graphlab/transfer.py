"""The one place where data crosses devices or the host waits for a device.

Every device move (``Tensor.to``, ``.cuda()``, ``.cpu()``, ``copy_`` across devices) goes through
:func:`move`, and every implicit host sync (``item()``, ``numpy()``, ``tolist()``, printing,
``bool()``) through :func:`host_read`. Each reports a :class:`Transfer` or :class:`Sync` record to
the registered observers (the trace recorder hooks in here) with bytes, seconds, devices, pinned or
pageable memory, and the user's call site (the first frame outside graphlab).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

from . import backends
from .autograd.function import RemovableHandle

_observers: list = []
_PKG_DIR = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True, slots=True)
class Transfer:
    """One copy between devices."""

    src: str
    dst: str
    nbytes: int
    seconds: float
    pinned: bool
    non_blocking: bool
    call_site: str
    reason: str

    @property
    def bandwidth(self) -> float:
        """Achieved bytes per second (0 when the copy took no measurable time)."""
        return self.nbytes / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Sync:
    """One implicit host synchronisation (the host waited to read a value)."""

    device: str
    reason: str
    nbytes: int
    seconds: float
    call_site: str


def add_observer(fn) -> RemovableHandle:
    """Call ``fn(record)`` for every :class:`Transfer` and :class:`Sync`; returns a handle."""
    _observers.append(fn)
    return RemovableHandle(_observers, fn)


def call_site() -> str:
    """``file:line`` of the innermost frame outside the graphlab package."""
    f = sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(_PKG_DIR):
        f = f.f_back
    if f is None:
        return "<unknown>"
    return f"{f.f_code.co_filename}:{f.f_lineno}"


def move(data, src, dst, non_blocking: bool = False, reason: str = "to"):
    """Copy array ``data`` from device ``src`` to device ``dst`` and report it."""
    pinned = src.type == "cpu" and backends.numpy_backend.is_pinned(data)
    t0 = time.perf_counter()
    if dst.type == "cpu":
        if src.type == "cpu":
            out = backends.numpy_backend.from_host(data, dst)
        else:
            out = backends.cuda().to_host(data)
    else:
        cb = backends.cuda()
        if src.type == "cpu":
            stream = cb.xp.cuda.get_current_stream() if non_blocking and pinned else None
            out = cb.from_host(data, dst, non_blocking=bool(stream), stream=stream)
            if not non_blocking:
                cb.synchronize(dst)
        else:
            out = cb.from_host(data, dst)
            if not non_blocking:
                cb.synchronize(dst)
    seconds = time.perf_counter() - t0
    if _observers:
        rec = Transfer(
            str(src), str(dst), int(data.nbytes), seconds, pinned, non_blocking, call_site(), reason
        )
        for obs in list(_observers):
            obs(rec)
    return out


def host_read(data, dev, reason: str):
    """``data`` as a NumPy array for the host to read; on a GPU this waits (a sync) and copies."""
    if dev.type == "cpu":
        t0 = time.perf_counter()
        out = data
    else:
        t0 = time.perf_counter()
        out = backends.cuda().to_host(data)
    if _observers:
        rec = Sync(str(dev), reason, int(data.nbytes), time.perf_counter() - t0, call_site())
        for obs in list(_observers):
            obs(rec)
    return out
