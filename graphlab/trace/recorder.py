"""The flight recorder: every pass recorded as cheap tuples, turned into events only when read.

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
excluded. On a GPU, ops are timed with CUDA events recorded after each op and resolved when the
pass closes (the time between consecutive events on the device), never with a sync per op.

What is kept: no tensor, graph node, module or device array — weak references while the pass is
open, then metadata only; statistics (level ``"stats"``) and host copies (level ``"values"``, and
each use's gradient contribution of a parameter at every level) are copies. On a GPU, those
copies and the norms stay on the device until the pass closes, then move to the host in one go.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import warnings
import weakref
from collections import deque
from collections.abc import Iterator
from time import perf_counter as _clock

import numpy as np

from .. import _dtype, transfer
from .._device import device as _device_cls
from ..autograd import engine, function
from ..tensor import Tensor
from .events import (
    BackwardEvent,
    InitEvent,
    OpEvent,
    ParamGrad,
    Stats,
    SyncEvent,
    TransferEvent,
    ValueRef,
)
from .trace import Trace

_OP_NAME = function.Op.name

__all__ = ["record", "last_trace", "traces", "set_trace_options", "LEVELS"]

LEVELS = ("meta", "stats", "values")
"""The recording levels: metadata only; plus output statistics; plus host copies of outputs."""

# Raw event kinds: the first item of each raw tuple.
OP, BACKWARD, TRANSFER, SYNC, INIT = range(5)

_TOP = ("", "")  # the scope of code outside any module: (path, class name)
_PLAIN = frozenset((int, float, bool, str, complex))
_SMALL_ARRAY = 64  # attribute arrays up to this many elements are kept as nested tuples


class _Options:
    """The recorder's settings (see :func:`set_trace_options`)."""

    __slots__ = ("keep", "level", "timing", "enabled", "max_events")

    def __init__(self):
        self.keep = 8
        self.level = "meta"
        self.timing = True
        flag = os.environ.get("GRAPHLAB_TRACE", "1").strip().lower()
        self.enabled = flag not in ("0", "off", "false", "no")
        self.max_events = 100_000


_options = _Options()
_ring: deque = deque(maxlen=_options.keep)
_ring_lock = threading.Lock()
_pass_counter = 0
_open_auto: set = set()  # always-on passes not closed yet, on any thread
_explicit_open = 0  # record() blocks open, on any thread
_installed = False
_transfer_handle = None
_scope_local = None  # nn.modules.module._scope (the thread-local module stack), set by _install
_MAIN_THREAD = threading.main_thread().ident
_wref = weakref.ref


class _ThreadState(threading.local):
    """Per-thread recorder state: a pass belongs to the thread that runs it."""

    def __init__(self):
        self.current: _Pass | None = None  # the pass receiving this thread's events
        self.explicit: list[_Pass] = []  # open record() passes, innermost last


_tls = _ThreadState()


class _Dev:
    """A device array (CuPy) waiting to be copied to the host when its pass closes."""

    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a


