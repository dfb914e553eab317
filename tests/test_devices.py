"""Devices: parsing, logical CPU devices, moves between them, and CUDA (marked ``gpu``).

Without CuPy and a GPU, the CUDA paths must fail with an error that says how to install the
extra; the ``gpu`` tests run the same code on a real device.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

import graphlab as gl

# ----- parsing, equality, repr ------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, type_, index",
    [("cpu", "cpu", 0), ("cpu:0", "cpu", 0), ("cpu:1", "cpu", 1), ("cuda", "cuda", 0)]
    + [("cuda:0", "cuda", 0), ("cuda:1", "cuda", 1), ("cpu:12", "cpu", 12)],
)
def test_device_parsing(spec, type_, index):
    d = gl.device(spec)
    assert d.type == type_ and d.index == index
    assert gl.device(d) is d and gl.device(spec) is d  # interned: one object per device


def test_device_from_type_and_index_or_int():
    assert gl.device("cuda", 1) == "cuda:1" and gl.device("cpu", 2) == "cpu:2"
    assert gl.device(1) == gl.device("cuda:1")


def test_device_equality_with_strings_and_devices():
    assert gl.device("cpu") == "cpu" and gl.device("cpu") == "cpu:0"
    assert gl.device("cpu:1") == "cpu:1" and gl.device("cpu:1") != "cpu"
    assert gl.device("cuda") == "cuda:0" and gl.device("cuda:1") != "cuda:0"
    assert gl.device("cpu") != "not a device" and gl.device("cpu") != 3
    assert len({gl.device("cpu"), gl.device("cpu:0"), gl.device("cpu:1")}) == 2


@pytest.mark.parametrize("spec", ["cpu", "cpu:1", "cuda:0", "cuda:1"])
def test_device_repr_and_str_match_torch(spec):
    torch = pytest.importorskip("torch")
    g, t = gl.device(spec), torch.device(spec)
    assert repr(g) == repr(t) and str(g) == str(t)


def test_documented_device_differences_from_torch():
    # NOTE: graphlab devices are canonical: "cuda" means cuda:0 and "cpu:0" means "cpu", so
    # the index PyTorch leaves unset (or prints for cpu:0) reads differently.
    assert repr(gl.device("cuda")) == "device(type='cuda', index=0)"
    assert repr(gl.device("cpu:0")) == "device(type='cpu')"


@pytest.mark.parametrize(
    "spec, exc, pattern",
    [
        ("gpu", ValueError, "unknown device type 'gpu'"),
        ("CPU", ValueError, "unknown device type"),
        ("", ValueError, "unknown device type"),
        ("cuda:x", ValueError, "bad index"),
        ("cuda:-1", ValueError, "bad index"),
        ("cpu:", ValueError, "bad index"),
        ("cuda:1:2", ValueError, "bad index"),
        (3.5, TypeError, "expected a string"),
        (None, TypeError, "expected a string"),
    ],
)
def test_bad_device_specs_raise(spec, exc, pattern):
    with pytest.raises(exc, match=pattern):
        gl.device(spec)


def test_devices_are_immutable():
    with pytest.raises(AttributeError, match="immutable"):
        gl.device("cpu").index = 3


# ----- logical CPU devices ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn, name",
    [
        (lambda a, b: a + b, "add"),
        (lambda a, b: a * b, "mul"),
        (lambda a, b: a @ b, "matmul"),
        (lambda a, b: gl.where(a > 0, a, b), "where"),
    ],
)
def test_mixing_logical_cpu_devices_raises_naming_the_op_and_both_devices(fn, name):
    a = gl.ones(2, 2)
    b = gl.ones(2, 2, device="cpu:1")
    with pytest.raises(RuntimeError, match=rf"{name}.*same device.*cpu and cpu:1"):
        fn(a, b)


def test_mixing_devices_in_inplace_ops_raises_and_leaves_the_tensor_unchanged():
    a = gl.ones(2)
    with pytest.raises(RuntimeError, match="cpu.*cpu:1"):
        a.add_(gl.ones(2, device="cpu:1"))
    with pytest.raises(RuntimeError, match="cpu:1"):
        a[0] = gl.tensor(5.0, device="cpu:1")
    assert a.tolist() == [1.0, 1.0]


def test_python_scalars_mix_with_any_device():
    x = gl.ones(2, device="cpu:1")
    y = x * 2 + 1
    assert y.device == "cpu:1" and y.tolist() == [3.0, 3.0]


def test_to_logical_device_is_a_real_copy():
    x = gl.tensor([1.0, 2.0])
    y = x.to("cpu:1")
    assert y.device == "cpu:1" and y.tolist() == [1.0, 2.0]
    assert not np.shares_memory(x.numpy(), y.numpy())
    y.add_(1)
    assert x.tolist() == [1.0, 2.0]
    assert y.to("cpu:1") is y
    back = y.to("cpu")
    assert back.device == "cpu" and not np.shares_memory(back.numpy(), y.numpy())


def test_device_move_is_differentiable():
    x = gl.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("cpu:1")
    assert y.grad_fn is not None and y.requires_grad
    z = (y * y).sum()
    assert z.device == "cpu:1"
    z.backward()
    assert x.grad.device == "cpu" and x.grad.tolist() == [2.0, 4.0]
    # Round trip: cpu -> cpu:1 -> cpu:2 -> cpu.
    x.grad = None
    (x.to("cpu:1").to("cpu:2").cpu() * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_copy_between_logical_devices():
    dst = gl.zeros(2, device="cpu:1")
    dst.copy_(gl.tensor([3.0, 4.0]))
    assert dst.device == "cpu:1" and dst.tolist() == [3.0, 4.0]


def test_factories_place_tensors_on_logical_devices():
    for fn in (gl.zeros, gl.ones, gl.rand, gl.randn, gl.empty):
        assert fn(2, device="cpu:3").device == "cpu:3"
    assert gl.arange(3, device="cpu:3").device == "cpu:3"
    assert gl.tensor([1], device="cpu:3").device == "cpu:3"


# ----- CUDA without CuPy / a GPU ----------------------------------------------------------------


@pytest.fixture
def no_gpu():
    if gl.cuda.is_available():
        pytest.skip("a GPU is present; these tests check the errors without one")


def test_cuda_is_not_available_here(no_gpu):
    assert gl.cuda.is_available() is False
    assert gl.cuda.device_count() == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda: gl.ones(2).cuda(),
        lambda: gl.ones(2).to("cuda"),
        lambda: gl.ones(2).to("cuda:1"),
        lambda: gl.zeros(2, device="cuda"),
        lambda: gl.tensor([1.0], device="cuda"),
        lambda: gl.randn(2, device="cuda"),
    ],
)
def test_cuda_without_cupy_names_the_install_extra(no_gpu, make):
    try:
        import cupy  # noqa: F401
    except Exception:
        with pytest.raises(RuntimeError, match=r"cuda12.*cuda13|cuda13.*cuda12"):
            make()
    else:
        with pytest.raises(Exception):  # CuPy present but no usable GPU
            make()


def test_pin_memory_without_a_gpu_raises_clearly(no_gpu):
    x = gl.ones(2)
    with pytest.raises(RuntimeError, match="pin_memory.*CUDA"):
        x.pin_memory()
    assert x.is_pinned() is False


def test_is_pinned_is_false_for_ordinary_tensors():
    assert gl.ones(2).is_pinned() is False
    assert gl.ones(2, device="cpu:1").is_pinned() is False


# ----- the CuPy backend against CuPy 14's contracts, on the CPU ---------------------------------
# NOTE: CuPy is replaced by NumPy plus the checks CuPy makes, so these run without a GPU.

_CUPY_ATOMIC_ADD = ("int32", "uint32", "uint64", "float16", "float32", "float64")


class _ScatterAddLikeCupy:
    """``cupyx.scatter_add`` (CuPy 14): values cast to the target's dtype; dtypes without a CUDA
    atomicAdd raise TypeError."""

    @staticmethod
    def scatter_add(a, slices, value):
        v = np.asarray(value).astype(a.dtype)
        if v.dtype.name not in _CUPY_ATOMIC_ADD:
            raise TypeError(f"cupy.add.at does not support {v.dtype}")
        np.add.at(a, slices, v)


@pytest.mark.parametrize(
    "dtype", ["float16", "float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"]
)
def test_cupy_add_at_accumulates_every_dtype_within_cupys_atomic_dtypes(monkeypatch, dtype):
    from graphlab.backends import cupy_backend as cb

    monkeypatch.setattr(cb, "xp", np)
    monkeypatch.setattr(cb, "cupyx", _ScatterAddLikeCupy)
    big = 2**60 if dtype == "int64" else 1  # NOTE: beyond float64's exact integers
    target = np.array([5, 0, 1, 0], dtype=dtype)
    index = (np.array([0, 2, 0, 2, 2]),)
    values = np.array([big, -1, 3, big, 1]).astype(dtype)  # NOTE: -1 wraps when unsigned
    expected = target.copy()
    np.add.at(expected, index, values)
    cb.add_at(target, index, values)
    np.testing.assert_array_equal(target, expected)


class _DeviceArrayLikeCupy:
    """What ``cupy.empty(shape, dtype).set(host)`` checks (CuPy 14): same dtype and shape."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype, self.host = tuple(shape), np.dtype(dtype), None

    def set(self, arr, stream=None):
        if arr.dtype != self.dtype or arr.shape != self.shape:
            raise ValueError(f"Shape mismatch. Old shape: {self.shape}, new shape: {arr.shape}")
        self.host = np.array(arr)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_cupy_from_host_keeps_the_shape_set_checks(monkeypatch, shape):
    import contextlib
    import types

    from graphlab.backends import cupy_backend as cb

    fake = types.SimpleNamespace(
        empty=_DeviceArrayLikeCupy, cuda=types.SimpleNamespace(Device=contextlib.nullcontext)
    )
    monkeypatch.setattr(cb, "xp", fake)
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    out = cb.from_host(a if a.ndim < 2 else a.T, gl.device("cuda"))
    np.testing.assert_array_equal(out.host, a if a.ndim < 2 else a.T)


