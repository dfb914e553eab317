"""Attention against PyTorch with copied weights: ``scaled_dot_product_attention`` and
``nn.MultiheadAttention`` (outputs, weights, input and parameter gradients, masks, names)."""

from __future__ import annotations

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn
from graphlab.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = {np.float64: dict(rtol=1e-6, atol=1e-10), np.float32: dict(rtol=1e-5, atol=1e-6)}
rng = np.random.default_rng(0)


def _backward_both(out_t, out_g, dtype):
    w = np.cos(np.arange(out_t.numel())).reshape(tuple(out_t.shape)).astype(dtype)
    (out_t * torch.tensor(w)).sum().backward()
    (out_g * gl.tensor(w)).sum().backward()


def _sdpa_case(shapes, dtype=np.float64, mask=None, **kw):
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    gs = [gl.tensor(a, requires_grad=True) for a in arrays]
    mt = None if mask is None else torch.tensor(mask)
    mg = None if mask is None else gl.tensor(mask)
    out_t = TF.scaled_dot_product_attention(*ts, attn_mask=mt, **kw)
    out_g = F.scaled_dot_product_attention(*gs, attn_mask=mg, **kw)
    tol = TOL[dtype]
    assert tuple(out_g.shape) == tuple(out_t.shape)
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), **tol)
    _backward_both(out_t, out_g, dtype)
    for a, b in zip(ts, gs):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), **tol)


QKV = [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sdpa_plain_scaled_and_causal(dtype):
    _sdpa_case(QKV, dtype)
    _sdpa_case(QKV, dtype, scale=0.3)
    _sdpa_case([(2, 3, 5, 8), (2, 3, 5, 8), (2, 3, 5, 6)], dtype, is_causal=True)
    _sdpa_case([(4, 8), (6, 8), (6, 2)], dtype, is_causal=True)  # L < S: top-left aligned


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sdpa_masks(dtype):
    bool_mask = rng.random((4, 5)) > 0.3
    bool_mask[1] = False  # a query that may attend to nothing gives zeros, not nan
    _sdpa_case(QKV, dtype, mask=bool_mask)
    _sdpa_case(QKV, dtype, mask=rng.standard_normal((3, 4, 5)).astype(dtype))
    float_mask = np.zeros((2, 1, 4, 5), dtype)
    float_mask[..., 2] = -np.inf
    _sdpa_case(QKV, dtype, mask=float_mask)


def test_sdpa_grouped_query_attention():
    _sdpa_case([(2, 4, 3, 8), (2, 2, 5, 8), (2, 2, 5, 6)], enable_gqa=True)


def test_sdpa_bad_input_raises():
    q, k, v = gl.randn(2, 4, 8), gl.randn(2, 5, 8), gl.randn(2, 5, 6)
    with pytest.raises(ValueError, match="scaled_dot_product_attention: query and key must have"):
        F.scaled_dot_product_attention(q, gl.randn(2, 5, 7), v)
    with pytest.raises(ValueError, match="key and value must have the same sequence length"):
        F.scaled_dot_product_attention(q, k, gl.randn(2, 6, 6))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(3, 5\) does not broadcast"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=gl.ones(3, 5, dtype=gl.bool))
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=gl.ones(4, 5), is_causal=True)
    with pytest.raises(TypeError, match="only bool and floating masks"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=gl.ones(4, 5, dtype=gl.int64))


def _mha_case(kw, call_kw, shapes, *, self_attn=False, masks=None, dtype=np.float64):
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(**kw).to(
        torch.float64 if dtype == np.float64 else torch.float32
    )
    gm = nn.MultiheadAttention(**kw).to(gl.float64 if dtype == np.float64 else gl.float32)
    assert list(gm.state_dict()) == list(tm.state_dict())
    assert repr(gm) == repr(tm)
    for (_, a), (_, b) in zip(tm.state_dict().items(), gm.state_dict().items()):
        assert tuple(b.shape) == tuple(a.shape)
    gm.load_state_dict({k: gl.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    gs = [gl.tensor(a, requires_grad=True) for a in arrays]
    if self_attn:
        ts, gs = ts * 3, gs * 3
    masks = masks or {}
    out_t, w_t = tm(*ts, **call_kw, **{k: torch.tensor(v) for k, v in masks.items()})
    out_g, w_g = gm(*gs, **call_kw, **{k: gl.tensor(v) for k, v in masks.items()})
    tol = TOL[dtype]
    assert tuple(out_g.shape) == tuple(out_t.shape)
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), **tol)
    if w_t is None:
        assert w_g is None
    else:
        assert tuple(w_g.shape) == tuple(w_t.shape)
        np.testing.assert_allclose(w_g.detach().numpy(), w_t.detach().numpy(), **tol)
    _backward_both(out_t, out_g, dtype)
    for a, b in zip(ts[: len(arrays)], gs[: len(arrays)]):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), **tol)
    t_params = dict(tm.named_parameters())
    for name, p in gm.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), **tol)