class _Pass:
    """One recorded pass: raw event tuples plus the per-pass tables they refer to.

    Raw events (first item the kind): ``(OP, name, scope, inputs, out vid, attrs, seconds,
    stats, values)`` with inputs as vids (ints) or 1-tuples of constants; ``(BACKWARD, name or
    node class, forward id, scope, grad shape, input shapes, norms, param grads, seconds,
    stats)``; ``(TRANSFER | SYNC, record, scope)``; ``(INIT, record)``. A scope is ``(path,
    class name)``.

    ``values[vid]`` is ``(shape, numpy dtype, device, nbytes, param name, aliases,
    requires_grad, const)``. While the pass is open, ``vid_of`` maps ``id(tensor)`` to
    ``(weakref, vid, version, id(grad_fn), produced)``, ``ops`` maps ``id(op)`` to ``(weakref,
    event id, scope, output vid)`` and ``params`` maps ``id(parameter)`` to ``(weakref, name,
    aliases)``. The weak references are checked on every hit because ``id()`` values are
    reused after an object dies; closing the pass drops these tables.
    """

    __slots__ = (
        "index", "raw", "values", "vid_of", "ops", "params", "auto", "level", "level_name",
        "timing", "max_events", "dropped", "open", "ops_ok", "backward_seen", "interrupted",
        "last_t", "thread", "roots", "pending", "cuda_marks", "built", "refs", "uses", "counted",
        "tail",
    )  # fmt: skip

    def __init__(self, auto: bool, level: str, timing: bool, max_events: int | None):
        global _pass_counter
        _pass_counter += 1
        self.index = _pass_counter
        self.raw: list = []
        self.values: list = []
        self.vid_of: dict = {}
        self.ops: dict = {}
        self.params: dict = {}
        self.auto = auto
        self.level_name = level
        self.level = LEVELS.index(level)
        self.timing = timing
        self.max_events = max_events if max_events is not None else sys.maxsize
        self.dropped = 0
        self.open = self.ops_ok = True
        self.backward_seen = self.interrupted = False
        self.last_t = _clock()
        ident = threading.get_ident()
        self.thread = 0 if ident == _MAIN_THREAD else ident
        self.roots: list[str] = []
        self.pending: list[int] = []  # ids of raw events holding _Dev entries
        self.cuda_marks: list = []  # (event id, index of its seconds, cupy Event)
        self.built: list = []  # events built so far (incrementally, see build())
        self.refs: dict = {}  # vid -> ValueRef, shared by the events that mention it
        self.uses: dict = {}  # vid -> op inputs reading it (see _uses)
        self.counted = 0  # raw events counted into ``uses``
        self.tail = None  # weakref of the last output dropped past max_events

    def close(self, interrupted: bool = False) -> None:
        """Stop recording into this pass and drop everything that points at live objects."""
        if not self.open:
            return
        self.open = self.ops_ok = False
        self.interrupted = self.interrupted or interrupted
        _open_auto.discard(self)
        self._resolve()
        self.vid_of = self.ops = self.params = self.tail = None

    def _resolve(self) -> None:
        """Move pending device data (GPU statistics, copies, norms, timings) to the host."""
        if self.cuda_marks:
            marks, self.cuda_marks = self.cuda_marks, []
            from ..backends import cuda

            cp = cuda().xp
            marks[-1][2].synchronize()  # NOTE: one sync per pass, never one per op
            prev = None
            for eid, at, ev in marks:
                if prev is not None:
                    r = self.raw[eid]
                    seconds = cp.cuda.get_elapsed_time(prev, ev) / 1e3
                    self.raw[eid] = r[:at] + (seconds,) + r[at + 1 :]
                prev = ev
        if self.pending:
            pending, self.pending = self.pending, []
            for eid in pending:
                self.raw[eid] = _to_host(self.raw[eid])

    def build(self) -> tuple:
        """The events recorded so far, as frozen records (each built once, then cached)."""
        if len(self.built) < len(self.raw):
            self._resolve()
            _extend(self, self.built)
        if not self.open:
            self.raw = []  # NOTE: every raw tuple has its record now; keep only the records
        return tuple(self.built)


