"""Convolutions against PyTorch: conv1d/conv2d/conv_transpose2d, modules, gradcheck, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn
from graphlab.nn import functional as F

torch = pytest.importorskip("torch")
from torch_compare import TF, TOL, _np, compare, compare_module, copy_params  # noqa: E402

rng = np.random.default_rng(0)

CONV2D_CASES = [
    dict(),
    dict(stride=2),
    dict(stride=(2, 1), padding=1),
    dict(padding="same"),
    dict(padding="same", dilation=2),
    dict(padding="valid", dilation=(2, 1)),
    dict(padding=(2, 0), dilation=2, stride=2),
    dict(groups=2, padding=1),
    dict(groups=4, stride=2),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("kw", CONV2D_CASES, ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(kw, bias):
    x = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((8, 4 // kw.get("groups", 1), 3, 2))
    arrays = [x, w] + ([rng.standard_normal(8)] if bias else [])
    compare(lambda *a: F.conv2d(*a, **kw), lambda *a: TF.conv2d(*a, **kw), arrays)


def test_conv2d_float32_and_even_kernel_same():
    x = rng.standard_normal((3, 2, 7, 6))
    w = rng.standard_normal((5, 2, 4, 4))
    b = rng.standard_normal(5)
    for kw in (dict(padding="same"), dict(stride=3, padding=2)):
        compare(
            lambda *a, kw=kw: F.conv2d(*a, **kw),
            lambda *a, kw=kw: TF.conv2d(*a, **kw),
            [x, w, b],
            dtype=np.float32,
        )


@pytest.mark.parametrize(
    "kw", [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=3), dict(groups=3)]
)
def test_conv1d_matches_torch(kw):
    x = rng.standard_normal((2, 6, 11))
    w = rng.standard_normal((3, 6 // kw.get("groups", 1), 3))
    compare(
        lambda *a: F.conv1d(*a, **kw),
        lambda *a: TF.conv1d(*a, **kw),
        [x, w, rng.standard_normal(3)],
    )


def test_unbatched_conv():
    x = rng.standard_normal((3, 6, 5))
    w = rng.standard_normal((2, 3, 3, 3))
    compare(lambda a, b: F.conv2d(a, b, padding=1), lambda a, b: TF.conv2d(a, b, padding=1), [x, w])


CONVT_CASES = [
    dict(),
    dict(stride=2),
    dict(stride=2, padding=1, output_padding=1),
    dict(stride=(3, 2), padding=(1, 2), output_padding=(2, 1), dilation=(1, 2)),
    dict(groups=2, stride=2),
    dict(dilation=2, padding=2),
]


@pytest.mark.parametrize("kw", CONVT_CASES, ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_transpose2d_matches_torch(kw, bias):
    g = kw.get("groups", 1)
    x = rng.standard_normal((2, 4, 5, 6))
    w = rng.standard_normal((4, 6 // g, 3, 4))
    arrays = [x, w] + ([rng.standard_normal(6)] if bias else [None])

    def run(fn, mod):
        def f(a, b, c=None):
            return fn(a, b, c, **kw)

        return f

    arrays = [a for a in arrays if a is not None]
    compare(run(F.conv_transpose2d, gl), run(TF.conv_transpose2d, torch), arrays)


def test_conv_transpose_float32_and_1d():
    x = rng.standard_normal((2, 3, 7))
    w = rng.standard_normal((3, 2, 3))
    kw = dict(stride=2, padding=1, output_padding=1)
    compare(
        lambda *a: F.conv_transpose1d(*a, **kw),
        lambda *a: TF.conv_transpose1d(*a, **kw),
        [x, w],
        dtype=np.float32,
    )


@pytest.mark.parametrize(
    "kw", [dict(stride=2, padding=1), dict(padding="same", dilation=2, groups=2)], ids=str
)
def test_conv2d_gradcheck(kw):
    x = gl.tensor(rng.standard_normal((2, 2, 5, 4)), requires_grad=True)
    w = gl.tensor(rng.standard_normal((2, 2 // kw.get("groups", 1), 3, 2)), requires_grad=True)
    b = gl.tensor(rng.standard_normal(2), requires_grad=True)
    assert gl.autograd.gradcheck(lambda *a: F.conv2d(*a, **kw), (x, w, b))


def test_conv_transpose2d_gradcheck():
    x = gl.tensor(rng.standard_normal((1, 2, 3, 3)), requires_grad=True)
    w = gl.tensor(rng.standard_normal((2, 2, 2, 3)), requires_grad=True)
    b = gl.tensor(rng.standard_normal(2), requires_grad=True)
    kw = dict(stride=2, padding=1, output_padding=1, dilation=(1, 2))
    assert gl.autograd.gradcheck(lambda *a: F.conv_transpose2d(*a, **kw), (x, w, b))


def test_conv_output_is_contiguous():
    y = F.conv2d(gl.randn(2, 3, 6, 6), gl.randn(4, 3, 3, 3))
    assert y.is_contiguous()
    assert tuple(y.view(2, -1).shape) == (2, 64)


# ----- modules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        dict(in_channels=4, out_channels=6, kernel_size=3),
        dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, bias=False),
        dict(in_channels=4, out_channels=6, kernel_size=(3, 2), padding="same", dilation=2),
        dict(in_channels=4, out_channels=6, kernel_size=3, groups=2, padding=1),
        dict(in_channels=4, out_channels=6, kernel_size=3, padding=2, padding_mode="reflect"),
        dict(in_channels=4, out_channels=6, kernel_size=3, padding=1, padding_mode="circular"),
        dict(
            in_channels=4, out_channels=6, kernel_size=2, padding="same", padding_mode="replicate"
        ),
    ],
    ids=str,
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv2d_module_with_copied_weights(args, dtype):
    tm = torch.nn.Conv2d(**args)
    gm = nn.Conv2d(**args)
    if dtype == np.float64:
        tm, gm = tm.double(), gm.double()
    copy_params(gm, tm)
    assert repr(gm) == repr(tm)
    compare_module(gm, tm, rng.standard_normal((2, 4, 7, 8)), dtype)


def test_conv1d_module():
    tm, gm = torch.nn.Conv1d(3, 5, 3, stride=2, padding=1).double(), nn.Conv1d(3, 5, 3, 2, 1)
    gm.double()
    copy_params(gm, tm)
    assert repr(gm) == repr(tm)
    compare_module(gm, tm, rng.standard_normal((2, 3, 10)))


def test_conv_transpose2d_module_and_output_size():
    args = dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1, groups=2)
    tm, gm = torch.nn.ConvTranspose2d(**args).double(), nn.ConvTranspose2d(**args).double()
    copy_params(gm, tm)
    assert repr(gm) == repr(tm)
    compare_module(gm, tm, rng.standard_normal((2, 4, 5, 5)))
    x = rng.standard_normal((1, 4, 5, 5))
    y = gm(gl.tensor(x), output_size=[10, 10])
    t = tm(torch.tensor(x), output_size=[10, 10])
    np.testing.assert_allclose(_np(y), _np(t), **TOL[np.float64])
    with pytest.raises(ValueError, match="valid sizes"):
        gm(gl.tensor(x), output_size=(12, 12))


def test_default_init_matches_pytorch_bounds():
    gl.manual_seed(0)
    m = nn.Conv2d(16, 8, 3)
    bound = 1 / math.sqrt(16 * 9)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    t = nn.ConvTranspose2d(4, 6, 3, groups=2)  # fan_in = weight.size(1) * 9 = 27
    assert tuple(t.weight.shape) == (4, 3, 3, 3)
    assert np.abs(t.bias.detach().numpy()).max() <= 1 / math.sqrt(27)


def test_lazy_conv2d_materializes_in_place():
    gl.manual_seed(0)
    m = nn.LazyConv2d(8, 3, padding=1)
    w0 = m.weight
    assert nn.parameter.is_lazy(m.weight)
    opt_params = list(m.parameters())
    y = m(gl.randn(2, 5, 6, 6))
    assert tuple(y.shape) == (2, 8, 6, 6)
    assert m.weight is w0 and opt_params[0] is w0
    assert tuple(m.weight.shape) == (8, 5, 3, 3) and m.in_channels == 5
    assert repr(m) == "Conv2d(5, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert np.abs(m.weight.detach().numpy()).max() <= 1 / math.sqrt(45)


# ----- bad input ------------------------------------------------------------------------------


def test_wrong_channels_names_layer_and_shapes():
    net = nn.Sequential(nn.Conv2d(3, 4, 3))
    with pytest.raises(ValueError) as info:
        net(gl.randn(2, 4, 8, 8))
    msg = str(info.value)
    assert "Conv2d expected input with 3 channels, got 4: input shape (2, 4, 8, 8)" in msg
    assert msg.startswith("net.0 (Conv2d(3, 4")


def test_wrong_rank_and_functional_errors():
    with pytest.raises(ValueError, match="expected 3D \\(unbatched\\) or 4D"):
        nn.Conv2d(3, 4, 3)(gl.randn(3, 8))
    w = gl.randn(4, 3, 3, 3)
    with pytest.raises(RuntimeError, match="expected input with 3 channels"):
        F.conv2d(gl.randn(1, 2, 5, 5), w)
    with pytest.raises(ValueError, match="strided"):
        F.conv2d(gl.randn(1, 3, 5, 5), w, stride=2, padding="same")
    with pytest.raises(RuntimeError, match="too small"):
        F.conv2d(gl.randn(1, 3, 2, 2), w)
    with pytest.raises(RuntimeError, match="same dtype"):
        F.conv2d(gl.randn(1, 3, 5, 5, dtype=gl.float64), w)
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(gl.randn(1, 4, 3, 3), gl.randn(4, 2, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
