"""Gradients of every differentiable op against finite differences (``gl.autograd.gradcheck``,
float64), on shapes drawn by hypothesis: 0-d, size-1 and zero-size dims, broadcasting either
way; and non-contiguous inputs (transposed, stepped slices) against contiguous ones.

Inputs stay away from kinks and ties (abs/relu away from 0, log/sqrt positive, max without
ties); the conventions *at* kinks are pinned against PyTorch in tests/test_ops_torch.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from op_cases import ALL_CASES, SHAPES, case_params, shape_and_dims

import graphlab as gl
from graphlab.autograd import gradcheck

NONEMPTY = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
PAIRS = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)
SEEDS = st.integers(0, 2**32 - 1)


def _values(rng, shape, domain: str) -> np.ndarray:
    """float64 values of ``shape`` in a domain where the op is smooth."""
    if domain == "any":
        return rng.standard_normal(shape)
    if domain == "pos":
        return rng.uniform(0.5, 2.0, shape)
    if domain == "away":  # |x| in [0.2, 2): away from the kink at 0
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)
    if domain == "frac":  # a % b with b in [1, 2): away from the jumps at multiples of b
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 0.9, shape)
    if domain == "distinct":  # no two values (or |values|) within 0.1 of each other
        n = int(np.prod(shape, dtype=np.int64))
        v = (rng.permutation(n) + 0.5 - n / 2) * 0.5 + rng.uniform(-0.1, 0.1, n)
        return v.reshape(shape)
    raise AssertionError(domain)


def _leaf(a: np.ndarray) -> gl.Tensor:
    return gl.tensor(a, requires_grad=True)


def _check(fn, *inputs):
    assert gradcheck(fn, inputs)


# ----- every case of the shared table, at its fixed shapes ----------------------------------

GRAD_CASES = [
    c for c in ALL_CASES if not c.kink and c.grad_inputs(c.arrays()) and c.name != "floordiv"
]


@pytest.mark.parametrize("case", case_params(GRAD_CASES))
def test_gradcheck_table_case(case):
    arrays = case.arrays()
    grads = case.grad_inputs(arrays)
    xs = [gl.tensor(a.copy(), requires_grad=i in grads) for i, a in enumerate(arrays)]
    _check(lambda *t: case.fn(gl, *t), *xs)


def _noncontiguous(a: np.ndarray, how: str) -> gl.Tensor:
    """A tensor with ``a``'s values whose memory is not C-contiguous (a view of a bigger one)."""
    if how == "stepped_last":
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],))
        big[..., ::2] = a
        x = gl.tensor(big)[..., ::2]
        assert x.numel() <= 1 or not x.is_contiguous()
    elif how == "stepped_first":
        big = np.zeros((2 * a.shape[0],) + a.shape[1:])
        big[::2] = a
        x = gl.tensor(big)[::2]
        assert a.shape[0] <= 1 or x.numel() <= 1 or not x.is_contiguous()
    else:
        x = gl.tensor(np.ascontiguousarray(a.T)).T
        # NOTE: size-1 dims have no stride that matters, so only two real dims make a change.
        assert sum(s > 1 for s in a.shape) < 2 or not x.is_contiguous()
    return x


def _run(case, xs):
    outs = case.fn(gl, *xs)
    outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
    diff = [o for o in outs if o.requires_grad]
    if diff:
        rng = np.random.default_rng(7)
        ups = [gl.tensor(rng.standard_normal(tuple(o.shape))) for o in diff]
        gl.autograd.backward(diff, ups)
    return [o.detach().numpy() for o in outs], [x.grad for x in xs]


