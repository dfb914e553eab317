"""``Trace``: one recorded pass as plain data — its events in order, and queries over them.

A trace from the recorder builds its frozen event records the first time ``.events`` is read
(recording only appends cheap tuples); a trace still being recorded keeps growing, and each read
returns the events recorded so far. Filtering returns a new ``Trace`` over the selected events
(ids are kept, so ``BackwardEvent.forward_id`` still points at the right ``OpEvent``).
Printing lives in :mod:`graphlab.trace.format`, analyses in :mod:`graphlab.trace.analysis`
(bound here as methods).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from .events import BackwardEvent, InitEvent, OpEvent, SyncEvent, TransferEvent, ValueRef

KINDS = ("op", "transfer", "sync", "backward", "init")
"""The event kinds, as in each event's ``kind`` field."""


class Trace:
    """One recorded pass: ``.events`` (a tuple, in execution order) plus where it came from.

    Attributes: ``index`` (the pass's serial number in this process, or None), ``roots`` (the
    class names of the top-level modules called), ``level`` and ``timing`` (what was
    recorded), ``dropped`` (events past the recorder's ``max_events``, not recorded),
    ``interrupted`` (recording was switched off inside the pass), ``recording`` (still open).
    """

    __slots__ = ("_events", "_pass", "_meta", "_later")

    def __init__(
        self,
        events: Iterable = (),
        *,
        index: int | None = None,
        roots: tuple[str, ...] = (),
        level: str = "meta",
        timing: bool = True,
        dropped: int = 0,
        interrupted: bool = False,
        module_classes: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    ):
        self._events = tuple(events)
        for i, ev in enumerate(self._events):
            if not isinstance(ev, (OpEvent, TransferEvent, SyncEvent, BackwardEvent, InitEvent)):
                raise TypeError(
                    f"Trace: event {i} is a {type(ev).__name__}; expected the records of "
                    "graphlab.trace.events (OpEvent, TransferEvent, SyncEvent, BackwardEvent, "
                    "InitEvent)"
                )
        self._pass = self._later = None
        classes = None if module_classes is None else dict(module_classes)
        self._meta = (
            index, tuple(roots), level, bool(timing), int(dropped), bool(interrupted), classes,
        )  # fmt: skip

    @classmethod
    def _live(cls, p) -> Trace:
        """The trace of recorder pass ``p`` (events built on first read). NOTE: the C top-level
        observer makes these too (``live_trace`` in ``_fastrec.c``): same slots, same values."""
        t = cls.__new__(cls)
        t._events = t._meta = t._later = None
        t._pass = p
        return t

    @classmethod
    def deferred(
        cls,
        decode: Callable[[], Trace],
        *,
        count: int,
        index: int | None = None,
        roots: tuple[str, ...] = (),
        level: str = "meta",
        timing: bool = True,
        dropped: int = 0,
        interrupted: bool = False,
    ) -> Trace:
        """A trace whose events ``decode()`` makes the first time they are read (on any thread;
        once). Its meta and ``len()`` (``count`` events) are known at once, which is what a
        file loader needs to list a 100,000-event pass before decoding it. An error ``decode``
        raises is raised by that first read (and by the next ones: nothing is cached). Once
        decoded, the meta is the decoded trace's."""
        t = cls((), index=index, roots=roots, level=level, timing=timing, dropped=dropped,
                interrupted=interrupted)  # fmt: skip
        t._events = None
        t._later = (decode, int(count), threading.Lock())
        return t

    # ----- data ------------------------------------------------------------------------------
    @property
    def events(self) -> tuple:
        """The events, in execution order (frozen records of :mod:`graphlab.trace.events`)."""
        p = self._pass
        if p is None:
            return self._events if self._later is None else self._decode()
        events = p.build()
        if not p.open:
            # NOTE: a closed pass never changes again: keep the records, let the pass go.
            self._events, self._meta, self._pass = events, self._meta_of(p), None
        return events

    def _decode(self) -> tuple:
        later = self._later
        if later is None:  # NOTE: decoded by another thread meanwhile
            return self._events
        with later[2]:
            if self._later is not None:
                decoded = later[0]()
                self._events, self._meta = decoded.events, decoded._m()
                self._later = None
        return self._events

    @property
    def decoded(self) -> bool:
        """False for a :meth:`deferred` trace whose events were not read yet (reading them
        decodes them); True for every other trace."""
        return self._later is None

    @staticmethod
    def _meta_of(p) -> tuple:
        return (
            p.index, tuple(p.roots), p.level_name, p.timing, p.dropped, p.interrupted, p.classes,
        )  # fmt: skip

    def _m(self) -> tuple:
        return self._meta_of(self._pass) if self._pass is not None else self._meta

    @property
    def index(self) -> int | None:
        """The pass's serial number in this process (None for a trace built from events)."""
        return self._m()[0]

    @property
    def roots(self) -> tuple[str, ...]:
        """Class names of the top-level modules called in the pass, in order."""
        return self._m()[1]

    @property
    def level(self) -> str:
        """The recording level: ``"meta"``, ``"stats"`` or ``"values"``."""
        return self._m()[2]

    @property
    def timing(self) -> bool:
        """Whether ``seconds`` was recorded."""
        return self._m()[3]

    @property
    def dropped(self) -> int:
        """Events not recorded because the pass reached the recorder's ``max_events``."""
        return self._m()[4]

    @property
    def interrupted(self) -> bool:
        """Whether recording was switched off (or failed) while the pass was open."""
        return self._m()[5]

    @property
    def module_classes(self) -> Mapping[str, str]:
        """The class name of every module scope of the pass (dotted path -> class), containers
        that ran no op of their own included, ``""`` being the root module. From the recorder's
        module stacks; a trace built from events alone knows the classes its op and init events
        name."""
        events = self.events  # NOTE: building a live pass's records fills its table
        classes = self._m()[6]
        if classes is None:
            classes = {}
            for ev in events:
                if isinstance(ev, OpEvent) and ev.scope_class:
                    classes.setdefault(ev.scope, ev.scope_class)
                elif isinstance(ev, InitEvent):
                    classes.setdefault(ev.scope, ev.module_class)
        return MappingProxyType(classes)

    @property
    def recording(self) -> bool:
        """Whether the pass is still being recorded (its events may still grow)."""
        return self._pass is not None and self._pass.open

    def __len__(self) -> int:
        later = self._later
        return later[1] if later is not None else len(self.events)

    def __iter__(self) -> Iterator:
        return iter(self.events)

    def __getitem__(self, i):
        """An event by position, or a ``Trace`` of a slice of the events."""
        if isinstance(i, slice):
            return self._derived(self.events[i])
        if isinstance(i, bool) or not isinstance(i, int):
            raise TypeError(
                f"Trace indices must be integers or slices, not {type(i).__name__}; use "
                "trace.filter(...) to select events by kind, op, scope or device"
            )
        events = self.events
        try:
            return events[i]
        except IndexError:
            raise IndexError(
                f"Trace index {i} is out of range for a trace of {len(events)} events"
            ) from None

    def _derived(self, events) -> Trace:
        index, roots, level, timing, dropped, interrupted, classes = self._m()
        return Trace(
            events,
            index=index,
            roots=roots,
            level=level,
            timing=timing,
            dropped=dropped,
            interrupted=interrupted,
            module_classes=classes,
        )

    # ----- queries ---------------------------------------------------------------------------
    def scopes(self) -> tuple[str, ...]:
        """Every module scope of the trace (and the parents of each), in order of first use;
        ``""`` is the top level."""
        seen: dict[str, None] = {"": None}
        for ev in self.events:
            s = getattr(ev, "scope", "")
            if s and s not in seen:
                parts = s.split(".")
                for i in range(1, len(parts) + 1):
                    seen.setdefault(".".join(parts[:i]), None)
        return tuple(seen)

    def filter(
        self,
        kind: str | Iterable[str] | None = None,
        op: str | Iterable[str] | None = None,
        scope: str | None = None,
        device: Any = None,
    ) -> Trace:
        """The events that match every criterion given, as a new ``Trace``.

        - ``kind``: ``"op"``, ``"transfer"``, ``"sync"``, ``"backward"``, ``"init"`` (or several);
        - ``op``: op names (``"Linear"``); a backward step matches its own name
          (``"LinearBackward0"``) and the name of the forward op that made it;
        - ``scope``: a module path as in ``named_modules``: the module and everything inside it
          (``""``, the top level, matches all); an unknown scope raises KeyError listing close
          names;
        - ``device``: ``"cpu"``, ``"cuda:0"``, a ``graphlab.device``…: ops reading or writing it,
          transfers from or to it, syncs on it, backward steps of ops on it.
        """
        events = self.events
        kinds = _names(kind, "kind")
        if kinds is not None:
            bad = [k for k in kinds if k not in KINDS]
            if bad:
                raise ValueError(
                    f"Trace.filter: unknown kind {bad[0]!r}; expected one of "
                    f"{', '.join(map(repr, KINDS))}"
                )
        ops = _names(op, "op")
        if scope is not None:
            if not isinstance(scope, str):
                raise TypeError(
                    f"Trace.filter: scope must be a module path string like '0.net.2', got "
                    f"{type(scope).__name__}"
                )
            if scope not in self.scopes():
                from .analysis import require_name

                require_name(scope, self.scopes(), "module scope")
        dev = None if device is None else str(_device(device))
        by_id = {ev.id: ev for ev in events if isinstance(ev, OpEvent)}
        out = []
        for ev in events:
            if kinds is not None and ev.kind not in kinds:
                continue
            if ops is not None and not _op_matches(ev, ops, by_id):
                continue
            if scope and not _in_scope(getattr(ev, "scope", ""), scope):
                continue
            if dev is not None and not _on_device(ev, dev, by_id):
                continue
            out.append(ev)
        return self._derived(out)

    # ----- analyses (graphlab.trace.analysis) ---------------------------------------------------
    def per_module(self):
        """Per-module totals (ops, time, bytes, parameters touched); see
        :func:`graphlab.trace.analysis.per_module`."""
        from . import analysis

        return analysis.per_module(self)

    def transfers(self):
        """The transfer events; see :func:`graphlab.trace.analysis.transfers`."""
        from . import analysis

        return analysis.transfers(self)

    def transfer_report(self):
        """Transfer totals by device pair and call site, with advice; see
        :func:`graphlab.trace.analysis.transfer_report`."""
        from . import analysis

        return analysis.transfer_report(self)

    def peak_live_bytes(self, *args, **kwargs) -> int:
        """The peak of live bytes in the pass; see
        :func:`graphlab.trace.analysis.peak_live_bytes`."""
        from . import analysis

        return analysis.peak_live_bytes(self, *args, **kwargs)

    def device_memory(self):
        """Per device, the pool memory in use during the pass (peak, each event's allocation);
        see :func:`graphlab.trace.memory.device_memory`."""
        from . import memory

        return memory.device_memory(self)

    def signature(self) -> str:
        """A hash of the graph's structure; see :func:`graphlab.trace.analysis.signature`."""
        from . import analysis

        return analysis.signature(self)

    def diff(self, other: Trace):
        """What ``other`` added, removed or reshaped; see :func:`graphlab.trace.analysis.diff`."""
        from . import analysis

        return analysis.diff(self, other)

    def grad_contributions(self, param_name: str):
        """Each use's gradient of a parameter; see
        :func:`graphlab.trace.analysis.grad_contributions`."""
        from . import analysis

        return analysis.grad_contributions(self, param_name)

    # ----- printing --------------------------------------------------------------------------
    def __str__(self) -> str:
        from .format import format_trace

        return format_trace(self)

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for ev in self.events:
            counts[ev.kind] = counts.get(ev.kind, 0) + 1
        parts = ", ".join(f"{n} {k}" for k, n in counts.items())
        index = self.index
        label = f"Trace #{index}" if index is not None else "Trace"
        roots = f" {'+'.join(self.roots)}" if self.roots else ""
        state = ", recording" if self.recording else ""
        return f"<{label}{roots}: {len(self.events)} events ({parts or 'none'}){state}>"


