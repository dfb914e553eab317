"""Grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled`` (thread-local, like PyTorch)."""

from __future__ import annotations

import functools
import threading

_state = threading.local()


def is_grad_enabled() -> bool:
    """Whether ops run now record the graph for backward."""
    return getattr(_state, "enabled", True)


def _set(flag: bool) -> None:
    _state.enabled = flag


class _GradMode:
    """Base of the grad-mode context managers; each also works as a decorator."""

    _mode: bool

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(self._mode)
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = is_grad_enabled()
            _set(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                _set(prev)

        return wrapper


class no_grad(_GradMode):  # noqa: N801
    """Run without recording the graph: ``with no_grad():`` or ``@no_grad()``."""

    _mode = False


class enable_grad(_GradMode):  # noqa: N801
    """Record the graph again inside a ``no_grad`` region."""

    _mode = True


class set_grad_enabled(_GradMode):  # noqa: N801
    """Set grad mode to ``mode``; takes effect at once, and is undone on leaving a ``with``."""

    def __init__(self, mode: bool):
        self._prev = is_grad_enabled()
        self._mode = bool(mode)
        _set(self._mode)

    def __enter__(self):
        _set(self._mode)
        return self
