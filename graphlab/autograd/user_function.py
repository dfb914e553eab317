"""``graphlab.autograd.Function``: user-defined ops with ``forward(ctx, …)``/``backward(ctx, …)``,
as in PyTorch (``ctx.save_for_backward``, ``ctx.saved_tensors``, ``ctx.needs_input_grad``)."""

from __future__ import annotations

from . import grad_mode
from .function import Op


class FunctionCtx:
    """What ``forward`` can stash for ``backward``; attributes may be set freely."""

    def save_for_backward(self, *tensors) -> None:
        """Keep tensors for backward (their versions are checked when backward reads them)."""
        self._saved = tensors
        self._saved_versions = [
            (t._version, t._version.value) if t is not None else None for t in tensors
        ]

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward``."""
        if getattr(self, "_freed", False):
            from .engine import _FREED

            raise RuntimeError(_FREED)
        for t, v in zip(getattr(self, "_saved", ()), getattr(self, "_saved_versions", ())):
            if v is not None and v[0].value != v[1]:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: a saved tensor of shape {tuple(t.shape)} is at "
                    f"version {v[0].value}; expected version {v[1]} instead"
                )
        return getattr(self, "_saved", ())

    def mark_non_differentiable(self, *tensors) -> None:
        """Declare outputs that get no gradient."""
        self._non_diff = {id(t) for t in tensors}


class _Partial(dict):
    """Gradients of some outputs of a multi-output node, merged with ``+``."""

    def __add__(self, other):
        out = _Partial(self)
        for k, v in other.items():
            out[k] = out[k] + v if k in out else v
        return out


class _OutputSlot(Op):
    """Routes the gradient of output ``i`` of a multi-output Function to its node."""

    def backward(self, g):
        return _Partial({self.i: g})

    def name(self) -> str:
        return self.fn_node.name()


class _FunctionNode(Op):
    def backward(self, g):
        from ..tensor import Tensor

        if isinstance(g, _Partial):
            grads = [g.get(i) for i in range(self.n_out)]
            grads = [
                Tensor._wrap(x if x is not None else self.xp.zeros(s, d), self.dev)
                for x, (s, d) in zip(grads, self.out_meta)
            ]
        else:
            grads = [Tensor._wrap(g, self.dev)]
        with grad_mode.no_grad():
            res = self.cls.backward(self.ctx, *grads)
        if not isinstance(res, tuple):
            res = (res,)
        if len(res) != len(self.next):
            raise RuntimeError(
                f"function {self.cls.__name__}.backward returned an incorrect number of gradients "
                f"(expected {len(self.next)}, got {len(res)})"
            )
        out = []
        for i, (r, arg) in enumerate(zip(res, self.arg_meta)):
            if r is None or arg is None:
                out.append(None)
                continue
            if tuple(r.shape) != arg:
                raise RuntimeError(
                    f"function {self.cls.__name__}.backward returned an invalid gradient at index "
                    f"{i} - got {list(r.shape)} but expected shape compatible with {list(arg)}"
                )
            out.append(r._data)
        return tuple(out)

    def name(self) -> str:
        return self.cls.__name__ + "Backward"


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call
    ``MyFn.apply(*args)``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("Function subclasses must implement a static forward")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("Function subclasses must implement a static backward")

    @classmethod
    def apply(cls, *args):
        """Run ``forward`` and, if any input needs a gradient, link it into the graph."""
        from ..tensor import Tensor

        ctx = FunctionCtx()
        tensors = [a for a in args if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with grad_mode.no_grad():
            result = cls.forward(ctx, *args)
        outs = result if isinstance(result, tuple) else (result,)
        for o in outs:
            if not isinstance(o, Tensor):
                raise TypeError(
                    f"{cls.__name__}.forward must return Tensors, got {type(o).__name__}"
                )
        needs = grad_mode.is_grad_enabled() and any(t.requires_grad for t in tensors)
        if not needs:
            return result
        # NOTE: outputs that are inputs (or views of them) are wrapped so the node owns them.
        outs = tuple(Tensor._wrap(o._data, o._device) for o in outs)
        node = _FunctionNode.__new__(_FunctionNode)
        node.cls, node.ctx, node.dev = cls, ctx, outs[0]._device
        node.xp = _xp(node.dev)
        node.n_out = len(outs)
        node.out_meta = [(o._data.shape, o._data.dtype) for o in outs]
        node.arg_meta = [
            tuple(a.shape) if isinstance(a, Tensor) and a.requires_grad else None for a in args
        ]
        node.next = tuple(
            (a.grad_fn if a.grad_fn is not None else a)
            if isinstance(a, Tensor) and a.requires_grad
            else None
            for a in args
        )
        node._versions, node._pre_hooks, node._freed = [], None, False
        node._out_meta = node.out_meta[0]
        non_diff = getattr(ctx, "_non_diff", set())
        if len(outs) == 1:
            outs[0].requires_grad = True
            outs[0].grad_fn = node
            return outs[0]
        for i, o in enumerate(outs):
            if id(result[i]) in non_diff:
                continue
            slot = _OutputSlot.__new__(_OutputSlot)
            slot.i, slot.fn_node, slot.xp = i, node, node.xp
            slot.next = (node,)
            slot._versions, slot._pre_hooks, slot._freed = [], None, False
            slot._out_meta = node.out_meta[i]
            o.requires_grad = True
            o.grad_fn = slot
        return outs


def _xp(dev):
    from .. import backends

    return backends.for_device(dev).xp
