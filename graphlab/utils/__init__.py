"""``graphlab.utils``: helpers around the engine (``graphlab.utils.data`` for data loading)."""

from . import data

__all__ = ["data"]
