"""Snapshots: a model's state as pure data, for the workbench and the exporters.

A :class:`Snapshot` holds NumPy arrays on the host and frozen records — never a live tensor, a
module or an optimizer — so it can be written to HDF5, read back on a machine without a GPU, and
rendered by the workbench exactly like a live model. Tied names share one array object (as they
share one parameter), which is what lets ``exporters.hdf5`` write them as hard links.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..nn.modules.lazy import LazyInitRecord
from .format import format_parameter_table
from .hostdata import OptimizerState, _frozen_map, _HostCopier, _optimizer_state
from .tables import ParameterRow, TensorInfo, _model_entries, _rows, tied_parameters
from .tree import ModuleNode, _check_module, module_tree

__all__ = ["Snapshot", "OptimizerState", "snapshot"]


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class Snapshot:
    """A model's state as pure host data (build one with :func:`snapshot`).

    Fields:

    - ``name``: a label (the ``name=`` given, else the model's class name).
    - ``module_tree``: the :class:`ModuleNode` tree of the model.
    - ``parameters``: dotted name → read-only NumPy array, for every parameter name (tied names
      map to the *same* array object). Uninitialized lazy parameters have no entry (see
      ``tensor_info``).
    - ``gradients``: dotted name → array of ``.grad``, for the names that have a gradient (tied
      names share one array, the summed gradient).
    - ``buffers``: dotted name → array, for every buffer name (persistent or not).
    - ``tensor_info``: dotted name → :class:`TensorInfo` for every parameter name, then every
      buffer name, in model order: shape (``None`` while lazy), dtype, the device it came from,
      ``requires_grad``, lazy state, persistence, owning module's class.
    - ``tied``: groups of names holding one tensor, as :func:`tied_parameters` gives them.
    - ``optimizer``: the :class:`OptimizerState`, or ``None``.
    - ``lazy_inits``: module path → the :class:`LazyInitRecord` its first call made (lazy
      modules that were initialized); uninitialized ones show in ``tensor_info`` instead.
    - ``traces``: the recorded passes given (``graphlab.trace.Trace`` objects, plain data).

    Mappings are read-only views and arrays are read-only; the constructor accepts plain dicts
    and lists so a loader (``exporters.hdf5.load``) can build one directly. Two snapshots are
    equal only when they are the same object (comparing arrays has no single truth value).
    """

    name: str
    module_tree: ModuleNode
    parameters: Mapping[str, np.ndarray]
    gradients: Mapping[str, np.ndarray]
    buffers: Mapping[str, np.ndarray]
    tensor_info: Mapping[str, TensorInfo]
    tied: tuple[tuple[str, ...], ...] = ()
    optimizer: OptimizerState | None = None
    lazy_inits: Mapping[str, LazyInitRecord] = field(default_factory=dict)
    traces: tuple[Any, ...] = ()

    def __post_init__(self):
        for name in ("parameters", "gradients", "buffers", "tensor_info", "lazy_inits"):
            object.__setattr__(self, name, _frozen_map(getattr(self, name)))
        object.__setattr__(self, "tied", tuple(tuple(g) for g in self.tied))
        object.__setattr__(self, "traces", tuple(self.traces))
        missing = [
            n
            for n in list(self.parameters) + list(self.buffers) + list(self.gradients)
            if n not in self.tensor_info
        ]
        if missing:
            raise ValueError(
                f"Snapshot {self.name!r}: arrays without an entry in tensor_info: {missing}; "
                "every parameter, gradient and buffer name needs its TensorInfo"
            )

    # ----- conveniences (the same answers as the functions on a live model) -------------------
    def tied_parameters(self) -> list[list[str]]:
        """Groups of names holding one tensor (see :func:`graphlab.inspect.tied_parameters`)."""
        return [list(g) for g in self.tied]

    def parameter_table(self, buffers: bool = False) -> list[ParameterRow]:
        """The rows of :func:`graphlab.inspect.parameter_table`, computed from the arrays."""
        entries = [
            (name, info, self._array(name, info), self.gradients.get(name))
            for name, info in self.tensor_info.items()
            if buffers or info.kind == "parameter"
        ]
        return _rows(entries, self.tied_parameters())

    def format_parameter_table(self, buffers: bool = False) -> str:
        """The parameter table as aligned text."""
        return format_parameter_table(self.parameter_table(buffers=buffers))

    @property
    def num_parameters(self) -> int:
        """Elements of all parameters, tied ones counted once, lazy ones not counted."""
        return self.module_tree.num_parameters

    def aliases(self, name: str) -> tuple[str, ...]:
        """Every name of the tensor called ``name`` (just ``(name,)`` when it is not tied)."""
        if name not in self.tensor_info:
            raise KeyError(f"Snapshot {self.name!r}: no parameter or buffer named {name!r}")
        for g in self.tied:
            if name in g:
                return g
        return (name,)

    def _array(self, name: str, info: TensorInfo) -> np.ndarray | None:
        return (self.parameters if info.kind == "parameter" else self.buffers).get(name)

    def __repr__(self) -> str:
        return (
            f"Snapshot({self.name!r}: {len(list(self.module_tree.walk()))} modules, "
            f"{len(self.parameters)} parameter names, {self.num_parameters:,} parameters, "
            f"{len(self.gradients)} gradients, {len(self.buffers)} buffers, "
            f"{len(self.tied)} tied groups, optimizer="
            f"{self.optimizer.type_name if self.optimizer else None}, "
            f"{len(self.traces)} traces)"
        )


# ----- building one from live objects ---------------------------------------------------------


def _traces(traces) -> tuple:
    if traces is None:
        return ()
    try:
        from ..trace import Trace
    except ImportError:  # NOTE: before the recorder exists, store whatever was given
        Trace = None  # noqa: N806
    if Trace is not None and isinstance(traces, Trace):
        return (traces,)
    items = tuple(traces) if isinstance(traces, (list, tuple)) else (traces,)
    if Trace is not None:
        bad = [type(t).__name__ for t in items if not isinstance(t, Trace)]
        if bad:
            raise TypeError(
                f"graphlab.inspect.snapshot: traces must be graphlab.trace.Trace objects (e.g. "
                f"graphlab.traces() or graphlab.last_trace()), got {bad}"
            )
    return items


def snapshot(model, traces=None, optimizer=None, name: str | None = None) -> Snapshot:
    """The state of ``model`` (an ``nn.Module``) as a :class:`Snapshot` of host data.

    Copies every distinct parameter, gradient and buffer to the host once (tied names share the
    copy; tensors on ``cpu:N`` or a GPU are moved through ``graphlab.transfer`` with reason
    ``"snapshot"``, so the copies show in the trace), the optimizer's state if ``optimizer`` is
    given, the module tree, lazy-initialization records, and ``traces`` (one Trace or a list).
    Later changes to the model do not change the snapshot.
    """
    _check_module(model, "snapshot")
    copy = _HostCopier()
    params, grads, bufs, info = {}, {}, {}, {}
    for key, meta, t in _model_entries(model):
        info[key] = meta
        if meta.lazy:
            continue
        (params if meta.kind == "parameter" else bufs)[key] = copy(t)
        if meta.kind == "parameter" and t.grad is not None:
            grads[key] = copy(t.grad)
    lazy_inits = {}
    for path, m in model.named_modules():
        record = getattr(m, "_lazy_init_record", None)
        if isinstance(record, LazyInitRecord):
            lazy_inits[path] = record
    return Snapshot(
        name=name if name is not None else model._get_name(),
        module_tree=module_tree(model),
        parameters=params,
        gradients=grads,
        buffers=bufs,
        tensor_info=info,
        tied=tuple(tuple(g) for g in tied_parameters(model)),
        optimizer=None if optimizer is None else _optimizer_state(optimizer, model, copy),
        lazy_inits=lazy_inits,
        traces=_traces(traces),
    )