@pytest.mark.parametrize("how", ["stepped_first", "stepped_last", "transposed"])
@pytest.mark.parametrize("case", case_params())
def test_noncontiguous_inputs_match_contiguous(case, how):
    arrays = case.arrays()
    grads = case.grad_inputs(arrays)
    floats = [i for i, a in enumerate(arrays) if a.dtype.kind == "f" and a.ndim >= 1]
    if how == "transposed":
        floats = [i for i in floats if arrays[i].ndim >= 2]
    if not floats:
        pytest.skip("no input of this case can be non-contiguous this way")
    contiguous = [gl.tensor(a.copy(), requires_grad=i in grads) for i, a in enumerate(arrays)]
    strided = []
    for i, a in enumerate(arrays):
        x = _noncontiguous(a, how) if i in floats else gl.tensor(a.copy())
        strided.append(x.requires_grad_(True) if i in grads else x)
    want_out, want_grad = _run(case, contiguous)
    try:
        got_out, got_grad = _run(case, strided)
    except RuntimeError as exc:
        # NOTE: as in PyTorch, view() refuses memory it cannot reinterpret without a copy.
        if not (case.name.startswith("view") and "use .reshape" in str(exc)):
            raise
        return
    for w, g in zip(want_out, got_out):
        assert w.shape == g.shape and w.dtype == g.dtype
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    for w, g in zip(want_grad, got_grad):
        assert (w is None) == (g is None)
        if w is not None:
            assert tuple(g.shape) == tuple(w.shape)
            np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-12, atol=1e-12)


# ----- elementwise unary ops on hypothesis shapes -------------------------------------------

UNARY = {
    "neg": (lambda x: -x, "any"),
    "exp": (gl.exp, "any"),
    "log": (gl.log, "pos"),
    "log1p": (gl.log1p, "pos"),
    "sqrt": (gl.sqrt, "pos"),
    "rsqrt": (gl.rsqrt, "pos"),
    "abs": (gl.abs, "away"),
    "sign": (gl.sign, "away"),
    "sin": (gl.sin, "any"),
    "cos": (gl.cos, "any"),
    "tanh": (gl.tanh, "any"),
    "sigmoid": (gl.sigmoid, "any"),
    "relu": (gl.relu, "away"),
    "clamp": (lambda x: gl.clamp(x, -0.1, 0.1), "away"),
    "clamp_min": (lambda x: x.clamp(min=0.1), "away"),
    "clip_max": (lambda x: gl.clip(x, max=-0.1), "away"),
    "pow_2": (lambda x: x**2, "any"),
    "pow_3": (lambda x: gl.pow(x, 3), "any"),
    "pow_half": (lambda x: x**0.5, "pos"),
    "pow_neg": (lambda x: x**-2.5, "pos"),
    "rpow": (lambda x: 1.7**x, "any"),
    "radd": (lambda x: 2.0 + x, "any"),
    "rsub": (lambda x: 2.0 - x, "any"),
    "rmul": (lambda x: 2.0 * x, "any"),
    "rdiv": (lambda x: 2.0 / x, "away"),
    "rmod": (lambda x: 0.5 % x, "pos"),
    "mod_scalar": (lambda x: x % 1.5, "frac"),
    "div_scalar": (lambda x: x / 3.0, "any"),
    "ipow": (lambda x: _inplace(x, "__ipow__", 2), "any"),
    "imul_scalar": (lambda x: _inplace(x, "__imul__", -3.0), "any"),
    "sigmoid_": (lambda x: _inplace_method(x, "sigmoid_"), "any"),
    "exp_": (lambda x: _inplace_method(x, "exp_"), "any"),
}


def _inplace(x, name, other):
    y = x * 1
    return getattr(y, name)(other)


def _inplace_method(x, name, *args):
    y = x * 1
    getattr(y, name)(*args)
    return y


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=SHAPES, seed=SEEDS)
@settings(max_examples=15)
def test_gradcheck_unary(name, shape, seed):
    fn, domain = UNARY[name]
    x = _leaf(_values(np.random.default_rng(seed), shape, domain))
    _check(fn, x)


# ----- elementwise binary ops, broadcasting either way --------------------------------------


def _where(a, b, mask):
    return gl.where(mask, a, b)


