"""The dicts that hold a module's parameters and children, and a count of their changes.

``Module._parameters`` and ``Module._modules`` are :class:`Registry` dicts: reading them is a
plain dict read, and every write (``__setitem__``, ``del``, ``pop``, ``update``, …, and making a
new one, as containers do when they renumber) adds one to a process-wide count. The trace
recorder caches the parameter names of each model and, while :func:`changes` has not moved since,
knows no module tree anywhere changed — one comparison per pass instead of walking the tree.
"""

from __future__ import annotations

__all__ = ["Registry", "changes"]

_changes = 0


def changes() -> int:
    """How many writes to any module's parameters or children this process has made."""
    return _changes


def _bump() -> None:
    global _changes
    _changes += 1


class Registry(dict):
    """A dict that counts its writes in :func:`changes` (see the module docstring)."""

    __slots__ = ()

    def __init__(self, *args, **kwargs):
        _bump()
        super().__init__(*args, **kwargs)

    def __setitem__(self, key, value):
        _bump()
        super().__setitem__(key, value)

    def __delitem__(self, key):
        _bump()
        super().__delitem__(key)

    def __ior__(self, other):
        _bump()
        return super().__ior__(other)

    def clear(self):
        _bump()
        super().clear()

    def pop(self, *args):
        _bump()
        return super().pop(*args)

    def popitem(self):
        _bump()
        return super().popitem()

    def setdefault(self, key, default=None):
        _bump()
        return super().setdefault(key, default)

    def update(self, *args, **kwargs):
        _bump()
        super().update(*args, **kwargs)
