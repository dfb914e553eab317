"""Module hooks: registered entries, and the machinery behind full backward hooks.

A full backward hook needs the gradients with respect to a module's inputs and outputs. Each
input and output that requires grad goes through an identity op
(:class:`BackwardHookFunction`) whose graph node marks the module boundary; pre-hooks on
those nodes see the summed gradients (the engine runs a node once, with the sum of everything
that reached it).
"""

from __future__ import annotations

from ...autograd.function import Op, RemovableHandle
from ...tensor import Tensor


class Hook:
    """One registered hook (a distinct object, so a handle removes exactly this registration)."""

    __slots__ = ("fn", "with_kwargs", "always_call")

    def __init__(self, fn, with_kwargs: bool = False, always_call: bool = False):
        self.fn, self.with_kwargs, self.always_call = fn, with_kwargs, always_call


def add_hook(hooks: list, entry: Hook, prepend: bool) -> RemovableHandle:
    """Put ``entry`` first (``prepend``) or last in ``hooks``; returns its removable handle."""
    if not callable(entry.fn):
        raise TypeError(f"hook: expected a callable, got {type(entry.fn).__name__}")
    if prepend:
        hooks.insert(0, entry)
    else:
        hooks.append(entry)
    return RemovableHandle(hooks, entry)


class BackwardHookFunction(Op):
    """Identity whose graph node marks a module boundary for full backward hooks."""

    is_view = True

    def forward(self, a):
        return a

    def backward(self, g):
        return (g,)


class BackwardHookCall:
    """Collects one call's ``grad_output`` and ``grad_input`` and runs the full backward hooks.

    Inputs and outputs that require grad go through a :class:`BackwardHookFunction`; the
    pre-hooks of those nodes see the summed gradients. The hooks run when the last input
    gradient arrives (or, when no input requires grad, when the last output gradient arrives).
    """

    def __init__(self, module, args: tuple):
        self.module = module
        self.n_args = len(args)
        self.in_slots: list[int] = []
        self.out_slots: list[int] = []
        self.n_out = 0
        self._reset()

    def _reset(self):
        self.grad_in = [None] * self.n_args
        self.grad_out = [None] * self.n_out
        self.in_left = len(self.in_slots)
        self.out_left = len(self.out_slots)

    def wrap_inputs(self, args: tuple) -> tuple:
        """``args`` with each tensor that requires grad passed through a marking identity."""
        new = list(args)
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and a.requires_grad:
                new[i] = t = BackwardHookFunction.apply(a)
                t.grad_fn.register_prehook(self._input_hook(i, a._device))
                self.in_slots.append(i)
        self._reset()
        return tuple(new)

    def wrap_outputs(self, result):
        """``result`` (a tensor, or a tuple/list of them) passed through marking identities."""
        single = isinstance(result, Tensor)
        items = [result] if single else list(result) if isinstance(result, (tuple, list)) else None
        if items is None:
            return result
        self.n_out = len(items)
        for i, r in enumerate(items):
            if isinstance(r, Tensor) and r.requires_grad:
                items[i] = t = BackwardHookFunction.apply(r)
                t.grad_fn.register_prehook(self._output_hook(i, r._device))
                self.out_slots.append(i)
        self._reset()
        if single:
            return items[0]
        return type(result)(items) if isinstance(result, tuple) else items

    def _output_hook(self, i: int, dev):
        def hook(g):
            gt = Tensor._wrap(g, dev)
            for h in tuple(self.module._backward_pre_hooks):
                r = h.fn(
                    self.module, tuple(self.grad_out[:i]) + (gt,) + tuple(self.grad_out[i + 1 :])
                )
                if r is not None:
                    gt = r[i] if isinstance(r, (tuple, list)) else r
            self.grad_out[i] = gt
            self.out_left -= 1
            if self.out_left == 0 and not self.in_slots:
                self._fire()
            return gt._data

        return hook

    def _input_hook(self, i: int, dev):
        def hook(g):
            given = Tensor._wrap(g, dev)
            self.grad_in[i] = given
            self.in_left -= 1
            if self.in_left:
                return None
            new = self._fire()
            if new is None:
                return None
            return new[i]._data if new[i] is not None else None

        return hook

    def _fire(self):
        """Run the hooks; return the (possibly replaced) grad_input, then reset for reuse."""
        grad_in = tuple(self.grad_in)
        grad_out = tuple(self.grad_out)
        replaced = None
        for h in tuple(self.module._backward_hooks):
            r = h.fn(self.module, grad_in if replaced is None else replaced, grad_out)
            if r is not None:
                r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
                if len(r) != len(grad_in):
                    raise RuntimeError(
                        f"full backward hook of {self.module._get_name()}: returned "
                        f"{len(r)} gradients, expected {len(grad_in)} (one per positional input)"
                    )
                replaced = r
        if replaced is not None:
            changed = [i for i in self.in_slots if replaced[i] is not grad_in[i]]
            if len(self.in_slots) > 1 and changed:
                raise RuntimeError(
                    f"full backward hook of {self.module._get_name()}: replacing grad_input is "
                    "only supported for modules with a single input that requires grad; "
                    "register a hook on the input tensor instead (tensor.register_hook)"
                )
        self._reset()
        return replaced
