"""Binds the public functions as ``Tensor`` methods and Python operators (one table)."""

from __future__ import annotations

from . import _dtype
from .functions import elementwise as E
from .functions import indexing as IX
from .functions import inplace as IP
from .functions import linalg as L
from .functions import reduction as R
from .functions import shaping as S
from .tensor import Tensor

_SAME_NAME = {
    E: "add sub mul div remainder fmod pow neg exp log log1p sqrt rsqrt abs sign sin cos tanh "
    "sigmoid relu clamp clip maximum minimum eq ne lt le gt ge logical_and logical_or "
    "logical_xor logical_not bitwise_and bitwise_or bitwise_xor bitwise_not isnan isinf "
    "isfinite allclose equal floor_divide nonzero true_divide negative greater less "
    "greater_equal less_equal not_equal",
    R: "sum mean prod max min amax amin argmax argmin var std logsumexp norm all any softmax "
    "log_softmax",
    S: "reshape view flatten unflatten squeeze unsqueeze permute transpose swapaxes swapdims t "
    "movedim expand expand_as repeat narrow split chunk unbind flip clone contiguous "
    "is_contiguous broadcast_to",
    IX: "gather scatter_add masked_fill index_select",
    L: "matmul mm bmm mv dot outer",
}

for _mod, _names in _SAME_NAME.items():
    for _n in _names.split():
        setattr(Tensor, _n, getattr(_mod, _n))


def _swap(fn):
    return lambda self, other: fn(other, self)


def _where(self, condition, other):
    return E.where(condition, self, other)


Tensor.where = _where
Tensor.multiply, Tensor.subtract, Tensor.divide = E.mul, E.sub, E.div
Tensor.view_as = lambda self, other: S.view(self, tuple(other.shape))
Tensor.reshape_as = lambda self, other: S.reshape(self, tuple(other.shape))
Tensor.type_as = lambda self, other: self.to(other.dtype)
Tensor.T = property(
    lambda self: S.permute(self, tuple(range(self.ndim - 1, -1, -1))),
    doc="All dims reversed (a view).",
)
Tensor.mT = property(lambda self: S.transpose(self, -2, -1), doc="The last two dims swapped.")
Tensor.float = lambda self: self.to(_dtype.float32)
Tensor.double = lambda self: self.to(_dtype.float64)
Tensor.half = lambda self: self.to(_dtype.float16)
Tensor.long = lambda self: self.to(_dtype.int64)
Tensor.int = lambda self: self.to(_dtype.int32)
Tensor.short = lambda self: self.to(_dtype.int16)
Tensor.bool = lambda self: self.to(_dtype.bool_)
Tensor.byte = lambda self: self.to(_dtype.uint8)

# Operators.
Tensor.__add__, Tensor.__radd__ = E.add, _swap(E.add)
Tensor.__sub__, Tensor.__rsub__ = E.sub, _swap(E.sub)
Tensor.__mul__, Tensor.__rmul__ = E.mul, _swap(E.mul)
Tensor.__truediv__, Tensor.__rtruediv__ = E.div, _swap(E.div)
Tensor.__floordiv__, Tensor.__rfloordiv__ = E.floor_divide, _swap(E.floor_divide)
Tensor.__mod__, Tensor.__rmod__ = E.remainder, _swap(E.remainder)
Tensor.__pow__, Tensor.__rpow__ = E.pow, _swap(E.pow)
Tensor.__matmul__, Tensor.__rmatmul__ = L.matmul, _swap(L.matmul)
Tensor.__neg__ = E.neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = E.abs
Tensor.__invert__ = E.bitwise_not
Tensor.__and__, Tensor.__rand__ = E.bitwise_and, _swap(E.bitwise_and)
Tensor.__or__, Tensor.__ror__ = E.bitwise_or, _swap(E.bitwise_or)
Tensor.__xor__, Tensor.__rxor__ = E.bitwise_xor, _swap(E.bitwise_xor)
Tensor.__eq__, Tensor.__ne__ = E.eq, E.ne
Tensor.__lt__, Tensor.__le__, Tensor.__gt__, Tensor.__ge__ = E.lt, E.le, E.gt, E.ge
Tensor.__getitem__ = IX.getitem
Tensor.__setitem__ = IX.setitem


# In-place forms.
def _inplace(fn, name):
    def method(self, other, **kw):
        return IP.binary_inplace(self, other, (lambda a, b: fn(a, b, **kw)) if kw else fn, name)

    method.__name__ = name
    method.__doc__ = f"In-place ``{fn.__name__}``."
    return method


for _fn, _name in [
    (E.add, "add_"),
    (E.sub, "sub_"),
    (E.mul, "mul_"),
    (E.div, "div_"),
    (E.pow, "pow_"),
    (E.remainder, "remainder_"),
    (E.maximum, "maximum_"),
    (E.minimum, "minimum_"),
    (E.floor_divide, "floor_divide_"),
]:
    setattr(Tensor, _name, _inplace(_fn, _name))

Tensor.__iadd__ = _inplace(E.add, "__iadd__")
Tensor.__isub__ = _inplace(E.sub, "__isub__")
Tensor.__imul__ = _inplace(E.mul, "__imul__")
Tensor.__itruediv__ = _inplace(E.div, "__itruediv__")
Tensor.__ifloordiv__ = _inplace(E.floor_divide, "__ifloordiv__")
Tensor.__imod__ = _inplace(E.remainder, "__imod__")
Tensor.__ipow__ = _inplace(E.pow, "__ipow__")
Tensor.__iand__ = _inplace(E.bitwise_and, "__iand__")
Tensor.__ior__ = _inplace(E.bitwise_or, "__ior__")


def _unary_inplace(fn, name):
    def method(self, *args, **kw):
        return IP.unary_inplace(self, lambda t: fn(t, *args, **kw), name)

    method.__name__ = name
    method.__doc__ = f"In-place ``{fn.__name__}``."
    return method


for _fn, _name in [
    (E.neg, "neg_"),
    (E.exp, "exp_"),
    (E.log, "log_"),
    (E.sqrt, "sqrt_"),
    (E.abs, "abs_"),
    (E.relu, "relu_"),
    (E.sigmoid, "sigmoid_"),
    (E.tanh, "tanh_"),
    (E.clamp, "clamp_"),
    (E.clamp, "clip_"),
    (IX.masked_fill, "masked_fill_"),
    (IX.scatter_add, "scatter_add_"),
    (E.sign, "sign_"),
]:
    setattr(Tensor, _name, _unary_inplace(_fn, _name))

Tensor.zero_ = IP.zero_
Tensor.fill_ = IP.fill_
Tensor.copy_ = IP.copy_
