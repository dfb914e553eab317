"""Turning a pass's raw tuples (see :mod:`._store`) into the frozen records of
:mod:`graphlab.trace.events`, when someone reads the trace.

Value ids are given here, in order of first appearance (an op's inputs left to right, then its
output), which is the order the recorder saw the values in; one :class:`ValueRef` per value is
shared by every event that mentions it.
"""

from __future__ import annotations

import math

from .. import _dtype
from . import _stats
from ._scopes import TOP
from ._store import BACKWARD, OP, SYNC, TRANSFER, Pass
from ._values import Leaf
from .events import BackwardEvent, InitEvent, OpEvent, ParamGrad, SyncEvent, TransferEvent, ValueRef

__all__ = ["extend"]

_dtype_names: dict = {}


def _dtype_name(npd) -> str:
    name = _dtype_names.get(npd)
    if name is None:
        try:
            name = _dtype.from_np(npd).name
        except (TypeError, KeyError, ValueError):
            name = str(npd)
        _dtype_names[npd] = name
    return name


def _value_ref(vid, shape, npd, dev, rg, pname=None, aliases=(), const=False) -> ValueRef:
    return ValueRef(
        vid, tuple(shape), _dtype_name(npd), str(dev), math.prod(shape) * npd.itemsize, pname,
        aliases, bool(rg), bool(const),
    )  # fmt: skip


def _leaf_ref(vid: int, leaf: Leaf) -> ValueRef:
    return _value_ref(
        vid, leaf.shape, leaf.dtype, leaf.device, leaf.requires_grad, leaf.param, leaf.aliases,
        leaf.const,
    )  # fmt: skip


def extend(p: Pass) -> None:
    """Append to ``p.built`` the records of the raw events not built yet."""
    built = p.built
    raw = p.raw
    thread = p.thread
    if p.refs is None:
        p.refs = {}
    refs = p.refs  # ref (the event id of an output, or a Leaf) -> ValueRef
    finish = _stats.finish
    if p.classes is None:
        p.classes = {}
    classes = p.classes  # module path -> class name, every module on a stack the pass saw
    chains_seen: set[int] = set()

    def note(scope) -> None:
        if id(scope) not in chains_seen:
            chains_seen.add(id(scope))
            for path, cls in scope[2]:
                classes.setdefault(path, cls)

    norm_value = _stats.norm_value

    def operand(x):
        t = type(x)
        if t is int:
            return refs[x]  # NOTE: the output of an earlier op
        if t is Leaf:
            r = refs.get(x)
            if r is None:
                r = refs[x] = _leaf_ref(len(refs), x)
            return r
        if t is tuple:
            return x[0]
        return str(x)  # NOTE: an ArrayConst, described only now

    for eid in range(len(built), len(raw)):
        r = raw[eid]
        kind = r[0]
        if kind == OP:
            _, cls, scope, ins, shape, npd, dev, rg, attrs, seconds, stats, vals, mem = r
            note(scope)
            inputs = tuple(map(operand, ins))
            out = refs[eid] = _value_ref(len(refs), shape, npd, dev, rg)
            ev = OpEvent(
                id=eid,
                op=cls.__name__,
                scope=scope[0],
                scope_class=scope[1],
                inputs=inputs,
                outputs=(out,),
                attrs=attrs,
                seconds=seconds,
                stats=tuple(map(finish, stats)) if stats is not None else None,
                values=vals,
                thread=thread,
                device_bytes=mem,
            )
        elif kind == BACKWARD:
            _, name, fid, gshape, shapes, norms, pgs, seconds, stats, mem = r
            ev = BackwardEvent(
                id=eid,
                op=name if type(name) is str else name.__name__ + "Backward0",
                forward_id=fid,
                scope=built[fid].scope if fid is not None else TOP[0],
                grad_output_shape=tuple(gshape),
                grad_input_shapes=tuple(None if x is None else tuple(x) for x in shapes),
                grad_input_norms=(
                    tuple(None if n is None else norm_value(n) for n in norms)
                    if norms is not None
                    else (None,) * len(shapes)
                ),
                param_grads=tuple(
                    ParamGrad(name=n, aliases=a, forward_id=f, norm=norm_value(sq), value=v)
                    for n, a, f, sq, v in pgs
                ),
                seconds=seconds,
                stats=(
                    tuple(None if s is None else finish(s) for s in stats)
                    if stats is not None
                    else None
                ),
                device_bytes=mem,
            )
        elif kind == TRANSFER:
            _, rec, scope = r
            note(scope)
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
            note(scope)
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
            classes.setdefault(rec.path, rec.module_type)
            ev = InitEvent(
                id=eid,
                scope=rec.path,
                module_class=rec.module_type,
                shapes=tuple(rec.shapes),
                input_shapes=tuple(rec.input_shapes),
                initializer=rec.initializer,
            )
        built.append(ev)
