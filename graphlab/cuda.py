"""``graphlab.cuda``: is a GPU there, how many, and waiting for queued work.

CuPy is imported only when one of these asks about CUDA devices.
"""

from __future__ import annotations


def device_count() -> int:
    """How many CUDA devices are usable (0 without CuPy or a GPU)."""
    try:
        from .backends import cupy_backend as mod
    except Exception:  # pragma: no cover - import failures mean no GPU
        return 0
    return mod.device_count()


def is_available() -> bool:
    """Whether at least one CUDA device is usable."""
    return device_count() > 0


def synchronize(device=None) -> None:
    """Wait until all work queued on ``device`` (default: the current one) has finished."""
    from . import backends
    from ._device import device as _device

    dev = None if device is None else _device(device if not isinstance(device, int) else "cuda")
    if isinstance(device, int):
        dev = _device("cuda", device)
    backends.cuda().synchronize(dev)


def current_device() -> int:
    """The index of CuPy's current device."""
    from . import backends

    return backends.cuda().xp.cuda.Device().id


def get_device_name(device=0) -> str:
    """The GPU's name, e.g. ``NVIDIA H100 80GB HBM3``."""
    from . import backends
    from ._device import device as _device

    xp = backends.cuda().xp
    # NOTE: _device() takes an int, "cuda:1" or a device; getattr("cuda:1", "index") was str.index.
    name = xp.cuda.runtime.getDeviceProperties(_device(device).index)["name"]
    return name.decode() if isinstance(name, bytes) else name
