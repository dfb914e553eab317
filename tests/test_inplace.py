"""In-place ops: values, views, autograd through writes, and errors that leave tensors unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import graphlab as gl

# ----- values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, expected",
    [
        ("x.add_(2)", [3.0, 4.0, 5.0]),
        ("x.add_(gl.ones(3))", [2.0, 3.0, 4.0]),
        ("x.add_(gl.ones(3), alpha=2)", [3.0, 4.0, 5.0]),
        ("x.sub_(1)", [0.0, 1.0, 2.0]),
        ("x.mul_(gl.tensor([1.0, 0.0, 2.0]))", [1.0, 0.0, 6.0]),
        ("x.div_(2)", [0.5, 1.0, 1.5]),
        ("x.zero_()", [0.0, 0.0, 0.0]),
        ("x.fill_(7)", [7.0, 7.0, 7.0]),
        ("x.fill_(gl.tensor(4.0))", [4.0, 4.0, 4.0]),
        ("x.copy_(gl.tensor([9, 8, 7]))", [9.0, 8.0, 7.0]),
        ("x.copy_(gl.tensor(5.0))", [5.0, 5.0, 5.0]),
        ("x.clamp_(1.5, 2.5)", [1.5, 2.0, 2.5]),
        ("x.clamp_(min=2)", [2.0, 2.0, 3.0]),
    ],
)
def test_inplace_methods_return_self_with_new_values(code, expected):
    x = gl.tensor([1.0, 2.0, 3.0])
    data = x._data
    out = eval(code)
    assert out is x and x.tolist() == expected
    assert x._data is data  # the same memory: views and NumPy aliases see the change


@pytest.mark.parametrize(
    "op, value, expected",
    [
        ("+=", 2, [3, 4, 5]),
        ("-=", 1, [0, 1, 2]),
        ("*=", 3, [3, 6, 9]),
        ("//=", 2, [0, 1, 1]),
    ],
)
def test_augmented_assignment_on_int_tensors(op, value, expected):
    x = gl.tensor([1, 2, 3])
    alias = x
    exec(f"x {op} value")
    assert x is alias and x.tolist() == expected and x.dtype is gl.int64


def test_augmented_assignment_on_float_tensors_matches_torch():
    torch = pytest.importorskip("torch")
    for op in ("+=", "-=", "*=", "/=", "//="):
        g, t = gl.tensor([1.5, -2.5, 4.0]), torch.tensor([1.5, -2.5, 4.0])
        gv, tv = gl.tensor([2.0, 2.0, 3.0]), torch.tensor([2.0, 2.0, 3.0])
        ns = {"g": g, "t": t, "gv": gv, "tv": tv}
        exec(f"g {op} gv\nt {op} tv", ns)
        np.testing.assert_allclose(ns["g"].numpy(), ns["t"].numpy(), err_msg=op)
        assert ns["g"] is g


def test_numpy_alias_sees_inplace_writes():
    x = gl.zeros(3)
    a = x.numpy()
    x += 1
    x[0] = 5
    assert a.tolist() == [5.0, 1.0, 1.0]


# ----- views see the writes -----------------------------------------------------------------


def test_writes_through_views_change_the_base():
    base = gl.zeros(2, 3)
    row = base[0]
    row += 1
    col = base[:, 2]
    col.mul_(0).add_(7)
    base.T[1].fill_(3)
    flat = base.view(-1)
    flat[0] = -1
    assert base.tolist() == [[-1.0, 3.0, 7.0], [0.0, 3.0, 7.0]]
    base.zero_()
    assert row.tolist() == [0.0, 0.0, 0.0] and col.tolist() == [0.0, 0.0]


def test_views_share_the_version_counter():
    base = gl.zeros(4)
    v = base[1:3]
    before = base._version_value
    v.add_(1)
    assert base._version_value == before + 1 == v._version_value


def test_reshape_that_copies_is_not_a_view():
    base = gl.arange(6.0).reshape(2, 3)
    r = base.T.reshape(-1)  # non-contiguous input: reshape copies
    r.add_(100)
    assert base.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


# ----- autograd through in-place writes (against torch) ---------------------------------------

# Each case starts from ``h = w * 1`` (a non-leaf that requires grad), runs ``code``, then
# backpropagates ``(h * k).sum()``; gradients and values must match torch.
AUTOGRAD_CASES = [
    "h.add_(w)",
    "h.mul_(w)",
    "h.sub_(2).div_(w + 1)",
    "h.clamp_(1.5, 3.5)",
    "h += w * w",
    "h *= 3",
    "h /= w",
    "h.zero_()",
    "h.fill_(2.0)",
    "h.copy_(w * 5)",
    "h.copy_(M.ones(2, 2))",
    "h[0] = w[1] * 5",
    "h[0, 1] = 9.0",
    "h[:, 0] = w[:, 1]",
    "h[h > 2] = 0.0",
    "h[1] += w[0]",
    "v = h[0]; v.mul_(3)",
    "v = h[:, 1]; v.add_(w[0])",
    "h[0].zero_()",
    "v = h.T; v[1] *= 5",
    "v = h[1]; v.copy_(w[1] * 7)",
    "v = h.view(-1)[1:3]; v.mul_(w[0])",
    "v = h[1]; u = v[1:]; u.mul_(10)",
]


@pytest.mark.parametrize("code", AUTOGRAD_CASES)
def test_autograd_through_inplace_matches_torch(code):
    torch = pytest.importorskip("torch")
    results = []
    for M in (gl, torch):
        w = M.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        k = M.tensor([[1.0, -2.0], [0.5, 3.0]])
        h = w * 1
        exec(code, {"h": h, "w": w, "M": M})
        (h * k).sum().backward()
        results.append((h.tolist(), w.grad.tolist()))
    np.testing.assert_allclose(results[0][0], results[1][0], err_msg=f"values of {code}")
    np.testing.assert_allclose(results[0][1], results[1][1], err_msg=f"grads of {code}")


def test_setitem_with_a_value_that_requires_grad_into_a_plain_tensor():
    torch = pytest.importorskip("torch")
    got = []
    for M in (gl, torch):
        w = M.tensor([1.0, 2.0], requires_grad=True)
        buf = M.zeros(3)
        buf[1:] = w * 3
        assert buf.requires_grad
        (buf * M.tensor([1.0, 2.0, 3.0])).sum().backward()
        got.append(w.grad.tolist())
    assert got[0] == got[1] == [6.0, 9.0]


def test_inplace_on_a_view_of_a_plain_tensor_with_a_grad_value():
    torch = pytest.importorskip("torch")
    got = []
    for M in (gl, torch):
        w = M.tensor([1.0, 2.0], requires_grad=True)
        buf = M.zeros(2, 2)
        buf[0].add_(w)
        (buf * M.tensor([[2.0, 3.0], [4.0, 5.0]])).sum().backward()
        got.append((w.grad.tolist(), buf.tolist()))
    assert got[0] == got[1]


# ----- errors leave the tensor unchanged -------------------------------------------------------


def test_int_tensor_plus_float_raises_and_leaves_it_unchanged():
    x = gl.tensor([1, 2, 3])
    for code in ("x += 1.5", "x.add_(1.5)", "x /= 2", "x.div_(2)", "x *= gl.ones(3)"):
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            exec(code, {"x": x, "gl": gl})
        assert x.tolist() == [1, 2, 3] and x.dtype is gl.int64 and x._version_value == 0


def test_result_that_would_grow_raises_and_leaves_it_unchanged():
    x = gl.tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"doesn't match the broadcast shape \[2, 3\]"):
        x += gl.ones(2, 3)
    with pytest.raises(RuntimeError, match="broadcast"):
        x.mul_(gl.ones(2, 1))
    with pytest.raises(RuntimeError, match="copy_"):
        x.copy_(gl.ones(2))
    assert x.tolist() == [1.0, 2.0, 3.0] and x._version_value == 0


def test_fill_with_a_non_scalar_tensor_raises():
    x = gl.zeros(3)
    with pytest.raises(RuntimeError, match="fill_.*0-dimension"):
        x.fill_(gl.ones(2))
    assert x.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "code",
    ["x.add_(1)", "x += 1", "x.zero_()", "x.fill_(1)", "x[0] = 2", "x.copy_(gl.ones(3))"],
)
def test_inplace_on_a_leaf_that_requires_grad_raises_and_leaves_it_unchanged(code):
    x = gl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        exec(code, {"x": x, "gl": gl})
    assert x.tolist() == [1.0, 2.0, 3.0] and x.grad_fn is None


def test_inplace_on_a_view_of_a_leaf_that_requires_grad_raises():
    x = gl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        x[0:2].add_(1)
    assert x.tolist() == [1.0, 2.0, 3.0]


def test_inplace_on_a_leaf_works_under_no_grad():
    x = gl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with gl.no_grad():
        x.sub_(0.5)
        x[0] = 0.0
        x *= 2
        x[1:].zero_()
    assert x.tolist() == [0.0, 0.0, 0.0] and x.requires_grad and x.is_leaf
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0, 3.0]


def test_setitem_without_autograd_writes_in_place_without_running_ops():
    """Regression: ``x[i] = v`` on a plain tensor used to copy the whole tensor twice."""
    from graphlab.autograd.function import op_observers

    applied: list = []

    def observe(op, *rest):
        applied.append(type(op).__name__)

    op_observers.append(observe)
    try:
        x = gl.zeros(50, 40)
        data = x._data
        for i in range(50):
            x[i] = float(i)
        x[x > 45] = gl.tensor(-1.0)
    finally:
        op_observers.remove(observe)
    assert x._data is data and x._version_value == 51
    assert x[10].tolist() == [10.0] * 40 and x[49].tolist() == [-1.0] * 40
    assert "IndexPut" not in applied