def test_get_device_name_takes_an_int_a_string_or_a_device(monkeypatch):
    # NOTE: CuPy's getDeviceProperties gives the name as bytes; a stand-in records the index.
    asked = []

    def props(i):
        asked.append(i)
        return {"name": b"Stand-in GPU"}

    runtime = types.SimpleNamespace(getDeviceProperties=props)
    fake = types.SimpleNamespace(
        xp=types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime))
    )
    monkeypatch.setattr(gl.backends, "cuda", lambda: fake)
    for d in (1, "cuda:1", gl.device("cuda:1")):
        assert gl.cuda.get_device_name(d) == "Stand-in GPU"
    assert gl.cuda.get_device_name() == "Stand-in GPU"
    assert asked == [1, 1, 1, 0]


def test_pinned_host_arrays_belong_to_the_numpy_backend():
    # NOTE: NumPy 2 arrays have a ``device`` attribute too; a pinned array (an ndarray subclass
    # from the CuPy backend) is host memory all the same.
    from graphlab import backends
    from graphlab.backends import cupy_backend as cb

    pinned = cb._PinnedArray(np.arange(3.0), None)
    assert backends.for_array(pinned) is backends.numpy_backend
    assert backends.for_array(pinned * 2) is backends.numpy_backend
    assert backends.for_array(np.float32(1)) is backends.numpy_backend
    assert gl.tensor(pinned).tolist() == [0.0, 1.0, 2.0]


