"""``graphlab.autograd``: ``backward``, ``grad``, custom ``Function``s, ``gradcheck``."""

from __future__ import annotations

from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled
from .engine import run_backward
from .function import Op, RemovableHandle
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck
from .user_function import Function, FunctionCtx

_Tensor = None  # graphlab.tensor.Tensor, bound on first use (tensor.py imports this module)


def _tensor_cls():
    """The Tensor class, imported once (a function-level import costs ~0.5 µs per call)."""
    global _Tensor
    if _Tensor is None:
        from ..tensor import Tensor

        _Tensor = Tensor
    return _Tensor


__all__ = [
    "backward",
    "grad",
    "Function",
    "FunctionCtx",
    "gradcheck",
    "GradcheckError",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "Op",
    "RemovableHandle",
    "detect_anomaly",
    "AnomalyError",
    "is_anomaly_enabled",
]


def _root_grads(outputs, grad_outputs, fn: str):
    """Gradient arrays for each output: given ones, or ones for one-element outputs."""
    Tensor = _Tensor or _tensor_cls()  # noqa: N806 - the class, bound once
    grads = []
    for i, t in enumerate(outputs):
        g = None if grad_outputs is None else grad_outputs[i]
        if not t.requires_grad:
            raise RuntimeError(
                f"{fn}: element {i} of tensors does not require grad and does not have a "
                "grad_fn; did you create it under no_grad(), or forget requires_grad=True?"
            )
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(
                    f"{fn}: grad can be implicitly created only for scalar outputs, but the "
                    f"output has shape {tuple(t.shape)}; pass gradient=… of that shape (e.g. "
                    "graphlab.ones_like(out)), or reduce it first (out.sum())"
                )
            xp = _xp(t)
            grads.append(xp.ones(t._data.shape, t._data.dtype))
            continue
        if not isinstance(g, Tensor):
            from ..creation import tensor

            g = tensor(g, dtype=t.dtype, device=t.device)
        if tuple(g.shape) != tuple(t.shape):
            raise RuntimeError(
                f"{fn}: mismatch in shape: grad_output[{i}] has a shape of {tuple(g.shape)} and "
                f"output[{i}] has a shape of {tuple(t.shape)}"
            )
        if g.device != t.device:
            raise RuntimeError(
                f"{fn}: grad_output[{i}] is on {g.device} but output[{i}] is on {t.device}"
            )
        grads.append(g._data.astype(t._data.dtype, copy=False))
    return grads


def _xp(t):
    from .. import backends

    return backends.for_device(t.device).xp


def _as_list(x):
    Tensor = _Tensor or _tensor_cls()  # noqa: N806 - the class, bound once
    if x is None:
        return None
    if isinstance(x, Tensor):
        return [x]
    return list(x)


def _no_create_graph(create_graph, fn):
    if create_graph:
        raise NotImplementedError(
            f"{fn}: create_graph=True (higher-order gradients) is not supported: graphlab's "
            "backward formulas run on raw arrays; compute second derivatives with finite "
            "differences of first derivatives instead"
        )


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves (or ``inputs``)."""
    _no_create_graph(create_graph, "backward")
    outputs = _as_list(tensors)
    grads = _root_grads(outputs, _as_list(grad_tensors), "backward")
    retain = bool(retain_graph)
    if inputs is None:
        run_backward(outputs, grads, retain)
        return
    inputs = _as_list(inputs)
    capture = {id(t.grad_fn if t.grad_fn is not None else t): i for i, t in enumerate(inputs)}
    got = run_backward(outputs, grads, retain, capture=capture, accumulate=False)
    Tensor = _Tensor or _tensor_cls()  # noqa: N806 - the class, bound once
    for t in inputs:
        g = got.get(id(t.grad_fn if t.grad_fn is not None else t))
        if g is None:
            continue
        if t.grad is None:
            t.grad = Tensor._wrap(g.astype(t._data.dtype, copy=True), t.device)
        else:
            t.grad._data += g


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    allow_unused=None,
    materialize_grads=False,
):
    """The gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``."""
    Tensor = _Tensor or _tensor_cls()  # noqa: N806 - the class, bound once
    _no_create_graph(create_graph, "grad")
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    for i, t in enumerate(ins):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad; set requires_grad=True")
    grads = _root_grads(outs, _as_list(grad_outputs), "grad")
    keys = [id(t.grad_fn if t.grad_fn is not None else t) for t in ins]
    got = run_backward(
        outs, grads, bool(retain_graph), capture=dict.fromkeys(keys), accumulate=False
    )
    result = []
    for i, (t, k) in enumerate(zip(ins, keys)):
        g = got.get(k)
        if g is None:
            if materialize_grads:
                result.append(Tensor._wrap(_xp(t).zeros(t._data.shape, t._data.dtype), t.device))
                continue
            if not allow_unused:
                raise RuntimeError(
                    f"grad: one of the differentiated Tensors (input {i}, shape "
                    f"{tuple(t.shape)}) appears to not have been used in the graph. Set "
                    "allow_unused=True if this is the desired behavior."
                )
            result.append(None)
            continue
        result.append(Tensor._wrap(g.astype(t._data.dtype, copy=True), t.device))
    return tuple(result)