def _extend(p: _Pass, built: list) -> None:
    """Append to ``built`` the records of ``p``'s raw events not built yet."""
    refs = p.refs
    values = p.values
    thread = p.thread

    def ref(vid: int) -> ValueRef:
        r = refs.get(vid)
        if r is None:
            shape, npd, dev, nbytes, pname, aliases, rg, const = values[vid]
            r = refs[vid] = ValueRef(
                vid, tuple(shape), _dtype_name(npd), str(dev), int(nbytes), pname, aliases,
                bool(rg), bool(const)
            )  # fmt: skip
        return r

    for eid in range(len(built), len(p.raw)):
        r = p.raw[eid]
        kind = r[0]
        if kind == OP:
            _, name, scope, ins, vid, attrs, seconds, stats, vals = r
            ev = OpEvent(
                id=eid,
                op=name,
                scope=scope[0],
                scope_class=scope[1],
                inputs=tuple(ref(x) if type(x) is int else x[0] for x in ins),
                outputs=(ref(vid),),
                attrs=attrs,
                seconds=seconds,
                stats=tuple(_mkstats(s) for s in stats) if stats is not None else None,
                values=vals,
                thread=thread,
            )
        elif kind == BACKWARD:
            _, name, fid, scope, gshape, shapes, norms, pgs, seconds, stats = r
            ev = BackwardEvent(
                id=eid,
                op=name if type(name) is str else name.__name__ + "Backward0",
                forward_id=fid,
                scope=scope[0],
                grad_output_shape=tuple(gshape),
                grad_input_shapes=tuple(None if x is None else tuple(x) for x in shapes),
                grad_input_norms=tuple(None if n is None else float(n) for n in norms),
                param_grads=tuple(
                    ParamGrad(name=n, aliases=a, forward_id=f, norm=float(nrm), value=v)
                    for n, a, f, nrm, v in pgs
                ),
                seconds=seconds,
                stats=(
                    tuple(None if s is None else _mkstats(s) for s in stats)
                    if stats is not None
                    else None
                ),
            )
        elif kind == TRANSFER:
            _, rec, scope = r
            ev = TransferEvent(
                id=eid,
                src=rec.src,
                dst=rec.dst,
                nbytes=rec.nbytes,
                seconds=rec.seconds,
                bandwidth=rec.bandwidth,
                pinned=rec.pinned,
                non_blocking=rec.non_blocking,
                scope=scope[0],
                call_site=rec.call_site,
                reason=rec.reason,
            )
        elif kind == SYNC:
            _, rec, scope = r
            ev = SyncEvent(
                id=eid,
                device=rec.device,
                reason=rec.reason,
                nbytes=rec.nbytes,
                seconds=rec.seconds,
                scope=scope[0],
                call_site=rec.call_site,
            )
        else:
            rec = r[1]
            ev = InitEvent(
                id=eid,
                scope=rec.path,
                module_class=rec.module_type,
                shapes=tuple(rec.shapes),
                input_shapes=tuple(rec.input_shapes),
                initializer=rec.initializer,
            )
        built.append(ev)


def _mkstats(s) -> Stats:
    lo, hi, mean, std, nan, inf, count = (float(v) for v in s)
    return Stats(lo, hi, mean, std, int(nan), int(inf), int(count))


def _dtype_name(npd) -> str:
    try:
        return _dtype.from_np(npd).name
    except (TypeError, KeyError, ValueError):
        return str(npd)


def _to_host(x):
    """``x`` with every :class:`_Dev` inside (tuples, nested) replaced by a NumPy copy."""
    if isinstance(x, _Dev):
        return x.a.get()
    if type(x) is tuple:
        return tuple(_to_host(v) for v in x)
    return x


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
    global _ring
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
        with _ring_lock:
            _options.keep = keep
            _ring = deque(_ring, maxlen=keep)
    if level is not None:
        _options.level = level
    if timing is not None:
        _options.timing = timing
    if max_events is not None:
        _options.max_events = max_events
    if enabled is not None and enabled != _options.enabled:
        _options.enabled = enabled
        if not enabled:
            mid_call = bool(_scope_local is not None and _scope_local.stack)
            for p in list(_open_auto):
                p.close(interrupted=mid_call and p is _tls.current)
            if _tls.current is not None and _tls.current.auto:
                _tls.current = None
        _update_hooks()
    return old


def traces() -> tuple[Trace, ...]:
    """The passes in the ring, oldest first (at most ``keep``; see :func:`set_trace_options`)."""
    with _ring_lock:
        return tuple(_ring)