BINARY = {
    "add": (lambda a, b: a + b, "any", "any"),
    "add_fn_alpha": (lambda a, b: gl.add(a, b, alpha=-2.0), "any", "any"),
    "sub": (lambda a, b: a - b, "any", "any"),
    "mul": (lambda a, b: a * b, "any", "any"),
    "div": (lambda a, b: a / b, "any", "away"),
    "remainder": (lambda a, b: a % (b + 1.5), "frac", "frac"),
    "pow": (lambda a, b: a**b, "pos", "any"),
    "maximum": (gl.maximum, "any", "any"),
    "minimum": (gl.minimum, "any", "any"),
    "max_binary": (gl.max, "any", "any"),
    "clamp_tensor": (lambda a, b: gl.clamp(a, min=b), "any", "any"),
    "rsub_tensor": (lambda a, b: b.__rsub__(a), "any", "any"),
    "rtruediv_tensor": (lambda a, b: b.__rtruediv__(a), "any", "away"),
    "rpow_tensor": (lambda a, b: b.__rpow__(a), "pos", "any"),
    "rmul_tensor": (lambda a, b: b.__rmul__(a), "any", "any"),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=PAIRS, seed=SEEDS)
@settings(max_examples=20)
def test_gradcheck_binary_broadcasting(name, shapes, seed):
    fn, da, db = BINARY[name]
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    a, b = _leaf(_values(rng, sa, da)), _leaf(_values(rng, sb, db))
    _check(fn, a, b)


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3), seed=SEEDS)
@settings(max_examples=20)
def test_gradcheck_where_broadcasting(shapes, seed):
    rng = np.random.default_rng(seed)
    sc, sa, sb = shapes.input_shapes
    cond = gl.tensor(rng.random(sc) < 0.5)
    a, b = _leaf(rng.standard_normal(sa)), _leaf(rng.standard_normal(sb))
    _check(lambda a, b: gl.where(cond, a, b), a, b)
    _check(lambda a: gl.where(cond, a, 0.5), a)
    _check(lambda b: gl.where(cond, -1.0, b), b)


INPLACE = {
    "iadd": ("__iadd__", "any"),
    "isub": ("__isub__", "any"),
    "imul": ("__imul__", "any"),
    "itruediv": ("__itruediv__", "away"),
    "add_": ("add_", "any"),
    "sub_": ("sub_", "any"),
    "mul_": ("mul_", "any"),
    "div_": ("div_", "away"),
    "maximum_": ("maximum_", "any"),
    "minimum_": ("minimum_", "any"),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
@given(data=st.data(), seed=SEEDS)
@settings(max_examples=15)
def test_gradcheck_inplace_binary_on_non_leaf(name, data, seed):
    method, domain = INPLACE[name]
    rng = np.random.default_rng(seed)
    sa = data.draw(SHAPES, label="a")
    sb = data.draw(
        hnp.broadcastable_shapes(sa, max_dims=len(sa), max_side=3).filter(
            lambda sb: np.broadcast_shapes(sa, sb) == sa  # in place: the result keeps a's shape
        ),
        label="b",
    )
    a, b = _leaf(rng.standard_normal(sa)), _leaf(_values(rng, sb, domain))

    def fn(a, b):
        y = a * 1
        out = getattr(y, method)(b)
        assert out is y
        return y

    _check(fn, a, b)


@given(data=st.data(), seed=SEEDS)
@settings(max_examples=20)
def test_gradcheck_matmul(data, seed):
    rng = np.random.default_rng(seed)
    batches = data.draw(
        hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=2), label="batch"
    )
    n, k, m = (data.draw(st.integers(0, 3), label=s) for s in "nkm")
    a_vec, b_vec = data.draw(st.booleans(), label="a 1-d"), data.draw(st.booleans(), label="b 1-d")
    ba, bb = batches.input_shapes
    sa = (k,) if a_vec else ba + (n, k)
    sb = (k,) if b_vec else bb + (k, m)
    a, b = _leaf(rng.standard_normal(sa)), _leaf(rng.standard_normal(sb))
    out = a @ b
    want = np.matmul(a.detach().numpy(), b.detach().numpy())
    assert tuple(out.shape) == want.shape
    np.testing.assert_allclose(out.detach().numpy(), want, atol=1e-12)
    _check(gl.matmul, a, b)
    if not a_vec and not b_vec and len(sa) == len(sb) == 2:
        _check(gl.mm, a, b)
    if len(sa) == len(sb) == 3 and sa[0] == sb[0]:
        _check(gl.bmm, a, b)


