"""Autograd semantics: backward, accumulation, retain_graph, grad modes, hooks, autograd.grad,
custom Functions and gradcheck — compared with PyTorch where it has an answer."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import graphlab as gl
from graphlab.autograd import Function, GradcheckError, gradcheck

# ----- backward -----------------------------------------------------------------------------


def test_the_graph_is_dynamic_python_control_flow_decides_it():
    x = gl.tensor(3.0, requires_grad=True)
    for branch in (True, False):
        x.grad = None
        y = x * x if branch else x * 5
        y.backward()
        assert x.grad.item() == (6.0 if branch else 5.0)


def test_backward_with_gradient_argument_matches_torch():
    torch = pytest.importorskip("torch")
    v = [0.5, -1.0, 2.0]
    g = gl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    t = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (g * g).backward(gl.tensor(v))
    (t * t).backward(torch.tensor(v))
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy())
    # A list or array is accepted as the gradient too.
    g.grad = None
    (g * 2).backward([1.0, 1.0, 1.0])
    assert g.grad.tolist() == [2.0, 2.0, 2.0]


def test_non_scalar_backward_without_gradient_raises_clearly():
    x = gl.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="mismatch in shape"):
        (x * 2).backward(gl.ones(2))


def test_backward_on_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        gl.ones(2).sum().backward()


def test_one_element_non_scalar_backward_is_allowed():
    x = gl.ones(1, 1, requires_grad=True)
    (x * 4).backward()
    assert x.grad.tolist() == [[4.0]]


def test_gradients_accumulate_into_grad():
    x = gl.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    x.grad = None
    (x + x + x * x).sum().backward()  # used three times: contributions are summed
    assert x.grad.tolist() == [4.0, 6.0]


def test_second_backward_through_freed_graph_raises():
    x = gl.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = gl.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 8.0
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_create_graph_is_not_supported():
    x = gl.tensor(2.0, requires_grad=True)
    with pytest.raises(NotImplementedError, match="create_graph=True.*not supported"):
        (x * x).backward(create_graph=True)
    with pytest.raises(NotImplementedError, match="higher-order"):
        gl.autograd.grad(x * x, x, create_graph=True)


def test_backward_inputs_limits_accumulation():
    a = gl.tensor(2.0, requires_grad=True)
    b = gl.tensor(3.0, requires_grad=True)
    (a * b).backward(inputs=[a])
    assert a.grad.item() == 3.0 and b.grad is None


def test_gradient_shape_dtype_and_device_follow_the_input():
    torch = pytest.importorskip("torch")
    a = gl.ones(3, 1, dtype=gl.float64, requires_grad=True)
    b = gl.ones(1, 4, requires_grad=True)
    c = gl.tensor(2.0, requires_grad=True)
    ((a * b) * c).sum().backward()
    ta = torch.ones(3, 1, dtype=torch.float64, requires_grad=True)
    tb = torch.ones(1, 4, requires_grad=True)
    tc = torch.tensor(2.0, requires_grad=True)
    ((ta * tb) * tc).sum().backward()
    for g, t in ((a, ta), (b, tb), (c, tc)):
        assert tuple(g.grad.shape) == tuple(t.grad.shape)
        assert str(g.grad.dtype) == str(t.grad.dtype).replace("torch", "graphlab")
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy())
    d = gl.ones(2, requires_grad=True, device="cpu:1")
    (d * 2).sum().backward()
    assert d.grad.device == "cpu:1"


def test_leaf_and_non_leaf_flags():
    x = gl.ones(2, requires_grad=True)
    y = x * 2
    assert x.is_leaf and not y.is_leaf and y.requires_grad
    assert gl.ones(2).is_leaf and (gl.ones(2) * 2).grad_fn is None
    assert y.grad_fn.next_functions[0][0] is x


def test_requires_grad_():
    x = gl.ones(2)
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        gl.ones(2, dtype=gl.int64).requires_grad_()
    y = gl.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad_(False)


# ----- grad modes ---------------------------------------------------------------------------


def test_no_grad_enable_grad_and_set_grad_enabled_as_context_managers():
    x = gl.ones(2, requires_grad=True)
    with gl.no_grad():
        assert not gl.is_grad_enabled()
        assert not (x * 2).requires_grad
        with gl.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    assert gl.is_grad_enabled()
    with gl.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    with gl.set_grad_enabled(True):
        assert (x * 2).requires_grad
    assert gl.is_grad_enabled()


def test_set_grad_enabled_as_a_function_call():
    try:
        gl.set_grad_enabled(False)
        assert not gl.is_grad_enabled()
    finally:
        gl.set_grad_enabled(True)
    assert gl.is_grad_enabled()


def test_grad_modes_as_decorators():
    x = gl.ones(2, requires_grad=True)

    @gl.no_grad()
    def f():
        return x * 2

    @gl.enable_grad()
    def g():
        return x * 2

    assert not f().requires_grad and gl.is_grad_enabled()
    with gl.no_grad():
        assert g().requires_grad
        assert not gl.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ValueError):
        with gl.no_grad():
            raise ValueError("boom")
    assert gl.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = []
    with gl.no_grad():
        th = threading.Thread(target=lambda: seen.append(gl.is_grad_enabled()))
        th.start()
        th.join()
        seen.append(gl.is_grad_enabled())
    assert seen == [True, False]


# ----- retain_grad and hooks ------------------------------------------------------------------


def test_retain_grad_keeps_non_leaf_gradients():
    x = gl.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    z = x * 4
    y.retain_grad()
    (y * y + z).sum().backward()
    assert y.retains_grad and not z.retains_grad
    assert y.grad.tolist() == [6.0, 12.0]
    assert z.grad is None
    with pytest.raises(RuntimeError, match="retain_grad"):
        gl.ones(2).retain_grad()


def test_retain_grad_sees_the_gradient_after_every_hook_like_torch():
    torch = pytest.importorskip("torch")
    results = []
    for M in (gl, torch):
        for hook_first in (True, False):
            x = M.tensor([1.0, 2.0], requires_grad=True)
            y = x * 2
            if hook_first:
                y.register_hook(lambda g: g * 10)
            y.retain_grad()
            if not hook_first:
                y.register_hook(lambda g: g * 10)
            z = (y * y).sum()
            z.backward(retain_graph=True)
            z.backward()  # retained gradients accumulate too
            results.append((y.grad.tolist(), x.grad.tolist()))
    assert results[:2] == results[2:]
    assert results[0] == ([80.0, 160.0], [160.0, 320.0])


def test_hook_on_a_non_leaf_changes_what_flows_on():
    torch = pytest.importorskip("torch")
    results = []
    for M in (gl, torch):
        x = M.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        seen = []
        y.register_hook(lambda g, seen=seen: (seen.append(g.tolist()), g * 10)[1])
        y.sum().backward()
        results.append((x.grad.tolist(), seen))
    assert results[0] == results[1] == ([20.0, 40.0], [[1.0, 1.0]])


def test_hook_on_a_leaf_changes_the_stored_gradient():
    x = gl.tensor([1.0, 2.0], requires_grad=True)
    h = x.register_hook(lambda g: g * 3)
    (x * 2).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    h.remove()
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_hook_returning_none_observes_only_and_remove_stops_it():
    x = gl.tensor([1.0], requires_grad=True)
    y = x * 2
    calls = []
    h = y.register_hook(lambda g: calls.append(g.item()))
    h.remove()
    h2 = y.register_hook(lambda g: calls.append(-g.item()))
    (y * 5).sum().backward()
    assert calls == [-5.0] and x.grad.item() == 10.0
    h2.remove()
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        gl.ones(1).register_hook(lambda g: g)


def test_hook_handle_works_as_context_manager():
    x = gl.tensor([1.0], requires_grad=True)
    with x.register_hook(lambda g: g * 0):
        (x * 2).sum().backward()
    assert x.grad.item() == 0.0
    (x * 2).sum().backward()
    assert x.grad.item() == 2.0


# ----- autograd.grad ------------------------------------------------------------------------


def test_autograd_grad_matches_torch_and_does_not_touch_grad():
    torch = pytest.importorskip("torch")
    a, b = gl.tensor([1.0, 2.0], requires_grad=True), gl.tensor(3.0, requires_grad=True)
    ta, tb = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor(3.0, requires_grad=True)
    ga, gb = gl.autograd.grad((a * a * b).sum(), [a, b])
    tga, tgb = torch.autograd.grad((ta * ta * tb).sum(), [ta, tb])
    np.testing.assert_allclose(ga.numpy(), tga.numpy())
    np.testing.assert_allclose(gb.numpy(), tgb.numpy())
    assert a.grad is None and b.grad is None


def test_autograd_grad_with_grad_outputs_and_retain_graph():
    x = gl.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    (g1,) = gl.autograd.grad(y, x, grad_outputs=gl.tensor([1.0, 0.5]), retain_graph=True)
    (g2,) = gl.autograd.grad(y, x, grad_outputs=[gl.tensor([1.0, 1.0])])
    assert g1.tolist() == [2.0, 2.0] and g2.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="second time"):
        gl.autograd.grad(y, x, grad_outputs=gl.ones(2))


def test_autograd_grad_of_a_non_leaf_input():
    x = gl.tensor(2.0, requires_grad=True)
    h = x * 3
    (gh,) = gl.autograd.grad(h * h, h)
    assert gh.item() == 12.0


def test_autograd_grad_allow_unused():
    a = gl.tensor(1.0, requires_grad=True)
    unused = gl.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        gl.autograd.grad(a * 2, [a, unused], retain_graph=True)
    ga, gu = gl.autograd.grad(a * 2, [a, unused], allow_unused=True)
    assert ga.item() == 2.0 and gu is None
    _, gz = gl.autograd.grad(a * 2, [a, unused], materialize_grads=True, allow_unused=True)
    assert gz.item() == 0.0
    with pytest.raises(RuntimeError, match="does not require grad"):
        gl.autograd.grad(a * 2, gl.ones(1))


# ----- custom Functions -----------------------------------------------------------------------


class _Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


class _WrongCube(_Cube):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2 * x * x


class _MulScale(Function):
    """Two tensor inputs and a constant; records needs_input_grad."""

    @staticmethod
    def forward(ctx, a, b, k):
        ctx.save_for_backward(a, b)
        ctx.k = k
        ctx.seen_needs = ctx.needs_input_grad
        return a * b * k

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g * b * ctx.k if ctx.needs_input_grad[0] else None
        gb = g * a * ctx.k if ctx.needs_input_grad[1] else None
        return ga, gb, None


class _SplitSum(Function):
    """Two outputs: the sum and the sum of squares."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sum(), (x * x).sum()

    @staticmethod
    def backward(ctx, g_sum, g_sq):
        (x,) = ctx.saved_tensors
        return g_sum * gl.ones_like(x) + g_sq * 2 * x