def last_trace() -> Trace | None:
    """The most recent pass (still growing if it is being recorded), or None if there is none."""
    with _ring_lock:
        return _ring[-1] if _ring else None


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
    p = _Pass(
        False,
        level if level is not None else _options.level,
        timing if timing is not None else _options.timing,
        None,
    )
    # NOTE: record() inside a module's forward: scopes and parameter names are relative to the
    # outermost module being called.
    if _scope_local is not None and _scope_local.stack:
        _add_root(p, _scope_local.stack[0])
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
    with _ring_lock:
        if _ring.maxlen:
            _ring.append(trace)


# ----- installing the hooks --------------------------------------------------------------------


def _update_hooks() -> None:
    """Hooks installed while always-on recording is enabled or a record() block is open."""
    if _options.enabled or _explicit_open > 0:
        _install()
    else:
        _uninstall()


def _install() -> None:
    global _installed, _scope_local, _transfer_handle
    if _installed:
        return
    from ..nn.modules import lazy as lazy_mod
    from ..nn.modules import module as module_mod

    _scope_local = module_mod._scope
    _installed = True
    function.op_observers.append(_on_op)
    engine.backward_observers.append(_on_backward)
    _transfer_handle = transfer.add_observer(_on_transfer)
    module_mod.top_level_observers.append(_on_top_level)
    lazy_mod.lazy_init_observers.append(_on_init)


def _uninstall() -> None:
    global _installed
    if not _installed:
        return
    from ..nn.modules import lazy as lazy_mod
    from ..nn.modules import module as module_mod

    _installed = False
    for lst, fn in (
        (function.op_observers, _on_op),
        (engine.backward_observers, _on_backward),
        (module_mod.top_level_observers, _on_top_level),
        (lazy_mod.lazy_init_observers, _on_init),
    ):
        with contextlib.suppress(ValueError):
            lst.remove(fn)
    if _transfer_handle is not None:
        _transfer_handle.remove()


def start() -> None:
    """Install the hooks if always-on recording is enabled (called once by ``import graphlab``,
    after ``graphlab.nn`` exists)."""
    _update_hooks()


# ----- module scopes ---------------------------------------------------------------------------

_scope_cache: dict = {}  # ids of the module stack -> (weakrefs of the stack, (path, class))


def _scope_of(stack: list) -> tuple[str, str]:
    """``(path, class name)`` of the innermost module on the (non-empty) module stack.

    The path resolves each step as ``nn.modules.module._module_path`` does: the callee's first
    name in the caller's ``named_modules()``, ``<Class>`` when the caller does not own it.
    Cached per stack of modules; a hit is checked against the live stack (ids are reused).
    """
    n = len(stack)
    key = (
        id(stack[0])
        if n == 1
        else (id(stack[0]), id(stack[1]))
        if n == 2
        else tuple(map(id, stack))
    )
    e = _scope_cache.get(key)
    if e is not None:
        for r, m in zip(e[0], stack):
            if r() is not m:
                break
        else:
            return e[1]
    parts = []
    for parent, child in zip(stack, stack[1:]):
        if child is parent:
            continue
        name = f"<{type(child).__name__}>"
        for k, m in parent.named_modules():
            if m is child and k:
                name = k
                break
        parts.append(name)
    entry = (".".join(parts), type(stack[-1]).__name__)
    if len(_scope_cache) > 4096:
        _scope_cache.clear()  # NOTE: entries of dead modules pile up; rebuilt on demand
    _scope_cache[key] = (tuple(_wref(m) for m in stack), entry)
    return entry


def _on_top_level(module, args: tuple, kwargs: dict) -> None:
    # NOTE: only top-level calls start passes (scopes are read from the module stack per op), so
    # the recorder listens to those alone and nested module calls keep Module's fast path.
    try:
        _top_level_call(_tls, module, args, kwargs)
    except Exception as exc:  # noqa: BLE001 - the recorder must never break the user's call
        _broken(_tls.current, exc)