# ----- reductions ---------------------------------------------------------------------------


def _reduced_count(shape, dim) -> int:
    if dim is None:
        dims = range(len(shape))
    else:
        dims = dim if isinstance(dim, tuple) else (dim,)
    n = 1
    for d in dims:
        n *= shape[d] if shape else 1
    return n


def _dim_kw(dim):
    return {} if dim is None else {"dim": dim}


REDUCTIONS = {
    "sum": (lambda x, dim, k: gl.sum(x, dim, keepdim=k), "any", 0),
    "mean": (lambda x, dim, k: x.mean(dim, keepdim=k), "any", 0),
    "amax": (lambda x, dim, k: gl.amax(x, () if dim is None else dim, keepdim=k), "distinct", 1),
    "amin": (lambda x, dim, k: x.amin(() if dim is None else dim, keepdim=k), "distinct", 1),
    "var": (lambda x, dim, k: gl.var(x, dim, keepdim=k), "any", 2),
    "var_biased": (lambda x, dim, k: x.var(dim, unbiased=False, keepdim=k), "any", 1),
    "std": (lambda x, dim, k: gl.std(x, dim, keepdim=k), "any", 2),
    "logsumexp": (lambda x, dim, k: gl.logsumexp(x, dim, keepdim=k), "any", 0),
    "norm": (lambda x, dim, k: gl.norm(x, dim=dim, keepdim=k), "away", 0),
    "norm_1": (lambda x, dim, k: gl.norm(x, 1, dim, keepdim=k), "away", 0),
    "norm_3": (lambda x, dim, k: x.norm(3, dim, keepdim=k), "away", 0),
    "norm_inf": (lambda x, dim, k: gl.norm(x, float("inf"), dim, keepdim=k), "distinct", 1),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(sd=shape_and_dims(), keepdim=st.booleans(), seed=SEEDS)
@settings(max_examples=20)
def test_gradcheck_reduction(name, sd, keepdim, seed):
    fn, domain, min_count = REDUCTIONS[name]
    shape, dim = sd
    if name == "logsumexp" and dim is None:
        dim = tuple(range(len(shape)))  # NOTE: logsumexp needs an explicit dim, as in PyTorch
    # NOTE: max-like reductions of an empty dim, and var with fewer than 2 values, are errors or
    # NaN by definition; only the reduced dims must be non-empty, the others may be 0.
    assume(_reduced_count(shape, dim) >= min_count)
    x = _leaf(_values(np.random.default_rng(seed), shape, domain))
    _check(lambda x: fn(x, dim, keepdim), x)


@given(sd=shape_and_dims(shapes=NONEMPTY, allow_none=False, single=True), seed=SEEDS)
@settings(max_examples=20)
def test_gradcheck_prod_with_and_without_zeros(sd, seed):
    shape, dim = sd
    rng = np.random.default_rng(seed)
    a = _values(rng, shape, "away")
    _check(lambda x: gl.prod(x), _leaf(a))
    _check(lambda x: x.prod(dim, keepdim=True), _leaf(a))
    flat = a.reshape(-1)
    for zeros in (1, 2):
        if flat.size >= zeros:
            b = a.copy()
            b.reshape(-1)[rng.choice(flat.size, zeros, replace=False)] = 0.0
            _check(lambda x: gl.prod(x), _leaf(b))
            _check(lambda x: gl.prod(x, dim), _leaf(b))


@given(sd=shape_and_dims(shapes=NONEMPTY, allow_none=False, single=True), seed=SEEDS)
@settings(max_examples=20)
def test_gradcheck_max_min_dim(sd, seed):
    shape, dim = sd
    x = _leaf(_values(np.random.default_rng(seed), shape, "distinct"))
    for k in (False, True):
        _check(lambda x, k=k: gl.max(x, dim, keepdim=k).values, x)
        _check(lambda x, k=k: x.min(dim, keepdim=k)[0], x)
    _check(gl.max, x)
    _check(lambda x: x.min(), x)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(sd=shape_and_dims(allow_none=False, single=True), seed=SEEDS)
@settings(max_examples=20)
def test_gradcheck_softmax(name, sd, seed):
    shape, dim = sd
    x = _leaf(3 * np.random.default_rng(seed).standard_normal(shape))
    _check(lambda x: getattr(gl, name)(x, dim), x)


# ----- shape ops ----------------------------------------------------------------------------


def _dim(data, nd, extra=0):
    n = nd + extra
    return data.draw(st.integers(-n, n - 1) if n else st.sampled_from([0, -1]), label="dim")


def _shape_reshape(data, x):
    return lambda x: x.reshape(tuple(reversed(x.shape))).reshape(-1)


def _shape_view(data, x):
    return lambda x: x.view(x.numel()) if x.numel() else x.view(0)


def _shape_flatten(data, x):
    if x.ndim == 0:
        return lambda x: x.flatten()
    s = data.draw(st.integers(0, x.ndim - 1), label="start")
    e = data.draw(st.integers(s, x.ndim - 1), label="end")
    return lambda x: gl.flatten(x, s, e)


def _shape_unflatten(data, x):
    d = _dim(data, x.ndim)
    return lambda x: gl.unflatten(x.unsqueeze(0), d % (x.ndim + 1) if x.ndim else 0, (1, -1))


def _shape_squeeze(data, x):
    if x.ndim and data.draw(st.booleans(), label="with dim"):
        d = _dim(data, x.ndim)
        return lambda x: x.squeeze(d)
    return gl.squeeze


def _shape_unsqueeze(data, x):
    d = _dim(data, x.ndim, extra=1)
    return lambda x: gl.unsqueeze(x, d)


def _shape_transpose(data, x):
    a, b = _dim(data, x.ndim), _dim(data, x.ndim)
    return lambda x: gl.transpose(x, a, b)


def _shape_permute(data, x):
    perm = data.draw(st.permutations(range(x.ndim)), label="perm")
    return lambda x: x.permute(*perm) if perm else x.permute(())


def _shape_expand(data, x):
    shape = tuple(2 if s == 1 and data.draw(st.booleans()) else s for s in x.shape)
    return lambda x: x.expand(2, *shape)


def _shape_broadcast_to(data, x):
    shape = data.draw(hnp.broadcastable_shapes(tuple(x.shape), min_side=0, max_side=3), label="to")
    full = np.broadcast_shapes(shape, tuple(x.shape))
    return lambda x: gl.broadcast_to(x, full)


def _shape_repeat(data, x):
    reps = data.draw(st.lists(st.integers(0, 2), min_size=x.ndim, max_size=x.ndim + 1))
    return lambda x: x.repeat(*reps) if reps else x.repeat(())


def _shape_cat(data, x):
    if x.ndim == 0:
        return lambda x: gl.cat([x.reshape(1), x.reshape(1) * 2])
    d = _dim(data, x.ndim)
    return lambda x: gl.cat([x, x * 2, x[:0] if d % x.ndim == 0 else x], d)


def _shape_stack(data, x):
    d = _dim(data, x.ndim, extra=1)
    return lambda x: gl.stack([x, -x], d)


def _shape_split(data, x):
    if x.ndim == 0:
        return lambda x: x.reshape(1).split(1)
    d = _dim(data, x.ndim)
    size = data.draw(st.integers(1, 3), label="size")
    return lambda x: gl.split(x, size, d)


def _shape_chunk(data, x):
    if x.ndim == 0:
        return lambda x: x.reshape(1).chunk(1)
    d = _dim(data, x.ndim)
    n = data.draw(st.integers(1, 4), label="chunks")
    return lambda x: x.chunk(n, d)


def _shape_narrow(data, x):
    if x.ndim == 0:
        return lambda x: x.reshape(1).narrow(0, 0, 1)
    d = _dim(data, x.ndim)
    n = x.shape[d]
    start = data.draw(st.integers(0, n), label="start")
    length = data.draw(st.integers(0, n - start), label="length")
    return lambda x: gl.narrow(x, d, start, length)


def _shape_flip(data, x):
    if x.ndim == 0:
        return lambda x: x.flip(())
    dims = data.draw(st.lists(st.integers(0, x.ndim - 1), unique=True, max_size=x.ndim))
    return lambda x: gl.flip(x, tuple(dims))


def _shape_unbind(data, x):
    if x.ndim == 0:
        return lambda x: x.reshape(1).unbind()
    d = _dim(data, x.ndim)
    return lambda x: gl.unbind(x, d)


SHAPE_OPS = {n[len("_shape_") :]: f for n, f in globals().items() if n.startswith("_shape_")}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
@given(shape=SHAPES, data=st.data(), seed=SEEDS)
@settings(max_examples=20)
def test_gradcheck_shape_op(name, shape, data, seed):
    x = _leaf(np.random.default_rng(seed).standard_normal(shape))
    fn = SHAPE_OPS[name](data, x)
    _check(fn, x)


# ----- indexing -----------------------------------------------------------------------------


@st.composite
def basic_and_advanced_index(draw, shape, unique=False):
    """An index for ``shape``: ints, stepped slices, None, ``...``, int arrays (with repeats
    unless ``unique``), bool masks; returned as NumPy-usable and graphlab-usable forms."""
    items_np, items_gl = [], []
    dims = list(range(len(shape)))
    used_ellipsis = False
    n_arrays = 0
    while dims:
        size = shape[dims[0]]
        kinds = ["slice", "array", "mask"] + (["int"] if size else [])
        if sum(it is None for it in items_np) < 2:
            kinds.append("none")
        if not used_ellipsis and len(dims) > 1:
            kinds.append("ellipsis")
        kind = draw(st.sampled_from(kinds))
        if kind == "int":
            i = draw(st.integers(-size, size - 1))
            items_np.append(i)
            items_gl.append(i)
        elif kind == "slice":
            start = draw(st.none() | st.integers(-size - 1, size + 1))
            stop = draw(st.none() | st.integers(-size - 1, size + 1))
            step = draw(st.none() | st.integers(1, 3))
            items_np.append(slice(start, stop, step))
            items_gl.append(slice(start, stop, step))
        elif kind == "none":
            items_np.append(None)
            items_gl.append(None)
            continue
        elif kind == "ellipsis":
            used_ellipsis = True
            keep = draw(st.integers(0, len(dims) - 1))
            items_np.append(Ellipsis)
            items_gl.append(Ellipsis)
            dims = dims[len(dims) - keep :]
            continue
        elif kind == "array" and n_arrays == 0:
            n_arrays += 1
            if unique:  # NOTE: one non-negative spelling per element, so no two collide
                picks = st.lists(st.integers(0, size - 1), unique=True, max_size=5)
            else:
                picks = st.lists(st.integers(-size, size - 1), max_size=5)
            idx = np.array(draw(picks) if size else [], dtype=np.int64)
            items_np.append(idx)
            items_gl.append(gl.tensor(idx))
        elif kind == "mask" and n_arrays == 0:
            n_arrays += 1
            m = np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)), dtype=bool)
            items_np.append(m)
            items_gl.append(gl.tensor(m))
        else:
            items_np.append(slice(None))
            items_gl.append(slice(None))
        dims = dims[1:]
    return tuple(items_np), tuple(items_gl)


