"""The flight recorder: every pass recorded as cheap tuples, turned into events only when read.

This module holds the options, the ring of recent passes, the public API and the policy of when
a pass starts. The pieces live next to it, one idea each: the per-pass store (:mod:`._store`),
building the frozen records (:mod:`._build`), value references (:mod:`._values`), statistics
(:mod:`._stats`), scopes and parameter names (:mod:`._scopes`), the scopes of shared modules
(:mod:`._calls`), the forward observers (:mod:`._observers`) and the backward contributions
(:mod:`._backward`).

Recording is on by default and costs little enough to leave on (``bench/trace_overhead.py``). It
hooks into the engine's observer lists (``Op.apply``, the backward walk, ``graphlab.transfer``,
module calls, lazy initialization) and appends one small tuple per event to the open *pass*; the
frozen records of :mod:`graphlab.trace.events` are built from those tuples the first time someone
reads ``trace.events``.

When a pass starts and what it holds (always-on recording):

- A top-level module call (a module called with no module above it on this thread's stack)
  opens a new pass — unless it *continues* the open pass: the pass has not run backward yet and
  one of the call's tensor arguments was produced by an op of that pass (a loss module applied to
  the model's output, a decoder fed the encoder's output, an RNN cell fed its own state).
- Ops outside any module (a functional loss, ``mm`` at the top level) are appended to the open
  pass until its backward starts; the backward steps that follow are appended too. After the
  first backward step, ops outside modules (the optimizer's arithmetic, metrics) are left out:
  they are bookkeeping, not the model's pass. Transfers and host syncs are always appended (a
  ``loss.item()`` after ``backward()`` belongs to the step).
- Nothing is recorded while no pass is open (plain tensor code before the first module call).
- A pass records at most ``max_events`` events (later ones are counted in ``Trace.dropped``),
  so a long generation loop that keeps one pass open cannot grow without bound.

``with graphlab.record() as tr:`` opens an explicit pass that receives everything the block
runs (several module calls, ops outside modules, ops after backward) and works even while
always-on recording is disabled. Nested ``record()`` blocks each get their own trace; events go
to the innermost one only.

What each event's ``seconds`` means: the recorder only sees an op *after* it ran, so on the CPU
``seconds`` is the wall time since the previous event of the pass ended: the op's kernel plus
the Python that led to it (argument checks, the module call around it). For the first op of a
module that includes the module-call overhead; for the first backward step it includes the
topological sort and whatever ran between the loss and ``backward()``. The recorder's own work is
excluded. On a GPU, ops are timed with CUDA events recorded after each op and resolved once the GPU
has finished the pass (the time between consecutive events on the device), never with a sync per
op, nor one when the pass closes.

Scopes: the dotted path of the innermost module being called, as in ``named_modules``; a module
used at several places (reachable by two paths) gets, for its k-th call within one call of its
parent, its k-th path there (see :mod:`._scopes`, :mod:`._calls`).

What it costs: per op a handful of lookups and one tuple; value ids, ``ValueRef`` records and
attribute formatting wait until the trace is read. What stays the same from pass to pass is
cached: the parameter names of each root module, with weak references (checked against the
module tree at every pass), and the description of each input or parameter tensor, on the
tensor itself (a :class:`~._values.LeafEntry` in its ``_trace_leaf`` slot, gone with it).
The ring (``_ring``) is a deque that is never replaced, trimmed to ``keep`` after each push:
each push, trim and read is one call into it, atomic under the GIL, so it needs no lock.

What is kept: no tensor, graph node, module or device array — weak references while the pass is
open, then metadata only; statistics (level ``"stats"``) and host copies (level ``"values"``, and
each use's gradient contribution of a parameter at every level) are copies. On a GPU, those
copies, the norms and the CUDA timing events stay on the device until the GPU has finished the
pass: closing a pass never waits for the device (a later pass's close asks CUDA whether the work
is done and moves them then), and reading the trace waits for its own pass only.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Iterator

from .. import transfer
from ..autograd import engine, function
from ..tensor import Tensor
from . import _accel, _observers, _store
from ._store import LEVELS, Pass, broken, open_auto, tls
from .trace import Trace

__all__ = ["record", "last_trace", "traces", "set_trace_options", "LEVELS"]


class _Options:
    """The recorder's settings (see :func:`set_trace_options`)."""

    __slots__ = ("keep", "level", "timing", "enabled", "max_events")

    def __init__(self):
        self.keep = 8
        self.level = "meta"
        self.timing = True
        self.enabled = _store.env_on("GRAPHLAB_TRACE")
        self.max_events = 100_000


_options = _Options()
# NOTE: no lock and never rebound: every change is one call into the deque (append, popleft) and
# every read one C-level copy, each atomic under the GIL; the C top-level hook pushes to it too
_ring: deque = deque()
_explicit_open = 0  # record() blocks open, on any thread
_installed = False
_transfer_handle = None
_installed_observers: tuple = ()  # (op, backward, top-level observer) installed (see _accel)
_scope_local = None  # nn.modules.module._scope (the thread-local module stack), set by _install
_tls = tls


