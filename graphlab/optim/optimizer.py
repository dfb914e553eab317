"""``Optimizer``: the base class of graphlab's optimizers (PyTorch's API and state format).

An optimizer holds *parameter groups*: dicts with a ``"params"`` list and that group's options
(``lr``, ``weight_decay``…), filled from the optimizer's defaults. ``step()`` updates every
parameter that has a ``.grad``. Updates work on the raw arrays (``p._data``) with in-place
NumPy/CuPy ufuncs, so they never enter the autograd graph, run on the parameter's own device,
and keep the parameter object (and every module or view sharing it) pointing at the same memory;
each updated parameter's version counter is bumped once per step, so a graph saved before the
step that still needs the old values raises on backward instead of silently using new ones.

``state_dict()`` has PyTorch's layout: ``{"state": {index: {...}}, "param_groups": [{...,
"params": [index, ...]}]}`` with parameters numbered in group order; state tensors are copies.
"""

from __future__ import annotations

import contextlib
import numbers
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from .. import backends
from ..autograd import grad_mode
from ..tensor import Tensor

__all__ = ["Optimizer"]

# Callables ``fn(optimizer)`` told when an optimizer has been built (graphlab.inspect's session
# recorder keeps the optimizers a program makes); empty means no cost.
creation_observers: list = []


def _device_ctx(dev):
    """CuPy's device context for a CUDA parameter (kernels must launch on its device)."""
    if dev.type == "cuda":
        return backends.cuda().use(dev)
    return contextlib.nullcontext()


def _copy_value(v, like: Tensor | None = None, cast: bool = False):
    """A copy of one state value: tensors get fresh storage (on ``like``'s device/dtype)."""
    if isinstance(v, Tensor):
        if like is None:
            return Tensor._wrap(v._data.copy(), v._device)
        t = v.detach()
        if t._device != like._device:
            t = t.to(like._device)  # NOTE: a recorded transfer, like any device move
        data = t._data
        if cast and data.dtype.kind == "f" and like.is_floating_point():
            data = data.astype(like.dtype.np, copy=False)
        return Tensor._wrap(data.copy(), like._device)
    if isinstance(v, (list, tuple)):
        return type(v)(_copy_value(x, like, cast) for x in v)
    if isinstance(v, dict):
        return {k: _copy_value(x, like, cast) for k, x in v.items()}
    return v