def _top_level_call(st: _ThreadState, module, args: tuple, kwargs: dict) -> None:
    p = st.current
    if p is not None and p.open and not p.auto:
        _add_root(p, module)  # NOTE: inside record(): one trace for every call in the block
        return
    if not _options.enabled:
        return
    if p is not None and p.open and not p.backward_seen and _continues(p, args, kwargs):
        _add_root(p, module)
        return
    if p is not None:
        p.close()
    p = _Pass(True, _options.level, _options.timing, _options.max_events)
    _add_root(p, module)
    _open_auto.add(p)
    st.current = p
    _push(Trace._live(p))


def _continues(p: _Pass, args: tuple, kwargs: dict) -> bool:
    """Whether a top-level module call with ``args``/``kwargs`` takes a tensor produced by an
    op of pass ``p`` (only looked at once per top-level call)."""
    vid_of = p.vid_of
    for a in (*args, *(kwargs or {}).values()):
        for t in a if isinstance(a, (tuple, list)) else (a,):
            if isinstance(t, Tensor):
                e = vid_of.get(id(t))
                if (e is not None and e[0]() is t and e[4]) or (p.tail and p.tail() is t):
                    return True
    return False


def _add_root(p: _Pass, module) -> None:
    """Name the parameters of top-level ``module`` in pass ``p``: the first name and every alias
    (``named_parameters(remove_duplicate=False)`` order)."""
    name = type(module).__name__
    if name not in p.roots:
        p.roots.append(name)
    groups: dict[int, list] = {}

    # NOTE: named_parameters(remove_duplicate=False) without its generators and memo sets: this
    # runs once per pass, which is on the hot path of small models.
    def walk(prefix: str, m) -> None:
        for k, v in m._parameters.items():
            if v is not None:
                g = groups.get(id(v))
                if g is None:
                    groups[id(v)] = [v, prefix + k, [prefix + k]]
                else:
                    g[2].append(prefix + k)
        for k, c in m._modules.items():
            if c is not None:
                walk(prefix + k + ".", c)

    walk("", module)
    params = p.params
    for key, (prm, first, names) in groups.items():
        e = params.get(key)
        if e is None or e[0]() is not prm:
            params[key] = (_wref(prm), first, tuple(names))


# ----- values and attributes -------------------------------------------------------------------


def _new_value(p: _Pass, t: Tensor) -> int:
    """Register input ``t`` (seen for the first time, or written in place since)."""
    gf = t.grad_fn
    produced = False
    vid = None
    if gf is not None:
        # NOTE: a tensor whose node is a recorded op holds that op's output value: an in-place
        # write's snapshot, or a tensor that took over the node of the value written into it.
        e = p.ops.get(id(gf))
        if e is not None and e[0]() is gf:
            vid, produced = e[3], True
    if vid is None:
        data = t._data
        pe = p.params.get(id(t))
        if pe is not None and pe[0]() is t:
            pname, aliases = pe[1], pe[2]
        else:
            pname, aliases = None, ()
        rg = t.requires_grad
        vid = len(p.values)
        const = gf is None and not rg
        p.values.append((data.shape, data.dtype, t._device, data.nbytes, pname, aliases, rg, const))
    p.vid_of[id(t)] = (_wref(t), vid, t._version.value, id(gf), produced)
    return vid


_dtype_names: dict = {}


def _plain(v):
    """An op attribute or constant operand as plain, immutable data (never a live array)."""
    t = type(v)
    if v is None or t in _PLAIN or t is slice or v is Ellipsis:
        return v
    if t is tuple or t is list:
        return tuple(_plain(x) for x in v)
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        if v.size <= _SMALL_ARRAY:
            return _plain(v.tolist())
        name = _dtype_names.get(v.dtype)
        if name is None:
            name = _dtype_names[v.dtype] = str(v.dtype)
        return f"<{name} array {v.shape}>"
    if isinstance(v, _dtype.dtype):
        return v.name
    if isinstance(v, (type, np.dtype)):
        with contextlib.suppress(TypeError):
            return np.dtype(v).name
    if isinstance(v, Tensor):
        return f"<tensor {tuple(v.shape)} {v.dtype.name} {v.device}>"
    shape = getattr(v, "shape", None)
    if shape is not None and hasattr(v, "dtype"):
        return f"<{v.dtype} array {tuple(shape)} on {type(v).__module__.split('.')[0]}>"
    if callable(v):
        return getattr(v, "__qualname__", type(v).__name__)
    if t is dict:
        return tuple((str(k), _plain(x)) for k, x in v.items())
    return f"<{t.__name__}>"