# ----- public API ------------------------------------------------------------------------------


def set_trace_options(
    keep: int | None = None,
    level: str | None = None,
    timing: bool | None = None,
    enabled: bool | None = None,
    max_events: int | None = None,
) -> dict:
    """Change the recorder's settings; returns the previous ones (``set_trace_options(**old)``
    restores them).

    - ``keep``: how many passes the ring keeps (``traces()``), default 8; older ones are dropped.
    - ``level``: ``"meta"`` (shapes, dtypes, devices, scopes, timings), ``"stats"`` (plus
      min/max/mean/std and NaN/Inf counts of every output and gradient) or ``"values"`` (plus
      host copies of every output). Applies to passes opened afterwards.
    - ``timing``: record ``seconds`` per event (passes opened afterwards).
    - ``enabled``: always-on recording of module calls; ``False`` closes the open passes (marked
      ``interrupted`` when switched off inside a module call) and removes every hook, so
      nothing is recorded and nothing costs. ``graphlab.record()`` blocks record regardless.
    - ``max_events``: the most events one always-on pass records (default 100,000).
    """
    old = {
        "keep": _options.keep,
        "level": _options.level,
        "timing": _options.timing,
        "enabled": _options.enabled,
        "max_events": _options.max_events,
    }
    if keep is not None:
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise ValueError(
                f"set_trace_options: keep must be an int >= 0 (passes kept), got {keep!r}"
            )
    if level is not None and level not in LEVELS:
        raise ValueError(
            f"set_trace_options: level must be one of {', '.join(map(repr, LEVELS))}, got {level!r}"
        )
    for name, value in (("timing", timing), ("enabled", enabled)):
        if value is not None and not isinstance(value, bool):
            raise TypeError(
                f"set_trace_options: {name} must be True or False, got {type(value).__name__}"
            )
    if max_events is not None:
        if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 1:
            raise ValueError(
                f"set_trace_options: max_events must be an int >= 1, got {max_events!r}"
            )
    if keep is not None and keep != _options.keep:
        _options.keep = keep
        _trim()
    if level is not None:
        _options.level = level
    if timing is not None:
        _options.timing = timing
    if max_events is not None:
        _options.max_events = max_events
    if enabled is not None and enabled != _options.enabled:
        _options.enabled = enabled
        if not enabled:
            mid_call = bool(_module_stack())
            for p in list(open_auto):
                p.close(interrupted=mid_call and p is _tls.current)
            if _tls.current is not None and _tls.current.auto:
                _tls.current = None
            if _store.unsettled:
                _store.settle_finished(wait=True)
        _update_hooks()
    return old


def traces() -> tuple[Trace, ...]:
    """The passes in the ring, oldest first (at most ``keep``; see :func:`set_trace_options`)."""
    return tuple(_ring)


def last_trace() -> Trace | None:
    """The most recent pass (still growing if it is being recorded), or None if there is none."""
    try:
        return _ring[-1]
    except IndexError:  # NOTE: an empty ring (one test, one read: no race)
        return None


@contextlib.contextmanager
def record(level: str | None = None, timing: bool | None = None) -> Iterator[Trace]:
    """Record everything the block runs into one trace: ``with graphlab.record() as tr: ...``.

    The block's module calls, ops outside modules (even after backward), backward steps,
    transfers, syncs and lazy initializations all go into ``tr``, which is complete when the
    block ends (and is also the newest entry of ``traces()``). ``level`` and ``timing`` default
    to the recorder's options. Works while always-on recording is disabled.
    """
    global _explicit_open
    if level is not None and level not in LEVELS:
        raise ValueError(
            f"record: level must be one of {', '.join(map(repr, LEVELS))}, got {level!r}"
        )
    if timing is not None and not isinstance(timing, bool):
        raise TypeError(f"record: timing must be True or False, got {type(timing).__name__}")
    st = _tls
    prev = st.current
    if prev is not None and prev.auto:
        prev.close()  # NOTE: the always-on pass ends where explicit recording begins
    stack = _module_stack()
    p = Pass(
        False,
        level if level is not None else _options.level,
        timing if timing is not None else _options.timing,
        None,
        stack,
    )
    # NOTE: record() inside a module's forward: scopes and parameter names are relative to the
    # outermost module being called.
    if stack:
        p.add_root(stack[0])
    trace = Trace._live(p)
    _push(trace)
    st.explicit.append(p)
    st.current = p
    _explicit_open += 1
    _update_hooks()
    try:
        yield trace
    finally:
        p.close()
        _explicit_open -= 1
        if p in st.explicit:
            st.explicit.remove(p)
        st.current = st.explicit[-1] if st.explicit else None
        _update_hooks()


def _push(trace: Trace) -> None:
    if _options.keep:
        _ring.append(trace)
        _trim()


