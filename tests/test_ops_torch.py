"""Every op, forward and backward, against PyTorch (CPU) as the oracle; type promotion; and the
error messages ops give for bad input.

The op table lives in tests/op_cases.py: each case is one test id, run in float32 and float64.
Outputs must match PyTorch's shape and dtype exactly and its values within 1e-6 (float64) or
rtol 1e-5 (float32); gradients, for the same random upstream gradient, within 1e-5.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from op_cases import ALL_CASES, case_params, run, shape_and_dims

import graphlab as gl

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def torch():
    """PyTorch, or a skip when it is not installed."""
    return pytest.importorskip("torch")


def _torch_dtype(torch, d: gl.dtype):
    return getattr(torch, d.name)


def _tols(dtype):
    return (1e-6, 1e-6) if dtype == np.float64 else (1e-5, 1e-5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", case_params())
def test_op_matches_torch(case, dtype, torch):
    g_vals, g_dtypes, g_grads, g_ndiff = run(gl, case, dtype, backward=case.torch_grad)
    t_vals, t_dtypes, t_grads, t_ndiff = run(torch, case, dtype, backward=case.torch_grad)
    assert len(g_vals) == len(t_vals), "number of outputs"
    rtol, atol = _tols(dtype)
    for k, (g, t, gd, td) in enumerate(zip(g_vals, t_vals, g_dtypes, t_dtypes)):
        assert _torch_dtype(torch, gd) == td, f"output {k}: dtype {gd} vs torch {td}"
        assert g.shape == t.shape, f"output {k}: shape {g.shape} vs torch {t.shape}"
        np.testing.assert_allclose(g, t, rtol=rtol, atol=atol, err_msg=f"output {k}")
    assert g_ndiff == t_ndiff, "outputs that require grad"
    for k, (g, t) in enumerate(zip(g_grads, t_grads)):
        if t is None and g is None:
            continue
        g = np.zeros_like(t) if g is None else g
        t = np.zeros_like(g) if t is None else t
        assert g.shape == t.shape and g.dtype == t.dtype, f"grad of input {k}"
        np.testing.assert_allclose(g, t, rtol=1e-5, atol=1e-5, err_msg=f"grad of input {k}")


def test_every_case_is_checked_for_gradients_somewhere():
    """Cases without differentiable inputs are the forward-only ops the issue lists."""
    forward_only = {c.name for c in ALL_CASES if not c.grad_inputs(c.arrays())}
    assert forward_only <= {
        "floordiv",
        "rfloordiv_scalar",
        "argmax_ties",
        "argmin_ties",
        "argmax",
        "argmax_dim",
        "argmin_dim",
        "all",
        "all_dim",
        "any",
        "any_dim_keepdim",
        "one_hot",
        "any_float",
    }


# ----- random shapes (0-d, size-1, zero-size) against torch --------------------------------


def _compare_call(torch, fn, arrays, grad=True):
    """``fn(lib, *tensors)`` in both libraries: same error-or-not, shapes, dtypes, values, grads."""
    results = {}
    for lib in (gl, torch):
        xs = [lib.tensor(a.copy(), requires_grad=grad and a.dtype.kind == "f") for a in arrays]
        try:
            out = fn(lib, *xs)
        except (RuntimeError, IndexError, ValueError) as exc:
            results[lib.__name__] = exc
            continue
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        diff = [o for o in outs if o.requires_grad]
        if diff:
            rng = np.random.default_rng(5)
            ups = [lib.tensor(rng.standard_normal(tuple(o.shape))) for o in diff]
            lib.autograd.backward(diff, ups)
        grads = [None if x.grad is None else x.grad.numpy() for x in xs]
        results[lib.__name__] = ([o.detach().numpy() for o in outs], [o.dtype for o in outs], grads)
    g, t = results["graphlab"], results["torch"]
    if isinstance(t, Exception) or isinstance(g, Exception):
        assert isinstance(g, Exception) and isinstance(t, Exception), f"graphlab {g!r}, torch {t!r}"
        return
    for go, to, gd, td in zip(g[0], t[0], g[1], t[1]):
        assert _torch_dtype(torch, gd) == td and go.shape == to.shape
        np.testing.assert_allclose(go, to, rtol=1e-6, atol=1e-6)
    for gg, tg in zip(g[2], t[2]):
        if gg is None or tg is None:
            assert gg is None or not gg.any()
            assert tg is None or not tg.any()
        else:
            np.testing.assert_allclose(gg, tg, rtol=1e-5, atol=1e-5)


def _dim_or_all(lib, dim, ndim):
    return tuple(range(ndim)) if dim is None else dim


REDUCE_VS_TORCH = {
    "sum": lambda lib, x, dim, k: x.sum() if dim is None else x.sum(dim, keepdim=k),
    "mean": lambda lib, x, dim, k: x.mean() if dim is None else lib.mean(x, dim, keepdim=k),
    "amax": lambda lib, x, dim, k: lib.amax(x, () if dim is None else dim, keepdim=k),
    "amin": lambda lib, x, dim, k: x.amin(() if dim is None else dim, keepdim=k),
    "var": lambda lib, x, dim, k: lib.var(x, dim, keepdim=k, correction=0),
    "std": lambda lib, x, dim, k: lib.std(x, dim, keepdim=k, correction=0),
    "logsumexp": lambda lib, x, dim, k: lib.logsumexp(x, _dim_or_all(lib, dim, x.ndim), k),
    "norm": lambda lib, x, dim, k: lib.norm(x, 2, dim, keepdim=k),
    "norm_1": lambda lib, x, dim, k: lib.norm(x, 1, dim, keepdim=k),
    "any": lambda lib, x, dim, k: (x > 0).any() if dim is None else lib.any(x > 0, dim, k),
}


@pytest.mark.parametrize("name", sorted(REDUCE_VS_TORCH))
@given(sd=shape_and_dims(), keepdim=st.booleans(), seed=st.integers(0, 2**16))
@settings(max_examples=30)
def test_reduction_on_random_shapes_matches_torch(name, sd, keepdim, seed, torch):
    shape, dim = sd
    if name in ("any",) and isinstance(dim, tuple):
        dim = dim[0]  # NOTE: PyTorch's any/all take one dim
    a = np.random.default_rng(seed).standard_normal(shape)
    fn = REDUCE_VS_TORCH[name]
    _compare_call(torch, lambda lib, x: fn(lib, x, dim, keepdim), [a])


SINGLE_DIM_VS_TORCH = {
    "max_dim": lambda lib, x, d, k: lib.max(x, d, keepdim=k),
    "min_dim": lambda lib, x, d, k: x.min(d, keepdim=k),
    "argmax": lambda lib, x, d, k: lib.argmax(x, d, keepdim=k),
    "argmin": lambda lib, x, d, k: x.argmin(d, keepdim=k),
    "prod": lambda lib, x, d, k: lib.prod(x, d, keepdim=k),
    "softmax": lambda lib, x, d, k: lib.softmax(x, d),
    "log_softmax": lambda lib, x, d, k: x.log_softmax(d),
    "cumulative_flip": lambda lib, x, d, k: lib.flip(x, (d,)),
    "unsqueeze_squeeze": lambda lib, x, d, k: x.unsqueeze(d).squeeze(d),
    "narrow": lambda lib, x, d, k: x.narrow(d, 0, min(1, x.shape[d]) if x.ndim else 0),
    "split": lambda lib, x, d, k: x.split(2, d),
    "chunk": lambda lib, x, d, k: x.chunk(2, d),
    "cat": lambda lib, x, d, k: lib.cat([x, x * 2], d),
    "stack": lambda lib, x, d, k: lib.stack([x, x * 2], d),
}


@pytest.mark.parametrize("name", sorted(SINGLE_DIM_VS_TORCH))
@given(
    sd=shape_and_dims(allow_none=False, single=True),
    keepdim=st.booleans(),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=30)
def test_single_dim_op_on_random_shapes_matches_torch(name, sd, keepdim, seed, torch):
    shape, dim = sd
    a = np.random.default_rng(seed).standard_normal(shape)
    fn = SINGLE_DIM_VS_TORCH[name]
    _compare_call(torch, lambda lib, x: fn(lib, x, dim, keepdim), [a])


BINARY_VS_TORCH = {
    "add": lambda lib, a, b: a + b,
    "rsub": lambda lib, a, b: 1.5 - a + b,
    "mul": lambda lib, a, b: a * b,
    "div": lambda lib, a, b: a / (b.abs() + 0.5),
    "pow": lambda lib, a, b: (a.abs() + 0.5) ** b,
    "remainder": lambda lib, a, b: a % (b.abs() + 0.5),
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "minimum": lambda lib, a, b: lib.minimum(a, b),
    "where": lambda lib, a, b: lib.where(a > b, a, b),
    "matmul_last_dims": lambda lib, a, b: a.unsqueeze(-1) @ b.unsqueeze(-2),
}


@pytest.mark.parametrize("name", sorted(BINARY_VS_TORCH))
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=30)
def test_binary_op_on_broadcast_shapes_matches_torch(name, shapes, seed, torch):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes.input_shapes]
    _compare_call(torch, BINARY_VS_TORCH[name], arrays)


# ----- type promotion -----------------------------------------------------------------------


def _pair(lib, spec):
    kind, value, dtype = spec
    if kind == "scalar":
        return value
    return lib.tensor(value, dtype=getattr(lib, dtype))


PROMOTION = [
    ("int_tensor+float_scalar", "add", ("t", [1, 2], "int64"), ("scalar", 2.5, None)),
    ("float_scalar*int_tensor", "mul", ("scalar", 2.5, None), ("t", [1, 2], "int32")),
    ("int32+float64_0d", "add", ("t", [1, 2], "int32"), ("t", 1.5, "float64")),
    ("int32+int64_0d", "add", ("t", [1, 2], "int32"), ("t", 3, "int64")),
    ("float16+python_float", "add", ("t", [1.0, 2.0], "float16"), ("scalar", 2.5, None)),
    ("float16+float32_0d", "mul", ("t", [1.0, 2.0], "float16"), ("t", 2.0, "float32")),
    ("float32+float64", "add", ("t", [1.0], "float32"), ("t", [2.0], "float64")),
    ("bool+int", "add", ("t", [True, False], "bool"), ("scalar", 3, None)),
    ("bool+bool", "add", ("t", [True, False], "bool"), ("t", [True, True], "bool")),
    ("bool*float_tensor", "mul", ("t", [True, False], "bool"), ("t", [1.5, 2.0], "float32")),
    ("int/int", "div", ("t", [1, 7], "int64"), ("t", [2, 2], "int64")),
    ("int/int_scalar", "div", ("t", [1, 7], "int32"), ("scalar", 2, None)),
    ("int//int", "floor_divide", ("t", [-7, 7], "int64"), ("t", [2, 2], "int64")),
    ("int%int", "remainder", ("t", [-7, 7], "int64"), ("scalar", 3, None)),
    ("uint8+int8", "add", ("t", [1, 2], "uint8"), ("t", [1, -2], "int8")),
    ("int_pow_float", "pow", ("t", [1, 2], "int64"), ("scalar", 0.5, None)),
    ("float_scalar_pow_int", "pow", ("scalar", 2.0, None), ("t", [1, 2], "int64")),
    ("int_maximum_float", "maximum", ("t", [1, 2], "int64"), ("t", [1.5, 0.5], "float32")),
    ("where_int_float", "where_", ("t", [1, 2], "int64"), ("t", [1.5, 0.5], "float64")),
]


@pytest.mark.parametrize(
    "op,a,b", [pytest.param(op, a, b, id=name) for name, op, a, b in PROMOTION]
)
def test_type_promotion_matches_torch(op, a, b, torch):
    def run(lib):
        x, y = _pair(lib, a), _pair(lib, b)
        if op == "where_":
            cond = lib.tensor([True, False])
            return lib.where(cond, x, y)
        return getattr(lib, op)(x, y)

    g, t = run(gl), run(torch)
    assert _torch_dtype(torch, g.dtype) == t.dtype
    np.testing.assert_allclose(g.numpy().astype(np.float64), t.numpy().astype(np.float64))


@pytest.mark.parametrize(
    "name,fn",
    [
        ("sum_int", lambda lib: lib.sum(lib.tensor([1, 2], dtype=lib.int32))),
        ("sum_bool", lambda lib: lib.tensor([True, True]).sum()),
        ("exp_int", lambda lib: lib.exp(lib.tensor([1, 2]))),
        ("sqrt_int", lambda lib: lib.sqrt(lib.tensor([1, 4], dtype=lib.int32))),
        ("abs_int", lambda lib: lib.abs(lib.tensor([-1, 4]))),
        ("neg_int8", lambda lib: -lib.tensor([1, 4], dtype=lib.int8)),
        ("mean_float16", lambda lib: lib.tensor([1.0, 4.0], dtype=lib.float16).mean()),
        ("clamp_int_float_bound", lambda lib: lib.clamp(lib.tensor([1, 4]), 0.5, 2.5)),
        ("clamp_int", lambda lib: lib.clamp(lib.tensor([1, 4]), 0, 2)),
        ("max_int_dim", lambda lib: lib.tensor([[1, 4], [3, 2]]).max(1)[0]),
        ("prod_int32", lambda lib: lib.tensor([2, 3], dtype=lib.int32).prod()),
        ("relu_int", lambda lib: lib.relu(lib.tensor([-1, 2]))),
        ("softmax_int", lambda lib: lib.softmax(lib.tensor([1.0, 2.0], dtype=lib.float64), 0)),
        ("matmul_int", lambda lib: lib.tensor([[1, 2]]) @ lib.tensor([[3], [4]])),
        ("cat_int_float", lambda lib: lib.cat([lib.tensor([1]), lib.tensor([2.5])])),
        ("iadd_int_tensor_int", lambda lib: _iadd_int(lib)),
    ],
)
def test_result_dtype_matches_torch(name, fn, torch):
    g, t = fn(gl), fn(torch)
    assert _torch_dtype(torch, g.dtype) == t.dtype
    np.testing.assert_allclose(g.numpy().astype(np.float64), t.numpy().astype(np.float64))


def _iadd_int(lib):
    x = lib.tensor([1, 2], dtype=lib.int32)
    x += 3
    return x


def test_inplace_cannot_widen_the_dtype(torch):
    x = gl.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        x += 1.5
    assert x.tolist() == [1, 2]
    with pytest.raises(RuntimeError):
        tx = torch.tensor([1, 2])
        tx += 1.5


# ----- large logits (regression) ------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_log_softmax_and_cross_entropy_of_1e8_logits_are_finite(dtype, torch):
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((6, 10)) * 1e8
    target = rng.integers(0, 10, 6)
    g = gl.tensor(logits, dtype=getattr(gl, dtype), requires_grad=True)
    t = torch.tensor(logits, dtype=getattr(torch, dtype), requires_grad=True)
    g_ls, t_ls = gl.log_softmax(g, 1), torch.log_softmax(t, 1)
    assert bool(gl.isfinite(g_ls).all())
    np.testing.assert_allclose(g_ls.detach().numpy(), t_ls.detach().numpy(), rtol=1e-5)
    g_loss = -g_ls[gl.arange(6), gl.tensor(target)].mean()
    t_loss = -t_ls[torch.arange(6), torch.tensor(target)].mean()
    assert np.isfinite(g_loss.item())
    np.testing.assert_allclose(g_loss.item(), t_loss.item(), rtol=1e-5)
    g_loss.backward()
    t_loss.backward()
    assert np.isfinite(g.grad.numpy()).all()
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), atol=1e-6)


# ----- error messages -----------------------------------------------------------------------


def test_add_shape_mismatch_names_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"add: .*\(2, 3\) and \(4,\)"):
        gl.ones(2, 3) + gl.ones(4)
    with pytest.raises(RuntimeError, match=r"mul: .*\(3,\) and \(2,\)"):
        gl.ones(3) * gl.ones(2)


def test_inplace_shape_mismatch_names_shapes():
    x = gl.ones(3)
    with pytest.raises(RuntimeError, match=r"__iadd__: output with shape \[3\].*\[2, 3\]"):
        x += gl.ones(2, 3)


def test_matmul_shape_mismatch_names_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"matmul: .*\(2x3 and 4x5\)"):
        gl.ones(2, 3) @ gl.ones(4, 5)
    with pytest.raises(RuntimeError, match=r"matmul: .*0D"):
        gl.ones(()) @ gl.ones(3)
    with pytest.raises(RuntimeError, match=r"matmul: .*\(2,\) and \(3,\)"):
        gl.ones(2, 3, 4) @ gl.ones(3, 4, 5)
    with pytest.raises(RuntimeError, match=r"bmm: expected 3-D tensors"):
        gl.bmm(gl.ones(2, 3), gl.ones(3, 2))
    with pytest.raises(RuntimeError, match=r"mm: expected 2-D tensors"):
        gl.mm(gl.ones(2, 3, 4), gl.ones(4, 2))


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.sum(3),
        lambda x: x.mean(-4),
        lambda x: gl.softmax(x, 5),
        lambda x: x.max(2),
        lambda x: x.transpose(0, 2),
        lambda x: x.unsqueeze(4),
        lambda x: gl.cat([x, x], 2),
        lambda x: x.flip(2),
        lambda x: x.amax((0, 7)),
    ],
    ids=["sum", "mean", "softmax", "max", "transpose", "unsqueeze", "cat", "flip", "amax"],
)
def test_bad_dim_raises_index_error_naming_the_range(call):
    x = gl.ones(2, 3)
    with pytest.raises(IndexError, match=r"dimension out of range \(expected to be in range of"):
        call(x)


def test_dim_must_be_an_int():
    with pytest.raises(TypeError, match="sum: dim must be an int, got float"):
        gl.ones(2, 3).sum(1.0)


def test_out_of_range_index_names_dim_and_size():
    x = gl.ones(2, 3)
    with pytest.raises(IndexError, match=r"index 3 is out of bounds for dimension 1 with size 3"):
        x[0, 3]
    with pytest.raises(IndexError, match=r"index 5 is out of bounds for dimension 0 with size 2"):
        x[gl.tensor([0, 5])]
    with pytest.raises(IndexError, match=r"index -3 is out of bounds for dimension 0 with size 2"):
        x[-3]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 2"):
        x[0, 0, 0]
    with pytest.raises(RuntimeError, match=r"gather\(\): index out of bounds"):
        gl.gather(x, 1, gl.tensor([[0, 3]]))


def test_float_index_tensor_is_rejected():
    x = gl.ones(4)
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool"):
        x[gl.tensor([0.0, 1.0])]
    with pytest.raises(TypeError, match="only integers, slices"):
        x[1.5]
    with pytest.raises(RuntimeError, match="gather.*int64"):
        gl.gather(x, 0, gl.tensor([0.0]))


def test_bool_mask_shape_mismatch_is_reported():
    with pytest.raises(IndexError, match=r"shape of the mask \(3,\) does not match"):
        gl.ones(2, 3)[gl.tensor([True, False, True])]


def test_setitem_shape_mismatch_is_reported():
    x = gl.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"setitem: shape mismatch.*\(2,\).*\(2, 3\)"):
        x[:] = gl.ones(2)


def test_view_of_non_contiguous_tells_to_reshape():
    with pytest.raises(RuntimeError, match=r"view\(\).*use \.reshape"):
        gl.ones(2, 3).t().view(6)


def test_cat_and_stack_mismatches_name_the_tensor():
    with pytest.raises(RuntimeError, match=r"cat\(\): sizes of tensors must match.*tensor 1"):
        gl.cat([gl.ones(2, 3), gl.ones(2, 4)])
    with pytest.raises(RuntimeError, match=r"stack\(\): expects each tensor to be equal size"):
        gl.stack([gl.ones(2), gl.ones(3)])


def test_reshape_to_wrong_size_names_the_size():
    with pytest.raises(RuntimeError, match=r"reshape\(\): shape '\[4, 2\]' is invalid for input"):
        gl.ones(2, 3).reshape(4, 2)


def test_max_of_empty_tensor_is_an_error():
    with pytest.raises(RuntimeError, match=r"max\(\): expected a non-empty tensor"):
        gl.ones(0, 3).max()
    with pytest.raises(IndexError, match=r"max\(\): expected reduction dim 0 to have non-zero"):
        gl.ones(0, 3).max(0)