def _pinned_stand_in(n: int):
    """A _PinnedArray over a NumPy buffer, with a PinnedMemoryPointer-like record of it."""
    import types

    from graphlab.backends import cupy_backend as cb

    buf = np.zeros(n)
    mem = types.SimpleNamespace(ptr=buf.__array_interface__["data"][0], size=buf.nbytes)
    return cb._PinnedArray(buf, mem)


def test_only_arrays_in_the_pinned_buffer_say_they_are_pinned():
    from graphlab.backends.numpy_backend import is_pinned

    p = _pinned_stand_in(8)
    assert is_pinned(p) and is_pinned(p[2:]) and is_pinned(p.reshape(2, 4).T)
    # NOTE: results keep the subclass but live in new, pageable memory
    for result in (p * 2, p.copy(), np.exp(p), p[::2] + 1):
        assert not is_pinned(result) and result._mem is None


def test_non_blocking_copies_keep_their_host_array_until_the_gpu_has_read_it(monkeypatch):
    import types
    import weakref

    from graphlab.backends import cupy_backend as cb

    class Event:
        def __init__(self, block=False, disable_timing=False):
            self.done = False

        def record(self, stream=None):
            pass

    monkeypatch.setattr(cb, "xp", types.SimpleNamespace(cuda=types.SimpleNamespace(Event=Event)))
    monkeypatch.setattr(cb, "_in_flight", [])
    batch = _pinned_stand_in(4)
    alive = weakref.ref(batch)
    cb._keep_until_copied(batch, stream="s")
    del batch
    assert alive() is not None  # the copy may still be reading it
    cb._in_flight[0][0].done = True
    cb._keep_until_copied(_pinned_stand_in(4), stream="s")  # the next copy prunes finished ones
    assert alive() is None and len(cb._in_flight) == 1


# ----- CUDA on a GPU ----------------------------------------------------------------------------


