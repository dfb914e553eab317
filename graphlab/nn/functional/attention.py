"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

Both are compositions of tensor ops (batched matmuls, a softmax over the keys), so their
gradients come from the engine. Mask conventions follow PyTorch, and they differ between the
two: for ``scaled_dot_product_attention`` a bool ``attn_mask`` is True where a query *may*
attend; for ``multi_head_attention_forward`` (and ``nn.MultiheadAttention``) a bool ``attn_mask``
or ``key_padding_mask`` is True where attention is *not allowed*. Float masks are added to the
scores in both.
"""

from __future__ import annotations

import math

from ... import _dtype
from ...creation import ones, zeros
from ...functions.elementwise import _t
from ...functions.indexing import masked_fill
from ...functions.reduction import softmax
from ...functions.shaping import cat
from ...tensor import Tensor
from .linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _dropout(x: Tensor, p: float, training: bool) -> Tensor:
    if p <= 0.0 or not training:
        return x
    from .dropout import dropout  # NOTE: at call time: the dropout module is written alongside

    return dropout(x, p=p, training=True)


def _safe_softmax(scores: Tensor) -> Tensor:
    """Softmax over the last dim where a row of only ``-inf`` gives zeros instead of nan
    (PyTorch's ``scaled_dot_product_attention`` does the same for fully masked queries)."""
    # NOTE: no data-dependent branch, so a GPU never has to sync here.
    dead = scores.detach().amax(-1, keepdim=True) == float("-inf")
    return masked_fill(softmax(masked_fill(scores, dead, 0.0), -1), dead, 0.0)


def _xp(t: Tensor):
    from ... import backends

    return backends.for_device(t.device).xp


def _mask_as_bias(mask: Tensor, dtype, name: str, allowed_when_true: bool) -> Tensor:
    """A bool or float mask as an additive float bias (``-inf`` where attention is blocked)."""
    if mask.dtype is _dtype.bool_:
        blocked = mask.logical_not() if allowed_when_true else mask
        return masked_fill(
            zeros(tuple(mask.shape), dtype=dtype, device=mask.device), blocked, float("-inf")
        )
    if not mask.is_floating_point():
        raise TypeError(
            f"{name}: only bool and floating masks are supported, got a mask of dtype "
            f"{mask.dtype}; pass mask.bool() (or an additive float mask)"
        )
    return mask.to(dtype) if mask.dtype is not dtype else mask


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """``softmax(query @ key^T * scale + bias) @ value`` over shapes ``(..., L, E)``,
    ``(..., S, E)``, ``(..., S, Ev)`` -> ``(..., L, Ev)``.

    ``attn_mask`` broadcasts to ``(..., L, S)``: a bool mask is True where a query may attend, a
    float mask is added to the scores. ``is_causal`` applies a lower-triangular mask (and
    excludes ``attn_mask``). ``scale`` defaults to ``1 / sqrt(E)``. A query that may attend to
    nothing gets a zero output, as in PyTorch. Dropout on the weights always applies when
    ``dropout_p > 0`` (pass ``dropout_p=0.0`` in evaluation, as with PyTorch).
    """
    name = "scaled_dot_product_attention"
    q, k, v = _t(query, name), _t(key, name), _t(value, name)
    for what, t in (("query", q), ("key", k), ("value", v)):
        if t.ndim < 2:
            raise ValueError(
                f"{name}: expected {what} with at least 2 dims (..., L, E), got "
                f"shape {tuple(t.shape)}"
            )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"{name}: query and key must have the same embedding size (last dim), got query "
            f"{tuple(q.shape)} and key {tuple(k.shape)}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"{name}: key and value must have the same sequence length (dim -2), got key "
            f"{tuple(k.shape)} and value {tuple(v.shape)}"
        )
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{name}: dropout_p must be in [0, 1], got {dropout_p}")
    if enable_gqa:
        k, v = _repeat_kv(name, q, k), _repeat_kv(name, q, v)
    length, src_len = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q.matmul(k.transpose(-2, -1)) * scale
    if is_causal:
        if attn_mask is not None:
            raise ValueError(
                f"{name}: pass either attn_mask or is_causal=True, not both (fold the causal "
                "mask into attn_mask instead)"
            )
        causal = ones(length, src_len, dtype=_dtype.bool_, device=q.device)
        causal = Tensor._wrap(_xp(q).tril(causal._data), q.device)
        scores = masked_fill(scores, causal.logical_not(), float("-inf"))
    elif attn_mask is not None:
        mask = _t(attn_mask, name)
        _check_mask_shape(name, mask, tuple(scores.shape))
        if mask.dtype is _dtype.bool_:
            scores = masked_fill(scores, mask.logical_not(), float("-inf"))
        else:
            scores = scores + _mask_as_bias(mask, scores.dtype, name, True)
    weights = _safe_softmax(scores) if (is_causal or attn_mask is not None) else softmax(scores, -1)
    weights = _dropout(weights, dropout_p, True)
    return weights.matmul(v)


