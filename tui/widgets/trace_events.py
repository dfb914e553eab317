"""The Trace view's rows: a pass's events as lazy table rows, and a small per-trace cache.

:class:`EventRows` is a :class:`~tui.widgets.virtual_table.TableSource` over ``trace.events``:
a row's cells are formatted only when the row is painted, so a 100,000-event pass opens at once.
What must look at every event (the longest time, for the bars; the filter keys; the forward or
backward subsets) is computed on first use and kept. :class:`TraceCache` keeps the last few of
these per trace, so switching passes back and forth costs nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from rich.text import Text

from graphlab.trace.events import (
    BackwardEvent,
    InitEvent,
    OpEvent,
    SyncEvent,
    TransferEvent,
    ValueRef,
)

from ..fmt import bytes_, seconds, shape
from .virtual_table import Column

__all__ = [
    "DIRECTIONS",
    "EVENT_COLUMNS",
    "EventRows",
    "TraceCache",
    "bar",
    "event_label",
    "event_shapes",
    "is_backward",
    "scope_label",
]

#: the event table's columns: id, kind, op, module scope, input → output shapes, time, bar
EVENT_COLUMNS = (
    Column("id", 6, "right"),
    Column("kind", 8),
    Column("op", 18),
    Column("module", 16),
    Column("shapes (in → out)", 34),
    Column("time", 9, "right"),
    Column("", 12),
)
#: the direction toggle's states, in the order ``d`` cycles through them
DIRECTIONS = ("all", "forward", "backward")

_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(fraction: float, width: int) -> str:
    """A horizontal bar ``fraction`` (0..1) of ``width`` cells long, in eighths of a cell.

    Any positive fraction shows at least a sliver, so a fast op is not mistaken for an untimed one.
    """
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    if fraction > 0 and eighths == 0:
        eighths = 1
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def scope_label(scope: str) -> str:
    """A module scope for display: the dotted path, or ``(root)`` for the top level."""
    return scope or "(root)"


def is_backward(ev) -> bool:
    """Whether ``ev`` belongs to the backward pass: a backward step, or a copy backward made."""
    return isinstance(ev, BackwardEvent) or (
        isinstance(ev, TransferEvent) and ev.reason == "backward"
    )


def _value(v) -> str:
    if isinstance(v, ValueRef):
        return shape(v.shape)
    text = repr(v)
    return text if len(text) <= 8 else text[:7] + "…"


def event_label(ev) -> str:
    """What an event did, in a few words: the op name, ``cpu→cpu:1``, ``item() on cpu:1``…"""
    if isinstance(ev, (OpEvent, BackwardEvent)):
        return ev.op
    if isinstance(ev, TransferEvent):
        return f"{ev.src}→{ev.dst}"
    if isinstance(ev, SyncEvent):
        return f"{ev.reason}() on {ev.device}"
    if isinstance(ev, InitEvent):
        return f"init {ev.module_class}"
    return type(ev).__name__  # pragma: no cover - Trace accepts only the five records


def event_shapes(ev) -> str:
    """Input → output shapes of an op (or a backward step's gradients); bytes of a copy."""
    if isinstance(ev, OpEvent):
        ins = ", ".join(_value(v) for v in ev.inputs)
        outs = ", ".join(shape(v.shape) for v in ev.outputs)
        return f"{ins} → {outs}"
    if isinstance(ev, BackwardEvent):
        ins = ", ".join("-" if s is None else shape(s) for s in ev.grad_input_shapes)
        return f"grad {shape(ev.grad_output_shape)} → {ins}"
    if isinstance(ev, TransferEvent):
        return f"{bytes_(ev.nbytes)} ({ev.reason})"
    if isinstance(ev, SyncEvent):
        return bytes_(ev.nbytes)
    if isinstance(ev, InitEvent):
        ins = ", ".join(shape(s) for s in ev.input_shapes)
        made = ", ".join(f"{name} {shape(s)}" for name, s in ev.shapes)
        return f"{ins} → {made}"
    return ""  # pragma: no cover


class EventRows:
    """The events of one pass as rows of :data:`EVENT_COLUMNS` (a lazy table source)."""

    def __init__(self, trace):
        self.trace = trace
        self.events: Sequence = trace.events
        self._longest: float | None = None
        self._keys: list[str] | None = None
        self._subsets: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return len(self.events)

    @property
    def longest(self) -> float:
        """The longest recorded time of any event (0.0 when nothing was timed)."""
        if self._longest is None:
            times = [ev.seconds for ev in self.events if getattr(ev, "seconds", None)]
            self._longest = max(times, default=0.0)
        return self._longest

    def row(self, i: int) -> list:
        """The cells of event ``i`` (formatted now, never stored)."""
        ev = self.events[i]
        secs = getattr(ev, "seconds", None)
        width = EVENT_COLUMNS[-1].width
        drawn = bar(secs / self.longest, width) if secs and self.longest else ""
        kind = Text(ev.kind, style="italic" if is_backward(ev) else "")
        return [
            str(ev.id),
            kind,
            event_label(ev),
            scope_label(getattr(ev, "scope", "")),
            event_shapes(ev),
            seconds(secs),
            drawn,
        ]

    def key(self, i: int) -> str:
        """The lower-case text the filter and search look in: kind, op and module scope."""
        if self._keys is None:
            self._keys = [
                f"{ev.kind} {event_label(ev)} {scope_label(getattr(ev, 'scope', ''))}".lower()
                for ev in self.events
            ]
        return self._keys[i]

    def positions(self, direction: str = "all", text: str = "", scope: str | None = None):
        """The rows shown for a direction, a filter text and a module (None: every row).

        ``text`` is split into words, each of which must appear in the op, kind or scope;
        ``scope`` keeps the events of that module and of the modules inside it.
        """
        if direction not in DIRECTIONS:
            raise ValueError(
                f"EventRows.positions: direction must be one of {DIRECTIONS}, got {direction!r}"
            )
        words = text.lower().split()
        if direction == "all" and not words and not scope:
            return None
        rows = self._direction(direction)
        if scope:  # NOTE: "" is the top level, which holds every event
            inside = scope + "."
            rows = [
                i
                for i in rows
                if (s := getattr(self.events[i], "scope", "")) == scope or s.startswith(inside)
            ]
        if words:
            rows = [i for i in rows if all(w in self.key(i) for w in words)]
        return rows

    def _direction(self, direction: str) -> Sequence[int]:
        if direction == "all":
            return range(len(self.events))
        if direction not in self._subsets:
            want = direction == "backward"
            self._subsets[direction] = [
                i for i, ev in enumerate(self.events) if is_backward(ev) == want
            ]
        return self._subsets[direction]

    def find(
        self, shown: int, source_index: Callable[[int], int], start: int, text: str
    ) -> tuple[int | None, int, int]:
        """Search the ``shown`` rows (view position -> row by ``source_index``) for ``text``.

        Returns ``(position, rank, hits)``: the first matching position at or after ``start``
        (wrapping around), its rank among the ``hits`` matching rows (1-based); ``(None, 0, 0)``
        when no row matches.
        """
        needle = text.lower()
        hits = [p for p in range(shown) if needle in self.key(source_index(p))]
        if not hits:
            return None, 0, 0
        rank = next((k for k, p in enumerate(hits) if p >= start), 0)
        return hits[rank], rank + 1, len(hits)


T = TypeVar("T")


class TraceCache(Generic[T]):
    """The last ``size`` values made per trace (compared by identity, so a freed trace whose
    ``id()`` is reused never gets a stale entry)."""

    def __init__(self, make: Callable[[object], T], size: int = 8):
        self._make = make
        self._size = size
        self._items: OrderedDict[int, tuple[object, T]] = OrderedDict()

    def get(self, trace) -> T:
        """The value for ``trace``, made on first request."""
        hit = self._items.get(id(trace))
        if hit is not None and hit[0] is trace:
            self._items.move_to_end(id(trace))
            return hit[1]
        value = self._make(trace)
        self._items[id(trace)] = (trace, value)
        while len(self._items) > self._size:
            self._items.popitem(last=False)
        return value
