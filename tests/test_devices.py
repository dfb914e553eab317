"""Devices: parsing, logical CPU devices, moves between them, and CUDA (marked ``gpu``).

Without CuPy and a GPU, the CUDA paths must fail with an error that says how to install the
extra; the ``gpu`` tests run the same code on a real device.
"""

from __future__ import annotations

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
