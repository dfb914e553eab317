"""``pad`` and ``interpolate`` against PyTorch: modes, pad order, sizes/scales, gradients."""

from __future__ import annotations

import numpy as np
import pytest

import graphlab as gl
from graphlab.nn import functional as F

torch = pytest.importorskip("torch")
from torch_compare import TF, compare  # noqa: E402

rng = np.random.default_rng(5)
X = rng.standard_normal((2, 3, 5, 6))

PAD_CASES = [
    ((1, 2), "constant"),
    ((1, 2, 3, 0), "constant"),
    ((-1, 2, 1, -2), "constant"),
    ((1, 1, 2, 2, 1, 0), "constant"),
    ((2, 1, 3, 4), "reflect"),
    ((2, 1, 3, 4), "replicate"),
    ((2, 1, 3, 4), "circular"),
    ((5, 6, 5, 5), "replicate"),
]


@pytest.mark.parametrize("pad,mode", PAD_CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pad_matches_torch(pad, mode, dtype):
    compare(lambda a: F.pad(a, pad, mode), lambda a: TF.pad(a, pad, mode), [X], dtype=dtype)


def test_pad_1d_modes_and_value():
    x = X[0]
    for mode in ("reflect", "replicate", "circular"):
        compare(lambda a, m=mode: F.pad(a, (2, 3), m), lambda a, m=mode: TF.pad(a, (2, 3), m), [x])
    compare(lambda a: F.pad(a, (1, 1), value=2.5), lambda a: TF.pad(a, (1, 1), value=2.5), [x])


def test_pad_gradcheck():
    x = gl.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    for mode in ("reflect", "replicate", "circular", "constant"):
        assert gl.autograd.gradcheck(lambda a, m=mode: F.pad(a, (2, 1, 1, 2), m), (x,))


INTERP_CASES = [
    dict(size=(7, 9)),
    dict(scale_factor=2),
    dict(scale_factor=1.7),
    dict(size=(3, 4)),
    dict(size=(3, 4), mode="nearest-exact"),
    dict(size=(7, 9), mode="bilinear"),
    dict(size=(7, 9), mode="bilinear", align_corners=True),
    dict(scale_factor=1.7, mode="bilinear"),
    dict(scale_factor=(0.6, 2.3), mode="bilinear", align_corners=True),
    dict(size=(3, 4), mode="bilinear"),
    dict(scale_factor=1.7, mode="bilinear", recompute_scale_factor=True),
    dict(size=(1, 1), mode="bilinear", align_corners=True),
]


@pytest.mark.parametrize("kw", INTERP_CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_interpolate_matches_torch(kw, dtype):
    compare(lambda a: F.interpolate(a, **kw), lambda a: TF.interpolate(a, **kw), [X], dtype=dtype)


@pytest.mark.parametrize(
    "kw", [dict(size=11, mode="linear"), dict(scale_factor=0.5), dict(size=13)], ids=str
)
def test_interpolate_1d(kw):
    compare(lambda a: F.interpolate(a, **kw), lambda a: TF.interpolate(a, **kw), [X[0]])


def test_interpolate_gradcheck():
    x = gl.tensor(rng.standard_normal((1, 1, 3, 4)), requires_grad=True)
    assert gl.autograd.gradcheck(
        lambda a: F.interpolate(a, size=(5, 7), mode="bilinear", align_corners=False), (x,)
    )
    assert gl.autograd.gradcheck(lambda a: F.interpolate(a, scale_factor=1.5), (x,))


def test_vision_bad_input():
    with pytest.raises(ValueError, match="even"):
        F.pad(gl.tensor(X), (1,))
    with pytest.raises(ValueError, match="reflect padding"):
        F.pad(gl.tensor(X), (6, 0), "reflect")
    with pytest.raises(ValueError, match="mode"):
        F.pad(gl.tensor(X), (1, 1), "mirror")
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(gl.tensor(X), size=4, align_corners=True)
    with pytest.raises(ValueError, match="exactly one"):
        F.interpolate(gl.tensor(X))
    with pytest.raises(ValueError, match="expects 4D"):
        F.interpolate(gl.tensor(X[0]), size=4, mode="bilinear")
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.interpolate(gl.tensor(X), size=4, mode="bicubic")