def test_custom_function_one_output():
    x = gl.tensor([1.0, 2.0], requires_grad=True)
    y = _Cube.apply(x)
    assert y.grad_fn is not None and "_Cube" in y.grad_fn.name()
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 12.0]


def test_custom_function_needs_input_grad_and_constants():
    a = gl.tensor([1.0, 2.0], requires_grad=True)
    b = gl.tensor([3.0, 4.0])
    y = _MulScale.apply(a, b, 2.0)
    assert y.grad_fn.ctx.seen_needs == (True, False, False)
    y.sum().backward()
    assert a.grad.tolist() == [6.0, 8.0] and b.grad is None


def test_custom_function_multiple_outputs():
    x = gl.tensor([1.0, 2.0], requires_grad=True)
    s, sq = _SplitSum.apply(x)
    assert s.item() == 3.0 and sq.item() == 5.0
    (s + sq).backward()
    assert x.grad.tolist() == [3.0, 5.0]
    x.grad = None
    _, sq = _SplitSum.apply(x)
    sq.backward()  # only one output used: the other gradient arrives as zeros
    assert x.grad.tolist() == [2.0, 4.0]


def test_custom_function_without_grad_returns_plain_result():
    y = _Cube.apply(gl.tensor([2.0]))
    assert y.grad_fn is None and y.tolist() == [8.0]


