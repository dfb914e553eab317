"""``graphlab.Tensor``: an array on a device, with the autograd state PyTorch users expect.

The class holds state and conversions; the ops themselves live in ``graphlab.ops`` (kernels)
and ``graphlab.functions`` (the public functions), and are bound as methods in ``_methods``.
"""

from __future__ import annotations

import weakref

from . import _dtype, transfer
from ._device import CPU, device
from .autograd.function import RemovableHandle, VersionCounter


class Tensor:
    """A multi-dimensional array on a device, recording ops for autograd when asked."""

    __slots__ = (
        "_data",
        "_device",
        "requires_grad",
        "grad",
        "grad_fn",
        "_version",
        "_base",
        "_hooks",
        "_retains_grad",
        "_trace_leaf",  # NOTE: the trace recorder's, unset until it reads the tensor
        "__weakref__",
        "__dict__",
    )

    def __init__(self, data=(), *, dtype=None, device=None, requires_grad=False):
        from .creation import tensor as _tensor

        t = _tensor(data, dtype=dtype or _dtype.get_default_dtype(), device=device)
        self._init(t._data, t._device, requires_grad)

    def _init(self, data, dev, requires_grad):
        self._data = data
        self._device = dev
        self.requires_grad = requires_grad
        self.grad = None
        self.grad_fn = None
        self._version = VersionCounter()
        self._base = None
        self._hooks = None
        self._retains_grad = False

    @classmethod
    def _wrap(cls, data, dev, requires_grad=False):
        """A tensor around ``data`` (already on ``dev``), with no copy and no checks."""
        t = object.__new__(cls)
        t._init(data, dev, requires_grad)
        return t

    # ----- attributes -----------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        """The size of each dimension, as a ``Size`` (a tuple)."""
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """``shape``, or the size of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        from .ops._util import norm_dim

        return self._data.shape[norm_dim(dim, self._data.ndim, "size")]

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self._data.ndim

    def dim(self) -> int:
        """The number of dimensions."""
        return self._data.ndim

    def numel(self) -> int:
        """The number of elements."""
        return int(self._data.size)

    def nelement(self) -> int:
        """The number of elements (alias of ``numel``)."""
        return int(self._data.size)

    def element_size(self) -> int:
        """Bytes per element."""
        return self._data.dtype.itemsize

    @property
    def nbytes(self) -> int:
        """Bytes the elements occupy."""
        return int(self._data.nbytes)

    @property
    def dtype(self) -> _dtype.dtype:
        """The element type, e.g. ``graphlab.float32``."""
        return _dtype.from_np(self._data.dtype)

    @property
    def device(self) -> device:
        """The device the data lives on."""
        return self._device

    @property
    def is_cuda(self) -> bool:
        """Whether the tensor lives on a CUDA device."""
        return self._device.type == "cuda"

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op (user-created or detached)."""
        return self.grad_fn is None

    def is_floating_point(self) -> bool:
        """Whether the dtype is a floating type."""
        return self._data.dtype.kind == "f"

    @property
    def data(self) -> Tensor:
        """The same storage without autograd history (edits are seen by this tensor)."""
        t = Tensor._wrap(self._data, self._device, False)
        return t

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"Tensor.data: expected a Tensor, got {type(value).__name__}")
        self._data = value._data
        self._device = value._device

    @property
    def _version_value(self) -> int:
        return self._version.value

    # ----- autograd -------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (only on leaves, and only for floating dtypes)."""
        if not self.is_leaf and not requires_grad:
            raise RuntimeError(
                "requires_grad_: you can only change requires_grad flags of leaf variables; "
                "use .detach() to get a tensor without history"
            )
        if requires_grad and not self.is_floating_point():
            raise RuntimeError(
                f"requires_grad_: only tensors of floating point dtype can require gradients, "
                f"got {self.dtype}; convert with .float() first"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate the gradient of this tensor into ``.grad`` of the leaves it depends on."""
        from .autograd import backward

        backward(
            [self],
            None if gradient is None else [gradient],
            retain_graph,
            create_graph,
            inputs=inputs,
        )

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError(
                "retain_grad: can't retain_grad on a tensor that doesn't require gradient"
            )
        if self.is_leaf or self._retains_grad:
            return
        ref = weakref.ref(self)

        def keep(g):
            t = ref()
            if t is not None:
                if t.grad is None:
                    t.grad = Tensor._wrap(g.copy(), t._device)
                else:
                    t.grad._data = t.grad._data + g
            return None

        keep._retains_grad = True  # NOTE: runs after the other hooks (see register_prehook)
        self.grad_fn.register_prehook(keep)
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        """Whether ``retain_grad()`` was called on this non-leaf tensor."""
        return self._retains_grad

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad) -> Tensor | None`` with this tensor's gradient during backward."""
        if not self.requires_grad:
            raise RuntimeError(
                "register_hook: cannot register a hook on a tensor that doesn't require gradient"
            )
        if self.is_leaf:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
            return RemovableHandle(self._hooks, hook)
        dev = self._device

        def on_array(g):
            r = hook(Tensor._wrap(g, dev))
            return None if r is None else r._data

        return self.grad_fn.register_prehook(on_array)

    def detach(self) -> Tensor:
        """A tensor sharing this storage (and version counter) with no history."""
        t = Tensor._wrap(self._data, self._device, False)
        t._version = self._version
        return t

    def detach_(self) -> Tensor:
        """Cut this tensor from its history in place."""
        self.grad_fn = None
        self.requires_grad = False
        return self

    # ----- conversions and host reads (each a recorded sync) -------------------------------
    def numpy(self, *, force: bool = False):
        """The data as a NumPy array (shared on the CPU; raises if it requires grad)."""
        if self.requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        if self._device.type != "cpu" and not force:
            raise TypeError(
                f"can't convert {self._device} device type tensor to numpy. Use Tensor.cpu() to "
                "copy the tensor to host memory first."
            )
        return transfer.host_read(self._data, self._device, "numpy")

    def __array__(self, dtype=None, copy=None):
        a = transfer.host_read(self._data, self._device, "__array__")
        return a if dtype is None else a.astype(dtype, copy=False)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"item: a Tensor with {self._data.size} elements cannot be converted to Scalar; "
                "index one element first, or use tolist()"
            )
        return transfer.host_read(self._data, self._device, "item").item()

    def tolist(self):
        """The data as (nested) Python lists of numbers."""
        return transfer.host_read(self._data, self._device, "tolist").tolist()

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} elements is ambiguous; use "
                ".any() or .all()"
            )
        return bool(transfer.host_read(self._data, self._device, "bool").item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError(
                f"only integer tensors of a single element can be converted to an "
                f"index, got {self.dtype} with {self._data.size} elements"
            )
        return int(self.item())

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        from ._format import tensor_repr

        return tensor_repr(self)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self)

    def __reduce_ex__(self, protocol):
        raise TypeError("graphlab tensors are not picklable; use graphlab.save (no pickle)")

    def __deepcopy__(self, memo):
        # NOTE: only leaves can be deep-copied (as in PyTorch); the copy keeps class and flags.
        if not self.is_leaf:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol; call .detach() first"
            )
        if id(self) in memo:
            return memo[id(self)]
        out = Tensor._wrap(self._data.copy(), self._device, self.requires_grad)
        out.__class__ = type(self)
        out.__dict__.update({k: v for k, v in self.__dict__.items()})
        if self.grad is not None:
            out.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = out
        return out

    # ----- devices and dtypes ----------------------------------------------------------------
    def to(self, *args, dtype=None, device=None, non_blocking: bool = False, copy: bool = False):
        """Move and/or cast: ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other)``."""
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a._device, a.dtype
            elif isinstance(a, (_dtype.dtype, type)) or (
                isinstance(a, str) and a in _dtype._BY_NAME
            ):
                dtype = a
            else:
                device = a
        out = self
        if device is not None:
            dev = globals()["device"](device) if not isinstance(device, type(CPU)) else device
            if dev is not self._device:
                from .ops.move import to_device

                out = to_device(out, dev, non_blocking)
        if dtype is not None:
            d = _dtype.to_dtype(dtype)
            if d is not out.dtype:
                from .ops.unary import Cast

                out = Cast.apply(out, dtype=d.np)
        if copy and out is self:
            out = self.clone()
        return out

    def cuda(self, device=None, non_blocking: bool = False) -> Tensor:
        """A copy on a CUDA device (``cuda:0`` by default, or ``cuda:device``)."""
        if device is None:
            dev = globals()["device"]("cuda")
        elif isinstance(device, int):
            dev = globals()["device"]("cuda", device)
        else:
            dev = globals()["device"](device)
        return self.to(dev, non_blocking=non_blocking)

    def cpu(self) -> Tensor:
        """A copy on the CPU (this tensor if it is there already)."""
        return self.to(CPU)

    def type(self, dtype=None):
        """The type name (``graphlab.FloatTensor``…) or, given a dtype, a cast."""
        if dtype is None:
            return f"graphlab.{_TYPE_NAMES[self.dtype.name]}"
        return self.to(dtype)

    def pin_memory(self) -> Tensor:
        """A copy in page-locked host memory, for fast (and overlappable) host-to-GPU copies."""
        from . import cuda

        if self._device.type != "cpu":
            raise RuntimeError(f"pin_memory: only CPU tensors can be pinned, got {self._device}")
        if not cuda.is_available():
            raise RuntimeError(
                "pin_memory: pinned memory needs a CUDA device (CuPy and an NVIDIA GPU); "
                "none is available"
            )
        from . import backends

        buf = backends.cuda().pinned_empty(self._data.shape, self._data.dtype)
        buf[...] = self._data
        return Tensor._wrap(buf, self._device, self.requires_grad)

    def is_pinned(self) -> bool:
        """Whether the data lives in page-locked host memory."""
        from .backends import numpy_backend

        return self._device.type == "cpu" and numpy_backend.is_pinned(self._data)

    __array_priority__ = 1000  # NOTE: so ndarray + Tensor defers to Tensor.__radd__


_TYPE_NAMES = {
    "float32": "FloatTensor",
    "float64": "DoubleTensor",
    "float16": "HalfTensor",
    "int64": "LongTensor",
    "int32": "IntTensor",
    "int16": "ShortTensor",
    "int8": "CharTensor",
    "uint8": "ByteTensor",
    "bool": "BoolTensor",
}


class Size(tuple):
    """A tensor's shape: a tuple that prints as ``graphlab.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"graphlab.Size({list(self)})"

    def numel(self) -> int:
        """The number of elements a tensor of this shape holds."""
        n = 1
        for s in self:
            n *= s
        return n
