"""Normalization against PyTorch: batch/layer/group norm, running statistics, lazy batch norm."""

from __future__ import annotations

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn
from graphlab.nn import functional as F

torch = pytest.importorskip("torch")
from torch_compare import TF, TOL, compare, compare_module, copy_params  # noqa: E402

rng = np.random.default_rng(2)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 3, 4, 5)], ids=str)
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batch_norm_training_matches_torch(shape, affine, dtype):
    x = rng.standard_normal(shape) * 2 + 1
    arrays = [x] + ([rng.standard_normal(3), rng.standard_normal(3)] if affine else [])
    rm_g, rv_g = gl.zeros(3, dtype=gl.float64), gl.ones(3, dtype=gl.float64)
    rm_t, rv_t = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    if dtype == np.float32:
        rm_g, rv_g, rm_t, rv_t = rm_g.float(), rv_g.float(), rm_t.float(), rv_t.float()

    def run(fn, rm, rv):
        return lambda a, *wb: fn(a, rm, rv, *wb, training=True, momentum=0.3, eps=1e-3)

    compare(run(F.batch_norm, rm_g, rv_g), run(TF.batch_norm, rm_t, rv_t), arrays, dtype=dtype)
    np.testing.assert_allclose(rm_g.numpy(), rm_t.numpy(), **TOL[dtype])
    np.testing.assert_allclose(rv_g.numpy(), rv_t.numpy(), **TOL[dtype])


def test_batch_norm_eval_uses_running_stats():
    x = rng.standard_normal((4, 3, 2, 2))
    rm, rv = rng.standard_normal(3), rng.random(3) + 0.5
    w, b = rng.standard_normal(3), rng.standard_normal(3)

    def run(fn, wrap):
        return lambda a, c, d: fn(a, wrap(rm), wrap(rv), c, d, training=False)

    compare(run(F.batch_norm, gl.tensor), run(TF.batch_norm, torch.tensor), [x, w, b])


def test_batch_norm_gradcheck():
    x = gl.tensor(rng.standard_normal((3, 2, 2, 2)), requires_grad=True)
    w = gl.tensor(rng.standard_normal(2), requires_grad=True)
    b = gl.tensor(rng.standard_normal(2), requires_grad=True)
    assert gl.autograd.gradcheck(lambda *a: F.batch_norm(a[0], None, None, *a[1:], True), (x, w, b))


@pytest.mark.parametrize(
    "cls,shape",
    [("BatchNorm1d", (5, 3)), ("BatchNorm1d", (4, 3, 6)), ("BatchNorm2d", (4, 3, 5, 5))],
)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_module_train_eval_buffers(cls, shape, momentum):
    tm = getattr(torch.nn, cls)(3, momentum=momentum).double()
    gm = getattr(nn, cls)(3, momentum=momentum).double()
    with torch.no_grad():
        tm.weight.normal_()
        tm.bias.normal_()
    copy_params(gm, tm)
    assert repr(gm) == repr(tm)
    for _ in range(3):  # running statistics follow torch's over several steps
        compare_module(gm, tm, rng.standard_normal(shape) * 3 + 2)
        for tm_p, gm_p in ((tm.weight, gm.weight), (tm.bias, gm.bias)):
            tm_p.grad = None
            gm_p.grad = None
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(gm, name).numpy(), getattr(tm, name).numpy(), rtol=1e-6)
    assert int(gm.num_batches_tracked.item()) == 3 and gm.num_batches_tracked.dtype == gl.int64
    gm.eval()
    tm.eval()
    compare_module(gm, tm, rng.standard_normal(shape))
    assert int(gm.num_batches_tracked.item()) == 3
    assert sorted(gm.state_dict()) == sorted(tm.state_dict())


def test_batch_norm_without_running_stats_and_affine():
    tm = torch.nn.BatchNorm2d(3, affine=False, track_running_stats=False).double()
    gm = nn.BatchNorm2d(3, affine=False, track_running_stats=False).double()
    assert repr(gm) == repr(tm) and list(gm.parameters()) == []
    gm.eval()
    tm.eval()  # no running stats: eval still normalizes with the batch's statistics
    compare_module(gm, tm, rng.standard_normal((4, 3, 2, 2)))


