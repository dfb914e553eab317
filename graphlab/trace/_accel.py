"""Which op and backward observers the recorder installs: the C fast path or the Python ones.

``graphlab/trace/_fastrec.c`` (built by ``pip install``; see ``setup.py``) records the common
case (level "meta", NumPy arrays) in C and hands every other case to the Python observers of
:mod:`._observers` and :mod:`._backward`, which stay the reference: both append the same raw
tuples (``tests/test_trace_accel.py``). It also gives :func:`._stats.summary` a one-pass
kernel for the statistics of levels "stats" and "values". Without a compiled extension, or with
``GRAPHLAB_TRACE_ACCEL=0`` in the environment, the Python code runs alone.
"""

from __future__ import annotations

import warnings
from time import perf_counter

import numpy as np

from ..autograd import function
from ..nn.parameter import Parameter
from ..tensor import Tensor
from . import _backward, _observers, _scopes, _stats, _store, _values

__all__ = ["available", "configure_passes", "enabled", "observers", "set_enabled"]

API = 6
"""The interface version of ``_fastrec.c`` this module expects (its ``API`` constant)."""


def _load():
    """The compiled module, configured; None where it was not built or is out of date."""
    try:
        from . import _fastrec
    except ImportError:  # NOTE: no C compiler at install time: the Python observers do it all
        return None
    if getattr(_fastrec, "API", None) != API:
        warnings.warn(
            f"graphlab: the compiled trace recorder {_fastrec.__file__} is out of date (API "
            f"{getattr(_fastrec, 'API', None)}, expected {API}); recording uses the slower "
            "Python observers until it is rebuilt: pip install -e .",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    _fastrec.configure(
        tls=_store.tls,
        tensor=Tensor,
        parameter=Parameter,
        op=function.Op,
        version=function.VersionCounter,
        leaf=_values.Leaf,
        pass_=_store.Pass,
        ndarray=np.ndarray,
        clock=perf_counter,
        py_on_op=_observers.on_op,
        py_on_backward=_backward.on_backward,
        leaf_of=_values.leaf_of,
        operand=_values.operand,
        array_consts=_values._array_consts,
        plain=_values.plain,
        scope_of=_scopes.scope_of,
        scope_cache=_scopes._scope_cache,
        top=_scopes.TOP,
        none_ref=_observers._NONE,
        op_kind=_store.OP,
        backward_kind=_store.BACKWARD,
        op_name=function.Op.name,
        uses_by_identity=_backward._uses_by_identity,
        norm=_stats.norm,
        copy=_stats.copy,
        broken=_store.broken,
    )
    _values.LeafEntry = _fastrec.LeafEntry  # NOTE: same fields; the C op observer reads them
    return _fastrec


_fastrec = _load()
available = _fastrec is not None
"""Whether the C fast path was built."""

enabled = False
"""Whether the recorder uses it (see :func:`set_enabled`)."""


def set_enabled(flag: bool) -> None:
    """Use the C hooks and statistics kernel (where built) or the Python code alone. The
    recorder installs :func:`observers` when it installs its hooks (see
    ``recorder._set_accelerated``, which reinstalls them)."""
    global enabled
    enabled = bool(flag) and available
    _stats.moments = _fastrec.moments if enabled else None


_passes_configured = False


def configure_passes(**objects) -> None:
    """Hand the C top-level observer the recorder's objects (``recorder`` calls this once it has
    defined them: ``_on_top_level``, its options, its ring; see ``configure_passes`` in
    ``_fastrec.c``)."""
    global _passes_configured
    if _fastrec is not None:
        _fastrec.configure_passes(**objects)
        _passes_configured = True


def observers(on_top_level) -> tuple:
    """``(op observer, backward observer, top-level observer)`` the recorder installs now;
    ``on_top_level`` is the Python one (the C one hands it every case but the common one)."""
    if enabled:
        top = _fastrec.on_top_level if _passes_configured else on_top_level
        return _fastrec.on_op, _fastrec.on_backward, top
    return _observers.on_op, _backward.on_backward, on_top_level


set_enabled(_store.env_on("GRAPHLAB_TRACE_ACCEL"))