def _repeat_kv(name: str, q: Tensor, kv: Tensor) -> Tensor:
    """Grouped-query attention: repeat each of the ``Hkv`` key/value heads ``Hq / Hkv`` times."""
    if q.ndim < 3 or kv.ndim < 3 or q.shape[-3] % kv.shape[-3]:
        raise ValueError(
            f"{name}: enable_gqa needs (..., H, L, E) inputs whose query head count is a multiple "
            f"of the key/value head count, got query {tuple(q.shape)} and {tuple(kv.shape)}"
        )
    r = q.shape[-3] // kv.shape[-3]
    if r == 1:
        return kv
    lead, h, s, e = tuple(kv.shape[:-3]), kv.shape[-3], kv.shape[-2], kv.shape[-1]
    return kv.unsqueeze(-3).expand(*lead, h, r, s, e).reshape(*lead, h * r, s, e)


def _check_mask_shape(name: str, mask: Tensor, scores_shape: tuple[int, ...]) -> None:
    ok = mask.ndim <= len(scores_shape) and all(
        m in (1, s) for m, s in zip(reversed(mask.shape), reversed(scores_shape))
    )
    if not ok:
        raise ValueError(
            f"{name}: attn_mask of shape {tuple(mask.shape)} does not broadcast to the attention "
            f"scores' shape {scores_shape} (..., L, S)"
        )


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention on sequence-first inputs ``(L, N, E)`` (or unbatched ``(L, E)``).

    Returns ``(output (L, N, E), weights)``; ``weights`` is ``(N, L, S)`` averaged over heads,
    ``(N, H, L, S)`` with ``average_attn_weights=False``, or None when ``need_weights=False``.
    Bool masks are True where attention is *not* allowed.
    """
    name = "multi_head_attention_forward"
    q_in, k_in, v_in = _t(query, name), _t(key, name), _t(value, name)
    batched = q_in.ndim == 3
    if q_in.ndim not in (2, 3) or k_in.ndim != q_in.ndim or v_in.ndim != q_in.ndim:
        raise ValueError(
            f"{name}: expected query, key and value all 3-D (L, N, E) or all 2-D (L, E), got "
            f"{tuple(q_in.shape)}, {tuple(k_in.shape)} and {tuple(v_in.shape)}"
        )
    if not batched:
        q_in, k_in, v_in = q_in.unsqueeze(1), k_in.unsqueeze(1), v_in.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = q_in.shape
    src_len = k_in.shape[0]
    if embed_dim != embed_dim_to_check:
        raise ValueError(
            f"{name}: was expecting embedding dimension of {embed_dim_to_check}, but got "
            f"{embed_dim} (query shape {tuple(query.shape)})"
        )
    if k_in.shape[:2] != v_in.shape[:2] or k_in.shape[1] != bsz:
        raise ValueError(
            f"{name}: key shape {tuple(key.shape)} does not match value shape "
            f"{tuple(value.shape)} and the query's batch {bsz} in the (S, N) dims"
        )
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise ValueError(f"{name}: embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
    if is_causal and attn_mask is None:
        raise RuntimeError(
            f"{name}: need attn_mask if specifying the is_causal hint; pass the causal mask too"
        )
    if static_k is not None or static_v is not None:
        raise ValueError(f"{name}: static_k/static_v are not supported; pass key/value instead")

    # Input projections.
    if use_separate_proj_weight:
        e = embed_dim
        b_q, b_k, b_v = (
            (in_proj_bias[:e], in_proj_bias[e : 2 * e], in_proj_bias[2 * e :])
            if in_proj_bias is not None
            else (None, None, None)
        )
        q = linear(q_in, q_proj_weight, b_q)
        k = linear(k_in, k_proj_weight, b_k)
        v = linear(v_in, v_proj_weight, b_v)
    elif q_in is k_in and k_in is v_in:
        # NOTE: self-attention: one matmul for the three projections, then a split.
        q, k, v = linear(q_in, in_proj_weight, in_proj_bias).chunk(3, dim=-1)
    else:
        w_q, w_k, w_v = in_proj_weight.chunk(3)
        b_q, b_k, b_v = in_proj_bias.chunk(3) if in_proj_bias is not None else (None, None, None)
        q, k, v = linear(q_in, w_q, b_q), linear(k_in, w_k, b_k), linear(v_in, w_v, b_v)

    # Masks as additive float biases of shape (N*H or 1, L, S).
    if attn_mask is not None:
        attn_mask = _mask_as_bias(_t(attn_mask, name), q.dtype, name, False)
        want2, want3 = (tgt_len, src_len), (bsz * num_heads, tgt_len, src_len)
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != want2:
                raise ValueError(
                    f"{name}: the shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but "
                    f"should be {want2}"
                )
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != want3:
                raise ValueError(
                    f"{name}: the shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but "
                    f"should be {want3}"
                )
        else:
            raise ValueError(
                f"{name}: attn_mask's dimension {attn_mask.ndim} is not supported; expected "
                f"{want2} or {want3}"
            )

    if bias_k is not None and bias_v is not None:
        k = cat([k, bias_k.reshape(1, 1, embed_dim).expand(1, bsz, embed_dim)])
        v = cat([v, bias_v.reshape(1, 1, embed_dim).expand(1, bsz, embed_dim)])
        attn_mask = _pad_last(attn_mask)
        key_padding_mask = _pad_last(key_padding_mask)
    elif bias_k is not None or bias_v is not None:
        raise ValueError(f"{name}: bias_k and bias_v must be given together")

    # Heads: (L, N, E) -> (N*H, L, hd).
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)

    if add_zero_attn:
        zk = zeros(bsz * num_heads, 1, head_dim, dtype=k.dtype, device=k.device)
        k, v = cat([k, zk], dim=1), cat([v, zk], dim=1)
        attn_mask = _pad_last(attn_mask)
        key_padding_mask = _pad_last(key_padding_mask)
    src_len = k.shape[1]

    if key_padding_mask is not None:
        kpm = _t(key_padding_mask, name)
        if tuple(kpm.shape) != (bsz, src_len):
            raise ValueError(
                f"{name}: expected key_padding_mask of shape {(bsz, src_len)} (N, S), got "
                f"{tuple(key_padding_mask.shape)}"
            )
        kpm = _mask_as_bias(kpm, q.dtype, name, False)
        kpm = kpm.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len)
        kpm = kpm.reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm

    dropout_p = dropout_p if training else 0.0
    if need_weights:
        # NOTE: PyTorch scales q before the product here (and gives nan for fully masked rows,
        # where the sdpa path below gives zeros); kept identical so results match bit for bit.
        scores = (q * math.sqrt(1.0 / head_dim)).matmul(k.transpose(-2, -1))
        if attn_mask is not None:
            scores = scores + attn_mask
        # NOTE: as in PyTorch, the returned weights are the ones after dropout.
        weights = _dropout(softmax(scores, -1), dropout_p, True)
        attn = weights.matmul(v)
    else:
        mask4 = None
        if attn_mask is not None:
            if attn_mask.shape[0] == 1:
                mask4 = attn_mask.unsqueeze(0)
            else:
                mask4 = attn_mask.reshape(bsz, num_heads, -1, src_len)
        attn = scaled_dot_product_attention(
            q.reshape(bsz, num_heads, tgt_len, head_dim),
            k.reshape(bsz, num_heads, src_len, head_dim),
            v.reshape(bsz, num_heads, src_len, head_dim),
            attn_mask=mask4,
            dropout_p=dropout_p,
        ).reshape(bsz * num_heads, tgt_len, head_dim)
        weights = None

    out = attn.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
    if weights is not None:
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
    if not batched:
        out = out.squeeze(1)
        if weights is not None:
            weights = weights.squeeze(0)
    return out, weights


def _pad_last(mask: Tensor | None) -> Tensor | None:
    """A zero column appended to the last dim of a mask (for an extra key that all may see)."""
    if mask is None:
        return None
    shape = tuple(mask.shape[:-1]) + (1,)
    return cat([mask, zeros(shape, dtype=mask.dtype, device=mask.device)], dim=-1)
