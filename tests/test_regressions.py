"""Regression tests, one per reported issue, named after it."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import graphlab as gl
from graphlab.autograd.function import Op


def test_cube_gradient_is_three_x_squared():
    """``x*x*x`` uses x three times: the contributions must be summed, not overwritten."""
    x = gl.tensor([1.0, -2.0, 0.5], requires_grad=True)
    (x * x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.array([1.0, -2.0, 0.5]) ** 2)


def test_retain_graph_twice_accumulates_exactly_twice():
    x = gl.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x * 3).sum()
    y.backward(retain_graph=True)
    once = x.grad.tolist()
    y.backward(retain_graph=True)
    assert once == [6.0, 12.0]
    assert x.grad.tolist() == [12.0, 24.0]


def test_retain_graph_twice_matches_torch_with_shared_subgraph():
    torch = pytest.importorskip("torch")
    grads = []
    for M in (gl, torch):
        x = M.tensor([1.0, 2.0], requires_grad=True)
        h = x.exp()
        y = (h * h + h).sum()
        y.backward(retain_graph=True)
        y.backward(retain_graph=True)
        grads.append(x.grad.tolist())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)


def test_version_counter_detects_inplace_on_saved_output():
    x = gl.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()  # ExpBackward saves its output
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_version_counter_detects_inplace_through_a_view_of_a_saved_tensor():
    x = gl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.exp()
    v = y[1:]
    v.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_version_counter_detects_inplace_on_a_saved_input():
    x = gl.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = h * h  # MulBackward saves both inputs
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_on_an_input_that_add_does_not_save_is_fine_like_torch():
    torch = pytest.importorskip("torch")
    grads = []
    for M in (gl, torch):
        x = M.tensor([1.0, 2.0], requires_grad=True)
        x_nonleaf = x * 1
        y = x_nonleaf + 1  # AddBackward saves nothing
        x_nonleaf.add_(1)
        y.sum().backward()
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1] == [1.0, 1.0]


def test_inplace_on_a_leaf_requiring_grad_raises_outside_no_grad():
    w = gl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.sub_(0.1)
    assert w.tolist() == [1.0, 2.0]
    with gl.no_grad():
        w.sub_(0.5)
    assert w.tolist() == [0.5, 1.5] and w.is_leaf and w.requires_grad


@pytest.mark.parametrize(
    "a_shape, b_shape",
    [((3, 1), (1, 4)), ((4,), (2, 3, 4)), ((), (2, 2)), ((1, 1), (5,)), ((2, 1, 3), (4, 1))],
)
def test_broadcasting_gradient_shapes(a_shape, b_shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    an = rng.standard_normal(a_shape).astype(np.float32)
    bn = rng.standard_normal(b_shape).astype(np.float32)
    out = []
    for M in (gl, torch):
        a = M.tensor(an, requires_grad=True)
        b = M.tensor(bn, requires_grad=True)
        (a * b + a - b).sum().backward()
        out.append((a.grad.numpy(), b.grad.numpy()))
    for g, t in zip(out[0], out[1]):
        assert g.shape == t.shape
        np.testing.assert_allclose(g, t, rtol=1e-5)


def _live_ops() -> int:
    # NOTE: type(), not isinstance(): some modules' lazy objects warn on __class__ access.
    return sum(1 for o in gc.get_objects() if issubclass(type(o), Op))


def test_ten_thousand_steps_leave_no_graph_nodes_alive_by_refcounting_alone():
    w = gl.randn(4, 4, requires_grad=True)
    b = gl.zeros(4, requires_grad=True)
    gc.collect()
    before = _live_ops()
    probe = []
    gc.disable()  # NOTE: reference counting alone must free every graph
    try:
        for step in range(10_000):
            x = gl.randn(8, 4)
            h = (x @ w + b).relu()
            loss = (h * h).mean() + h.sum() * 0.01
            if step % 1000 == 0:
                probe.append(weakref.ref(loss.grad_fn))
            loss.backward()
            with gl.no_grad():
                w.sub_(w.grad * 1e-3)
            w.grad = None
            b.grad = None
        del x, h, loss
        assert _live_ops() == before
        assert all(r() is None for r in probe)
    finally:
        gc.enable()


def test_retain_graph_graphs_are_freed_too():
    x = gl.ones(3, requires_grad=True)
    gc.disable()
    try:
        y = (x.exp() * 2).sum()
        y.backward(retain_graph=True)
        ref = weakref.ref(y.grad_fn)
        del y
        assert ref() is None
    finally:
        gc.enable()


def test_hooks_and_retain_grad_do_not_keep_graphs_alive():
    x = gl.ones(3, requires_grad=True)
    gc.disable()
    try:
        h = x * 2
        h.retain_grad()
        h.register_hook(lambda g: g)
        ref = weakref.ref(h.grad_fn)
        (h * h).sum().backward()
        del h
        assert ref() is None
    finally:
        gc.enable()
