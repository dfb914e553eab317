"""Tensor attributes, conversions and printing, checked against PyTorch where it has an answer."""

from __future__ import annotations

import numpy as np
import pytest

import graphlab as gl

# ----- attributes ---------------------------------------------------------------------------


def test_shape_size_dim_numel():
    x = gl.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and isinstance(x.shape, gl.Size)
    assert x.size() == gl.Size([2, 3, 4])
    assert x.size(1) == 3 and x.size(-1) == 4
    assert x.dim() == x.ndim == 3
    assert x.numel() == 24 == x.nelement() == gl.numel(x)
    assert x.shape.numel() == 24
    with pytest.raises(IndexError, match="size.*dimension out of range"):
        x.size(3)


def test_size_repr_and_tuple_behaviour():
    s = gl.zeros(2, 3).shape
    assert repr(s) == "graphlab.Size([2, 3])"
    assert repr(gl.zeros(()).shape) == "graphlab.Size([])"
    assert s == (2, 3) and s[0] == 2 and len(s) == 2 and list(s) == [2, 3]


def test_dtype_and_device_attributes():
    x = gl.ones(2, dtype=gl.float64, device="cpu:1")
    assert x.dtype is gl.float64
    assert x.device == gl.device("cpu:1") and x.device == "cpu:1"
    assert not x.is_cuda and x.is_floating_point()
    assert not gl.ones(2, dtype=gl.int64).is_floating_point()
    assert x.element_size() == 8 and x.nbytes == 16


def test_T_and_mT_match_torch():
    torch = pytest.importorskip("torch")
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    g, t = gl.tensor(a), torch.tensor(a)
    np.testing.assert_array_equal(g.T.numpy(), t.permute(2, 1, 0).numpy())
    np.testing.assert_array_equal(g.mT.numpy(), t.mT.numpy())
    m = gl.tensor(a[0])
    np.testing.assert_array_equal(m.T.numpy(), a[0].T)


def test_item_tolist_and_python_numbers():
    assert gl.tensor(2.5).item() == 2.5 and isinstance(gl.tensor(2.5).item(), float)
    assert gl.tensor([3]).item() == 3 and isinstance(gl.tensor([3]).item(), int)
    assert gl.tensor(True).item() is True
    assert gl.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert gl.tensor(1.5).tolist() == 1.5
    assert float(gl.tensor([2.5])) == 2.5 and int(gl.tensor(3)) == 3
    assert [10, 20, 30][gl.tensor(1)] == 20  # __index__
    with pytest.raises(RuntimeError, match="item.*6 elements"):
        gl.zeros(2, 3).item()
    with pytest.raises(TypeError, match="index"):
        [1, 2][gl.tensor(1.0)]
    assert f"{gl.tensor(2.5):.2f}" == "2.50"


def test_numpy_shares_memory_and_refuses_requires_grad():
    x = gl.zeros(3)
    a = x.numpy()
    a[0] = 5
    assert x.tolist() == [5.0, 0.0, 0.0]
    w = gl.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        w.numpy()
    d = w.detach().numpy()
    d[1] = 2
    assert w.tolist() == [0.0, 2.0, 0.0]


def test_numpy_refusal_matches_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as t_err:
        torch.zeros(2, requires_grad=True).numpy()
    with pytest.raises(RuntimeError) as g_err:
        gl.zeros(2, requires_grad=True).numpy()
    assert str(g_err.value) == str(t_err.value)


def test_array_protocol():
    x = gl.arange(4.0)
    a = np.asarray(x)
    assert a.dtype == np.float32 and a.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    # __array__ works even for tensors that require grad (like torch's np.asarray(t) does not,
    # but the data is not writable through autograd either way).
    assert np.array(gl.ones(2)).tolist() == [1.0, 1.0]


def test_len_and_iteration():
    x = gl.arange(6).reshape(3, 2)
    assert len(x) == 3
    rows = list(x)
    assert [r.tolist() for r in rows] == [[0, 1], [2, 3], [4, 5]]
    with pytest.raises(TypeError, match="len"):
        len(gl.tensor(1.0))
    with pytest.raises(TypeError, match="iteration"):
        iter(gl.tensor(1.0))


def test_bool_of_one_element_and_ambiguity_error():
    assert bool(gl.tensor([1.0])) and not bool(gl.tensor(0))
    assert bool(gl.tensor([[True]]))
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with 2 elements is ambiguous"):
        bool(gl.ones(2))


def test_conversions_float_long_to_dtype():
    x = gl.tensor([1.7, -2.2])
    assert x.long().tolist() == [1, -2] and x.long().dtype is gl.int64
    assert x.double().dtype is gl.float64 and x.int().dtype is gl.int32
    assert gl.tensor([1, 2]).float().dtype is gl.float32
    assert x.to(gl.int32).dtype is gl.int32
    assert x.to(dtype=gl.float64).dtype is gl.float64
    assert x.to("float64").dtype is gl.float64
    assert x.float() is x and x.to(gl.float32) is x  # no-op conversions return self
    assert x.type() == "graphlab.FloatTensor" and x.long().type() == "graphlab.LongTensor"


