"""The backward observer: one event per graph node run, with each parameter use's contribution.

Each node's event links to the forward op that made it (through ``Op._trace``), and lists the
shapes of the gradients it passed on, with their norms where known. For every gradient that goes
to a parameter of the pass it keeps the *contribution of that use* (name, aliases, forward op,
norm, and a host copy), so a tied parameter used twice shows two contributions whose sum is its
``.grad``. Always-on passes at level "meta" copy a contribution only for a parameter used more
than once: a single use adds the whole gradient of the pass to ``.grad``, and copying it costs.
"""

from __future__ import annotations

import itertools
from time import perf_counter as _clock

import numpy as np

from .._device import device as _device_cls
from ..autograd import function
from . import _stats
from ._store import BACKWARD, BACKWARD_SECONDS, broken, tls

__all__ = ["on_backward"]

_OP_NAME = function.Op.name
_ndarray = np.ndarray
_SHAPE = itertools.repeat("shape")
_NONES = itertools.repeat(None)


def on_backward(node, grad, in_grads) -> None:
    """``engine.backward_observers`` hook: record one graph node run in backward."""
    p = tls.current
    if p is None or not p.open:
        return
    try:
        now = _clock()
        raw = p.raw
        eid = len(raw)
        if not p.backward_seen:
            p.backward_seen = True
            if p.auto:
                p.ops_ok = False
        if eid >= p.max_events:
            p.dropped += 1
            return
        r = getattr(node, "_trace", None)
        if r is not None and r[0] == p.index:
            fid = r[1]
            uses = r[2] if len(r) > 2 else None
        else:
            fid = None  # NOTE: a node of a graph built outside this pass: named by identity
            uses = _uses_by_identity(p.params, node) if p.params else None
        # NOTE: None for no gradient, and for a multi-output partial (no shape)
        shapes = tuple(map(getattr, in_grads, _SHAPE, _NONES))
        norms = stats = None
        if p.level:
            norms, stats = _summaries(in_grads, shapes)
        if uses:
            pgs, norms = _param_grads(p, uses, in_grads, shapes, fid, norms)
        else:
            pgs = ()
        cls = type(node)
        # NOTE: a CuPy gradient: norms and copies stay on the GPU until the pass closes
        on_gpu = type(grad) is not _ndarray and hasattr(grad, "device")
        mem = (p.on_device(eid, BACKWARD_SECONDS, _device_cls("cuda", grad.device.id))
               if on_gpu else None)  # fmt: skip
        # NOTE: the usual name() (class name + "Backward0") is made when the record is built.
        raw.append((BACKWARD, cls if cls.name is _OP_NAME else node.name(), fid,
                    grad.shape if type(grad) is _ndarray else getattr(grad, "shape", ()),
                    shapes, norms, pgs, now - p.last_t if p.timing else None, stats,
                    mem))  # fmt: skip
        if on_gpu:
            p.add_pending(eid)
        p.last_t = _clock()
    except Exception as exc:  # noqa: BLE001 - the recorder must never break backward
        broken(p, exc)


def _summaries(in_grads, shapes) -> tuple[list, list]:
    """Squared norms and raw statistics of the gradients (levels "stats" and "values")."""
    norms, stats = [], []
    for g, shape in zip(in_grads, shapes):
        if shape is None:
            norms.append(None)
            stats.append(None)
        else:
            st, sq = _stats.summary(g)
            norms.append(sq)
            stats.append(st)
    return norms, stats


def _uses_by_identity(params: dict, node) -> list | None:
    """The parameter uses among ``node``'s inputs, found in the pass's table (for a node no op
    of this pass recorded; see ``_observers._note_use``)."""
    nxt = node.next
    if params.keys().isdisjoint(map(id, nxt)):
        return None
    uses = []
    for i, t in enumerate(nxt):
        pe = params.get(id(t))
        if pe is not None and pe[0]() is t:
            uses.append((i, id(t), pe[1], pe[2]))
    return uses


def _param_grads(p, uses, in_grads, shapes, fid, norms) -> tuple[list, list]:
    """The contributions of the parameter ``uses`` (input position, id, name, aliases) among a
    node's inputs, and the squared norms (a list made here at level "meta", where only
    parameters have one)."""
    keep_all = p.level or not p.auto
    reused = p.reused or ()
    n = len(shapes)
    pgs = []
    for i, key, name, aliases in uses:
        if i >= n or shapes[i] is None:
            continue  # NOTE: no gradient went to this input
        if norms is None:
            norms = [None] * n
        g = in_grads[i]
        sq = norms[i]
        if sq is None:
            if type(g) is _ndarray and g.dtype.kind == "f":
                f = g.reshape(-1)  # NOTE: _stats.norm, inlined for the common case
                sq = f.dot(f)
            else:
                sq = _stats.norm(g)
            norms[i] = sq
        keep = keep_all or key in reused
        pgs.append((name, aliases, fid, sq, _stats.copy(g) if keep else None))
    return pgs, norms
