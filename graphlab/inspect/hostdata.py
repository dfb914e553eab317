"""Live state turned into host data: tensors copied once each, optimizer state as NumPy.

Everything a Snapshot holds passes through here: :class:`_HostCopier` copies each distinct
tensor to the host once (tied names share the copy; tensors on ``cpu:N`` or a GPU move through
``graphlab.transfer`` so the copy is recorded), and :func:`_optimizer_state` turns an optimizer
into an :class:`OptimizerState` without the device-side copies ``state_dict()`` would make.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from .. import transfer
from .._device import CPU
from ..nn.parameter import is_lazy
from ..tensor import Tensor

__all__ = ["OptimizerState"]


def _frozen_map(m) -> Mapping:
    return MappingProxyType(dict(m if m is not None else {}))


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class OptimizerState:
    """An optimizer's ``state_dict()`` as host data.

    Fields: ``type_name`` (``"Adam"``…); ``param_groups`` (one read-only mapping per group: its
    options — ``lr``, ``betas``, … as plain Python values — ``"params"``, the tuple of parameter
    indices, and ``"param_names"`` when the optimizer was built from ``named_parameters()``);
    ``state`` (parameter index → read-only mapping of its state: arrays such as ``exp_avg`` and
    plain values such as ``step``); ``param_names`` (index → the parameter's first name in the
    snapshotted model, ``None`` for a parameter the model does not hold). Indices number the
    parameters in group order from 0, as in ``optimizer.state_dict()``.
    """

    type_name: str
    param_groups: tuple[Mapping[str, Any], ...]
    state: Mapping[int, Mapping[str, Any]]
    param_names: tuple[str | None, ...]

    def __post_init__(self):
        object.__setattr__(self, "param_groups", tuple(_frozen_map(g) for g in self.param_groups))
        object.__setattr__(
            self, "state", _frozen_map({int(k): _frozen_map(v) for k, v in self.state.items()})
        )
        object.__setattr__(self, "param_names", tuple(self.param_names))

    def state_for(self, name: str) -> Mapping[str, Any]:
        """The state of the parameter called ``name`` (empty before the first step)."""
        if name not in self.param_names:
            known = [n for n in self.param_names if n is not None]
            raise KeyError(
                f"OptimizerState: no parameter named {name!r} in this {self.type_name}; "
                f"its parameters are {known}"
            )
        return self.state.get(self.param_names.index(name), MappingProxyType({}))

    def __repr__(self) -> str:
        return (
            f"OptimizerState({self.type_name}, {len(self.param_groups)} groups, "
            f"{len(self.param_names)} parameters, {len(self.state)} with state)"
        )


class _HostCopier:
    """Copies each distinct tensor to the host once (recorded as a transfer when it moves)."""

    def __init__(self):
        self._done: dict[int, np.ndarray] = {}
        self._keep: list = []  # NOTE: keeps ids unique while copying (no object is freed)

    def __call__(self, t: Tensor) -> np.ndarray:
        key = id(t)
        if key not in self._done:
            if t._device is CPU:
                arr = np.array(t._data, copy=True)
            else:
                # NOTE: a real copy (cuda → host, or between logical CPU devices), reported to
                # the transfer observers like any device move.
                arr = np.asarray(transfer.move(t._data, t._device, CPU, reason="snapshot"))
            arr.flags.writeable = False
            self._done[key] = arr
            self._keep.append(t)
        return self._done[key]


def _plain(value, copy: _HostCopier):
    """``value`` as host data: tensors to arrays, containers to tuples/dicts, others to repr."""
    if isinstance(value, Tensor):
        if is_lazy(value):
            return None
        return copy(value)
    if value is None or isinstance(value, (bool, int, float, str, complex)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        out = np.array(value, copy=True)
        out.flags.writeable = False
        return out
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v, copy) for v in value)
    if isinstance(value, Mapping):
        return {k: _plain(v, copy) for k, v in value.items()}
    return repr(value)


def _optimizer_state(optimizer, model, copy: _HostCopier) -> OptimizerState:
    from ..optim.optimizer import Optimizer

    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"graphlab.inspect.snapshot: optimizer must be a graphlab.optim.Optimizer, got "
            f"{type(optimizer).__name__}"
        )
    first_name: dict[int, str] = {}
    for name, p in model.named_parameters():
        first_name.setdefault(id(p), name)
    # NOTE: the same numbering as Optimizer.state_dict(), without its device-side copies.
    index: dict[int, int] = {}
    names: list[str | None] = []
    groups = []
    for g in optimizer.param_groups:
        packed = {k: _plain(v, copy) for k, v in g.items() if k != "params"}
        ids = []
        for p in g["params"]:
            if id(p) not in index:
                index[id(p)] = len(index)
                names.append(first_name.get(id(p)))
            ids.append(index[id(p)])
        packed["params"] = tuple(ids)
        groups.append(packed)
    state = {
        index[id(p)]: {k: _plain(v, copy) for k, v in s.items()}
        for p, s in optimizer.state.items()
        if id(p) in index
    }
    return OptimizerState(type(optimizer).__name__, tuple(groups), state, tuple(names))