# ----- statistics, norms, copies ---------------------------------------------------------------


def _summary(a):
    """``((min, max, mean, std, nan, inf, count), norm)`` of array ``a``: statistics over its
    finite elements (population std, as ``graphlab.inspect``) and its 2-norm (NaN or Inf when
    ``a`` holds one); :class:`_Dev` of those on a GPU."""
    if type(a) is not np.ndarray:
        if not isinstance(a, (np.ndarray, np.generic)) and hasattr(a, "device"):
            return _Dev(_stats_device(a)), _Dev(sys.modules["cupy"].linalg.norm(a))
        a = np.asarray(a)
    n = a.size
    if n == 0:
        return (math.nan, math.nan, math.nan, math.nan, 0, 0, 0), 0.0
    k = a.dtype.kind
    if k == "c":
        a = np.abs(a)
    elif k != "f" or a.dtype.itemsize < 4:
        a = a.astype(np.float64 if k != "f" else np.float32)
    flat = a.reshape(-1)
    lo, hi = flat.min(), flat.max()
    nan = inf = 0
    norm = None
    # NOTE: NaN propagates through min and max, and an Inf would be the min or the max, so two
    # finite extremes prove the array clean without counting (the common, cheap case).
    if not (math.isfinite(lo) and math.isfinite(hi)):
        bad_nan = np.isnan(flat)
        bad_inf = np.isinf(flat)
        nan, inf = int(np.count_nonzero(bad_nan)), int(np.count_nonzero(bad_inf))
        norm = math.nan if nan else math.inf
        flat = flat[~(bad_nan | bad_inf)]
        if flat.size == 0:
            return (math.nan, math.nan, math.nan, math.nan, nan, inf, n), norm
        lo, hi = flat.min(), flat.max()
    m = flat.size
    # NOTE: four passes over the data (min, max, and two BLAS dot products for the sum and the
    # sum of squares) instead of NumPy's slower pairwise sum and a two-pass std; the two-pass
    # formula only runs when the mean dwarfs the spread (where E[x²] - E[x]² cancels).
    total = float(flat.dot(_ones(m, flat.dtype))) if m <= _ONES_MAX else float(flat.sum())
    sq = float(flat.dot(flat))
    mean = total / m
    var = sq / m - mean * mean
    if not var > 1e-3 * mean * mean:
        d = flat.astype(np.float64) - mean
        var = float(d.dot(d)) / m
    if norm is None:
        norm = math.sqrt(sq)
    return (float(lo), float(hi), mean, math.sqrt(max(var, 0.0)), nan, inf, n), norm


_ONES_MAX = 1 << 22  # elements; larger arrays are summed by NumPy (no big ones-vector kept)
_ones_cache: dict = {}


def _ones(m: int, dt) -> np.ndarray:
    """A cached vector of ``m`` ones of dtype ``dt`` (a view of a longer one)."""
    o = _ones_cache.get(dt)
    if o is None or o.size < m:
        o = _ones_cache[dt] = np.ones(max(m, 4096, 0 if o is None else 2 * o.size), dtype=dt)
    return o[:m]