CROSS = [(5, 3, 8), (6, 3, 8), (6, 3, 8)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("average", [True, False])
def test_mha_self_and_cross_attention(dtype, need_weights, average):
    call = {"need_weights": need_weights, "average_attn_weights": average}
    _mha_case({"embed_dim": 8, "num_heads": 2}, call, [(5, 3, 8)], self_attn=True, dtype=dtype)
    _mha_case({"embed_dim": 8, "num_heads": 4}, call, CROSS, dtype=dtype)
    _mha_case(
        {"embed_dim": 8, "num_heads": 2, "batch_first": True},
        call,
        [(3, 5, 8), (3, 6, 8), (3, 6, 8)],
        dtype=dtype,
    )
    _mha_case(
        {"embed_dim": 8, "num_heads": 2, "batch_first": True},
        call,
        [(3, 5, 8)],
        self_attn=True,
        dtype=dtype,
    )


def test_mha_kdim_vdim_no_bias_and_unbatched():
    _mha_case(
        {"embed_dim": 8, "num_heads": 4, "kdim": 5, "vdim": 3},
        {},
        [(5, 3, 8), (6, 3, 5), (6, 3, 3)],
    )
    _mha_case({"embed_dim": 8, "num_heads": 2, "bias": False}, {}, CROSS)
    _mha_case({"embed_dim": 8, "num_heads": 2}, {}, [(5, 8), (6, 8), (6, 8)])
    _mha_case(
        {"embed_dim": 8, "num_heads": 2, "add_bias_kv": True, "add_zero_attn": True}, {}, CROSS
    )


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_masks(need_weights):
    call = {"need_weights": need_weights}
    bool_mask = rng.random((5, 6)) < 0.3
    kpm = np.zeros((3, 6), bool)
    kpm[0, :2] = True
    kpm[2, 5] = True
    _mha_case(
        {"embed_dim": 8, "num_heads": 2},
        call,
        CROSS,
        masks={"attn_mask": bool_mask, "key_padding_mask": kpm},
    )
    _mha_case(
        {"embed_dim": 8, "num_heads": 2},
        call,
        CROSS,
        masks={"attn_mask": rng.standard_normal((6, 5, 6))},
    )
    float_kpm = np.where(kpm, -1e9, 0.0)
    _mha_case(
        {"embed_dim": 8, "num_heads": 2},
        call,
        CROSS,
        masks={"attn_mask": rng.standard_normal((5, 6)), "key_padding_mask": float_kpm},
    )
    _mha_case(
        {"embed_dim": 8, "num_heads": 2},
        call,
        [(5, 8), (6, 8), (6, 8)],
        masks={"key_padding_mask": kpm[0]},
    )
    _mha_case(
        {"embed_dim": 8, "num_heads": 2, "add_bias_kv": True},
        call,
        CROSS,
        masks={"attn_mask": bool_mask, "key_padding_mask": kpm},
    )
    causal = np.triu(np.ones((5, 5), bool), 1)
    _mha_case(
        {"embed_dim": 8, "num_heads": 2},
        dict(call, is_causal=True),
        [(5, 3, 8)],
        self_attn=True,
        masks={"attn_mask": causal},
    )


def test_mha_default_init_like_torch():
    gl.manual_seed(0)
    m = nn.MultiheadAttention(16, 4)
    bound = (6 / (16 + 48)) ** 0.5  # xavier_uniform on (3E, E)
    w = m.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert not m.in_proj_bias.detach().numpy().any()
    assert not m.out_proj.bias.detach().numpy().any()
    assert m.q_proj_weight is None and m.bias_k is None
    sep = nn.MultiheadAttention(16, 4, kdim=3, vdim=5)
    assert sep.in_proj_weight is None and tuple(sep.k_proj_weight.shape) == (16, 3)


def test_mha_dropout_on_weights_only_in_training():
    if not callable(getattr(F, "dropout", None)):
        pytest.skip("F.dropout is not written yet")
    gl.manual_seed(0)
    m = nn.MultiheadAttention(8, 2, dropout=0.5)
    x = gl.randn(5, 2, 8)
    m.eval()
    assert gl.equal(m(x, x, x)[0], m(x, x, x)[0])
    m.train()
    assert not gl.equal(m(x, x, x)[1], m(x, x, x)[1])


def test_mha_bad_input_raises():
    m = nn.MultiheadAttention(8, 2)
    x = gl.randn(5, 3, 8)
    with pytest.raises(ValueError, match="was expecting embedding dimension of 8, but got 6"):
        m(gl.randn(5, 3, 6), x, x)
    with pytest.raises(
        ValueError,
        match=r"the shape of the 2D attn_mask is \(5, 4\), but should "
        r"be \(5, 5\)",
    ):
        m(x, x, x, attn_mask=gl.zeros(5, 4))
    with pytest.raises(ValueError, match=r"expected key_padding_mask of shape \(3, 5\)"):
        m(x, x, x, key_padding_mask=gl.zeros(3, 4, dtype=gl.bool))
    with pytest.raises(ValueError, match="expected query, key and value all 3-D"):
        m(x, gl.randn(5, 8), x)
    with pytest.raises(RuntimeError, match="need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(ValueError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
