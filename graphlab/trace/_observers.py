"""The forward observers (the hot path): ops, transfers, host syncs and lazy initializations.

Each appends one raw tuple to the pass open on this thread (see :mod:`._store`) and does as
little else as it can: no frozen records, no numbering, no formatting. An op's output that
became the ``grad_fn`` of its tensor is found again through that node (``op._trace = (pass
index, event id[, parameter uses])``: the uses tell the backward observer which of the node's
input gradients go to which parameter), one without a node through the pass's ``vid_of``,
and anything else is a :class:`~._values.Leaf` (see :mod:`._values`).
"""

from __future__ import annotations

import weakref
from time import perf_counter as _clock

import numpy as np

from .. import transfer
from ..tensor import Tensor
from . import _calls, _stats
from ._scopes import TOP, scope_of
from ._store import INIT, OP, OP_SECONDS, SYNC, TRANSFER, broken, tls
from ._values import PLAIN, leaf_of, operand, plain

__all__ = ["on_op", "on_transfer", "on_init", "produced"]

_wref = weakref.ref
_ndarray = np.ndarray
_NONE = (None,)


def produced(p, t: Tensor) -> bool:
    """Whether tensor ``t`` holds the output of an op recorded in pass ``p``."""
    gf = t.grad_fn
    if gf is not None:
        r = getattr(gf, "_trace", None)
        if r is not None and r[0] == p.index:
            return True
    e = p.vid_of.get(id(t))
    return (e is not None and e[0]() is t) or (p.tail is not None and p.tail() is t)


def _note_use(uses: list | None, i: int, t: Tensor, leaf) -> list:
    """``uses`` plus parameter ``t`` (named by its Leaf) read as input ``i`` of an op: the
    backward observer attributes that input's gradient to this use."""
    use = (i, id(t), leaf.param, leaf.aliases)
    if uses is None:
        return [use]
    uses.append(use)
    return uses


def on_op(op, args, attrs, out) -> None:
    """``function.op_observers`` hook: record one op applied."""
    p = tls.current
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
        index = p.index
        vid_of = p.vid_of
        ins = []
        uses = None  # (input position, id, name, aliases) of the parameters among the inputs
        for a in args:
            if isinstance(a, Tensor):
                gf = a.grad_fn
                if gf is not None:
                    r = getattr(gf, "_trace", None)
                    if r is not None and r[0] == index:
                        ins.append(r[1])  # NOTE: the output of op r[1], found through its node
                        continue
                if vid_of:
                    e = vid_of.get(id(a))
                    if e is not None and e[0]() is a and e[2] == a._version.value:
                        if e[3] == id(gf):
                            ins.append(e[1])
                            continue
                leaf = leaf_of(p, a, gf)
                if leaf.param is not None:
                    uses = _note_use(uses, len(ins), a, leaf)
                ins.append(leaf)
            elif a is None:
                ins.append(_NONE)
            elif type(a) in PLAIN:
                ins.append((a,))
            else:
                ins.append(operand(a))
        stack = p.stack  # NOTE: Pass.scope_now(), inlined: this runs once per op
        if not stack:
            scope = TOP
        elif p.calls is None:
            scope = scope_of(stack)
        else:
            scope = _calls.scope(p, stack) or scope_of(stack)
        if out.grad_fn is op:
            op._trace = (index, eid, uses) if uses else (index, eid)
        else:
            vid_of[id(out)] = (_wref(out), eid, out._version.value, id(out.grad_fn))
        if attrs:
            items = tuple(attrs.items())
            if not PLAIN.issuperset(map(type, attrs.values())):
                items = plain(items)
        else:
            items = ()
        data = out._data
        if p.level or type(data) is not _ndarray:
            _extras(p, eid, raw, (OP, type(op), scope, ins, data.shape, data.dtype, out._device,
                                  out.requires_grad, items, now - p.last_t if p.timing else None),
                    data, out._device)  # fmt: skip
        else:
            raw.append((OP, type(op), scope, ins, data.shape, data.dtype, out._device,
                        out.requires_grad, items, now - p.last_t if p.timing else None, None,
                        None, None))  # fmt: skip
        p.last_t = _clock()
    except Exception as exc:  # noqa: BLE001 - the recorder must never break the user's op
        broken(p, exc)


def _extras(p, eid: int, raw: list, head: tuple, data, dev) -> None:
    """Append an op event with what levels "stats"/"values" and GPUs add: statistics and copies
    of the output, a CUDA event for its time, the device memory in use."""
    stats = values = None
    if p.level:
        stats = (_stats.summary(data)[0],)
        if p.level > 1:
            values = (_stats.copy(data),)
    cuda = dev.type == "cuda"
    raw.append(head + (stats, values, p.on_device(eid, OP_SECONDS, dev) if cuda else None))
    if cuda and p.level:
        p.add_pending(eid)  # NOTE: statistics and copies are still on the GPU


def on_transfer(rec) -> None:
    """``graphlab.transfer`` observer: one copy between devices, or one host sync."""
    p = tls.current
    if p is None or not p.open:
        return
    if len(p.raw) >= p.max_events:
        p.dropped += 1
        return
    kind = TRANSFER if type(rec) is transfer.Transfer else SYNC
    p.raw.append((kind, rec, p.scope_now()))
    p.last_t = _clock()


def on_init(rec) -> None:
    """``lazy_init_observers`` hook: lazy parameters materialized."""
    p = tls.current
    if p is None or not p.open:
        return
    if len(p.raw) >= p.max_events:
        p.dropped += 1
        return
    p.raw.append((INIT, rec))
    p.last_t = _clock()
