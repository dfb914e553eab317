"""Fused loss kernels: forward and backward side by side, each one graph node.

Fusing these matters for two reasons: numerical care that a composition of ops cannot express
(``binary_cross_entropy`` clamps its logs at -100 and its gradient's denominator at 1e-12, as
PyTorch does; ``binary_cross_entropy_with_logits`` is exact at 0), and speed, since the
cross-entropy of a training step is one node whose backward is ``softmax - target``.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ._util import unbroadcast

# NOTE: ``np.errstate`` silences NumPy's warnings for the 0/0 and log(0) that are intended
# here; CuPy never warns, so it needs nothing.


class ClassIndexLoss(Op):
    """``nll_loss`` (``from_logits=False``) and ``cross_entropy`` with class-index targets.

    Inputs: ``x`` of shape ``(N, C, *d)``, ``target`` (an int array ``(N, *d)``, a constant),
    ``weight`` (a ``(C,)`` array of ``x``'s dtype, or None). Each element's loss is
    ``-sum_c a_c * z_c`` with ``z = log_softmax(x)`` (or ``x``) and
    ``a = (1 - eps) * w[t] * onehot(t) + eps / C * w``, zero where ``t == ignore_index``;
    ``'mean'`` divides by the total weight of the non-ignored targets, as PyTorch does.
    """

    def forward(
        self, x, target, weight, ignore_index, smoothing, reduction, from_logits, all_valid=False
    ):
        xp = self.xp
        self.fast = weight is None and not smoothing and from_logits and x.ndim == 2
        if self.fast:
            return self._forward_fast(x, target, ignore_index, reduction, all_valid)
        c = x.shape[1]
        valid = target != ignore_index
        t = xp.where(valid, target, 0).astype(xp.int64, copy=False)
        wt = (weight[t] if weight is not None else xp.ones(t.shape, x.dtype)) * valid
        if from_logits:
            m = x.max(axis=1, keepdims=True)
            z = x - m
            z = z - xp.log(xp.exp(z).sum(axis=1, keepdims=True))
        else:
            z = x
        # NOTE: the target term is gathered, never multiplied by a dense one-hot, so a -inf in a
        # non-target entry (log of a zero probability) cannot turn into 0 * -inf = nan.
        picked = xp.take_along_axis(z, t[:, None], axis=1)[:, 0]
        loss = -(1 - smoothing) * wt * picked if smoothing else -wt * picked
        if smoothing:
            wz = z * weight.reshape((1, c) + (1,) * (x.ndim - 2)) if weight is not None else z
            loss = loss - (smoothing / c) * wz.sum(axis=1) * valid
        self.z, self.t, self.valid, self.wt, self.weight = z, t, valid, wt, weight
        self.smoothing, self.reduction, self.from_logits = smoothing, reduction, from_logits
        if reduction == "none":
            return loss.astype(x.dtype, copy=False)
        total = loss.sum()
        if reduction == "sum":
            return total.astype(x.dtype)
        self.denom = wt.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            # NOTE: every target ignored gives 0/0 = nan, PyTorch's answer too.
            return (total / self.denom).astype(x.dtype)

    def _forward_fast(self, x, target, ignore_index, reduction, all_valid):
        """The common case of a training step: ``cross_entropy(logits (N, C), labels)``, no
        class weights, no smoothing. The same math in fewer passes: softmax ``p`` is formed once
        and kept, so backward is ``p - onehot`` scaled, with no exp and no dense one-hot."""
        xp = self.xp
        # NOTE: ``all_valid`` (checked by the caller) means no target is ignored: no masking.
        t = target if all_valid else xp.where(target != ignore_index, target, 0)
        rows = xp.arange(x.shape[0])
        m = x.max(axis=1, keepdims=True)
        p = x - m
        xp.exp(p, out=p)
        s = p.sum(axis=1, keepdims=True)
        # -log_softmax(x)[t] = log(sum(exp(x - m))) - (x[t] - m)
        nll = xp.log(s[:, 0]) - (x[rows, t] - m[:, 0])
        p /= s
        wt = None if all_valid else (target != ignore_index).astype(x.dtype)
        loss = nll if wt is None else nll * wt
        self.p, self.t, self.rows, self.wt, self.reduction = p, t, rows, wt, reduction
        if reduction == "none":
            return loss
        total = loss.sum()
        if reduction == "sum":
            return total.astype(x.dtype)
        self.denom = denom = wt.sum() if wt is not None else x.shape[0]
        if xp is not np or denom != 0:  # NOTE: skips errstate's cost (CuPy never warns)
            return (total / denom).astype(x.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (total / denom).astype(x.dtype)  # every target ignored: nan, as PyTorch

    def _backward_fast(self, g):
        p, wt = self.p, self.wt
        if self.reduction == "mean":
            if self.xp is not np or self.denom != 0:
                g = g / self.denom
            else:
                with np.errstate(invalid="ignore", divide="ignore"):
                    g = g / self.denom
        gv = (g if wt is None else wt * g).astype(p.dtype, copy=False)  # each row's gradient
        grad = p * (gv[:, None] if gv.ndim else gv)
        grad[self.rows, self.t] -= gv
        return grad, None, None

    def backward(self, g):
        if self.fast:
            return self._backward_fast(g)
        xp, z, t = self.xp, self.z, self.t
        c = z.shape[1]
        cshape = (1, c) + (1,) * (z.ndim - 2)
        if self.reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                g = g / self.denom
        if self.reduction != "none":
            g = xp.broadcast_to(g, t.shape)
        a = (t[:, None] == xp.arange(c).reshape(cshape)) * ((1 - self.smoothing) * self.wt)[:, None]
        if self.smoothing:
            w = self.weight.reshape(cshape) if self.weight is not None else 1.0
            a = a + (self.smoothing / c) * w * self.valid[:, None]
        a = a.astype(z.dtype, copy=False)
        if self.from_logits:
            # d/dx of -sum_c a_c log_softmax(x)_c = softmax(x) * sum_c a_c - a.
            grad = xp.exp(z) * a.sum(axis=1, keepdims=True) - a
        else:
            grad = -a
        return (g[:, None] * grad).astype(z.dtype, copy=False), None, None


class BinaryCrossEntropy(Op):
    """Unweighted elementwise ``-(t log x + (1 - t) log(1 - x))`` with logs clamped at -100."""

    saves_inputs = (0, 1)

    def forward(self, x, t):
        xp = self.xp
        with np.errstate(divide="ignore"):
            self.log_x = xp.maximum(xp.log(x), -100)
            self.log_1mx = xp.maximum(xp.log1p(-x), -100)
        self.x, self.t = x, t
        return -(t * self.log_x + (1 - t) * self.log_1mx)

    def backward(self, g):
        xp, x, t = self.xp, self.x, self.t
        # NOTE: PyTorch's denominator floor: x in {0, 1} gives a large finite gradient, not inf.
        gx = g * (x - t) / xp.maximum((1 - x) * x, 1e-12)
        # NOTE: the derivative of the clamped loss, finite at x in {0, 1} (PyTorch's target
        # gradient uses the unclamped logs there and gives +-inf).
        gt = g * (self.log_1mx - self.log_x)
        return gx, gt


class BinaryCrossEntropyWithLogits(Op):
    """Unweighted elementwise ``(1 - t) x + lw * softplus(-x)``, ``lw = 1 + (pos_weight - 1) t``.

    ``softplus(-x) = max(-x, 0) + log1p(exp(-|x|))`` never overflows; ``pos_weight`` (optional)
    broadcasts against ``x`` and gets a gradient.
    """

    saves_inputs = (0, 1, 2)

    def forward(self, x, t, pos_weight):
        xp = self.xp
        self.sp = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
        self.x, self.t, self.pw = x, t, pos_weight
        if pos_weight is None:
            return (1 - t) * x + self.sp
        return (1 - t) * x + ((pos_weight - 1) * t + 1) * self.sp

    def backward(self, g):
        xp, x, t, pw = self.xp, self.x, self.t, self.pw
        e = xp.exp(-xp.abs(x))
        sig_neg = xp.where(x >= 0, e / (1 + e), 1 / (1 + e))  # sigmoid(-x), split by sign
        if pw is None:
            return g * ((1 - t) - sig_neg), g * -x, None
        lw = (pw - 1) * t + 1
        gx = g * ((1 - t) - lw * sig_neg)
        gt = g * (-x + (pw - 1) * self.sp)
        gpw = g * t * self.sp
        return (
            unbroadcast(xp, gx, x.shape),
            unbroadcast(xp, gt, t.shape),
            unbroadcast(xp, gpw, pw.shape),
        )


class ClampMinStraight(Op):
    """``max(x, lo)`` whose gradient passes through unchanged (PyTorch clamps norms this way in
    ``cosine_similarity``: in place, under no-grad)."""

    def forward(self, x, lo):
        return self.xp.maximum(x, lo).astype(x.dtype, copy=False)

    def backward(self, g):
        return g