def test_custom_function_saved_tensor_version_check():
    x = gl.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = _Cube.apply(h)
    with gl.no_grad():
        h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_custom_function_wrong_number_of_gradients_raises():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    y = Bad.apply(gl.ones(2, requires_grad=True), gl.ones(2, requires_grad=True))
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        y.sum().backward()


def test_custom_function_saved_tensors_freed_after_backward():
    x = gl.tensor([1.0], requires_grad=True)
    y = _Cube.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.sum().backward()


# ----- gradcheck ----------------------------------------------------------------------------


def test_gradcheck_passes_on_a_correct_function():
    x = gl.tensor([0.5, -1.5, 2.0], dtype=gl.float64, requires_grad=True)
    assert gradcheck(_Cube.apply, (x,))
    a = gl.tensor([[0.3, 0.7]], dtype=gl.float64, requires_grad=True)
    b = gl.tensor([[1.1], [-0.4]], dtype=gl.float64, requires_grad=True)
    assert gradcheck(lambda a, b: (a * b).exp(), (a, b))


def test_gradcheck_raises_on_a_wrong_backward():
    x = gl.tensor([0.5, -1.5], dtype=gl.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="Jacobian mismatch.*input 0"):
        gradcheck(_WrongCube.apply, (x,))
    assert gradcheck(_WrongCube.apply, (x,), raise_exception=False) is False


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="requires_grad=True"):
        gradcheck(_Cube.apply, (gl.ones(2, dtype=gl.float64),))


def test_leaf_grads_never_alias_each_other_or_saved_arrays():
    # Add's backward hands one array to both inputs; each .grad must still own its memory.
    a, b = gl.randn(3, requires_grad=True), gl.randn(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad.add_(1)
    assert b.grad.tolist() == [1.0, 1.0, 1.0]
    # With retain_graph the nodes keep their arrays; accumulating twice must not touch them.
    w = gl.randn(2, 2, requires_grad=True)
    x = gl.randn(2, 2)
    out = (w * x).sum()
    out.backward(retain_graph=True)
    first = w.grad.clone()
    out.backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * first.numpy())
    np.testing.assert_allclose(first.numpy(), x.numpy())