@pytest.mark.gpu
def test_gpu_tensors_cuda_and_cpu():
    x = gl.tensor([1.0, 2.0])
    c = x.cuda()
    assert c.device == "cuda:0" and c.is_cuda and c.tolist() == [1.0, 2.0]
    assert c.cuda() is c
    back = c.cpu()
    assert back.device == "cpu" and back.tolist() == [1.0, 2.0]
    z = gl.zeros(2, 3, device="cuda")
    assert z.device == "cuda" and z.shape == (2, 3)
    assert repr(c) == "tensor([1., 2.], device='cuda:0')"
    assert (c * 2 + 1).tolist() == [3.0, 5.0]
    with pytest.raises(TypeError, match="cpu"):
        c.numpy()


@pytest.mark.gpu
def test_gpu_mixing_cuda_and_cpu_raises():
    a = gl.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match=r"add.*cuda:0 and cpu|add.*cpu and cuda:0"):
        a + gl.ones(2)
    with pytest.raises(RuntimeError, match="cuda"):
        gl.ones(2) * a


@pytest.mark.gpu
def test_gpu_gradients_flow_across_the_device_move():
    x = gl.tensor([1.0, 2.0], requires_grad=True)
    y = x.cuda()
    (y * y).sum().backward()
    assert x.grad.device == "cpu" and x.grad.tolist() == [2.0, 4.0]
    w = gl.ones(2, device="cuda", requires_grad=True)
    (w.cpu() * 3).sum().backward()
    assert w.grad.device == "cuda:0" and w.grad.tolist() == [3.0, 3.0]


@pytest.mark.gpu
def test_gpu_manual_seed_is_reproducible():
    gl.manual_seed(11)
    a = gl.randn(5, device="cuda").tolist()
    b = gl.rand(5, device="cuda").tolist()
    gl.manual_seed(11)
    assert gl.randn(5, device="cuda").tolist() == a
    assert gl.rand(5, device="cuda").tolist() == b


@pytest.mark.gpu
def test_gpu_pin_memory():
    x = gl.ones(4)
    p = x.pin_memory()
    assert p.is_pinned() and not x.is_pinned() and p.tolist() == x.tolist()
    assert p.cuda(non_blocking=True).cpu().tolist() == [1.0] * 4


@pytest.mark.gpu
def test_gpu_inplace_and_views():
    base = gl.zeros(2, 3, device="cuda")
    base[0] += 1
    base[:, 2].fill_(5)
    assert base.tolist() == [[1.0, 1.0, 5.0], [0.0, 0.0, 5.0]]
    w = gl.ones(2, 2, device="cuda", requires_grad=True)
    h = w * 1
    h[0].mul_(3)
    h.sum().backward()
    assert w.grad.tolist() == [[3.0, 3.0], [1.0, 1.0]]


@pytest.mark.gpu
def test_gpu_zero_dim_tensors_move_both_ways():
    c = gl.tensor(3.5).cuda()
    assert c.device == "cuda:0" and c.shape == () and c.item() == 3.5
    assert c.cpu().shape == () and c.cpu().item() == 3.5
    p = gl.tensor(2.0).pin_memory()
    assert p.to("cuda", non_blocking=True).item() == 2.0
    assert gl.tensor(7, dtype=gl.int64, device="cuda").item() == 7
    bn = gl.nn.BatchNorm1d(3).cuda()  # its num_batches_tracked is a 0-d int64 buffer
    assert bn.num_batches_tracked.device == "cuda:0"


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool", "float16"])
def test_gpu_scatter_add_and_index_backward_match_the_cpu_in_every_dtype(dtype):
    big = 2**60 if dtype == "int64" else 1  # NOTE: exact only if added as integers
    index = gl.tensor([0, 2, 0, 2, 2])
    src = gl.tensor(np.array([big, 1, 3, big, 1]).astype(dtype))
    x = gl.tensor(np.array([5, 0, 1, 0]).astype(dtype))
    cpu = x.scatter_add(0, index, src)
    gpu = x.cuda().scatter_add(0, index.cuda(), src.cuda())
    assert gpu.device == "cuda:0" and gpu.dtype is cpu.dtype
    assert gpu.tolist() == cpu.tolist()


@pytest.mark.gpu
def test_gpu_pinned_tensors_still_compute_on_the_cpu():
    p = gl.zeros(3).pin_memory()
    out = p.scatter_add(0, gl.tensor([0, 0, 2]), gl.ones(3))
    assert out.device == "cpu" and out.tolist() == [2.0, 0.0, 1.0]
    assert gl.as_tensor(p.numpy()).tolist() == [0.0, 0.0, 0.0]
