"""``F.linear`` and ``F.bilinear``: affine maps of the last dimension.

``linear`` is one fused op (``x @ W.T + b`` forward, all three gradients in one backward) rather
than a transpose, a matmul and an add: one graph node per layer, and backward skips the input
gradient when nothing upstream needs it (the first layer of a network).
"""

from __future__ import annotations

from ...autograd.function import Op
from ...tensor import Tensor

__all__ = ["linear", "bilinear"]


class Linear(Op):
    """``y = x @ weight.T + bias`` over the last dim of ``x`` (any leading dims)."""

    saves_inputs = (0, 1)

    def forward(self, x, w, b):
        self.x, self.w = x, w
        out = x @ w.T
        if b is not None:
            out += b
        return out

    def backward(self, g):
        x, w = self.x, self.w
        nx, nw, nb = self.next
        gx = g @ w if nx is not None else None
        if g.ndim != 2:  # NOTE: leading dims fold into one batch dim for the weight gradient
            g = g.reshape(-1, w.shape[0])
            x = x.reshape(-1, w.shape[1])
        gw = g.T @ x if nw is not None else None
        gb = g.sum(0) if nb is not None else None
        return gx, gw, gb


def _check_tensor(x, what: str, fn: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: {what} must be a graphlab Tensor, got {type(x).__name__}")
    return x


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
    """``input @ weight.T + bias``: ``input`` is ``(*, in_features)``, ``weight`` is
    ``(out_features, in_features)``, ``bias`` is ``(out_features,)``; returns
    ``(*, out_features)``."""
    _check_tensor(input, "input", "linear")
    _check_tensor(weight, "weight", "linear")
    # NOTE: checked on the raw arrays: this runs for every layer of every step, and the Tensor
    # properties (shape, dtype) build new objects on each access.
    xd, wd = input._data, weight._data
    if wd.ndim != 2:
        raise RuntimeError(
            f"linear: weight must be 2-D (out_features, in_features), got shape "
            f"{tuple(weight.shape)}"
        )
    out_f, in_f = wd.shape
    if xd.ndim == 0 or xd.shape[-1] != in_f:
        raise RuntimeError(
            f"linear: expected input with {in_f} features in its last dimension, i.e. shape "
            f"(*, {in_f}), got shape {tuple(input.shape)}; check the layer's in_features or "
            "flatten/reshape the input first"
        )
    bd = None
    if bias is not None:
        _check_tensor(bias, "bias", "linear")
        bd = bias._data
        if bd.shape != (out_f,):
            raise RuntimeError(
                f"linear: expected bias of shape ({out_f},), got {tuple(bias.shape)}"
            )
    if xd.dtype != wd.dtype or (bd is not None and bd.dtype != wd.dtype):
        raise RuntimeError(
            f"linear: expected input, weight and bias of the same dtype, got input "
            f"{input.dtype}, weight {weight.dtype}"
            + ("" if bias is None else f", bias {bias.dtype}")
            + "; convert the input (x.to(weight.dtype)) or the model (model.to(dtype))"
        )
    if wd.dtype.kind != "f":
        raise RuntimeError(f"linear: expected a floating dtype, got {weight.dtype}")
    return Linear.apply(input, weight, bias)


def bilinear(
    input1: Tensor,
    input2: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
) -> Tensor:
    """``y[..., k] = input1 @ weight[k] @ input2 + bias[k]``: ``input1`` is ``(*, in1)``,
    ``input2`` is ``(*, in2)`` (same leading dims), ``weight`` is ``(out, in1, in2)``."""
    for x, what in ((input1, "input1"), (input2, "input2"), (weight, "weight")):
        _check_tensor(x, what, "bilinear")
    if weight.ndim != 3:
        raise RuntimeError(
            f"bilinear: weight must be 3-D (out_features, in1_features, in2_features), got "
            f"shape {tuple(weight.shape)}"
        )
    out_f, in1, in2 = weight.shape
    if input1.ndim == 0 or input1.shape[-1] != in1:
        raise RuntimeError(
            f"bilinear: expected input1 of shape (*, {in1}), got {tuple(input1.shape)}"
        )
    if input2.ndim == 0 or input2.shape[-1] != in2:
        raise RuntimeError(
            f"bilinear: expected input2 of shape (*, {in2}), got {tuple(input2.shape)}"
        )
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(
            f"bilinear: input1 and input2 must have the same leading dims, got "
            f"{tuple(input1.shape)} and {tuple(input2.shape)}"
        )
    if bias is not None:
        _check_tensor(bias, "bias", "bilinear")
        if tuple(bias.shape) != (out_f,):
            raise RuntimeError(
                f"bilinear: expected bias of shape ({out_f},), got {tuple(bias.shape)}"
            )
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, in2)
    # NOTE: one matmul: (N, in1) @ (in1, out*in2) -> (N, out, in2), then contract with input2.
    w = weight.permute(1, 0, 2).reshape(in1, out_f * in2)
    t = (x1 @ w).reshape(-1, out_f, in2)
    y = (t * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(lead + (out_f,))
