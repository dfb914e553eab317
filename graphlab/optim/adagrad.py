"""``optim.Adagrad``: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

from .. import backends
from .optimizer import Optimizer, _init_buffer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, with PyTorch's update rule.

    For each parameter ``p`` with gradient ``g`` at step ``t``::

        g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g                       (s starts at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ):
        if not 0.0 <= lr_decay:
            raise ValueError(f"Adagrad: invalid lr_decay value {lr_decay}; need >= 0")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Adagrad: invalid weight_decay value {weight_decay}; need >= 0")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Adagrad: invalid initial_accumulator_value {initial_accumulator_value}; need >= 0"
            )
        if not 0.0 <= eps:
            raise ValueError(f"Adagrad: invalid epsilon value {eps}; need >= 0")
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, p, g, group) -> None:
        xp = backends.for_device(p._device).xp
        w = p._data
        state = self.state[p]
        if not state:
            # NOTE: PyTorch creates this state in the constructor; creating it on the first
            # step gives the same numbers and lets the optimizer hold lazy (not yet shaped)
            # parameters.
            state["step"] = 0
            state["sum"] = _init_buffer(p, group["initial_accumulator_value"])
        state["step"] += 1
        t = state["step"]
        if group["maximize"]:
            g = -g
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * w
        clr = group["lr"] / (1 + (t - 1) * group["lr_decay"])
        s = state["sum"]._data
        tmp = xp.multiply(g, g)
        s += tmp
        state["sum"]._version.value += 1
        xp.sqrt(s, out=tmp)
        tmp += group["eps"]
        xp.divide(g, tmp, out=tmp)
        tmp *= -clr
        w += tmp