class Optimizer:
    """Base class of all optimizers: parameter groups, ``zero_grad``, ``step``, state dicts.

    Subclasses pass their option defaults to ``__init__`` and implement ``step(closure=None)``.
    ``params`` is an iterable of tensors (e.g. ``model.parameters()``), of ``(name, tensor)``
    pairs (``model.named_parameters()``), or of dicts, each a parameter group with its own
    options: ``[{"params": body.parameters()}, {"params": head.parameters(), "lr": 1e-2}]``.
    """

    def __init__(self, params, defaults: dict[str, Any]):
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params should be an iterable of Tensors or dicts, got a single "
                f"Tensor; wrap it in a list: {name}([p], ...)"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{name}: parameters must be given in an ordered collection (a list), not a set: "
                "the order of a set changes between runs, and the order numbers the state"
            )
        if isinstance(params, (dict, str)) or not isinstance(params, Iterable):
            raise TypeError(
                f"{name}: params should be an iterable of Tensors or dicts (e.g. "
                f"model.parameters()), got {type(params).__name__}"
            )
        groups = list(params)
        if not groups:
            raise ValueError(
                f"{name} got an empty parameter list; pass the parameters to optimize, e.g. "
                "model.parameters() of a model that has parameters"
            )
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)
        for obs in tuple(creation_observers):
            obs(self)

    # ----- parameter groups ---------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (a dict with ``"params"`` and optional options).

        Options the group leaves out take the optimizer's defaults. A parameter listed twice in
        the group warns and is kept once; one already in another group raises ``ValueError``.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{name}.add_param_group: expected a dict with a 'params' key, got "
                f"{type(param_group).__name__}"
            )
        if "params" not in param_group:
            raise ValueError(
                f"{name}.add_param_group: the parameter group has no 'params' key (got keys "
                f"{sorted(param_group)}); pass {{'params': [...], ...options}}"
            )
        raw = param_group["params"]
        if isinstance(raw, Tensor):
            raw = [raw]
        elif isinstance(raw, (set, frozenset)):
            raise TypeError(
                f"{name}: parameters must be given in an ordered collection (a list), not a set: "
                "the order of a set changes between runs, and the order numbers the state"
            )
        else:
            raw = list(raw)
        params, names = self._split_names(raw, name)
        seen: set[int] = set()
        kept, kept_names = [], []
        dup = False
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{name} can only optimize Tensors, but params[{i}] of the group is "
                    f"{type(p).__name__}; pass model.parameters() or a list of tensors"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{name} can't optimize a non-leaf Tensor (params[{i}], of shape "
                    f"{tuple(p.shape)}, was computed by {p.grad_fn.name()}); optimize the leaf "
                    "tensors it was computed from, or make a leaf with .detach().requires_grad_()"
                )
            if id(p) in seen:
                dup = True
                continue
            seen.add(id(p))
            kept.append(p)
            if names is not None:
                kept_names.append(names[i])
        if dup:
            warnings.warn(
                f"{name}: a parameter group lists the same parameter more than once; it is kept "
                "once and updated once per step",
                UserWarning,
                stacklevel=3,
            )
        for other in self.param_groups:
            if seen.intersection(id(q) for q in other["params"]):
                raise ValueError(
                    f"{name}.add_param_group: some parameters appear in more than one parameter "
                    "group; give each parameter to exactly one group"
                )
        group = dict(param_group)
        group["params"] = kept
        if names is not None:
            group["param_names"] = kept_names
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._validate_group(group)
        self.param_groups.append(group)

    @staticmethod
    def _split_names(raw: list, name: str) -> tuple[list, list | None]:
        """Separate ``(name, tensor)`` pairs (from ``named_parameters()``) into two lists."""
        if not raw or not isinstance(raw[0], tuple):
            return raw, None
        if not all(isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) for x in raw):
            raise TypeError(
                f"{name}: parameters must be all tensors or all (name, tensor) pairs, not a mix"
            )
        return [x[1] for x in raw], [x[0] for x in raw]

    def _validate_group(self, group: dict[str, Any]) -> None:
        """Check a group's options (subclasses extend this); raises ``ValueError``."""
        lr = group.get("lr")
        if lr is not None:
            if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
                raise TypeError(
                    f"{type(self).__name__}: lr must be a float, got {type(lr).__name__}"
                )
            if lr < 0:
                raise ValueError(f"{type(self).__name__}: invalid learning rate {lr}; need >= 0")

    # ----- gradients ----------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all parameters (drop them, or fill them with zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g.requires_grad = False
                g._data.fill(0)
                g._version.value += 1

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient once; ``closure`` re-evaluates the model
        and returns the loss, which ``step`` returns."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            for p, g in self._params_with_grad(group):
                with _device_ctx(p._device):
                    self._update(p, g, group)
                p._version.value += 1  # NOTE: one in-place write per step, for autograd's checks
        return loss

    def _update(self, p: Tensor, g, group: dict[str, Any]) -> None:
        """Update parameter ``p`` (its array, in place) from gradient array ``g``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update()")

    @staticmethod
    def _run_closure(closure):
        if closure is None:
            return None
        with grad_mode.enable_grad():
            return closure()

    def _params_with_grad(self, group: dict[str, Any]):
        """``(param, grad array)`` for each parameter of ``group`` that has a gradient."""
        for p in group["params"]:
            g = p.grad
            if g is not None:
                yield p, g._data

    # ----- state dicts --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state and options, with parameters replaced by their indices.

        Parameters are numbered in group order from 0; ``state`` maps those numbers to each
        parameter's buffers (copies), ``param_groups`` holds each group's options and indices.
        """
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            packed = {k: _copy_value(v) for k, v in g.items() if k != "params"}
            ids = []
            for p in g["params"]:
                if id(p) not in index:
                    index[id(p)] = len(index)
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {
            index[id(p)]: {k: _copy_value(v) for k, v in s.items()}
            for p, s in self.state.items()
            if id(p) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state saved by ``state_dict()`` (checked first, then applied).

        The groups must match this optimizer's in number and size. State tensors are copied
        onto each parameter's device (floating ones cast to its dtype, like PyTorch). Nothing is
        changed when the state dict does not fit.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(
                f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups' (from "
                f"optimizer.state_dict()), got {got}"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: loaded state dict has {len(saved_groups)} parameter "
                f"groups, but the optimizer has {len(self.param_groups)}"
            )
        id_map: dict[int, Tensor] = {}
        for i, (mine, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: parameter group {i} of the loaded state dict has "
                    f"{len(saved['params'])} parameters, but the optimizer's group {i} has "
                    f"{len(mine['params'])}; load a state dict saved from the same model"
                )
            for idx, p in zip(saved["params"], mine["params"]):
                id_map[idx] = p
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for idx, s in state_dict["state"].items():
            if idx not in id_map:
                raise ValueError(
                    f"{name}.load_state_dict: state for parameter index {idx}, which no "
                    f"parameter group lists (indices: {sorted(id_map)})"
                )
            p = id_map[idx]
            for key, v in s.items():
                if isinstance(v, Tensor) and v.ndim > 0 and tuple(v.shape) != tuple(p.shape):
                    raise ValueError(
                        f"{name}.load_state_dict: state '{key}' of parameter {idx} has shape "
                        f"{tuple(v.shape)}, but the parameter has shape {tuple(p.shape)}"
                    )
            new_state[p] = {k: _copy_value(v, p, cast=k != "step") for k, v in s.items()}
        new_groups = []
        for mine, saved in zip(self.param_groups, saved_groups):
            g = {k: _copy_value(v) for k, v in saved.items() if k != "params"}
            g["params"] = mine["params"]
            if "param_names" in mine and "param_names" not in g:
                g["param_names"] = mine["param_names"]
            new_groups.append(g)
        self.state = new_state
        self.param_groups = new_groups

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _init_buffer(p: Tensor, fill: float = 0.0) -> Tensor:
    """A zero (or ``fill``) buffer shaped and placed like parameter ``p``."""
    xp = backends.for_device(p._device).xp
    with _device_ctx(p._device):
        data = xp.full_like(p._data, fill) if fill else xp.zeros_like(p._data)
    return Tensor._wrap(data, p._device)