@given(data=st.data(), shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
@settings(max_examples=60)
def test_gradcheck_getitem_matches_numpy(data, shape):
    idx_np, idx_gl = data.draw(basic_and_advanced_index(shape), label="index")
    a = np.random.default_rng(0).standard_normal(shape)
    x = _leaf(a)
    out = x[idx_gl]
    want = a[idx_np]
    assert tuple(out.shape) == want.shape
    np.testing.assert_array_equal(out.detach().numpy(), want)
    _check(lambda x: x[idx_gl], x)


@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4))
@settings(max_examples=40)
def test_gradcheck_setitem_on_non_leaf(data, shape):
    # NOTE: repeated integer indices make a write's winner unspecified (in PyTorch too).
    idx_np, idx_gl = data.draw(basic_and_advanced_index(shape, unique=True), label="index")
    rng = np.random.default_rng(1)
    a = rng.standard_normal(shape)
    target = a[idx_np].shape
    vshape = data.draw(
        hnp.broadcastable_shapes(target, max_dims=len(target), min_side=0).filter(
            lambda v: np.broadcast_shapes(v, target) == target
        ),
        label="value",
    )
    v = rng.standard_normal(vshape)

    def fn(x, v):
        y = x * 1
        y[idx_gl] = v
        return y

    want = a.copy()
    want[idx_np] = v
    np.testing.assert_array_equal(fn(_leaf(a), _leaf(v)).detach().numpy(), want)
    _check(fn, _leaf(a), _leaf(v))


