"""Dropout (statistics, seeding, gradient = mask, train/eval) and Embedding against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn
from graphlab.nn import functional as F

torch = pytest.importorskip("torch")
from torch_compare import TF, TOL, _np, compare, copy_params  # noqa: E402

rng = np.random.default_rng(4)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_statistics_and_scaling(p):
    gl.manual_seed(0)
    x = gl.ones(200, 500)
    y = F.dropout(x, p)
    a = y.numpy()
    kept = a != 0
    assert abs(kept.mean() - (1 - p)) < 0.01
    np.testing.assert_allclose(a[kept], 1 / (1 - p), rtol=1e-6)
    assert abs(a.mean() - 1.0) < 0.03


def test_dropout_gradient_is_the_mask_and_seed_reproduces():
    gl.manual_seed(5)
    x = gl.tensor(rng.standard_normal((30, 40)), requires_grad=True)
    y = F.dropout(x, 0.4)
    y.sum().backward()
    mask = x.grad.numpy()
    np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy() * mask)
    assert set(np.unique(mask)) <= {0.0, 1 / 0.6}
    gl.manual_seed(5)
    np.testing.assert_array_equal(F.dropout(x, 0.4).detach().numpy(), y.detach().numpy())


def test_dropout_eval_p0_p1_and_dtype():
    x = gl.randn(4, 5)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert (F.dropout(x, 1.0).numpy() == 0).all()
    assert F.dropout(gl.randn(3, dtype=gl.float64), 0.5).dtype == gl.float64
    m = nn.Dropout(0.3)
    assert repr(m) == repr(torch.nn.Dropout(0.3))
    m.eval()
    assert m(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(-0.1)


def test_dropout_inplace():
    gl.manual_seed(1)
    x = gl.ones(10, 10)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and set(np.unique(x.numpy())) <= {0.0, 2.0}


IDX = np.array([[1, 2, 2, 0], [9, 2, 1, 1]])


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(padding_idx=2),
        dict(padding_idx=-1, scale_grad_by_freq=True),
        dict(max_norm=1.0),
        dict(max_norm=0.5, norm_type=1.0),
    ],
    ids=str,
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_embedding_functional_matches_torch(kw, dtype):
    w = rng.standard_normal((10, 4))
    gs, ts = compare(
        lambda i, a: F.embedding(i, a, **kw),
        lambda i, a: TF.embedding(i, a, **kw),
        [IDX, w],
        dtype=dtype,
    )
    # max_norm renormalizes the weight in place, as PyTorch does.
    np.testing.assert_allclose(_np(gs[1]), _np(ts[1]), **TOL[dtype])


def test_embedding_repeated_indices_accumulate():
    w = gl.zeros(3, 2, requires_grad=True)
    F.embedding(gl.tensor([0, 0, 0, 2]), w).sum().backward()
    assert w.grad.tolist() == [[3.0, 3.0], [0.0, 0.0], [1.0, 1.0]]


@pytest.mark.parametrize(
    "args,kw", [((10, 3), {}), ((10, 3), dict(padding_idx=0)), ((5, 2), dict(max_norm=2.0))]
)
def test_embedding_module_matches_torch(args, kw):
    gm, tm = nn.Embedding(*args, **kw).double(), torch.nn.Embedding(*args, **kw).double()
    assert repr(gm) == repr(tm)
    if "padding_idx" in kw:
        assert (gm.weight.detach().numpy()[kw["padding_idx"]] == 0).all()
    copy_params(gm, tm)
    idx = rng.integers(0, args[0], (3, 4))
    yg, yt = gm(gl.tensor(idx)), tm(torch.tensor(idx))
    np.testing.assert_allclose(_np(yg), _np(yt), rtol=1e-12)
    cot = rng.standard_normal(tuple(yt.shape))
    yg.backward(gl.tensor(cot))
    yt.backward(torch.tensor(cot))
    np.testing.assert_allclose(_np(gm.weight.grad), _np(tm.weight.grad), rtol=1e-12)


def test_embedding_default_init_and_from_pretrained():
    gl.manual_seed(0)
    w = nn.Embedding(1000, 50).weight.detach().numpy()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01
    pre = gl.randn(4, 3)
    e = nn.Embedding.from_pretrained(pre)
    assert not e.weight.requires_grad and repr(e) == "Embedding(4, 3)"
    np.testing.assert_array_equal(e(gl.tensor([3])).numpy()[0], pre.numpy()[3])
    assert nn.Embedding.from_pretrained(pre, freeze=False).weight.requires_grad


def test_embedding_bad_input():
    w = gl.randn(5, 2)
    with pytest.raises(IndexError, match="index 5 is out of range"):
        F.embedding(gl.tensor([1, 5]), w)
    with pytest.raises(IndexError, match="index -1 is out of range"):
        F.embedding(gl.tensor([-1]), w)
    with pytest.raises(TypeError, match="int64 or int32"):
        F.embedding(gl.tensor([1.0]), w)
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 2, padding_idx=5)