def test_to_device_dtype_and_other_tensor():
    x = gl.tensor([1.0, 2.0])
    y = x.to("cpu:1", gl.float64)
    assert y.device == "cpu:1" and y.dtype is gl.float64 and y.tolist() == [1.0, 2.0]
    other = gl.zeros(1, dtype=gl.int32, device="cpu:2")
    z = x.to(other)
    assert z.device == "cpu:2" and z.dtype is gl.int32
    assert x.to(device="cpu") is x and x.to("cpu") is x and x.cpu() is x
    c = x.to("cpu", copy=True)
    assert c is not x and c.tolist() == x.tolist()


def test_clone_is_a_copy_and_differentiable():
    x = gl.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.grad_fn is not None and c.tolist() == [1.0, 2.0]
    (c * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    d = x.detach().clone()
    d.add_(1)
    assert x.tolist() == [1.0, 2.0]


def test_detach_shares_storage_and_version_counter():
    x = gl.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    d[0] = 9  # writes through to x
    assert x.tolist() == [9.0, 2.0]
    # The shared counter lets autograd notice the write.
    y = x.sin()  # saves x
    x.detach().add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_contiguous():
    x = gl.arange(6.0).reshape(2, 3)
    t = x.T
    assert not t.is_contiguous()
    c = t.contiguous()
    assert c.is_contiguous() and c.tolist() == t.tolist()
    assert x.contiguous() is x or x.contiguous().tolist() == x.tolist()


def test_data_is_the_same_storage_without_history():
    w = gl.tensor([1.0, 2.0], requires_grad=True)
    d = w.data
    assert not d.requires_grad and d.grad_fn is None
    d.mul_(10)  # the classic optimizer update idiom
    assert w.tolist() == [10.0, 20.0] and w.requires_grad
    w.data = gl.tensor([5.0, 6.0])
    assert w.tolist() == [5.0, 6.0] and w.requires_grad
    with pytest.raises(TypeError, match="Tensor.data"):
        w.data = [1.0, 2.0]


def test_tensors_are_not_picklable():
    import pickle

    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(gl.ones(2))


# ----- repr, against PyTorch ------------------------------------------------------------------

# Each expression runs with ``M`` bound to torch and to graphlab; the reprs must be equal after
# replacing "torch." with "graphlab.".
REPR_CASES = [
    "M.tensor([0.1, 2.0])",  # floats needing 4 decimals
    "M.tensor([1.0, 2.0])",  # integral floats
    "M.tensor([[3.0, 12.0], [27.0, 48.0]])",  # column padding
    "M.tensor([-1.5, 2.25, 3.0])",  # negative numbers
    "M.tensor([[1, 2], [30, -4]])",  # ints
    "M.tensor([1, 2, -30])",
    "M.tensor([True, False])",  # bools
    "M.tensor(True)",
    "M.tensor(3.5)",  # 0-d
    "M.tensor(3)",
    "M.tensor(1e-6)",
    "M.tensor([])",  # empty
    "M.zeros(0, 3)",
    "M.zeros(2, 0)",
    "M.tensor([[]])",
    "M.zeros(0, dtype=M.int64)",
    "M.tensor([], dtype=M.float64)",
    "M.tensor([1e10, 1.0])",  # large magnitudes: scientific
    "M.tensor([1e8, 1.0])",
    "M.tensor([1e-5, 1.0])",  # small magnitudes: scientific
    "M.tensor([1e-5, 0.0])",
    "M.tensor([1e20, 1e-20])",
    "M.tensor([123456.7, 1.0])",
    "M.tensor([0.0001, 1000.0])",
    "M.tensor([100.0, 1.0])",
    "M.tensor([1000.0, 0.5])",
    "M.tensor([-0.0, 0.0])",
    "M.tensor([float('nan'), float('inf'), -float('inf'), 1.5])",
    "M.tensor([float('nan')])",
    "M.tensor([[0.1, 20000.0], [3.3333, 0.0]])",
    "M.tensor([1.5], dtype=M.float64)",  # dtype suffixes
    "M.tensor([1, 2], dtype=M.int32)",
    "M.tensor([1.5, 2.0], dtype=M.float16)",
    "M.tensor([1, 2], dtype=M.uint8)",
    "M.tensor([1.0, 2.0], requires_grad=True)",
    "M.tensor([0.5, 1.5], dtype=M.float64, requires_grad=True)",
    "M.arange(12.0).reshape(3, 4)",  # rows and 3-d blocks
    "M.arange(30.0).reshape(2, 3, 5)",
    "M.arange(24).reshape(2, 3, 2, 2)",
    "M.arange(2000.0)",  # summarised with ...
    "M.arange(2000).reshape(40, 50)",
    "M.arange(3000.0).reshape(10, 10, 30)",
    "M.arange(100.0) / 7",  # line wrapping
    "M.arange(40, dtype=M.float64) / 3 - 5",  # wrapping with a dtype suffix on its own line
    "M.linspace(-1, 1, 24, dtype=M.float64).reshape(2, 12).requires_grad_()",
]


@pytest.mark.parametrize("expr", REPR_CASES)
def test_repr_matches_torch(expr):
    torch = pytest.importorskip("torch")
    expected = repr(eval(expr, {"M": torch})).replace("torch.", "graphlab.")
    assert repr(eval(expr, {"M": gl})) == expected


def test_repr_of_random_values_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for shape in [(40,), (7, 9), (3, 4, 5)]:
        for scale in (1.0, 1e-3, 1e5):
            a = (rng.standard_normal(shape) * scale).astype(np.float32)
            assert repr(gl.tensor(a)) == repr(torch.tensor(a)).replace("torch.", "graphlab.")


def test_repr_grad_fn_names_match_torch_for_arithmetic():
    torch = pytest.importorskip("torch")
    exprs = ["x * 2", "x + 1", "x - 1", "x / 2", "-x", "x.sum()", "x.mean()", "x.exp()"]
    exprs += ["x.log()", "x.tanh()", "x.sigmoid()", "x.relu()", "x.sqrt()", "x.abs()"]
    exprs += ["x.clone()", "x.expand(2, 3)", "x.softmax(0)", "x * x", "x.var()"]
    for e in exprs:
        t = eval(e, {"x": torch.tensor([1.0, 2.0, 3.0], requires_grad=True)})
        g = eval(e, {"x": gl.tensor([1.0, 2.0, 3.0], requires_grad=True)})
        assert repr(g) == repr(t).replace("torch.", "graphlab."), e


# NOTE: where graphlab's node names differ from PyTorch's (one Op class per kernel, named after
# the kernel rather than the ATen overload). Documented here so a change on either side shows.
GRAD_FN_DIFFERENCES = {
    "x @ x": ("DotBackward0", "MatMulBackward0"),
    "x.view(3, 1)": ("ViewBackward0", "ReshapeBackward0"),
    "x.unsqueeze(0)": ("UnsqueezeBackward0", "ReshapeBackward0"),
    "x[0]": ("SelectBackward0", "GetItemViewBackward0"),
    "x ** 2": ("PowBackward0", "PowScalarBackward0"),
    "x.double()": ("ToCopyBackward0", "CastBackward0"),
    "x.max()": ("MaxBackward1", "AMaxBackward0"),
}


@pytest.mark.parametrize("expr", sorted(GRAD_FN_DIFFERENCES))
def test_documented_grad_fn_name_differences(expr):
    torch = pytest.importorskip("torch")
    torch_name, gl_name = GRAD_FN_DIFFERENCES[expr]
    assert eval(expr, {"x": torch.ones(3, requires_grad=True)}).grad_fn.name() == torch_name
    assert eval(expr, {"x": gl.ones(3, requires_grad=True)}).grad_fn.name() == gl_name


def test_repr_shows_logical_device():
    assert repr(gl.tensor([1.0, 2.0], device="cpu:1")) == "tensor([1., 2.], device='cpu:1')"
    assert repr(gl.tensor([1, 2], device="cpu:1", dtype=gl.int32)) == (
        "tensor([1, 2], device='cpu:1', dtype=graphlab.int32)"
    )
    assert repr(gl.tensor([1.0], device="cpu:0")) == "tensor([1.])"


def test_print_options_change_precision_and_threshold():
    try:
        gl.set_printoptions(precision=2)
        assert repr(gl.tensor([0.12345, 1.0])) == "tensor([0.12, 1.00])"
        gl.set_printoptions(threshold=5, edgeitems=1)
        assert repr(gl.arange(10)) == "tensor([0,  ..., 9])"
        gl.set_printoptions(sci_mode=True)
        assert repr(gl.tensor([1.5])) == "tensor([1.50e+00])"
    finally:
        gl.set_printoptions(precision=4, threshold=1000, edgeitems=3, linewidth=80)
    assert repr(gl.tensor([0.12345, 1.0])) == "tensor([0.1235, 1.0000])"


def test_deepcopy_copies_leaves_and_refuses_non_leaves():
    import copy

    x = gl.randn(3, requires_grad=True)
    (x * 2).sum().backward()
    y = copy.deepcopy(x)
    assert y is not x and y.requires_grad and gl.equal(y, x) and gl.equal(y.grad, x.grad)
    y.data.add_(1)
    assert not gl.equal(y, x)
    with pytest.raises(RuntimeError, match="leaves"):
        copy.deepcopy(x * 2)
