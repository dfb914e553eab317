"""Deferred initialization: modules whose parameter shapes come from their first input.

A lazy module (``nn.LazyLinear``, ``nn.LazyConv2d``, ``nn.LazyBatchNorm1d``…) starts with
:class:`~graphlab.nn.parameter.UninitializedParameter` (and ``UninitializedBuffer``) objects. Its
first call infers the shapes from the input, materializes those same objects in place (so an
optimizer built before the call updates the real parameters), runs the layer's initializer, and
records what happened in a :class:`LazyInitRecord` (on the module as ``_lazy_init_record``, and
sent to every function in ``lazy_init_observers``) for the inspector.

The module keeps its class (no class swapping); once initialized it prints with the name of
the class it stands for (``cls_to_become``), as PyTorch does: ``Linear(in_features=20, …)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...tensor import Tensor
from ..parameter import is_lazy
from .module import _module_path, current_scope

__all__ = ["LazyModuleMixin", "LazyInitRecord", "lazy_init_observers"]

# Callables ``fn(record)`` told about every lazy initialization (the inspector hooks in here).
lazy_init_observers: list = []


@dataclass(frozen=True, slots=True)
class LazyInitRecord:
    """What one lazy module's first call did.

    ``path`` is the module's dotted name in the model that was called (``""`` when the lazy
    module itself was called); ``shapes`` maps each materialized parameter/buffer name to its
    inferred shape; ``initializer`` says which initialization ran.
    """

    path: str
    module_type: str
    becomes: str
    root_type: str
    input_shapes: tuple
    shapes: tuple
    initializer: str


class LazyModuleMixin:
    """Mix into a layer class (before it: ``class LazyLinear(LazyModuleMixin, Linear)``) to make
    its parameter shapes come from the first input.

    The contract for a subclass:

    - ``__init__`` calls the layer's ``__init__`` with placeholder sizes (e.g. ``0`` for the
      unknown in-features), then replaces each shape-dependent parameter with
      ``UninitializedParameter(device=…, dtype=…)`` and each shape-dependent buffer with
      ``UninitializedBuffer(…)``. The layer's ``reset_parameters`` must do nothing while
      :meth:`has_uninitialized_params` is true.
    - ``initialize_parameters(self, *args, **kwargs)`` receives the first call's inputs; when
      ``has_uninitialized_params()``, it calls ``param.materialize(shape)`` for each
      uninitialized tensor (in place: the same objects), sets the inferred attributes (e.g.
      ``in_features``) and then calls ``reset_parameters()``.
    - ``cls_to_become`` names the plain class (``Linear``), used in ``repr`` once initialized;
      ``lazy_initializer`` describes the initializer for the record.

    The mixin registers a forward pre-hook that calls ``initialize_parameters`` on the first
    call, checks that nothing is left uninitialized, records a :class:`LazyInitRecord` and
    removes itself (later calls cost nothing). If the tensors were materialized another way
    (``load_state_dict``), the hook removes itself without running the initializer.
    """

    cls_to_become: type | None = None
    lazy_initializer: str = "reset_parameters()"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lazy_init_record = None
        self._initialize_hook = self.register_forward_pre_hook(
            _infer_parameters, with_kwargs=True, prepend=True
        )

    def has_uninitialized_params(self) -> bool:
        """Whether any of this module's own parameters or buffers is still uninitialized."""
        return any(is_lazy(t) for t in self._parameters.values()) or any(
            is_lazy(t) for t in self._buffers.values()
        )

    def initialize_parameters(self, *args, **kwargs) -> None:
        """Infer shapes from the first call's inputs and materialize (subclasses implement)."""
        raise NotImplementedError(
            f"{type(self).__name__}: a lazy module must implement initialize_parameters(*inputs)"
        )

    def _get_name(self) -> str:
        if self.cls_to_become is not None and not self.has_uninitialized_params():
            return self.cls_to_become.__name__
        return type(self).__name__


def _own_tensors(module) -> dict:
    return {**module._parameters, **module._buffers}


def _infer_parameters(module, args, kwargs):
    """The one-shot pre-hook: materialize, initialize, record, and unregister."""
    module._initialize_hook.remove()
    lazy = [n for n, t in _own_tensors(module).items() if is_lazy(t)]
    if not lazy:
        return None
    try:
        module.initialize_parameters(*args, **kwargs)
    except BaseException:
        # NOTE: keep the hook so a corrected call can still initialize the module.
        module._initialize_hook = module.register_forward_pre_hook(
            _infer_parameters, with_kwargs=True, prepend=True
        )
        raise
    tensors = _own_tensors(module)
    left = [n for n in lazy if is_lazy(tensors[n])]
    if left:
        raise RuntimeError(
            f"{type(module).__name__}.initialize_parameters left {left} uninitialized; it must "
            "materialize every UninitializedParameter/UninitializedBuffer it owns"
        )
    stack = current_scope()
    path = _module_path(stack, with_root=False) if stack and stack[-1] is module else ""
    record = LazyInitRecord(
        path=path,
        module_type=type(module).__name__,
        becomes=module._get_name(),
        root_type=type(stack[0]).__name__ if stack else type(module).__name__,
        input_shapes=tuple(tuple(a.shape) for a in args if isinstance(a, Tensor)),
        shapes=tuple((n, tuple(tensors[n].shape)) for n in lazy),
        initializer=module.lazy_initializer,
    )
    module._lazy_init_record = record
    for obs in tuple(lazy_init_observers):
        obs(record)
    return None
