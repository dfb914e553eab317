"""Array backends: NumPy for ``cpu`` devices, CuPy for ``cuda`` devices (imported on first use).

A backend gives ops the array module ``xp`` plus the few things NumPy and CuPy spell
differently (scatter-add, synchronisation, host copies).
"""

from __future__ import annotations

import numpy as np

from .._device import device
from . import numpy_backend

_cupy_backend = None


def cuda():
    """The CuPy backend module, importing CuPy the first time a CUDA device is used."""
    global _cupy_backend
    if _cupy_backend is None:
        from . import cupy_backend as mod

        mod.require_cupy()
        _cupy_backend = mod
    return _cupy_backend


def for_device(dev: device):
    """The backend module that holds arrays for ``dev``."""
    if dev.type == "cpu":
        return numpy_backend
    return cuda()


def for_array(a):
    """The backend module that owns array ``a``."""
    # NOTE: an isinstance test, not the type's module: NumPy 2 arrays have a ``device`` too,
    # and pinned host arrays are an ndarray subclass defined in cupy_backend.
    if isinstance(a, (np.ndarray, np.generic)) or not hasattr(a, "device"):
        return numpy_backend
    return cuda()