@given(sd=shape_and_dims(shapes=NONEMPTY, allow_none=False, single=True), data=st.data())
@settings(max_examples=30)
def test_gradcheck_gather_and_scatter_add(sd, data):
    shape, dim = sd
    rng = np.random.default_rng(2)
    nd = max(len(shape), 1)
    shape = shape or (1,)
    d = dim % nd
    ishape = tuple(
        data.draw(st.integers(0, 4 if i == d else s), label=f"index dim {i}")
        for i, s in enumerate(shape)
    )
    index = gl.tensor(rng.integers(0, shape[d], ishape).astype(np.int64))
    x, src = _leaf(rng.standard_normal(shape)), _leaf(rng.standard_normal(ishape))
    _check(lambda x: gl.gather(x, d, index), x)
    _check(lambda x, s: gl.scatter_add(x, d, index, s), x, src)


@given(shapes=PAIRS, seed=SEEDS)
@settings(max_examples=25)
def test_gradcheck_masked_fill(shapes, seed):
    sx, sm = shapes.input_shapes
    assume(len(sm) <= len(sx))
    full = np.broadcast_shapes(sx, sm)
    assume(full == tuple(sx))
    rng = np.random.default_rng(seed)
    mask = gl.tensor(rng.random(sm) < 0.5)
    x = _leaf(rng.standard_normal(sx))
    _check(lambda x: gl.masked_fill(x, mask, -2.0), x)
    _check(lambda x: x.masked_fill(mask, gl.tensor(3.0)), x)


def test_one_hot_matches_numpy_and_has_no_gradient():
    import graphlab.nn.functional as F

    idx = gl.tensor([[0, 3], [2, 2]])
    out = F.one_hot(idx, 4)
    assert out.dtype is gl.int64 and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), np.eye(4, dtype=np.int64)[idx.numpy()])
    assert F.one_hot(gl.tensor([1, 0])).shape == (2, 2)


def test_repeated_indices_accumulate_in_backward():
    x = gl.zeros(4, requires_grad=True)
    x[gl.tensor([1, 1, 3, 1])].sum().backward()
    assert x.grad.tolist() == [0.0, 3.0, 0.0, 1.0]
    y = gl.zeros(3, 2, requires_grad=True)
    gl.gather(y, 0, gl.tensor([[0, 0], [0, 2], [0, 2]])).sum().backward()
    assert y.grad.tolist() == [[3.0, 1.0], [0.0, 0.0], [0.0, 2.0]]
