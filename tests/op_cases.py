"""A shared table of op cases: one entry per op and form, used by the op test files.

Each ``Case`` calls the op through a library namespace ``lib`` (``graphlab`` or ``torch``; the
two spell these ops the same way), so one table drives the PyTorch comparison
(tests/test_ops_torch.py), the gradchecks and contiguity checks (tests/test_ops_gradcheck.py) and
the CUDA-vs-NumPy comparison (tests/test_ops_gpu.py). Inputs are made from a seeded NumPy
generator as float64 (cast to the dtype under test) or as integer/bool arrays (kept as they are).
Cases flagged ``kink`` sit on a kink or a tie on purpose (relu at 0, tied maxima): they pin down
the convention there against PyTorch and are left out of finite-difference gradchecks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import graphlab.nn.functional  # noqa: F401 - makes ``graphlab.nn`` reachable as ``lib.nn``

InputFn = Callable[[np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Case:
    """One op application: ``fn(lib, *tensors)`` on inputs made by ``inputs``."""

    name: str
    fn: Callable
    inputs: tuple[InputFn, ...]
    grad: tuple[int, ...] | None = None  # None: every floating input requires grad
    kink: bool = False
    torch_grad: bool = True  # False where PyTorch has no derivative (gradchecked instead)

    def arrays(self, seed: int = 0) -> list[np.ndarray]:
        """The inputs as NumPy arrays (floating ones float64), the same for every seed use."""
        rng = np.random.default_rng(seed)
        return [make(rng) for make in self.inputs]

    def grad_inputs(self, arrays) -> tuple[int, ...]:
        """Indices of the inputs that require grad."""
        if self.grad is not None:
            return self.grad
        return tuple(i for i, a in enumerate(arrays) if a.dtype.kind == "f")


# ----- input makers --------------------------------------------------------------------------


def normal(*shape) -> InputFn:
    """Standard normal values."""
    return lambda rng: rng.standard_normal(shape)


def positive(*shape, low=0.5, high=2.0) -> InputFn:
    """Values in ``[low, high)`` (for log, sqrt, division, pow bases)."""
    return lambda rng: rng.uniform(low, high, shape)


def away(*shape) -> InputFn:
    """Values with ``0.2 <= |x| < 2``, away from the kink at 0."""

    def make(rng):
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)

    return make


def distinct(*shape) -> InputFn:
    """Values at least 0.3 apart (no ties, so max/min/sort have one answer)."""

    def make(rng):
        n = int(np.prod(shape, dtype=np.int64))
        v = (rng.permutation(n) - n / 2) * 0.5 + rng.uniform(-0.1, 0.1, n)
        return v.reshape(shape)

    return make


def fixed(values, dtype=np.float64) -> InputFn:
    """Exactly these values."""
    return lambda rng: np.array(values, dtype=dtype)


def ints(low, high, *shape) -> InputFn:
    """int64 values in ``[low, high)``."""
    return lambda rng: rng.integers(low, high, shape).astype(np.int64)


def mask(*shape) -> InputFn:
    """A random bool mask."""
    return lambda rng: rng.random(shape) < 0.5


def with_zeros(*shape, zeros=1) -> InputFn:
    """Normal values with ``zeros`` entries set to exactly 0 (for prod's backward)."""

    def make(rng):
        v = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
        flat = v.reshape(-1)
        flat[rng.choice(flat.size, zeros, replace=False)] = 0.0
        return v

    return make


def C(name, fn, *inputs, grad=None, kink=False, torch_grad=True) -> Case:
    """Shorthand for a ``Case``."""
    return Case(name, fn, tuple(inputs), grad, kink, torch_grad)


def _copy(lib, x):
    # NOTE: a non-leaf copy, so in-place forms and __setitem__ run through autograd.
    return x * 1


def _iadd(lib, a, b):
    y = _copy(lib, a)
    y += b
    return y


def _isub(lib, a, b):
    y = _copy(lib, a)
    y -= b
    return y


def _imul(lib, a, b):
    y = _copy(lib, a)
    y *= b
    return y


def _idiv(lib, a, b):
    y = _copy(lib, a)
    y /= b
    return y


def _ipow(lib, a):
    y = _copy(lib, a)
    y **= 3
    return y


def _imod(lib, a, b):
    y = _copy(lib, a)
    y %= b
    return y


def _method_inplace(name, *args):
    def fn(lib, a, *rest):
        y = _copy(lib, a)
        getattr(y, name)(*rest, *args)
        return y

    return fn


def _setitem(index):
    def fn(lib, a, v):
        y = _copy(lib, a)
        y[index] = v
        return y * 2

    return fn


def _setitem_tensor_index(lib, a, idx, v):
    y = _copy(lib, a)
    y[idx] = v
    return y


def _setitem_mask(lib, a, m):
    y = _copy(lib, a)
    y[m] = 0.5
    return y


def _cross_entropy(scale):
    def fn(lib, x, target):
        rows = lib.arange(x.shape[0], device=x.device)
        return -lib.log_softmax(x * scale, 1)[rows, target].mean()

    return fn


def _one_hot(lib, idx):
    return lib.nn.functional.one_hot(idx, 5)


# ----- the table ------------------------------------------------------------------------------

ARITHMETIC = [
    C("add", lambda lib, a, b: a + b, normal(3, 4), normal(3, 4)),
    C("add_broadcast_right", lambda lib, a, b: a + b, normal(2, 3, 4), normal(4)),
    C("add_broadcast_left", lambda lib, a, b: a + b, normal(3, 1), normal(2, 1, 4)),
    C("add_0d", lambda lib, a, b: a + b, normal(3), normal()),
    C("add_alpha", lambda lib, a, b: lib.add(a, b, alpha=2.5), normal(3), normal(2, 3)),
    C("add_scalar", lambda lib, a: a + 1.5, normal(3)),
    C("radd_scalar", lambda lib, a: 1.5 + a, normal(3)),
    C("sub", lambda lib, a, b: a - b, normal(2, 3), normal(3)),
    C("sub_broadcast_left", lambda lib, a, b: a - b, normal(1, 3), normal(4, 1)),
    C("rsub_scalar", lambda lib, a: 2.0 - a, normal(2, 3)),
    C("mul", lambda lib, a, b: a * b, normal(2, 3), normal(2, 1)),
    C("mul_zero_size", lambda lib, a, b: a * b, normal(0, 3), normal(1, 3)),
    C("rmul_scalar", lambda lib, a: 3 * a, normal(4)),
    C("div", lambda lib, a, b: a / b, normal(2, 3), away(3)),
    C("div_broadcast_left", lambda lib, a, b: a / b, normal(3), away(2, 1)),
    C("rdiv_scalar", lambda lib, a: 2.0 / a, away(2, 3)),
    C("floordiv", lambda lib, a, b: a // b, normal(2, 3), away(3), grad=()),
    C("rfloordiv_scalar", lambda lib, a: 7.0 // a, away(5), grad=()),
    C("remainder", lambda lib, a, b: a % b, positive(2, 3, low=0.1, high=0.9), positive(3)),
    C("remainder_scalar", lambda lib, a: a % 0.7, positive(4, low=0.1, high=0.6)),
    C(
        "rremainder_scalar",
        lambda lib, a: 3.1 % a,
        fixed([0.7, 1.3, 1.9, 2.3]),
        torch_grad=False,
    ),
    C("pow_tensor", lambda lib, a, b: a**b, positive(2, 3), normal(3)),
    C("pow_broadcast_left", lambda lib, a, b: a**b, positive(3), normal(2, 1)),
    C("pow_scalar_2", lambda lib, a: a**2, normal(2, 3)),
    C("pow_scalar_3", lambda lib, a: a**3, normal(4)),
    C("pow_scalar_half", lambda lib, a: a**0.5, positive(4)),
    C("pow_scalar_neg", lambda lib, a: a**-1.5, positive(4)),
    C("pow_scalar_0", lambda lib, a: a**0, normal(4)),
    C("rpow_scalar", lambda lib, a: 2.0**a, normal(2, 3)),
    C("pow_fn", lambda lib, a: lib.pow(a, 3), normal(2, 3)),
    C("neg", lambda lib, a: -a, normal(2, 3)),
    C("iadd", _iadd, normal(2, 3), normal(3)),
    C("isub", _isub, normal(2, 3), normal(2, 1)),
    C("imul", _imul, normal(2, 3), normal(3)),
    C("idiv", _idiv, normal(2, 3), away(3)),
    C("ipow", _ipow, normal(2, 3)),
    C("imod", _imod, positive(2, 3, low=0.1, high=0.9), positive(3)),
    C("add_", _method_inplace("add_"), normal(3), normal(3)),
    C("mul_", _method_inplace("mul_"), normal(3), normal(3)),
    C("sub_scalar_", _method_inplace("sub_", 2.0), normal(3)),
    C("clamp_", _method_inplace("clamp_", -0.5, 0.5), away(6)),
]

MATMUL = [
    C("matmul_2d", lambda lib, a, b: a @ b, normal(3, 4), normal(4, 5)),
    C("matmul_1d_1d", lambda lib, a, b: a @ b, normal(4), normal(4)),
    C("matmul_1d_2d", lambda lib, a, b: a @ b, normal(4), normal(4, 3)),
    C("matmul_2d_1d", lambda lib, a, b: a @ b, normal(3, 4), normal(4)),
    C("matmul_batched", lambda lib, a, b: a @ b, normal(2, 3, 4), normal(2, 4, 5)),
    C("matmul_batch_2d", lambda lib, a, b: a @ b, normal(2, 3, 4), normal(4, 5)),
    C("matmul_2d_batch", lambda lib, a, b: a @ b, normal(3, 4), normal(2, 4, 5)),
    C("matmul_1d_batch", lambda lib, a, b: a @ b, normal(4), normal(2, 4, 3)),
    C("matmul_batch_1d", lambda lib, a, b: a @ b, normal(2, 3, 4), normal(4)),
    C("matmul_broadcast", lambda lib, a, b: a @ b, normal(2, 1, 3, 4), normal(3, 4, 2)),
    C("matmul_zero_k", lambda lib, a, b: a @ b, normal(3, 0), normal(0, 2)),
    C("matmul_fn", lambda lib, a, b: lib.matmul(a, b), normal(3, 4), normal(4, 2)),
    C("rmatmul", lambda lib, a, b: a.__rmatmul__(b), normal(4, 2), normal(3, 4)),
    C("mm", lambda lib, a, b: lib.mm(a, b), normal(3, 4), normal(4, 2)),
    C("bmm", lambda lib, a, b: lib.bmm(a, b), normal(2, 3, 4), normal(2, 4, 2)),
    C("mv", lambda lib, a, b: lib.mv(a, b), normal(3, 4), normal(4)),
    C("dot", lambda lib, a, b: lib.dot(a, b), normal(4), normal(4)),
    C("outer", lambda lib, a, b: lib.outer(a, b), normal(3), normal(4)),
]

UNARY = [
    C("exp", lambda lib, a: lib.exp(a), normal(2, 3)),
    C("log", lambda lib, a: lib.log(a), positive(2, 3)),
    C("log1p", lambda lib, a: lib.log1p(a), positive(2, 3, low=-0.5, high=2.0)),
    C("sqrt", lambda lib, a: lib.sqrt(a), positive(2, 3)),
    C("rsqrt", lambda lib, a: lib.rsqrt(a), positive(2, 3)),
    C("abs", lambda lib, a: lib.abs(a), away(2, 3)),
    C("sign", lambda lib, a: lib.sign(a), away(2, 3)),
    C("sin", lambda lib, a: lib.sin(a), normal(2, 3)),
    C("cos", lambda lib, a: lib.cos(a), normal(2, 3)),
    C("tanh", lambda lib, a: lib.tanh(a), normal(2, 3)),
    C("sigmoid", lambda lib, a: lib.sigmoid(a), normal(2, 3)),
    C("sigmoid_large", lambda lib, a: lib.sigmoid(a), fixed([-800.0, -30.0, 0.0, 30.0, 800.0])),
    C("relu", lambda lib, a: lib.relu(a), away(2, 3)),
    C("clamp", lambda lib, a: lib.clamp(a, -0.5, 0.5), away(3, 4)),
    C("clamp_min", lambda lib, a: lib.clamp(a, min=0.3), away(3, 4)),
    C("clamp_max", lambda lib, a: lib.clamp(a, max=0.3), away(3, 4)),
    C("clip", lambda lib, a: lib.clip(a, -1.0, 1.0), away(3, 4)),
    C("clamp_tensor", lambda lib, a, lo: lib.clamp(a, min=lo), distinct(3, 4), distinct(4)),
    C("maximum", lambda lib, a, b: lib.maximum(a, b), distinct(2, 3), distinct(3)),
    C("minimum", lambda lib, a, b: lib.minimum(a, b), distinct(3), distinct(2, 3)),
    C("where", lambda lib, m, a, b: lib.where(m, a, b), mask(2, 3), normal(2, 3), normal(3)),
    C("where_scalar", lambda lib, m, a: lib.where(m, a, 0.0), mask(2, 3), normal(3)),
    C("where_method", lambda lib, a, m, b: a.where(m, b), normal(2, 3), mask(2, 3), normal(1)),
]

KINKS = [
    C("relu_at_0", lambda lib, a: lib.relu(a), fixed([-1.0, 0.0, 0.0, 2.0]), kink=True),
    C("abs_at_0", lambda lib, a: lib.abs(a), fixed([-1.0, 0.0, 2.0]), kink=True),
    C("sign_at_0", lambda lib, a: lib.sign(a), fixed([-1.0, 0.0, 2.0]), kink=True),
    C("sqrt_at_0", lambda lib, a: lib.sqrt(a), fixed([0.0, 4.0]), kink=True),
    C(
        "clamp_at_bounds",
        lambda lib, a: lib.clamp(a, -0.5, 0.5),
        fixed([-1.0, -0.5, 0.0, 0.5, 1.0]),
        kink=True,
    ),
    C(
        "clamp_min_at_bound",
        lambda lib, a: lib.clamp(a, min=0.0),
        fixed([-1.0, 0.0, 1.0]),
        kink=True,
    ),
    C(
        "maximum_ties",
        lambda lib, a, b: lib.maximum(a, b),
        fixed([1.0, 2.0, 3.0]),
        fixed([1.0, 0.0, 3.0]),
        kink=True,
    ),
    C(
        "minimum_ties",
        lambda lib, a, b: lib.minimum(a, b),
        fixed([[1.0, 2.0], [3.0, 3.0]]),
        fixed([1.0, 3.0]),
        kink=True,
    ),
    C("amax_ties", lambda lib, a: lib.amax(a), fixed([[1.0, 3.0], [3.0, 0.0]]), kink=True),
    C(
        "amax_dim_ties",
        lambda lib, a: lib.amax(a, 1),
        fixed([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]),
        kink=True,
    ),
    C("amin_ties", lambda lib, a: lib.amin(a, 0), fixed([[1.0, 1.0], [1.0, 0.0]]), kink=True),
    C("max_all_ties", lambda lib, a: lib.max(a), fixed([[1.0, 3.0], [3.0, 3.0]]), kink=True),
    C("min_all_ties", lambda lib, a: a.min(), fixed([0.0, -1.0, -1.0]), kink=True),
    C(
        "max_dim_ties",
        lambda lib, a: lib.max(a, 1),
        fixed([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]),
        kink=True,
    ),
    C(
        "min_dim_ties",
        lambda lib, a: lib.min(a, 0, keepdim=True),
        fixed([[1.0, 0.0], [1.0, 0.0], [0.5, 0.0]]),
        kink=True,
    ),
    C("argmax_ties", lambda lib, a: lib.argmax(a, 1), fixed([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])),
    C("argmin_ties", lambda lib, a: lib.argmin(a), fixed([[1.0, 0.0], [0.0, 1.0]])),
    C("norm_at_0", lambda lib, a: lib.norm(a), fixed([0.0, 0.0, 0.0]), kink=True),
    C("std_constant", lambda lib, a: lib.std(a, 1), fixed([[2.0, 2.0], [1.0, 3.0]]), kink=True),
    C(
        "norm_inf_ties",
        lambda lib, a: lib.norm(a, float("inf")),
        fixed([-2.0, 2.0, 1.0]),
        kink=True,
    ),
]

REDUCTIONS = [
    C("sum", lambda lib, a: lib.sum(a), normal(2, 3)),
    C("sum_dim", lambda lib, a: lib.sum(a, 1), normal(2, 3, 4)),
    C("sum_neg_dim", lambda lib, a: a.sum(-1), normal(2, 3, 4)),
    C("sum_tuple_keepdim", lambda lib, a: lib.sum(a, (0, 2), keepdim=True), normal(2, 3, 4)),
    C("sum_0d", lambda lib, a: lib.sum(a), normal()),
    C("sum_empty", lambda lib, a: lib.sum(a, 0), normal(0, 3)),
    C("mean", lambda lib, a: lib.mean(a), normal(2, 3)),
    C("mean_dim_keepdim", lambda lib, a: lib.mean(a, 0, keepdim=True), normal(2, 3)),
    C("mean_tuple", lambda lib, a: lib.mean(a, (-1, 0)), normal(2, 3, 4)),
    C("prod", lambda lib, a: lib.prod(a), positive(2, 3)),
    C("prod_dim", lambda lib, a: lib.prod(a, 1), normal(2, 3)),
    C("prod_dim_keepdim", lambda lib, a: lib.prod(a, 0, keepdim=True), normal(3, 2)),
    C("prod_one_zero", lambda lib, a: lib.prod(a), with_zeros(2, 3, zeros=1)),
    C("prod_two_zeros", lambda lib, a: lib.prod(a), with_zeros(2, 3, zeros=2)),
    C("prod_dim_zero", lambda lib, a: lib.prod(a, 1), fixed([[1.5, 0.0, 2.0], [0.0, 0.0, 3.0]])),
    C("max_all", lambda lib, a: lib.max(a), distinct(2, 3)),
    C("max_dim", lambda lib, a: lib.max(a, 1), distinct(2, 3)),
    C("max_dim_keepdim", lambda lib, a: a.max(0, keepdim=True), distinct(2, 3)),
    C("min_all", lambda lib, a: lib.min(a), distinct(2, 3)),
    C("min_dim", lambda lib, a: lib.min(a, -1), distinct(3, 4)),
    C("max_binary", lambda lib, a, b: lib.max(a, b), distinct(2, 3), distinct(3)),
    C("amax", lambda lib, a: lib.amax(a, 1), distinct(2, 3)),
    C("amax_tuple_keepdim", lambda lib, a: lib.amax(a, (0, 2), keepdim=True), distinct(2, 3, 2)),
    C("amin", lambda lib, a: lib.amin(a), distinct(2, 3)),
    C("amin_tuple", lambda lib, a: lib.amin(a, (1, 2)), distinct(2, 3, 2)),
    C("argmax", lambda lib, a: lib.argmax(a), distinct(2, 3)),
    C("argmax_dim", lambda lib, a: lib.argmax(a, 1, keepdim=True), distinct(2, 3)),
    C("argmin_dim", lambda lib, a: a.argmin(0), distinct(2, 3)),
    C("all", lambda lib, m: lib.all(m), mask(2, 3)),
    C("all_dim", lambda lib, m: m.all(1), mask(2, 3)),
    C("any", lambda lib, m: lib.any(m), mask(2, 3)),
    C("any_dim_keepdim", lambda lib, m: lib.any(m, 0, keepdim=True), mask(2, 3)),
    C("any_float", lambda lib, a: lib.any(a, 1), fixed([[0.0, 0.0], [0.0, 1.5]])),
    C("var", lambda lib, a: lib.var(a), normal(3, 4)),
    C("var_dim", lambda lib, a: lib.var(a, 1), normal(3, 4)),
    C("var_unbiased_false", lambda lib, a: lib.var(a, 0, unbiased=False), normal(3, 4)),
    C(
        "var_tuple_keepdim",
        lambda lib, a: lib.var(a, (0, 1), keepdim=True, correction=0),
        normal(2, 3, 2),
    ),
    C("std", lambda lib, a: lib.std(a), normal(3, 4)),
    C("std_dim_keepdim", lambda lib, a: lib.std(a, 1, keepdim=True), normal(3, 4)),
    C("logsumexp", lambda lib, a: lib.logsumexp(a, 1), normal(3, 4)),
    C("logsumexp_tuple", lambda lib, a: lib.logsumexp(a, (0, 1), keepdim=True), normal(2, 3, 2)),
    C("logsumexp_large", lambda lib, a: lib.logsumexp(a, 0), fixed([1000.0, 999.0, -5.0])),
    C("norm", lambda lib, a: lib.norm(a), normal(3, 4)),
    C("norm_dim", lambda lib, a: lib.norm(a, dim=1), normal(3, 4)),
    C("norm_p1", lambda lib, a: lib.norm(a, 1, dim=0, keepdim=True), away(3, 4)),
    C("norm_p3", lambda lib, a: lib.norm(a, 3), away(3, 4)),
    C("norm_inf", lambda lib, a: lib.norm(a, float("inf"), dim=1), distinct(3, 4)),
    C("softmax", lambda lib, a: lib.softmax(a, 1), normal(3, 4)),
    C("softmax_dim0", lambda lib, a: lib.softmax(a, 0), normal(3, 4)),
    C("log_softmax", lambda lib, a: lib.log_softmax(a, -1), normal(3, 4)),
    C("log_softmax_3d", lambda lib, a: a.log_softmax(1), normal(2, 3, 4)),
    C("cross_entropy", _cross_entropy(1.0), normal(4, 5), ints(0, 5, 4)),
    # NOTE: logits of 1e8 saturate softmax; finite differences there say nothing, so these are
    # flagged ``kink`` (compared with PyTorch, left out of gradchecks).
    C("softmax_large_logits", lambda lib, a: lib.softmax(a * 1e8, 1), normal(3, 4), kink=True),
    C(
        "log_softmax_large_logits",
        lambda lib, a: lib.log_softmax(a * 1e8, 1),
        normal(3, 4),
        kink=True,
    ),
    C("cross_entropy_large_logits", _cross_entropy(1e8), normal(4, 5), ints(0, 5, 4), kink=True),
]

SHAPES = [
    C("reshape", lambda lib, a: a.reshape(3, 2, 2), normal(2, 6)),
    C("reshape_infer", lambda lib, a: lib.reshape(a, (-1, 4)), normal(2, 3, 4)),
    C("reshape_0d", lambda lib, a: a.reshape(1, 1), normal()),
    C("view", lambda lib, a: a.view(6, 2), normal(3, 4)),
    C("view_as", lambda lib, a, b: a.view_as(b), normal(3, 4), normal(2, 6), grad=(0,)),
    C("flatten", lambda lib, a: lib.flatten(a), normal(2, 3, 4)),
    C("flatten_range", lambda lib, a: a.flatten(1, 2), normal(2, 3, 4, 2)),
    C("flatten_0d", lambda lib, a: a.flatten(), normal()),
    C("unflatten", lambda lib, a: a.unflatten(1, (2, 3)), normal(4, 6)),
    C("squeeze", lambda lib, a: lib.squeeze(a), normal(1, 3, 1)),
    C("squeeze_dim", lambda lib, a: a.squeeze(2), normal(1, 3, 1)),
    C("squeeze_noop", lambda lib, a: a.squeeze(1), normal(2, 3)),
    C("unsqueeze", lambda lib, a: lib.unsqueeze(a, 1), normal(2, 3)),
    C("unsqueeze_neg", lambda lib, a: a.unsqueeze(-1), normal(2, 3)),
    C("transpose", lambda lib, a: lib.transpose(a, 0, 2), normal(2, 3, 4)),
    C("t", lambda lib, a: a.t(), normal(2, 3)),
    C("T_property", lambda lib, a: a.T * 1, normal(2, 3)),
    C("mT_property", lambda lib, a: a.mT, normal(2, 3, 4)),
    C("permute", lambda lib, a: a.permute(2, 0, 1), normal(2, 3, 4)),
    C("permute_fn", lambda lib, a: lib.permute(a, (1, 0)), normal(2, 3)),
    C("movedim", lambda lib, a: lib.movedim(a, 0, -1), normal(2, 3, 4)),
    C("expand", lambda lib, a: a.expand(2, 3, 4), normal(3, 1)),
    C("expand_minus1", lambda lib, a: a.expand(2, -1, 4), normal(3, 1)),
    C("expand_as", lambda lib, a, b: a.expand_as(b), normal(1, 4), normal(3, 4), grad=(0,)),
    C("broadcast_to", lambda lib, a: lib.broadcast_to(a, (2, 3)), normal(3)),
    C("repeat", lambda lib, a: a.repeat(2, 3), normal(2, 3)),
    C("repeat_new_dims", lambda lib, a: a.repeat(2, 1, 2), normal(3)),
    C("cat", lambda lib, a, b: lib.cat([a, b]), normal(2, 3), normal(1, 3)),
    C(
        "cat_dim1",
        lambda lib, a, b, c: lib.cat([a, b, c], 1),
        normal(2, 3),
        normal(2, 1),
        normal(2, 0),
    ),
    C("cat_promote", lambda lib, a, b: lib.cat([a, b], -1), normal(2, 3), ints(0, 4, 2, 2)),
    C("stack", lambda lib, a, b: lib.stack([a, b]), normal(2, 3), normal(2, 3)),
    C("stack_last", lambda lib, a, b: lib.stack((a, b), dim=-1), normal(2, 3), normal(2, 3)),
    C("split", lambda lib, a: lib.split(a, 2), normal(5, 3)),
    C("split_sizes", lambda lib, a: a.split([1, 2], 1), normal(2, 3)),
    C("chunk", lambda lib, a: lib.chunk(a, 3, 1), normal(2, 7)),
    C("unbind", lambda lib, a: lib.unbind(a, 1), normal(2, 3)),
    C("narrow", lambda lib, a: lib.narrow(a, 1, 1, 2), normal(3, 4)),
    C("narrow_neg_start", lambda lib, a: a.narrow(0, -2, 2), normal(3, 4)),
    C("flip", lambda lib, a: lib.flip(a, (0, 2)), normal(2, 3, 4)),
    C("flip_int", lambda lib, a: a.flip(-1), normal(2, 3)),
    C("clone", lambda lib, a: lib.clone(a), normal(2, 3)),
    C("contiguous", lambda lib, a: a.t().contiguous(), normal(2, 3)),
]

INDEXING = [
    C("index_int", lambda lib, a: a[1], normal(3, 4)),
    C("index_neg_int", lambda lib, a: a[-1, 2], normal(3, 4)),
    C("index_slice", lambda lib, a: a[1:3], normal(4, 3)),
    C("index_slice_step", lambda lib, a: a[::2, 1::2], normal(5, 4)),
    C("index_none_ellipsis", lambda lib, a: a[None, ..., 1], normal(2, 3, 4)),
    C("index_ellipsis_slice", lambda lib, a: a[..., ::3], normal(2, 7)),
    C("index_mask", lambda lib, a, m: a[m], normal(3, 4), mask(3, 4)),
    C("index_mask_rows", lambda lib, a, m: a[m], normal(4, 3), mask(4)),
    C("index_int_tensor", lambda lib, a, i: a[i], normal(5, 3), ints(0, 5, 7)),
    C("index_int_tensor_2d", lambda lib, a, i: a[:, i], normal(3, 4), ints(-4, 4, 2, 3)),
    C("index_repeated", lambda lib, a, i: a[i], normal(4), fixed([1, 1, 1, 3, 0, 3], np.int64)),
    C(
        "index_two_tensors",
        lambda lib, a, i, j: a[i, j],
        normal(3, 4),
        fixed([0, 2, 2, 0], np.int64),
        fixed([1, 3, 3, 1], np.int64),
    ),
    C("index_list", lambda lib, a: a[[0, 2, 0]], normal(3, 2)),
    C("index_slice_and_tensor", lambda lib, a, i: a[1:, i], normal(3, 4), ints(0, 4, 5)),
    C("setitem_slice", _setitem((slice(None), slice(None, None, 2))), normal(3, 4), normal(3, 2)),
    C("setitem_int_broadcast", _setitem((1,)), normal(3, 4), normal(1)),
    C("setitem_scalar", lambda lib, a: _setitem(0)(lib, a, 5.0), normal(3, 4)),
    C(
        "setitem_tensor_index",
        _setitem_tensor_index,
        normal(5, 2),
        fixed([0, 3], np.int64),
        normal(2, 2),
    ),
    C("setitem_mask", _setitem_mask, normal(3, 4), mask(3, 4)),
    C("gather", lambda lib, a, i: lib.gather(a, 1, i), normal(3, 4), ints(0, 4, 3, 6)),
    C("gather_dim0", lambda lib, a, i: a.gather(0, i), normal(3, 4), ints(0, 3, 2, 4)),
    C(
        "scatter_add",
        lambda lib, a, i, s: lib.scatter_add(a, 1, i, s),
        normal(3, 4),
        ints(0, 4, 3, 5),
        normal(3, 5),
    ),
    C(
        "scatter_add_dim0",
        lambda lib, a, i, s: a.scatter_add(0, i, s),
        normal(3, 2),
        fixed([[0, 1], [0, 1], [2, 0]], np.int64),
        normal(3, 2),
    ),
    C("masked_fill", lambda lib, a, m: lib.masked_fill(a, m, -1.5), normal(3, 4), mask(3, 4)),
    C("masked_fill_broadcast", lambda lib, a, m: a.masked_fill(m, 0.0), normal(3, 4), mask(4)),
    C("masked_fill_", _method_inplace("masked_fill_", 2.0), normal(3, 4), mask(3, 4)),
    C("index_select", lambda lib, a, i: lib.index_select(a, 1, i), normal(3, 4), ints(0, 4, 5)),
    C("one_hot", _one_hot, ints(0, 5, 2, 3)),
]

ALL_CASES: list[Case] = ARITHMETIC + MATMUL + UNARY + KINKS + REDUCTIONS + SHAPES + INDEXING

_names = [c.name for c in ALL_CASES]
assert len(_names) == len(set(_names)), "duplicate case names"


def as_list(out) -> list:
    """An op's result as a list of tensors (``split`` and ``max(dim)`` give several)."""
    return list(out) if isinstance(out, (tuple, list)) else [out]


def run(lib, case: Case, dtype, device=None, backward: bool = True):
    """Run ``case`` with ``lib`` (graphlab or torch) on ``device``, forward and backward.

    Floating inputs are cast to ``dtype``; inputs are made on the CPU and moved with
    ``.to(device)``, so they are leaves there. The backward pass feeds each output that requires
    grad the same seeded random gradient. Returns host arrays: ``(outputs, output dtypes,
    input gradients, number of outputs that require grad)``; a missing gradient is ``None``.
    """
    arrays = case.arrays()
    grad_inputs = case.grad_inputs(arrays)
    xs = []
    for i, a in enumerate(arrays):
        t = lib.tensor((a.astype(dtype) if a.dtype.kind == "f" else a).copy())
        if device is not None:
            t = t.to(device)
        xs.append(t.requires_grad_(True) if i in grad_inputs else t)
    outs = as_list(case.fn(lib, *xs))
    diff = [o for o in outs if o.requires_grad]
    grads = []
    if diff and backward:
        rng = np.random.default_rng(1)
        ups = []
        for o in diff:
            u = rng.standard_normal(tuple(o.shape)).astype(o.detach().cpu().numpy().dtype)
            ups.append(lib.tensor(u).to(o.device))
        lib.autograd.backward(diff, ups)
        for i in grad_inputs:
            g = xs[i].grad
            grads.append(None if g is None else g.cpu().numpy())
    values = [o.detach().cpu().numpy() for o in outs]
    return values, [o.dtype for o in outs], grads, len(diff)


# ----- hypothesis strategies shared by the op tests -------------------------------------------

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)


@st.composite
def shape_and_dims(draw, shapes=SHAPES, allow_none=True, single=False):
    """A shape and a ``dim`` argument for it: None, an int (maybe negative) or a tuple."""
    shape = draw(shapes)
    nd = len(shape)
    options = [st.none()] if allow_none else []
    if nd:
        options.append(st.integers(-nd, nd - 1))
        if not single:
            options.append(
                st.lists(st.integers(0, nd - 1), unique=True, min_size=1, max_size=nd).map(tuple)
            )
    elif not allow_none:
        options.append(st.sampled_from([0, -1]))
    return shape, draw(st.one_of(*options))


def case_params(cases=ALL_CASES):
    """``pytest.param`` entries, one per case, with the case name as the test id."""
    import pytest

    return [pytest.param(c, id=c.name) for c in cases]
