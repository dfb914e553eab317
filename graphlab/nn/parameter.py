"""Parameters, buffers, and their uninitialized (lazy) forms.

A :class:`Parameter` is a tensor that a :class:`~graphlab.nn.Module` registers when it is assigned
as an attribute; it requires grad by default. It shares storage with the tensor it wraps, and
``p.data`` is the same storage again, so edits through ``.data`` are seen by every module that
holds ``p`` (tied parameters are one object, never two equal ones).

An :class:`UninitializedParameter` is a parameter whose shape is not known yet (a lazy layer
before its first call). Touching its data raises an error that says to run a forward pass first.
``materialize(shape)`` gives it storage *in place*: the object stays the same (so an optimizer
built before the first call updates the real parameter) and becomes a plain ``Parameter``.
"""

from __future__ import annotations

from .. import _dtype
from .._device import CPU
from .._device import device as _device_cls
from ..autograd.function import VersionCounter
from ..tensor import Tensor

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]

# NOTE: the slot descriptor of Tensor._data; the uninitialized classes shadow ``_data`` with a
# property that raises, and materialization writes through this descriptor directly.
_DATA_SLOT = Tensor.__dict__["_data"]


def _alias(cls, data: Tensor, requires_grad: bool) -> Tensor:
    """An instance of ``cls`` sharing ``data``'s storage and version counter (no copy)."""
    t = object.__new__(cls)
    t._init(data._data, data._device, requires_grad)
    t._version = data._version
    return t


class Parameter(Tensor):
    """A tensor that is a module parameter: registered when assigned to a ``Module`` attribute.

    ``Parameter(data)`` shares ``data``'s storage (no copy); it requires grad unless
    ``requires_grad=False``. ``Parameter()`` is an empty parameter.
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from ..creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(
                f"Parameter: expected a graphlab Tensor as data, got {type(data).__name__}; "
                "wrap it first, e.g. nn.Parameter(graphlab.tensor(values))"
            )
        if requires_grad and not data.is_floating_point():
            raise RuntimeError(
                f"Parameter: only tensors of floating point dtype can require gradients, got "
                f"{data.dtype}; pass a float tensor or requires_grad=False"
            )
        return _alias(cls, data, bool(requires_grad))

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        # NOTE: everything happens in __new__ (Tensor.__init__ would copy the data).
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        data = Tensor._wrap(self._data.copy(), self._device, False)
        out = type(self)(data, self.requires_grad)
        if self.grad is not None:
            out.grad = Tensor._wrap(self.grad._data.copy(), self.grad._device, False)
        memo[id(self)] = out
        return out


class Buffer(Tensor):
    """A tensor that a module registers as a buffer when it is assigned as an attribute.

    ``self.running = nn.Buffer(graphlab.zeros(3), persistent=False)`` is the same as
    ``self.register_buffer("running", graphlab.zeros(3), persistent=False)``. The buffer shares
    ``data``'s storage and never requires grad.
    """

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        if data is None:
            from ..creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(
                f"Buffer: expected a graphlab Tensor as data, got {type(data).__name__}"
            )
        t = _alias(cls, data, False)
        t.persistent = bool(persistent)
        return t

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True):
        pass


_LAZY_HINT = (
    "is an uninitialized parameter of a lazy module (e.g. nn.LazyLinear): its shape is not known "
    "until the module first sees an input. Run a forward pass first (e.g. net(example_input)), "
    "then read or change it"
)


class _UninitializedMixin:
    """Shared behaviour of the uninitialized tensor classes: no storage until ``materialize``."""

    __slots__ = ()
    _materialized_cls: type = Tensor

    def _uninit_data(self):
        raise RuntimeError(f"{type(self).__name__} {_LAZY_HINT}")

    def _uninit_set(self, value):
        raise RuntimeError(
            f"{type(self).__name__}: cannot assign data before the shape is known; run a forward "
            "pass first, or call materialize(shape)"
        )

    # NOTE: shadows Tensor's ``_data`` slot, so every path that reads the storage (ops, shape,
    # printing, numpy) raises the clear error above instead of an AttributeError.
    _data = property(_uninit_data, _uninit_set)

    @property
    def dtype(self) -> _dtype.dtype:
        """The dtype the tensor will have once materialized."""
        return self._lazy_dtype

    @property
    def device(self):
        """The device the tensor will live on once materialized."""
        return self._device

    def is_floating_point(self) -> bool:
        """Whether the future dtype is a floating type."""
        return self._lazy_dtype.is_floating_point

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the tensor storage of ``shape`` in place (zeros; initializers fill it after).

        The Python object stays the same and becomes a plain ``Parameter`` (or ``Tensor`` for a
        buffer), so every reference to it, an optimizer's included, sees the real tensor.
        """
        from ..creation import zeros

        if isinstance(shape, int):
            shape = (shape,)
        dev = self._device if device is None else _device_cls(device)
        dt = self._lazy_dtype if dtype is None else _dtype.to_dtype(dtype)
        fresh = zeros(tuple(shape), dtype=dt, device=dev)
        _DATA_SLOT.__set__(self, fresh._data)
        self._device = dev
        del self._lazy_dtype
        self.__class__ = self._materialized_cls

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = type(self)(self.requires_grad, self._device, self._lazy_dtype)
        memo[id(self)] = out
        return out


def _uninit_init(t, requires_grad: bool, device, dtype) -> None:
    t._device = CPU if device is None else _device_cls(device)
    t._lazy_dtype = _dtype.get_default_dtype() if dtype is None else _dtype.to_dtype(dtype)
    t.requires_grad = bool(requires_grad)
    t.grad = None
    t.grad_fn = None
    t._version = VersionCounter()
    t._base = None
    t._hooks = None
    t._retains_grad = False


class UninitializedParameter(_UninitializedMixin, Parameter):
    """A parameter whose shape is not known yet (held by lazy modules until their first call).

    Reading its data, shape or values raises an error telling you to run a forward pass first;
    ``dtype``, ``device`` and ``requires_grad`` are known. ``materialize(shape)`` turns it, in
    place, into a normal :class:`Parameter`; :func:`is_lazy` says whether that has happened yet.
    """

    _materialized_cls = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        t = object.__new__(cls)
        _uninit_init(t, requires_grad, device, dtype)
        return t

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        pass


class UninitializedBuffer(_UninitializedMixin, Tensor):
    """A buffer whose shape is not known yet (e.g. a lazy batch norm's running statistics).

    Like :class:`UninitializedParameter`, but it becomes a plain ``Tensor`` when materialized.
    """

    _materialized_cls = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None):
        t = object.__new__(cls)
        _uninit_init(t, requires_grad, device, dtype)
        return t

    def __init__(self, requires_grad: bool = False, device=None, dtype=None):
        pass


def is_lazy(param) -> bool:
    """Whether ``param`` is still uninitialized (its shape is not known yet)."""
    return isinstance(param, _UninitializedMixin)
