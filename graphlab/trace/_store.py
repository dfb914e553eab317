"""The per-pass store: what one recorded pass holds while it records.

The observers append one compact raw tuple per event to ``Pass.raw`` (the first item is the
kind); :mod:`._build` turns them into the frozen records of :mod:`graphlab.trace.events` the
first time someone reads the trace:

- ``(OP, op class, scope, inputs, shape, numpy dtype, device, requires_grad, attrs, seconds,
  stats, values, device bytes)``: the op's output is described inline; each input is a ref (see
  :mod:`._values`): an event id, a :class:`~._values.Leaf`, ``(constant,)`` or an
  :class:`~._values.ArrayConst`;
- ``(BACKWARD, name or node class, forward event id or None, grad shape, input grad shapes,
  squared norms or None, param grads, seconds, stats, device bytes)``, param grads as
  ``(name, aliases, forward id, squared norm, copy or None)``;
- ``(TRANSFER | SYNC, record of graphlab.transfer, scope)`` and ``(INIT, lazy-init record)``.

A scope is ``(path, class name)``. Value ids are given when the records are built, in order of
first appearance, so recording never numbers anything. Statistics are raw (see
:mod:`._stats`); device data (:class:`~._stats.Dev`) and CUDA timing events wait on the GPU
until its work for the pass is done: closing a pass never waits for the GPU (see
:meth:`Pass.close` and :func:`settle_finished`); reading the trace does.

While the pass is open it refers to live objects only weakly or through tables it drops when
it closes: ``vid_of`` maps ``id(tensor) -> (weakref, event id, version, id(grad_fn))`` for op
outputs without a graph node (no-grad results), ``params`` maps ``id(parameter) -> (weakref,
name, aliases)``, and ``stack`` is this thread's module stack (a list the module calls push
and pop). The weak references are checked on every hit because ``id()`` values are reused
after an object dies. A closed pass points at no live object.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import warnings
from time import perf_counter as _clock

from . import _stats
from ._scopes import TOP, param_table, scope_of

__all__ = [
    "OP", "BACKWARD", "TRANSFER", "SYNC", "INIT", "LEVELS", "Pass", "tls", "broken",
    "settle_finished", "unsettled", "env_on",
]  # fmt: skip

LEVELS = ("meta", "stats", "values")
"""The recording levels: metadata only; plus output statistics; plus host copies of outputs."""

OP, BACKWARD, TRANSFER, SYNC, INIT = range(5)
OP_SECONDS, BACKWARD_SECONDS = 9, 7  # where ``seconds`` sits in those raw tuples

_MAIN_THREAD = threading.main_thread().ident
_indices = itertools.count(1)  # NOTE: next() on a count is atomic under the GIL
_LEVEL_OF = {name: i for i, name in enumerate(LEVELS)}
_NO_PARAMS: dict = {}  # NOTE: shared and never written (see Pass.add_root)
open_auto: set = set()  # always-on passes not closed yet, on any thread
unsettled: list = []  # closed passes whose GPU work had not finished when they closed
_settling = threading.Lock()  # NOTE: a pass resolves once, whichever thread gets there first


class ThreadState(threading.local):
    """Per-thread recorder state: a pass belongs to the thread that runs it."""

    def __init__(self):
        self.current: Pass | None = None  # the pass receiving this thread's events
        self.explicit: list[Pass] = []  # open record() passes, innermost last


tls = ThreadState()


class Pass:
    """One recorded pass: raw event tuples plus the per-pass tables they refer to (see the
    module docstring).

    NOTE: a pass opens per top-level module call, so ``__init__`` sets only what every pass
    needs, in slots (the C observers read them in place; see ``_fastrec.c``); the rest are
    class-level defaults until first written (into a ``__dict__`` made only then). The C
    top-level observer makes the passes of a training loop's steps without calling
    ``__init__`` (``new_pass`` in ``_fastrec.c``): a slot added here goes there too
    (``tests/test_trace_accel.py`` compares every slot of the passes both make).
    """

    __slots__ = (
        "index", "raw", "stack", "vid_of", "params", "auto", "level", "timing", "max_events",
        "open", "ops_ok", "last_t", "backward_seen", "reused", "calls", "roots", "level_name",
        "thread", "tail", "__dict__",
    )  # fmt: skip

    dropped = 0  # events past max_events, not recorded
    interrupted = False
    pending = None  # ids of raw events holding Dev entries
    cuda_marks = None  # (event id, index of its seconds, cupy Event)
    cuda_devices = None  # the CUDA devices this pass's events ran on
    ends = None  # one cupy Event per CUDA device, recorded when the pass closed
    built = None  # events built so far (see build())
    refs = None  # ref -> ValueRef while building (see _build)
    classes = None  # module path -> class name, filled as the events are built (see _build)

    def __init__(self, auto: bool, level: str, timing: bool, max_events: int | None, stack: list):
        self.index = next(_indices)
        self.raw: list = []
        self.stack = stack
        self.vid_of: dict | None = {}
        self.params: dict | None = _NO_PARAMS  # shared tables are never written (add_root)
        self.roots: list[str] = []
        self.auto = auto
        self.level_name = level
        self.level = _LEVEL_OF[level]
        self.timing = timing
        self.max_events = max_events if max_events is not None else sys.maxsize
        self.open = self.ops_ok = True
        self.backward_seen = False
        self.reused = None  # ids of parameters read more than once (see reuse())
        self.calls = None  # frames of module calls, for roots with shared modules (see _calls)
        self.tail = None  # weakref of the last output dropped past max_events
        ident = threading.get_ident()
        self.thread = 0 if ident == _MAIN_THREAD else ident
        self.last_t = _clock()

    def close(self, interrupted: bool = False) -> None:
        """Stop recording into this pass and drop everything that points at live objects."""
        if not self.open:
            return
        self.open = self.ops_ok = False
        if interrupted:
            self.interrupted = True
        open_auto.discard(self)
        if self.cuda_marks or self.pending:
            self._mark_end()
        if unsettled:
            settle_finished()
        if self.calls is not None:
            from . import _calls

            _calls.stop(self)
        self.vid_of = self.params = self.tail = self.stack = self.reused = None

    def scope_now(self) -> tuple:
        """The scope of the code running now (on this pass's thread)."""
        stack = self.stack
        if not stack:
            return TOP
        if self.calls is not None:
            from . import _calls

            return _calls.scope(self, stack) or scope_of(stack)
        return scope_of(stack)

    def add_root(self, module) -> None:
        """Name the parameters of top-level ``module`` in this pass (names of an earlier root
        win for a parameter both hold)."""
        name = type(module).__name__
        if name not in self.roots:
            self.roots.append(name)
        table, shared = param_table(module)
        if shared and self.calls is None:
            from . import _calls

            _calls.start(self)
        params = self.params
        if not params:
            self.params = table
        elif table and table is not params:
            merged = dict(params)
            for key, entry in table.items():
                e = merged.get(key)
                if e is None or e[0]() is not entry[0]():
                    merged[key] = entry
            self.params = merged

    def reuse(self, key: int) -> None:
        """An op read the parameter ``id() == key`` again: each use's contribution is kept."""
        if self.reused is None:
            self.reused = set()
        self.reused.add(key)

    def add_pending(self, eid: int) -> None:
        """Event ``eid`` holds device data (:class:`~._stats.Dev`) to move at close."""
        if self.pending is None:
            self.pending = []
        self.pending.append(eid)

    def on_device(self, eid: int, at: int, dev) -> int:
        """What event ``eid`` on CUDA device ``dev`` records there, without a sync: when timing,
        a CUDA event on the current stream (its time goes to item ``at`` of the raw tuple when
        the pass resolves); returns the bytes in use in CuPy's default memory pool on ``dev``
        (host-side bookkeeping: reading it never waits for the GPU)."""
        from ..backends import cuda

        cb = cuda()
        devices = self.cuda_devices
        if devices is None:
            self.cuda_devices = devices = set()
        devices.add(dev)
        with cb.use(dev):
            if self.timing:
                ev = cb.xp.cuda.Event()
                ev.record()
                if self.cuda_marks is None:
                    self.cuda_marks = []
                self.cuda_marks.append((eid, at, ev))
            return int(cb.xp.get_default_memory_pool().used_bytes())

    def _mark_end(self) -> None:
        """At close: record one CUDA event behind this pass's work on each of its devices and
        leave the pass to :func:`settle_finished` (NOTE: no wait for the GPU here: an
        always-on pass closes when the next step's forward begins)."""
        from ..backends import cuda

        cb = cuda()
        ends = []
        for dev in self.cuda_devices or ():
            with cb.use(dev):
                ev = cb.xp.cuda.Event(block=False, disable_timing=True)
                ev.record()
                ends.append(ev)
        self.ends = ends
        unsettled.append(self)

    def finished(self) -> bool:
        """Whether the GPU has done this pass's work (asks CUDA; never waits)."""
        ends = self.ends
        return ends is not None and all(ev.done for ev in ends)

    def _resolve(self, aside: bool = False) -> None:
        """Move pending device data (GPU statistics, copies, norms, timings) to the host,
        waiting for the GPU if it has not finished this pass's work. ``aside``: the work is
        done; copy on a stream of the trace's own, since the current one may already hold the
        next step's work."""
        with _settling:
            if self in unsettled:
                unsettled.remove(self)
            marks, self.cuda_marks = self.cuda_marks, None
            pending, self.pending = self.pending, None
            ends, self.ends = self.ends, None
            if not (marks or pending):
                return
            if not ends and marks:
                ends = (marks[-1][2],)  # NOTE: an open pass, read while it records
            for ev in ends or ():
                ev.synchronize()  # NOTE: at once when done; one wait per pass, never per op
            if marks:
                from ..backends import cuda

                elapsed = cuda().xp.cuda.get_elapsed_time
                prev = None
                for eid, at, ev in marks:
                    if prev is not None:
                        r = self.raw[eid]
                        self.raw[eid] = r[:at] + (elapsed(prev, ev) / 1e3,) + r[at + 1 :]
                    prev = ev
            for eid in pending or ():
                self.raw[eid] = _stats.to_host(self.raw[eid], aside)

    def build(self) -> tuple:
        """The events recorded so far, as frozen records (each built once, then cached)."""
        from ._build import extend

        if self.built is None:
            self.built = []
        if len(self.built) < len(self.raw):
            self._resolve()
            extend(self)
        if not self.open:
            self.raw, self.refs = [], None  # NOTE: every raw tuple has its record now
        return tuple(self.built)


def settle_finished(wait: bool = False) -> None:
    """Resolve the closed passes whose GPU work is done (asks CUDA, never waits): their
    timings and device data come to the host a step or two after they close. ``wait``: resolve
    them all, waiting for the GPU where it has not finished (recording switched off: no later
    pass will close to settle them, and they hold device memory)."""
    for p in [p for p in unsettled if wait or p.finished()]:
        p._resolve(aside=True)


def env_on(name: str) -> bool:
    """Whether environment variable ``name`` leaves a switch on: unset, or anything but
    0/off/false/no (``GRAPHLAB_TRACE``, ``GRAPHLAB_TRACE_ACCEL``)."""
    return os.environ.get(name, "1").strip().lower() not in ("0", "off", "false", "no")


_warned = False


def broken(p: Pass | None, exc: BaseException) -> None:
    """A recorder bug: stop recording this pass, warn once, and let the user's code go on."""
    global _warned
    if p is not None:
        p.close(interrupted=True)
    if not _warned:
        _warned = True
        warnings.warn(
            f"graphlab trace recorder: {type(exc).__name__}: {exc}; recording of the current "
            "pass stopped (the computation itself is unaffected). Please report this.",
            RuntimeWarning,
            stacklevel=3,
        )