def _stats_device(a):
    """The statistics of a CuPy array as one small device array (no host sync)."""
    xp = sys.modules["cupy"]
    n = a.size
    if n == 0:
        return xp.asarray([math.nan] * 4 + [0, 0, 0], dtype=xp.float64)
    f = a.astype(xp.float64).reshape(-1)
    nan_mask, inf_mask = xp.isnan(f), xp.isinf(f)
    ok = ~(nan_mask | inf_mask)
    cnt = ok.sum()
    safe = xp.where(ok, f, 0.0)
    mean = safe.sum() / xp.maximum(cnt, 1)
    var = xp.where(ok, (f - mean) ** 2, 0.0).sum() / xp.maximum(cnt, 1)
    lo = xp.where(ok, f, xp.inf).min()
    hi = xp.where(ok, f, -xp.inf).max()
    empty = cnt == 0
    out = xp.stack(
        [
            xp.where(empty, xp.nan, lo),
            xp.where(empty, xp.nan, hi),
            xp.where(empty, xp.nan, mean),
            xp.where(empty, xp.nan, xp.sqrt(var)),
            nan_mask.sum().astype(xp.float64),
            inf_mask.sum().astype(xp.float64),
            xp.asarray(float(n)),
        ]
    )
    return out


def _norm(a):
    """The 2-norm of gradient array ``a`` (a :class:`_Dev` of it on a GPU)."""
    if type(a) is np.ndarray and a.dtype.kind == "f":
        f = a.reshape(-1)
        return math.sqrt(float(f.dot(f)))
    if isinstance(a, (np.ndarray, np.generic, float, int)):
        return float(np.linalg.norm(np.asarray(a, dtype=np.float64)))
    return _Dev(sys.modules["cupy"].linalg.norm(a))


def _uses(p: _Pass, vid: int) -> int:
    """How many op inputs of pass ``p`` so far read value ``vid`` (counted incrementally)."""
    raw = p.raw
    uses = p.uses
    for i in range(p.counted, len(raw)):
        r = raw[i]
        if r[0] == OP:
            for x in r[3]:
                if type(x) is int:
                    uses[x] = uses.get(x, 0) + 1
    p.counted = len(raw)
    return uses.get(vid, 0)


def _copy(a):
    """A host copy of array ``a`` (a device copy, moved to the host at pass close, on a GPU)."""
    if isinstance(a, (np.ndarray, np.generic)):
        return np.array(a, copy=True)
    return _Dev(a.copy())


def _cuda_mark(p: _Pass, eid: int, at: int, dev) -> None:
    """Record a CUDA event after event ``eid`` on ``dev``'s current stream (no sync); its time
    goes to item ``at`` of the raw tuple when the pass resolves."""
    from ..backends import cuda

    cb = cuda()
    with cb.use(dev):
        ev = cb.xp.cuda.Event()
        ev.record()
    p.cuda_marks.append((eid, at, ev))


# ----- the observers (the hot path) ------------------------------------------------------------


def _on_op(op, args, attrs, out) -> None:
    p = _tls.current
    if p is None or not p.ops_ok:
        return
    try:
        now = _clock()
        raw = p.raw
        eid = len(raw)
        if eid >= p.max_events:
            p.dropped += 1
            p.tail = _wref(out)  # NOTE: lets a loop fed its own output continue the full pass
            return
        vid_of = p.vid_of
        ins = []
        for a in args:
            if isinstance(a, Tensor):
                e = vid_of.get(id(a))
                if (
                    e is not None
                    and e[0]() is a
                    and e[2] == a._version.value
                    and e[3] == id(a.grad_fn)
                ):
                    ins.append(e[1])
                else:
                    ins.append(_new_value(p, a))
            elif a is None or type(a) in _PLAIN:
                ins.append((a,))  # NOTE: constants are wrapped; a bare int is a vid
            else:
                ins.append((_plain(a),))
        values = p.values
        vid = len(values)
        data = out._data
        dev = out._device
        values.append(
            (data.shape, data.dtype, dev, data.nbytes, None, (), out.requires_grad, False)
        )
        gf = out.grad_fn
        vid_of[id(out)] = (_wref(out), vid, out._version.value, id(gf), True)
        stack = _scope_local.stack
        scope = _scope_of(stack) if stack else _TOP
        if gf is op:
            p.ops[id(op)] = (_wref(op), eid, scope, vid)
        items = ()
        if attrs:
            items = tuple(attrs.items())
            for _, v in items:
                if v is not None and type(v) not in _PLAIN:
                    items = _plain(items)
                    break
        stats = values_ = None
        if p.level:
            stats = (_summary(data)[0],)
            if p.level > 1:
                values_ = (_copy(data),)
        seconds = now - p.last_t if p.timing else None
        raw.append((OP, type(op).__name__, scope, tuple(ins), vid, items, seconds, stats, values_))
        if dev.type == "cuda":
            if p.timing:
                _cuda_mark(p, eid, 6, dev)
            if p.level:
                p.pending.append(eid)
        p.last_t = _clock()
    except Exception as exc:  # noqa: BLE001 - the recorder must never break the user's op
        _broken(p, exc)


