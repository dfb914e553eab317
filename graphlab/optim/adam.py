"""``optim.Adam``: adaptive moment estimation (with optional AMSGrad and L2 weight decay)."""

from __future__ import annotations

import math

from .. import backends
from .optimizer import Optimizer, _init_buffer

__all__ = ["Adam"]


def _lerp_into(start, end, diff, weight: float) -> None:
    """``start += weight * (end - start)`` in place, given ``diff = end - start`` (consumed)."""
    if weight < 0.5:
        diff *= weight
        start += diff
    else:
        diff *= 1 - weight
        start[...] = end
        start -= diff


class Adam(Optimizer):
    """Adam, with PyTorch's update rule (``weight_decay`` is an L2 term added to the gradient).

    For each parameter ``p`` with gradient ``g`` at step ``t``::

        g = g + weight_decay * p            (AdamW decays p directly instead)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_hat = max(v_hat, v) if amsgrad else v
        p = p - lr / (1 - beta1**t) * m / (sqrt(v_hat) / sqrt(1 - beta2**t) + eps)
    """

    _decoupled = False

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        name = type(self).__name__
        if not 0.0 <= eps:
            raise ValueError(f"{name}: invalid epsilon value {eps}; need >= 0")
        if len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"{name}: invalid beta parameter at index {i}: {b}; need [0, 1)")
        if weight_decay < 0:
            raise ValueError(f"{name}: invalid weight_decay value {weight_decay}; need >= 0")
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, p, g, group) -> None:
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        wd = group["weight_decay"]
        amsgrad = group["amsgrad"]
        xp = backends.for_device(p._device).xp
        w = p._data
        state = self.state[p]
        if not state:
            state["step"] = 0
            state["exp_avg"] = _init_buffer(p)
            state["exp_avg_sq"] = _init_buffer(p)
            if amsgrad:
                state["max_exp_avg_sq"] = _init_buffer(p)
        state["step"] += 1
        t = state["step"]
        if group["maximize"]:
            g = -g
        if wd != 0:
            if self._decoupled:
                w *= 1 - lr * wd
            else:
                g = g + wd * w
        m = state["exp_avg"]._data
        v = state["exp_avg_sq"]._data
        # NOTE: m moves towards g by (1 - beta1), computed as torch's lerp_ does (two formulas,
        # picked by the weight, for the same rounding); then v = beta2 * v + (1 - beta2) * g * g.
        tmp = xp.subtract(g, m)
        _lerp_into(m, g, tmp, 1 - beta1)
        v *= beta2
        xp.multiply(g, g, out=tmp)
        tmp *= 1 - beta2
        v += tmp
        bias1 = 1 - beta1**t
        bias2_sqrt = math.sqrt(1 - beta2**t)
        step_size = lr / bias1
        if amsgrad:
            vmax = state["max_exp_avg_sq"]._data
            xp.maximum(vmax, v, out=vmax)
            xp.sqrt(vmax, out=tmp)
            state["max_exp_avg_sq"]._version.value += 1
        else:
            xp.sqrt(v, out=tmp)
        tmp /= bias2_sqrt
        tmp += eps
        xp.divide(m, tmp, out=tmp)
        tmp *= -step_size
        w += tmp
        state["exp_avg"]._version.value += 1
        state["exp_avg_sq"]._version.value += 1
