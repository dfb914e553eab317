"""Losses and distances against PyTorch: values, input gradients, gradcheck, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn
from graphlab.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]
TOL = {np.float64: dict(rtol=1e-6, atol=1e-10), np.float32: dict(rtol=1e-5, atol=1e-6)}


def _pair(a, requires_grad=True):
    """The same array as a graphlab tensor and a torch tensor."""
    a = np.ascontiguousarray(a)
    rg = requires_grad and a.dtype.kind == "f"
    return gl.tensor(a, requires_grad=rg), torch.tensor(a, requires_grad=rg)


def _compare(gl_fn, torch_fn, arrays, grad_of=None, dtype=np.float64):
    """Run both, compare outputs, backprop a random cotangent, compare the input gradients."""
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    grad_of = range(len(arrays)) if grad_of is None else grad_of
    pairs = [_pair(a, i in grad_of) for i, a in enumerate(arrays)]
    out_g = gl_fn(*[p[0] for p in pairs])
    out_t = torch_fn(*[p[1] for p in pairs])
    tol = TOL[dtype]
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), **tol)
    assert out_g.dtype.name == str(out_t.dtype).replace("torch.", "")
    cot = np.random.default_rng(7).standard_normal(tuple(out_t.shape)).astype(dtype)
    out_g.backward(gl.tensor(cot))
    out_t.backward(torch.tensor(cot))
    for (g, t), i in zip(pairs, range(len(pairs))):
        if i in grad_of and t.requires_grad:
            np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), **tol)


rng = np.random.default_rng(0)
X = rng.standard_normal((6, 5))
T_IDX = np.array([0, 4, 1, -100, 2, 4])
W = rng.random(5) + 0.2
P = rng.random((6, 5))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_cross_entropy_class_indices(dtype, reduction, weighted, smoothing):
    w = W.astype(dtype) if weighted else None

    def run(f, wrap):
        return lambda x: f(
            x,
            wrap(T_IDX),
            weight=None if w is None else wrap(w),
            reduction=reduction,
            label_smoothing=smoothing,
        )

    _compare(run(F.cross_entropy, gl.tensor), run(TF.cross_entropy, torch.tensor), [X], dtype=dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_spatial_and_unbatched(reduction, smoothing):
    x = rng.standard_normal((2, 3, 4, 5))
    t = rng.integers(0, 3, (2, 4, 5))
    t[1, 2, 3] = -100
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    _compare(
        lambda a: F.cross_entropy(a, gl.tensor(t), **kw),
        lambda a: TF.cross_entropy(a, torch.tensor(t), **kw),
        [x],
    )
    _compare(
        lambda a: F.cross_entropy(a, gl.tensor(3), **kw),
        lambda a: TF.cross_entropy(a, torch.tensor(3), **kw),
        [X[0]],
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_probabilities(reduction, weighted):
    def run(f, wrap):
        return lambda x, p: f(
            x, p, weight=wrap(W) if weighted else None, reduction=reduction, label_smoothing=0.2
        )

    # NOTE: the target gets a gradient too (soft labels may be produced by a network).
    _compare(run(F.cross_entropy, gl.tensor), run(TF.cross_entropy, torch.tensor), [X, P])


def test_cross_entropy_huge_logits_stay_finite():
    x = X * 1e8
    for dtype in (np.float64, np.float32):
        _compare(
            lambda a: F.cross_entropy(a, gl.tensor(T_IDX)),
            lambda a: TF.cross_entropy(a, torch.tensor(T_IDX)),
            [x],
            dtype=dtype,
        )
    xg = gl.tensor(x.astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(xg, gl.tensor(T_IDX))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(xg.grad.numpy()).all()


def test_cross_entropy_all_ignored_is_nan_like_torch():
    t = np.full(6, -100)
    g = F.cross_entropy(gl.tensor(X), gl.tensor(t)).item()
    assert np.isnan(g) and np.isnan(TF.cross_entropy(torch.tensor(X), torch.tensor(t)).item())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(dtype, reduction):
    logp = np.log(P / P.sum(1, keepdims=True))
    for weighted in (False, True):
        kw = dict(reduction=reduction, ignore_index=4)

        def run(f, wrap, kw=kw, weighted=weighted):
            w = wrap(W.astype(dtype)) if weighted else None
            return lambda x: f(x, wrap(T_IDX.clip(0)), weight=w, **kw)

        _compare(run(F.nll_loss, gl.tensor), run(TF.nll_loss, torch.tensor), [logp], dtype=dtype)


def test_nll_loss_with_minus_inf_off_target():
    with np.errstate(divide="ignore"):
        logp = np.log(np.array([[0.0, 1.0], [0.5, 0.5]]))
    t = np.array([1, 0])
    _compare(
        lambda a: F.nll_loss(a, gl.tensor(t)), lambda a: TF.nll_loss(a, torch.tensor(t)), [logp]
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "name,kw",
    [
        ("mse_loss", {}),
        ("l1_loss", {}),
        ("smooth_l1_loss", {"beta": 0.5}),
        ("smooth_l1_loss", {"beta": 0.0}),
        ("huber_loss", {"delta": 0.7}),
    ],
)
def test_regression_losses(dtype, reduction, name, kw):
    gl_fn, t_fn = getattr(F, name), getattr(TF, name)
    _compare(
        lambda a, b: gl_fn(a, b, reduction=reduction, **kw),
        lambda a, b: t_fn(a, b, reduction=reduction, **kw),
        [X, P],
        dtype=dtype,
    )


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_regression_losses_with_weight(name):
    gl_fn, t_fn = getattr(F, name), getattr(TF, name)
    for reduction in REDUCTIONS:
        _compare(
            lambda a, b, w, r=reduction: gl_fn(a, b, reduction=r, weight=w),
            lambda a, b, w, r=reduction: t_fn(a, b, reduction=r, weight=w),
            [X, P, P + 0.5],
            grad_of=(0, 1),
        )


def test_mse_broadcast_target_warns_like_torch():
    with pytest.warns(UserWarning, match="mse_loss: using a target size"):
        out = F.mse_loss(gl.tensor(X), gl.tensor(P[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = TF.mse_loss(torch.tensor(X), torch.tensor(P[0]))
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(dtype, reduction):
    q = rng.random((6, 5)) * 0.98 + 0.01
    for weighted in (False, True):

        def run(f, wrap, weighted=weighted):
            w = wrap(W.astype(dtype)) if weighted else None
            return lambda x, t: f(x, t, weight=w, reduction=reduction)

        _compare(
            run(F.binary_cross_entropy, gl.tensor),
            run(TF.binary_cross_entropy, torch.tensor),
            [q, P],
            dtype=dtype,
        )


def test_binary_cross_entropy_clamps_log_at_minus_100():
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.3])
    # NOTE: the target's gradient is compared elsewhere; at x in {0, 1} PyTorch's is +-inf
    # while graphlab's is the derivative of the clamped (finite) loss.
    _compare(
        lambda a, b: F.binary_cross_entropy(a, b, reduction="none"),
        lambda a, b: TF.binary_cross_entropy(a, b, reduction="none"),
        [x, t],
        grad_of=(0,),
    )
    assert F.binary_cross_entropy(gl.tensor(x), gl.tensor(t), reduction="sum").item() == 200.0 + (
        TF.binary_cross_entropy(torch.tensor(x[4:]), torch.tensor(t[4:])).item()
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(dtype, reduction):
    x = X * 30  # large scores: the naive formula overflows
    for weighted in (False, True):
        for pos in (False, True):

            def run(f, wrap, weighted=weighted, pos=pos):
                return lambda a, b: f(
                    a,
                    b,
                    weight=wrap(W.astype(dtype)) if weighted else None,
                    pos_weight=wrap(W.astype(dtype) * 2) if pos else None,
                    reduction=reduction,
                )

            _compare(
                run(F.binary_cross_entropy_with_logits, gl.tensor),
                run(TF.binary_cross_entropy_with_logits, torch.tensor),
                [x, P],
                dtype=dtype,
            )


def test_binary_cross_entropy_with_logits_exact_at_zero():
    _compare(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b),
        lambda a, b: TF.binary_cross_entropy_with_logits(a, b),
        [np.zeros(3), np.array([0.0, 0.5, 1.0])],
    )


@pytest.mark.parametrize("reduction", ["sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    logq = np.log(P / P.sum(1, keepdims=True))
    p = P / P.sum(1, keepdims=True)
    t = np.log(p[::-1] + 0.1) if log_target else p
    _compare(
        lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
        lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target),
        [logq, t],
    )
    if not log_target:
        # xlogy: a zero target contributes 0, not nan (its own gradient there is PyTorch's nan,
        # graphlab's 0 - input; only the input's gradient is compared).
        p[0, 0] = 0.0
        _compare(
            lambda a, b: F.kl_div(a, b, reduction=reduction),
            lambda a, b: TF.kl_div(a, b, reduction=reduction),
            [logq, p],
            grad_of=(0,),
        )


def test_kl_div_mean_warns_like_torch():
    with pytest.warns(UserWarning, match="batchmean"):
        out = F.kl_div(gl.tensor(X), gl.tensor(P))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = TF.kl_div(torch.tensor(X), torch.tensor(P))
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cosine_similarity_and_pairwise_distance(dtype):
    _compare(F.cosine_similarity, TF.cosine_similarity, [X, P], dtype=dtype)
    _compare(
        lambda a, b: F.cosine_similarity(a, b, dim=-1, eps=0.5),
        lambda a, b: TF.cosine_similarity(a, b, dim=-1, eps=0.5),
        [X * 0.1, P[0]],
        dtype=dtype,
    )
    _compare(
        lambda a, b: F.cosine_similarity(a, b),
        lambda a, b: TF.cosine_similarity(a, b),
        [np.zeros((2, 3)), X[:2, :3]],
        dtype=dtype,
    )
    for p in (1.0, 2.0, 3.0):
        _compare(
            lambda a, b, p=p: F.pairwise_distance(a, b, p=p, keepdim=True),
            lambda a, b, p=p: TF.pairwise_distance(a, b, p=p, keepdim=True),
            [X, P],
            dtype=dtype,
        )


def _gradcheck(fn, *arrays):
    inputs = [gl.tensor(a, dtype=gl.float64, requires_grad=True) for a in arrays]
    assert gl.autograd.gradcheck(fn, inputs)


@pytest.mark.filterwarnings("ignore:kl_div. reduction .mean.")
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_losses(reduction):
    small_x, small_p = X[:3, :4], P[:3, :4]
    t = gl.tensor(np.array([0, 3, -100]))
    w = gl.tensor(W[:4])
    r = reduction
    _gradcheck(lambda a: F.cross_entropy(a, t, weight=w, reduction=r, label_smoothing=0.2), small_x)
    _gradcheck(lambda a: F.nll_loss(a, t, weight=w, reduction=r), small_x)
    _gradcheck(lambda a, b: F.cross_entropy(a, b, reduction=r), small_x, small_p)
    _gradcheck(lambda a, b: F.mse_loss(a, b, reduction=r), small_x, small_p)
    _gradcheck(lambda a, b: F.l1_loss(a, b, reduction=r), small_x, small_p)
    _gradcheck(lambda a, b: F.smooth_l1_loss(a, b, reduction=r, beta=0.5), small_x, small_p)
    _gradcheck(lambda a, b: F.huber_loss(a, b, reduction=r, delta=0.5), small_x, small_p)
    _gradcheck(
        lambda a, b: F.binary_cross_entropy(a, b, reduction=r), small_p * 0.9 + 0.05, small_p
    )
    _gradcheck(
        lambda a, b, c: F.binary_cross_entropy_with_logits(a, b, reduction=r, pos_weight=c),
        small_x,
        small_p,
        W[:4],
    )
    _gradcheck(lambda a, b: F.kl_div(a, b, reduction=r), small_x, small_p)
    _gradcheck(lambda a, b: F.kl_div(a, b, reduction=r, log_target=True), small_x, small_p)
    _gradcheck(lambda a, b: F.cosine_similarity(a, b), small_x, small_p)
    _gradcheck(lambda a, b: F.pairwise_distance(a, b), small_x, small_p)


# -- bad input --------------------------------------------------------------------------------


def test_cross_entropy_float_class_targets_raise():
    with pytest.raises(
        RuntimeError,
        match=r"cross_entropy: expected target of class indices.*"
        r"float32.*target\.long\(\).*class probabilities",
    ):
        F.cross_entropy(gl.randn(3, 5), gl.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match="nll_loss: expected target of class indices.*int32"):
        F.nll_loss(gl.randn(3, 5), gl.tensor([1, 2, 3], dtype=gl.int32))


def test_cross_entropy_batch_mismatch_raises():
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: expected input batch_size \(3\) to "
        r"match target batch_size \(4\)",
    ):
        F.cross_entropy(gl.randn(3, 5), gl.tensor([1, 2, 3, 4]))
    with pytest.raises(ValueError, match=r"expected target of shape \(2, 4\).*got \(2, 3\)"):
        F.cross_entropy(gl.randn(2, 5, 4), gl.tensor([[1, 2, 3], [1, 2, 3]]))


def test_class_index_out_of_range_raises():
    with pytest.raises(IndexError, match=r"cross_entropy: target 7 is out of bounds.*\[0, 5\)"):
        F.cross_entropy(gl.randn(3, 5), gl.tensor([1, 2, 7]))
    with pytest.raises(IndexError, match="nll_loss: target -3 is out of bounds"):
        F.nll_loss(gl.randn(3, 5), gl.tensor([1, -3, 2]))
    F.nll_loss(gl.randn(3, 5), gl.tensor([1, -3, 2]), ignore_index=-3)  # ignored: fine


def test_other_bad_input_raises():
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 5"):
        F.cross_entropy(gl.randn(3, 5), gl.tensor([1, 2, 3]), weight=gl.ones(4))
    with pytest.raises(ValueError, match="cross_entropy: 'avg' is not a valid value for reduction"):
        F.cross_entropy(gl.randn(3, 5), gl.tensor([1, 2, 3]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0"):
        F.cross_entropy(gl.randn(3, 5), gl.tensor([1, 2, 3]), label_smoothing=1.5)
    with pytest.raises(
        ValueError,
        match=r"binary_cross_entropy: target size \(4,\) must be the "
        r"same as input size \(3,\)",
    ):
        F.binary_cross_entropy(gl.rand(3), gl.rand(4))
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits: target size"):
        F.binary_cross_entropy_with_logits(gl.rand(3), gl.rand(4))
    with pytest.raises(RuntimeError, match="should be between 0 and 1.*sigmoid"):
        F.binary_cross_entropy(gl.tensor([0.5, 1.5]), gl.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="mse_loss: the size of tensor a"):
        F.mse_loss(gl.randn(3, 5), gl.randn(4, 5))
    with pytest.raises(TypeError, match="mse_loss: expected target to be a Tensor"):
        F.mse_loss(gl.randn(3), [1.0, 2.0, 3.0])


# -- modules ----------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(
    "name,kw,arrays",
    [
        ("CrossEntropyLoss", {"ignore_index": 4, "label_smoothing": 0.1}, "idx"),
        ("CrossEntropyLoss", {"weight": W, "reduction": "sum"}, "idx"),
        ("CrossEntropyLoss", {}, "prob"),
        ("NLLLoss", {"weight": W, "reduction": "none"}, "idx"),
        ("MSELoss", {}, "prob"),
        ("L1Loss", {"reduction": "sum"}, "prob"),
        ("SmoothL1Loss", {"beta": 0.3}, "prob"),
        ("HuberLoss", {"delta": 0.3}, "prob"),
        ("BCELoss", {"weight": W}, "bce"),
        ("BCEWithLogitsLoss", {"weight": W, "pos_weight": W * 3}, "prob"),
        ("KLDivLoss", {"reduction": "batchmean", "log_target": True}, "prob"),
        ("KLDivLoss", {}, "prob"),
        ("MSELoss", {"size_average": False}, "prob"),
        ("CosineSimilarity", {"dim": 0, "eps": 1e-3}, "prob"),
        ("PairwiseDistance", {"p": 1.0, "keepdim": True}, "prob"),
    ],
)
def test_loss_modules(name, kw, arrays):
    def build(lib, wrap):
        return getattr(lib, name)(
            **{k: wrap(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        )

    gm, tm = build(nn, gl.tensor), build(torch.nn, torch.tensor)
    assert repr(gm) == repr(tm)
    assert list(gm.state_dict()) == list(tm.state_dict())
    if arrays == "idx":
        _compare(
            lambda a: gm(a, gl.tensor(T_IDX.clip(0))),
            lambda a: tm(a, torch.tensor(T_IDX.clip(0))),
            [X],
        )
    elif arrays == "bce":
        _compare(gm, tm, [P * 0.9 + 0.05, P[::-1]])
    else:
        _compare(gm, tm, [X, P])


def test_loss_module_weight_buffer_moves_with_the_module():
    m = nn.CrossEntropyLoss(weight=gl.tensor(W, dtype=gl.float32)).double()
    assert m.weight.dtype is gl.float64
    out = m(gl.tensor(X), gl.tensor(T_IDX))
    ref = TF.cross_entropy(torch.tensor(X), torch.tensor(T_IDX), weight=torch.tensor(W))
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-6)
