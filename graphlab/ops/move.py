"""A device move as an op: the copy goes through ``transfer.move``; backward moves the gradient
back (a real, recorded copy too)."""

from __future__ import annotations

from .. import transfer
from ..autograd import grad_mode
from ..autograd.function import Op


class ToDevice(Op):
    def backward(self, g):
        return transfer.move(g, self.dst, self.src, reason="backward")


def to_device(t, dev, non_blocking: bool = False):
    """``t`` copied to ``dev``; differentiable, recorded as a transfer."""
    from ..tensor import Tensor

    data = transfer.move(t._data, t._device, dev, non_blocking=non_blocking)
    needs = t.requires_grad and grad_mode.is_grad_enabled()
    out = Tensor._wrap(data, dev, needs)
    if needs:
        op = ToDevice.__new__(ToDevice)
        op.src, op.dst = t._device, dev
        op.next = (t.grad_fn if t.grad_fn is not None else t,)
        op._versions = []
        op._pre_hooks = None
        op._freed = False
        op._out_meta = (data.shape, data.dtype)
        out.grad_fn = op
    return out
