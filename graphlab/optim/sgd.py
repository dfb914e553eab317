"""``optim.SGD``: stochastic gradient descent with momentum, dampening, Nesterov, weight decay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import backends
from ..tensor import Tensor
from .optimizer import Optimizer, _device_ctx

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's update rule.

    For each parameter ``p`` with gradient ``g`` (negated when ``maximize``)::

        g = g + weight_decay * p
        buf = g                                        (first step)
        buf = momentum * buf + (1 - dampening) * g     (later steps)
        g = g + momentum * buf if nesterov else buf    (when momentum != 0)
        p = p - lr * g
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ):
        if momentum < 0:
            raise ValueError(f"SGD: invalid momentum value {momentum}; need >= 0")
        if weight_decay < 0:
            raise ValueError(f"SGD: invalid weight_decay value {weight_decay}; need >= 0")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"SGD: Nesterov momentum requires a momentum > 0 and zero dampening, got "
                f"momentum={momentum}, dampening={dampening}"
            )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr = group["lr"]
            momentum = group["momentum"]
            dampening = group["dampening"]
            wd = group["weight_decay"]
            nesterov = group["nesterov"]
            maximize = group["maximize"]
            for p, g in self._params_with_grad(group):
                if p._device.type == "cuda":
                    with _device_ctx(p._device):
                        self._update(p, g, lr, momentum, dampening, wd, nesterov, maximize)
                else:  # NOTE: no context manager per parameter on the CPU
                    self._update(p, g, lr, momentum, dampening, wd, nesterov, maximize)
                p._version.value += 1
        return loss

    def _update(self, p, g, lr, momentum, dampening, wd, nesterov, maximize) -> None:
        w = p._data
        if maximize:
            g = -g
        if wd != 0:
            g = g + wd * w
        if momentum != 0:
            state = self.state[p]
            buf = state.get("momentum_buffer")
            if buf is None:
                state["momentum_buffer"] = buf = Tensor._wrap(g.copy(), p._device)
            else:
                b = buf._data
                b *= momentum
                # NOTE: (1 - 0) * g is g exactly; skipping the multiply saves a pass and a copy.
                b += g if dampening == 0 else (1 - dampening) * g
                buf._version.value += 1
            if nesterov:
                g = g + momentum * buf._data
            else:
                g = buf._data
        xp = backends.for_device(p._device).xp
        # NOTE: p - lr * g, computed into a scratch array so the parameter is written only once
        # (and never left half-updated if the multiply fails).
        step = xp.multiply(g, lr, dtype=w.dtype)
        w -= step