def _trim() -> None:
    """Drop the oldest passes past ``keep`` (``push_trace`` in ``_fastrec.c`` does the same)."""
    try:
        while len(_ring) > _options.keep:
            _ring.popleft()
    except IndexError:  # NOTE: another thread emptied it between the test and the pop
        pass


def _module_stack() -> list:
    """This thread's stack of modules being called (``nn.modules.module._scope.stack``)."""
    global _scope_local
    if _scope_local is None:
        from ..nn.modules import module as module_mod

        _scope_local = module_mod._scope
    return _scope_local.stack


# ----- installing the hooks --------------------------------------------------------------------


def _update_hooks() -> None:
    """Hooks installed while always-on recording is enabled or a record() block is open."""
    if _options.enabled or _explicit_open > 0:
        _install()
    else:
        _uninstall()


def _install() -> None:
    global _installed, _scope_local, _transfer_handle, _installed_observers
    if _installed:
        return
    from ..nn.modules import lazy as lazy_mod
    from ..nn.modules import module as module_mod

    _scope_local = module_mod._scope
    _installed = True
    on_op, on_backward, on_top_level = _installed_observers = _accel.observers(_on_top_level)
    function.op_observers.append(on_op)
    engine.backward_observers.append(on_backward)
    _transfer_handle = transfer.add_observer(_observers.on_transfer)
    module_mod.top_level_observers.append(on_top_level)
    lazy_mod.lazy_init_observers.append(_observers.on_init)


def _uninstall() -> None:
    global _installed
    if not _installed:
        return
    from ..nn.modules import lazy as lazy_mod
    from ..nn.modules import module as module_mod

    _installed = False
    on_op, on_backward, on_top_level = _installed_observers
    for lst, fn in (
        (function.op_observers, on_op),
        (engine.backward_observers, on_backward),
        (module_mod.top_level_observers, on_top_level),
        (lazy_mod.lazy_init_observers, _observers.on_init),
    ):
        with contextlib.suppress(ValueError):
            lst.remove(fn)
    if _transfer_handle is not None:
        _transfer_handle.remove()


def _set_accelerated(flag: bool) -> bool:
    """Record ops and backward steps with the C fast path (``True``, where it was built) or the
    Python observers alone; returns the previous setting. For tests and benchmarks: both record
    the same traces (see :mod:`._accel`)."""
    old = _accel.enabled
    if _installed:
        _uninstall()
    _accel.set_enabled(flag)
    _update_hooks()
    return old


def start() -> None:
    """Install the hooks if always-on recording is enabled (called once by ``import graphlab``,
    after ``graphlab.nn`` exists)."""
    _configure_passes(_on_top_level)
    _update_hooks()


def _configure_passes(on_top_level) -> None:
    """Hand the C top-level observer (where built) what it reads and writes, and the Python
    observer it hands every other case to (``on_top_level``: tests count its calls)."""
    from ..nn.modules import _registry
    from . import _scopes

    _accel.configure_passes(
        py_on_top_level=on_top_level,
        options=_options,
        ring=_ring,
        open_auto=open_auto,
        unsettled=_store.unsettled,
        indices=_store._indices,
        level_of=_store._LEVEL_OF,
        registry_globals=vars(_registry),
        tables=_scopes._tables,
        trace=Trace,
        table=_scopes._Table,
    )


# ----- when a pass starts ----------------------------------------------------------------------


def _on_top_level(module, args: tuple, kwargs: dict) -> None:
    """``top_level_observers`` hook: a module called with no module above it on this thread.

    NOTE: only top-level calls start passes (scopes are read from the module stack per op), so
    the recorder listens to those alone and nested module calls keep Module's fast path. With
    the C hooks, ``on_top_level`` in ``_fastrec.c`` takes the common case (the next step of a
    training loop: close the pass that ran backward, open the next) and hands every other call
    to this function, the reference.
    """
    st = _tls
    p = st.current
    try:
        if p is not None and p.open:
            if not p.auto:
                p.add_root(module)  # NOTE: inside record(): one trace for every call in the block
                return
            if not p.backward_seen and _continues(p, args, kwargs):
                p.add_root(module)
                return
        if not _options.enabled:
            return
        if p is not None:
            p.close()
        p = Pass(True, _options.level, _options.timing, _options.max_events, _scope_local.stack)
        p.add_root(module)
        open_auto.add(p)
        st.current = p
        _push(Trace._live(p))
    except Exception as exc:  # noqa: BLE001 - the recorder must never break the user's call
        broken(st.current, exc)


def _continues(p: Pass, args: tuple, kwargs: dict) -> bool:
    """Whether a top-level module call with ``args``/``kwargs`` takes a tensor produced by an
    op of pass ``p`` (only looked at once per top-level call)."""
    for a in (*args, *(kwargs or {}).values()):
        for t in a if isinstance(a, (tuple, list)) else (a,):
            if isinstance(t, Tensor) and _observers.produced(p, t):
                return True
    return False
