"""The NumPy backend (CPU devices)."""

from __future__ import annotations

import numpy as np

xp = np
name = "numpy"


def add_at(target, index, values) -> None:
    """``target[index] += values`` with repeated indices accumulating (scatter-add)."""
    np.add.at(target, index, values)


def synchronize(dev=None) -> None:
    """Nothing to wait for: NumPy runs synchronously."""


def to_host(a, stream=None):
    """The array as a NumPy array (already one)."""
    return a


def from_host(a, dev, non_blocking=False, stream=None):
    """A real copy of host array ``a`` (a move between logical CPU devices copies)."""
    return np.array(a, copy=True, order="K")


def is_pinned(a) -> bool:
    """Whether a host array lives in page-locked memory allocated by CuPy."""
    base = a
    while base is not None:
        if getattr(base, "_graphlab_pinned", False):
            return True
        base = getattr(base, "base", None)
    return False