def _on_backward(node, grad, in_grads) -> None:
    p = _tls.current
    if p is None or not p.open:
        return
    try:
        now = _clock()
        raw = p.raw
        eid = len(raw)
        p.backward_seen = True
        if p.auto:
            p.ops_ok = False
        if eid >= p.max_events:
            p.dropped += 1
            return
        e = p.ops.get(id(node))
        if e is not None and e[0]() is node:
            fid, scope = e[1], e[2]
        else:
            fid, scope = None, _TOP
        level = p.level
        params = p.params
        nxt = node.next
        shapes, norms, pgs = [], [], []
        stats = [] if level else None
        for i, g in enumerate(in_grads):
            if g is None or not hasattr(g, "shape"):  # NOTE: None, or a multi-output partial
                shapes.append(None)
                norms.append(None)
                if stats is not None:
                    stats.append(None)
                continue
            shapes.append(g.shape)
            nrm = None
            if level:
                st, nrm = _summary(g)
                stats.append(st)
            child = nxt[i] if i < len(nxt) else None
            if params and isinstance(child, Tensor):
                pe = params.get(id(child))
                if pe is not None and pe[0]() is child:
                    if nrm is None:
                        nrm = _norm(g)
                    # NOTE: always-on passes at level "meta" keep each use's contribution only
                    # for a parameter used more than once (the tied case): a single use adds
                    # the whole gradient of the pass to .grad, and copying it costs.
                    keep = level or not p.auto
                    if not keep:
                        ve = p.vid_of.get(id(child))
                        keep = ve is not None and ve[0]() is child and _uses(p, ve[1]) > 1
                    pgs.append((pe[1], pe[2], fid, nrm, _copy(g) if keep else None))
            norms.append(nrm)
        cls = type(node)
        # NOTE: the usual name() (class name + "Backward0") is made when the record is built.
        name = cls if cls.name is _OP_NAME else node.name()
        seconds = now - p.last_t if p.timing else None
        stats = tuple(stats) if stats is not None else None
        gshape = getattr(grad, "shape", ())
        raw.append((BACKWARD, name, fid, scope, gshape, tuple(shapes), tuple(norms), tuple(pgs),
                    seconds, stats))  # fmt: skip
        if not isinstance(grad, (np.ndarray, np.generic)) and hasattr(grad, "device"):
            p.pending.append(eid)  # NOTE: a CuPy gradient: norms and copies are on the GPU
            if p.timing:
                _cuda_mark(p, eid, 8, _device_cls("cuda", grad.device.id))
        p.last_t = _clock()
    except Exception as exc:  # noqa: BLE001 - the recorder must never break backward
        _broken(p, exc)


def _on_transfer(rec) -> None:
    p = _tls.current
    if p is None or not p.open:
        return
    if len(p.raw) >= p.max_events:
        p.dropped += 1
        return
    stack = _scope_local.stack
    kind = TRANSFER if type(rec) is transfer.Transfer else SYNC
    p.raw.append((kind, rec, _scope_of(stack) if stack else _TOP))
    p.last_t = _clock()


def _on_init(rec) -> None:
    p = _tls.current
    if p is None or not p.open:
        return
    if len(p.raw) >= p.max_events:
        p.dropped += 1
        return
    p.raw.append((INIT, rec))
    p.last_t = _clock()


_warned = False


def _broken(p: _Pass | None, exc: BaseException) -> None:
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