def _names(x, what: str) -> frozenset | None:
    if x is None:
        return None
    if isinstance(x, str):
        return frozenset((x,))
    try:
        names = frozenset(x)
    except TypeError:
        raise TypeError(
            f"Trace.filter: {what} must be a string or a collection of strings, got "
            f"{type(x).__name__}"
        ) from None
    if not all(isinstance(n, str) for n in names):
        raise TypeError(
            f"Trace.filter: every {what} must be a string, got {sorted(map(repr, names))}"
        )
    return names


def _device(d):
    from .._device import device

    try:
        return device(d)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Trace.filter: bad device {d!r}: {exc}") from None


def _in_scope(s: str, scope: str) -> bool:
    return s == scope or s.startswith(scope + ".")


def _op_matches(ev, ops: frozenset, by_id: dict) -> bool:
    if isinstance(ev, OpEvent):
        return ev.op in ops
    if isinstance(ev, BackwardEvent):
        if ev.op in ops:
            return True
        fwd = by_id.get(ev.forward_id)
        return fwd is not None and fwd.op in ops
    return False


def _on_device(ev, dev: str, by_id: dict) -> bool:
    if isinstance(ev, OpEvent):
        return any(isinstance(v, ValueRef) and v.device == dev for v in (*ev.outputs, *ev.inputs))
    if isinstance(ev, TransferEvent):
        return dev in (ev.src, ev.dst)
    if isinstance(ev, SyncEvent):
        return ev.device == dev
    if isinstance(ev, BackwardEvent):
        fwd = by_id.get(ev.forward_id)
        return fwd is not None and _on_device(fwd, dev, by_id)
    return False
