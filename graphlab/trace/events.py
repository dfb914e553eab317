"""The trace's records: plain, frozen data (like a jaxpr's equations), never live tensors.

A pass is a tuple of events in execution order, each with a sequential ``id`` (never ``id()``):

- :class:`OpEvent` — one op applied in the forward pass (or outside any module);
- :class:`TransferEvent` — one copy between devices;
- :class:`SyncEvent` — one implicit host synchronisation (``item()``, ``numpy()``, …);
- :class:`BackwardEvent` — one graph node run in backward, linked to the forward event that made it;
- :class:`InitEvent` — lazy parameters materialised by a module's first call.

Tensors appear as :class:`ValueRef`: a per-trace sequential value id plus metadata. Statistics
(:class:`Stats`) and value copies (NumPy arrays) are present only at the levels that ask for them.
Printing lives in ``graphlab.trace.format``, analyses in ``graphlab.trace.analysis``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class ValueRef:
    """A tensor seen by the recorder.

    ``vid`` is sequential within one trace (the same tensor object keeps its vid for the whole
    pass). ``param`` is the parameter's first name (``named_parameters`` order) when the tensor
    is a parameter of the recorded model, and ``aliases`` every name it has (tied parameters
    have several). ``const`` is True for tensors that need no gradient and were not produced by
    a recorded op (inputs, constants such as example 4's ``rand_weight``).
    """

    vid: int
    shape: tuple[int, ...]
    dtype: str
    device: str
    nbytes: int
    param: str | None = None
    aliases: tuple[str, ...] = ()
    requires_grad: bool = False
    const: bool = False


@dataclass(frozen=True, slots=True)
class Stats:
    """Statistics of one array (level "stats" and above); NaN/Inf counted, not propagated."""

    min: float
    max: float
    mean: float
    std: float
    nan: int
    inf: int
    count: int


@dataclass(frozen=True, slots=True)
class OpEvent:
    """One op in the forward pass."""

    id: int
    op: str  # the op's name, e.g. "Mul", "MatMul", "Linear"
    scope: str  # dotted module path as in named_modules ("" at top level, e.g. "0.net.2")
    scope_class: str  # the module's class name ("" at top level)
    inputs: tuple[ValueRef | float | int | bool | None, ...]  # constants appear as plain values
    outputs: tuple[ValueRef, ...]
    attrs: tuple[tuple[str, Any], ...] = ()  # op attributes (dims, strides, …), as (name, value)
    seconds: float | None = None  # None when timing is off; on a GPU: resolved device-event time
    stats: tuple[Stats, ...] | None = None  # one per output, level "stats" and "values"
    values: tuple[np.ndarray, ...] | None = None  # host copies of the outputs, level "values"
    thread: int = 0
    # bytes in use in the device's memory pool right after the op (CuPy's default pool; None on
    # the CPU): the pass's peak device memory and each op's allocation come from these
    device_bytes: int | None = None
    kind: str = field(default="op", init=False)


@dataclass(frozen=True, slots=True)
class TransferEvent:
    """One copy between devices (also from ``graphlab.transfer``)."""

    id: int
    src: str
    dst: str
    nbytes: int
    seconds: float
    bandwidth: float  # bytes per second
    pinned: bool
    non_blocking: bool
    scope: str
    call_site: str  # "file:line" of the user's code
    reason: str  # "to", "copy_", "backward", "tensor", "load", …
    kind: str = field(default="transfer", init=False)


@dataclass(frozen=True, slots=True)
class SyncEvent:
    """One implicit host synchronisation (the host waited to read a value)."""

    id: int
    device: str
    reason: str  # "item", "numpy", "tolist", "print", "bool", "__array__"
    nbytes: int
    seconds: float
    scope: str
    call_site: str
    kind: str = field(default="sync", init=False)


@dataclass(frozen=True, slots=True)
class ParamGrad:
    """The gradient one *use* of a parameter contributed (tied parameters have several uses)."""

    name: str  # the parameter's first name
    aliases: tuple[str, ...]
    forward_id: int  # the OpEvent that used it
    norm: float
    value: np.ndarray | None  # host copy of the contribution (kept for parameters; see recorder)


@dataclass(frozen=True, slots=True)
class BackwardEvent:
    """One graph node run in backward."""

    id: int
    op: str  # e.g. "MulBackward0"
    forward_id: int | None  # the OpEvent that created the node (None if made outside the trace)
    scope: str
    grad_output_shape: tuple[int, ...]
    grad_input_shapes: tuple[tuple[int, ...] | None, ...]
    grad_input_norms: tuple[float | None, ...]
    param_grads: tuple[ParamGrad, ...] = ()
    seconds: float | None = None
    stats: tuple[Stats | None, ...] | None = None
    device_bytes: int | None = None  # as OpEvent.device_bytes, right after this node ran
    kind: str = field(default="backward", init=False)


@dataclass(frozen=True, slots=True)
class InitEvent:
    """Lazy parameters materialised at a module's first call."""

    id: int
    scope: str
    module_class: str
    shapes: tuple[tuple[str, tuple[int, ...]], ...]  # (parameter name, inferred shape)
    input_shapes: tuple[tuple[int, ...], ...]
    initializer: str
    kind: str = field(default="init", init=False)


Event = OpEvent | TransferEvent | SyncEvent | BackwardEvent | InitEvent
