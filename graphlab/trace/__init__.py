"""``graphlab.trace``: every forward and backward pass recorded into plain, queryable data.

Recording is on by default (:mod:`graphlab.trace.recorder`): each top-level module call opens a
pass, the backward that follows is appended, and the last passes are kept in a ring
(``graphlab.traces()``, ``graphlab.last_trace()``). ``with graphlab.record() as tr:`` records any
block explicitly; ``graphlab.set_trace_options(keep=, level=, timing=, enabled=)`` tunes it.
A :class:`Trace` is plain data: ``.events`` (:mod:`graphlab.trace.events`), ``.filter()``,
``str(trace)`` (:mod:`graphlab.trace.format`) and the analyses of :mod:`graphlab.trace.analysis`.
"""

from __future__ import annotations

from . import events
from .events import (
    BackwardEvent,
    Event,
    InitEvent,
    OpEvent,
    ParamGrad,
    Stats,
    SyncEvent,
    TransferEvent,
    ValueRef,
)
from .recorder import LEVELS, last_trace, record, set_trace_options, traces
from .trace import KINDS, Trace

__all__ = [
    "KINDS",
    "LEVELS",
    "BackwardEvent",
    "Event",
    "InitEvent",
    "OpEvent",
    "ParamGrad",
    "Stats",
    "SyncEvent",
    "Trace",
    "TransferEvent",
    "ValueRef",
    "events",
    "last_trace",
    "record",
    "set_trace_options",
    "traces",
]
