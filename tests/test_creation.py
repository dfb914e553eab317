"""Creating tensors: PyTorch's names, signatures, default dtypes, seeds and error messages."""

from __future__ import annotations

import numpy as np
import pytest

import graphlab as gl

# ----- tensor / as_tensor / from_numpy ----------------------------------------------------------


def test_python_floats_default_to_float32_ints_to_int64_bools_to_bool():
    assert gl.tensor(1.5).dtype is gl.float32
    assert gl.tensor([1.0, 2.0]).dtype is gl.float32
    assert gl.tensor([1, 2]).dtype is gl.int64
    assert gl.tensor([1, 2.5]).dtype is gl.float32
    assert gl.tensor([True, False]).dtype is gl.bool
    assert gl.tensor(3).ndim == 0


@pytest.mark.parametrize("np_dtype", [np.float64, np.float32, np.int32, np.int64, np.uint8])
def test_numpy_arrays_keep_their_dtype(np_dtype):
    a = np.arange(3).astype(np_dtype)
    assert gl.tensor(a).dtype.np == np.dtype(np_dtype)
    assert gl.as_tensor(a).dtype.np == np.dtype(np_dtype)
    assert gl.from_numpy(a).dtype.np == np.dtype(np_dtype)


def test_numpy_scalars_keep_their_dtype_like_torch():
    torch = pytest.importorskip("torch")
    for v in (np.float64(2.0), np.float32(2.0), np.int32(3)):
        assert str(gl.tensor(v).dtype) == str(torch.tensor(v).dtype).replace("torch", "graphlab")


def test_tensor_copies_but_as_tensor_and_from_numpy_share_memory():
    a = np.zeros(3, dtype=np.float32)
    copied, shared, numpy_view = gl.tensor(a), gl.as_tensor(a), gl.from_numpy(a)
    a[0] = 7
    assert copied.tolist() == [0.0, 0.0, 0.0]
    assert shared.tolist() == [7.0, 0.0, 0.0]
    assert numpy_view.tolist() == [7.0, 0.0, 0.0]
    numpy_view[1] = 5  # and the other way round
    assert a[1] == 5


def test_as_tensor_with_another_dtype_copies():
    a = np.zeros(3, dtype=np.float64)
    t = gl.as_tensor(a, dtype=gl.float32)
    a[0] = 1
    assert t.dtype is gl.float32 and t.tolist() == [0.0, 0.0, 0.0]


def test_as_tensor_of_a_tensor_is_that_tensor():
    t = gl.ones(2)
    assert gl.as_tensor(t) is t


def test_from_numpy_rejects_non_arrays():
    with pytest.raises(TypeError, match="from_numpy"):
        gl.from_numpy([1, 2])


def test_tensor_of_a_tensor_is_a_detached_copy():
    x = gl.ones(2, requires_grad=True)
    y = gl.tensor(x)
    assert not y.requires_grad and y.grad_fn is None
    y.add_(1)
    assert x.tolist() == [1.0, 1.0]


def test_ragged_nested_lists_raise_naming_tensor():
    with pytest.raises(ValueError, match=r"tensor\(\).*rectangular"):
        gl.tensor([[1, 2], [3]])


def test_tensor_of_a_list_of_tensors():
    t = gl.tensor([gl.tensor(1.0), gl.tensor(2.0)])
    assert t.tolist() == [1.0, 2.0]


# ----- factories ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_shape_as_varargs_or_tuple_or_list_or_size(name):
    fn = getattr(gl, name)
    for args in [(2, 3), ((2, 3),), ([2, 3],), (gl.Size([2, 3]),)]:
        t = fn(*args)
        assert t.shape == (2, 3) and t.dtype is gl.float32
    assert fn(()).shape == ()
    assert fn(0, 3).shape == (0, 3)


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_negative_and_float_sizes_raise_naming_the_function(name):
    fn = getattr(gl, name)
    with pytest.raises(RuntimeError, match=rf"{name}\(\).*negative dimension -1"):
        fn(2, -1)
    with pytest.raises(TypeError, match=rf"{name}\(\).*float"):
        fn(2.5)
    with pytest.raises(TypeError, match=rf"{name}\(\)"):
        fn((2, 1.0))


