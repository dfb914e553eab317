"""``optim.RMSprop``: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from .. import backends
from .adam import _lerp_into
from .optimizer import Optimizer, _init_buffer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, with PyTorch's update rule.

    For each parameter ``p`` with gradient ``g``::

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        avg = sqrt(v - mean_g**2) if centered else sqrt(v)     (mean_g: running mean of g)
        avg = avg + eps
        buf = momentum * buf + g / avg;  p = p - lr * buf      (momentum > 0)
        p = p - lr * g / avg                                   (otherwise)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ):
        if not 0.0 <= eps:
            raise ValueError(f"RMSprop: invalid epsilon value {eps}; need >= 0")
        if not 0.0 <= momentum:
            raise ValueError(f"RMSprop: invalid momentum value {momentum}; need >= 0")
        if not 0.0 <= weight_decay:
            raise ValueError(f"RMSprop: invalid weight_decay value {weight_decay}; need >= 0")
        if not 0.0 <= alpha:
            raise ValueError(f"RMSprop: invalid alpha value {alpha}; need >= 0")
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, p, g, group) -> None:
        lr = group["lr"]
        alpha = group["alpha"]
        momentum = group["momentum"]
        centered = group["centered"]
        xp = backends.for_device(p._device).xp
        w = p._data
        state = self.state[p]
        if not state:
            state["step"] = 0
            state["square_avg"] = _init_buffer(p)
            if momentum > 0:
                state["momentum_buffer"] = _init_buffer(p)
            if centered:
                state["grad_avg"] = _init_buffer(p)
        state["step"] += 1
        if group["maximize"]:
            g = -g
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * w
        v = state["square_avg"]._data
        v *= alpha
        avg = xp.multiply(g, g)
        avg *= 1 - alpha
        v += avg
        state["square_avg"]._version.value += 1
        if centered:
            mg = state["grad_avg"]._data
            _lerp_into(mg, g, xp.subtract(g, mg), 1 - alpha)
            state["grad_avg"]._version.value += 1
            xp.multiply(mg, mg, out=avg)
            xp.subtract(v, avg, out=avg)
            xp.sqrt(avg, out=avg)
        else:
            xp.sqrt(v, out=avg)
        avg += group["eps"]
        if momentum > 0:
            buf = state["momentum_buffer"]._data
            buf *= momentum
            xp.divide(g, avg, out=avg)
            buf += avg
            state["momentum_buffer"]._version.value += 1
            xp.multiply(buf, lr, out=avg)
            w -= avg
        else:
            xp.divide(g, avg, out=avg)
            avg *= -lr
            w += avg