def test_batch_norm_float32_module():
    tm, gm = torch.nn.BatchNorm2d(4), nn.BatchNorm2d(4)
    compare_module(gm, tm, rng.standard_normal((3, 4, 5, 5)), np.float32)
    np.testing.assert_allclose(gm.running_var.numpy(), tm.running_var.numpy(), rtol=1e-5)


@pytest.mark.parametrize(
    "cls,shape", [("LazyBatchNorm1d", (6, 5)), ("LazyBatchNorm2d", (3, 4, 2, 2))]
)
def test_lazy_batch_norm(cls, shape):
    m = getattr(nn, cls)()
    assert nn.parameter.is_lazy(m.weight) and nn.parameter.is_lazy(m.running_mean)
    w = m.weight
    m(gl.randn(*shape))
    assert m.weight is w and tuple(w.shape) == (shape[1],)
    assert m.num_features == shape[1]
    assert repr(m) == repr(getattr(torch.nn, cls.replace("Lazy", ""))(shape[1]))
    np.testing.assert_allclose(m.weight.detach().numpy(), 1.0)
    assert int(m.num_batches_tracked.item()) == 1


@pytest.mark.parametrize("nshape", [(5,), (4, 5)], ids=str)
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layer_norm_matches_torch(nshape, affine, dtype):
    x = rng.standard_normal((2, 3, 4, 5)) * 3
    arrays = [x] + ([rng.standard_normal(nshape), rng.standard_normal(nshape)] if affine else [])
    compare(
        lambda a, *wb: F.layer_norm(a, nshape, *wb),
        lambda a, *wb: TF.layer_norm(a, nshape, *wb),
        arrays,
        dtype=dtype,
    )


def test_layer_norm_module_and_gradcheck():
    tm, gm = torch.nn.LayerNorm((3, 4)).double(), nn.LayerNorm((3, 4)).double()
    with torch.no_grad():
        tm.weight.normal_()
        tm.bias.normal_()
    copy_params(gm, tm)
    assert repr(gm) == repr(tm)
    compare_module(gm, tm, rng.standard_normal((2, 3, 4)))
    assert repr(nn.LayerNorm(4, bias=False)) == repr(torch.nn.LayerNorm(4, bias=False))
    x = gl.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    w = gl.tensor(rng.standard_normal(3), requires_grad=True)
    assert gl.autograd.gradcheck(lambda a, b: F.layer_norm(a, (3,), b), (x, w))


@pytest.mark.parametrize("groups", [1, 2, 6])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_group_norm_matches_torch(groups, dtype):
    x = rng.standard_normal((2, 6, 3, 4)) + 1
    compare(
        lambda a, w, b: F.group_norm(a, groups, w, b),
        lambda a, w, b: TF.group_norm(a, groups, w, b),
        [x, rng.standard_normal(6), rng.standard_normal(6)],
        dtype=dtype,
    )


def test_group_norm_module_and_gradcheck():
    tm, gm = torch.nn.GroupNorm(2, 4).double(), nn.GroupNorm(2, 4).double()
    assert repr(gm) == repr(tm)
    compare_module(gm, tm, rng.standard_normal((3, 4, 5)))
    x = gl.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    w = gl.tensor(rng.standard_normal(4), requires_grad=True)
    b = gl.tensor(rng.standard_normal(4), requires_grad=True)
    assert gl.autograd.gradcheck(lambda *a: F.group_norm(a[0], 2, *a[1:]), (x, w, b))


def test_norm_bad_input():
    with pytest.raises(ValueError, match="BatchNorm2d expected input with 3 channels, got 4"):
        nn.BatchNorm2d(3)(gl.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match="expected 4D input, got 3D"):
        nn.BatchNorm2d(3)(gl.randn(2, 3, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(gl.randn(1, 3))
    with pytest.raises(RuntimeError, match="evaluation mode"):
        F.batch_norm(gl.randn(2, 3), None, None)
    with pytest.raises(ValueError, match="LayerNorm expected input with shape"):
        nn.LayerNorm(5)(gl.randn(2, 4))
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        F.group_norm(gl.randn(2, 6, 3), 4)
    with pytest.raises(ValueError, match="divisible by num_groups"):
        nn.GroupNorm(4, 6)