def test_factories_match_torch_values_and_dtypes():
    torch = pytest.importorskip("torch")
    cases = [
        "M.zeros(2, 3)",
        "M.ones(4)",
        "M.full((2, 2), 1.5)",
        "M.full((2,), 7)",
        "M.full((2,), True)",
        "M.arange(5)",
        "M.arange(1, 4)",
        "M.arange(0, 1, 0.25)",
        "M.arange(5.0)",
        "M.linspace(0, 1, 5)",
        "M.linspace(-2, 2, 1)",
        "M.eye(3)",
        "M.eye(2, 4)",
        "M.zeros(2, dtype=M.float64)",
        "M.ones(2, dtype=M.int32)",
        "M.arange(4, dtype=M.float64)",
        "M.tensor(2.5)",
        "M.tensor([[1, 2], [3, 4]])",
    ]
    for expr in cases:
        t, g = eval(expr, {"M": torch}), eval(expr, {"M": gl})
        assert str(g.dtype) == str(t.dtype).replace("torch", "graphlab"), expr
        assert tuple(g.shape) == tuple(t.shape), expr
        np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-6, err_msg=expr)


def test_like_factories_copy_shape_dtype_and_device():
    src = gl.ones(2, 3, dtype=gl.float64, device="cpu:1")
    for fn in (gl.zeros_like, gl.ones_like, gl.empty_like, gl.rand_like, gl.randn_like):
        t = fn(src)
        assert t.shape == (2, 3) and t.dtype is gl.float64 and t.device == "cpu:1", fn
    f = gl.full_like(src, 7)
    assert f.tolist() == [[7.0] * 3] * 2 and f.dtype is gl.float64
    r = gl.randint_like(gl.zeros(50, dtype=gl.int64), 3)
    assert r.dtype is gl.int64 and set(r.tolist()) <= {0, 1, 2}
    assert gl.zeros_like(src, dtype=gl.int32).dtype is gl.int32
    assert gl.ones_like(src, requires_grad=True).requires_grad


def test_random_factories_ranges_and_dtypes():
    u = gl.rand(1000)
    assert 0 <= u.numpy().min() and u.numpy().max() < 1
    n = gl.randn(4000)
    assert abs(float(n.mean())) < 0.1 and abs(float(n.std()) - 1) < 0.1
    ri = gl.randint(3, 7, (500,))
    assert ri.dtype is gl.int64 and set(ri.tolist()) == {3, 4, 5, 6}
    assert gl.randint(5, (3,)).shape == (3,)
    p = gl.randperm(10)
    assert p.dtype is gl.int64 and sorted(p.tolist()) == list(range(10))
    m = gl.normal(5.0, 0.01, (100,))
    assert m.shape == (100,) and abs(float(m.mean()) - 5) < 0.01
    e = gl.normal(gl.full((3,), 10.0), 0.0)
    assert e.tolist() == [10.0, 10.0, 10.0]


def test_random_factories_reject_int_dtypes_and_bad_arguments():
    with pytest.raises(RuntimeError, match=r"randn\(\).*floating"):
        gl.randn(2, dtype=gl.int64)
    with pytest.raises(RuntimeError, match=r"randint\(\).*low < high"):
        gl.randint(5, 5, (2,))
    with pytest.raises(RuntimeError, match=r"normal\(\).*std"):
        gl.normal(0.0, -1.0, (2,))
    with pytest.raises(RuntimeError, match=r"randperm\(\).*non-negative"):
        gl.randperm(-1)
    with pytest.raises(TypeError, match=r"linspace\(\).*steps"):
        gl.linspace(0, 1, 2.5)
    with pytest.raises(RuntimeError, match=r"eye\(\)"):
        gl.eye(-1)
    with pytest.raises(TypeError, match=r"eye\(\)"):
        gl.eye(2.0)
    with pytest.raises(RuntimeError, match=r"arange\(\).*step"):
        gl.arange(0, 5, 0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: gl.tensor([1, 2], requires_grad=True),
        lambda: gl.arange(3, requires_grad=True),
        lambda: gl.zeros(2, dtype=gl.int64, requires_grad=True),
        lambda: gl.full((2,), 3, requires_grad=True),
    ],
)
def test_int_dtype_with_requires_grad_raises(make):
    with pytest.raises(RuntimeError, match="floating point dtype can require gradients"):
        make()


def test_dtype_device_requires_grad_keywords():
    t = gl.zeros(2, dtype=gl.float64, device="cpu:1", requires_grad=True)
    assert t.dtype is gl.float64 and t.device == gl.device("cpu:1") and t.requires_grad
    assert t.is_leaf
    assert gl.tensor([1.0], device=gl.device("cpu:2")).device == "cpu:2"
    assert gl.ones(2, dtype="float64").dtype is gl.float64


# ----- seeds and generators -----------------------------------------------------------------


def test_manual_seed_reproduces_the_same_numbers():
    gl.manual_seed(123)
    a = (gl.rand(5), gl.randn(5), gl.randint(0, 100, (5,)), gl.randperm(8), gl.normal(0, 1, (3,)))
    gl.manual_seed(123)
    b = (gl.rand(5), gl.randn(5), gl.randint(0, 100, (5,)), gl.randperm(8), gl.normal(0, 1, (3,)))
    for x, y in zip(a, b):
        assert x.tolist() == y.tolist()
    gl.manual_seed(124)
    assert gl.rand(5).tolist() != a[0].tolist()
    assert gl.initial_seed() == 124


def test_logical_cpu_devices_draw_from_the_same_seeded_stream():
    gl.manual_seed(7)
    a = gl.rand(4, device="cpu:1")
    gl.manual_seed(7)
    b = gl.rand(4)
    assert a.tolist() == b.tolist() and a.device == "cpu:1"


def test_generator_objects_are_independent_of_the_global_seed():
    g1 = gl.Generator().manual_seed(5)
    a = gl.rand(4, generator=g1)
    gl.manual_seed(0)
    gl.rand(10)  # the global stream moving on does not move g1
    g2 = gl.Generator()
    g2.manual_seed(5)
    assert gl.rand(4, generator=g2).tolist() == a.tolist()
    # Same seed, same position in the stream: the same numbers again.
    assert gl.randn(3, generator=g1).tolist() == gl.randn(3, generator=g2).tolist()
    state = g1.get_state()
    x = gl.randn(3, generator=g1)
    g1.set_state(state)
    assert gl.randn(3, generator=g1).tolist() == x.tolist()
    assert g1.initial_seed() == 5


def test_generator_works_for_every_random_factory():
    for fn in (
        lambda g: gl.rand(3, generator=g),
        lambda g: gl.randn(3, generator=g),
        lambda g: gl.randint(0, 9, (3,), generator=g),
        lambda g: gl.randperm(5, generator=g),
        lambda g: gl.normal(0.0, 1.0, (3,), generator=g),
    ):
        assert (
            fn(gl.Generator().manual_seed(1)).tolist() == fn(gl.Generator().manual_seed(1)).tolist()
        )


class _CupyLikeGenerator:
    """What CuPy 14's ``cupy.random.Generator`` offers of the draws graphlab uses (random,
    standard_normal, integers; no normal, permutation or bit_generator), backed by NumPy."""

    def __init__(self, seed):
        self._np = np.random.default_rng(seed)

    def random(self, size=None, dtype=np.float64, out=None):
        return self._np.random(size, dtype=dtype)

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        return self._np.standard_normal(size, dtype=dtype)

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        return self._np.integers(low, high, size, dtype=dtype, endpoint=endpoint)


def test_cupy_draws_add_normal_and_permutation_to_cupys_generator():
    draws = gl.random.CupyDraws(_CupyLikeGenerator(0))
    perm = draws.permutation(1000)
    assert sorted(perm.tolist()) == list(range(1000)) and perm.tolist() != list(range(1000))
    z = draws.normal(5.0, 0.5, (20_000,))
    assert z.shape == (20_000,)
    assert abs(z.mean() - 5.0) < 0.02 and abs(z.std() - 0.5) < 0.02
    assert draws.random((2, 3), dtype="float32").dtype == np.float32
    assert draws.integers(0, 3, (50,)).max() <= 2
    assert draws.standard_normal(4).shape == (4,)


@pytest.mark.gpu
def test_every_random_factory_draws_on_cuda_reproducibly():
    def draw():
        return (
            gl.rand(5, device="cuda"),
            gl.randn(5, device="cuda"),
            gl.randint(0, 100, (5,), device="cuda"),
            gl.randperm(8, device="cuda"),
            gl.normal(0.0, 1.0, (3,), device="cuda"),
            gl.nn.functional.dropout(gl.ones(64, device="cuda"), 0.5),
        )

    gl.manual_seed(3)
    a = draw()
    gl.manual_seed(3)
    b = draw()
    for x, y in zip(a, b):
        assert x.device == "cuda:0" and x.tolist() == y.tolist()
    assert sorted(a[3].tolist()) == list(range(8))
    g = gl.Generator("cuda")
    with pytest.raises(RuntimeError, match="get_state: saving CUDA generator state"):
        g.get_state()
    with pytest.raises(RuntimeError, match="set_state: restoring CUDA generator state"):
        g.set_state({})


def test_manual_seed_rejects_non_ints():
    with pytest.raises(TypeError, match="manual_seed"):
        gl.manual_seed(1.5)


@pytest.mark.parametrize("fn", [gl.zeros, gl.ones, gl.empty, gl.rand, gl.randn])
def test_shape_as_size_keyword(fn):
    assert fn(size=(2, 3)).shape == (2, 3)
    with pytest.raises(TypeError, match="not both"):
        fn(2, size=(2, 3))
