"""``detect_anomaly``: stop at the first op, forward or backward, that produces NaN or Inf.

While the context is active, every op's output (through ``function.op_observers``) and every
backward node's input gradients (through ``engine.backward_observers``) are checked; the first
non-finite value raises :class:`AnomalyError`, naming the event, the op, the module scope it ran
in and the statistics of what went into it. Outside the context no observer is registered, so it
costs nothing.

>>> with graphlab.autograd.detect_anomaly():
...     loss = model(x).sum()
...     loss.backward()
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable
from typing import Any

from . import engine, function

__all__ = ["AnomalyError", "detect_anomaly", "is_anomaly_enabled"]


class AnomalyError(RuntimeError):
    """Raised by :func:`detect_anomaly` at the first op that produced NaN or Inf.

    Attributes: ``event`` (``"forward"`` or ``"backward"``), ``op`` (the op's class name, or the
    backward node's name such as ``SqrtBackward0``), ``scope`` (the dotted module path, ``""``
    outside any module) and ``inputs`` (one dict of statistics per input).
    """

    def __init__(self, message: str, event: str, op: str, scope: str, inputs: list[dict]):
        super().__init__(message)
        self.event = event
        self.op = op
        self.scope = scope
        self.inputs = inputs


# NOTE: one registration for all nested/overlapping contexts; a lock keeps the counter exact
# when several threads enter and leave at once.
_lock = threading.Lock()
_depth = 0
# Forward op instance -> (module stack at the op, input descriptions), so a backward anomaly can
# name where its node was created. Weak keys: the graph's lifetime is not extended.
_origin: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def is_anomaly_enabled() -> bool:
    """Whether a :func:`detect_anomaly` context is active (in any thread)."""
    return _depth > 0


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Raise :class:`AnomalyError` at the first op whose output, or backward node whose input
    gradients, contain NaN or Inf. A context manager (``with detect_anomaly():``) and a
    decorator (``@detect_anomaly()``), like ``torch.autograd.detect_anomaly``.

    ``check_nan=False`` turns the checks off (the context then does nothing), as in PyTorch.
    Each checked op reads its output's values, so on a GPU every op synchronises: use it to
    debug, not to train.
    """

    def __init__(self, check_nan: bool = True) -> None:
        if not isinstance(check_nan, bool):
            raise TypeError(
                f"detect_anomaly: check_nan must be a bool, got {type(check_nan).__name__}"
            )
        self.check_nan = check_nan

    def __enter__(self) -> detect_anomaly:
        if self.check_nan:
            _acquire()
        return self

    def __exit__(self, *exc) -> bool:
        if self.check_nan:
            _release()
        return False

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


def _acquire() -> None:
    global _depth
    with _lock:
        _depth += 1
        if _depth == 1:
            function.op_observers.append(_on_op)
            engine.backward_observers.append(_on_backward)


def _release() -> None:
    global _depth
    with _lock:
        _depth -= 1
        if _depth == 0:
            _remove(function.op_observers, _on_op)
            _remove(engine.backward_observers, _on_backward)
            _origin.clear()


def _remove(lst: list, fn) -> None:
    try:
        lst.remove(fn)
    except ValueError:  # NOTE: someone cleared the list; nothing left to undo
        pass


# ----- checks -----------------------------------------------------------------------------------


def _array_of(x):
    from ..tensor import Tensor

    return x._data if isinstance(x, Tensor) else x


def _is_float_array(a) -> bool:
    dt = getattr(a, "dtype", None)
    return dt is not None and hasattr(a, "shape") and dt.kind in "fc"


def _all_finite(a) -> bool:
    if not _is_float_array(a):
        return True
    from .. import backends

    return bool(backends.for_array(a).xp.isfinite(a).all())


def _stats(x) -> dict[str, Any]:
    """min/max/mean over the finite elements, NaN/Inf counts, shape and dtype of one input."""
    import numpy as np

    a = _array_of(x)
    if a is None:
        return {"value": None}
    if not hasattr(a, "shape"):
        return {"value": a}
    host = np.asarray(a.get() if hasattr(a, "get") else a)
    out: dict[str, Any] = {"shape": tuple(host.shape), "dtype": str(host.dtype)}
    if host.dtype.kind in "fc":
        finite = np.isfinite(host)
        out["nan"] = int(np.isnan(host).sum())
        out["inf"] = int(np.isinf(host).sum())
        vals = host[finite]
    else:
        out["nan"] = out["inf"] = 0
        vals = host.reshape(-1)
    if vals.size and host.dtype.kind != "b":
        out["min"] = float(vals.real.min())
        out["max"] = float(vals.real.max())
        out["mean"] = float(vals.real.mean())
    return out


def _format_stats(st: dict[str, Any]) -> str:
    if "shape" not in st:
        return f"constant {st.get('value')!r}"
    parts = [f"shape {st['shape']}", st["dtype"]]
    if "min" in st:
        parts.append(f"min {st['min']:.6g}, max {st['max']:.6g}, mean {st['mean']:.6g}")
    parts.append(f"nan {st['nan']}, inf {st['inf']}")
    return ", ".join(parts)


def _scope_of(stack) -> str:
    if not stack:
        return ""
    from ..nn.modules.module import _module_path

    try:
        path = _module_path(list(stack), with_root=False)
    except Exception:  # noqa: BLE001 - naming the scope must never hide the anomaly itself
        path = ""
    return f"{path or '<root>'} ({type(stack[-1]).__name__})"


def _current_stack() -> tuple:
    try:
        from ..nn.modules.module import current_scope
    except ImportError:  # NOTE: graphlab.nn not imported yet: no module can be running
        return ()
    return tuple(current_scope())


def _bad_kind(a) -> str:
    st = _stats(a)
    kinds = [label for k, label in (("nan", "NaN"), ("inf", "Inf")) if st.get(k)]
    return " and ".join(kinds) or "NaN/Inf"


def _on_op(op, args, attrs, out) -> None:
    stack = _current_stack()
    if out.grad_fn is op:
        _origin[op] = (stack, tuple(_describe(a) for a in args))
    data = out._data
    if _all_finite(data):
        return
    name = type(op).__name__
    scope = _scope_of(stack)
    inputs = [_stats(a) for a in args]
    lines = [
        f"detect_anomaly: forward op {name} produced {_bad_kind(data)} in its output "
        f"(shape {tuple(data.shape)}) in module {scope or '<no module>'}."
    ]
    lines += [f"  input {i}: {_format_stats(st)}" for i, st in enumerate(inputs)]
    if attrs:
        lines.append(f"  attributes: {attrs}")
    lines.append(
        "Fix the input values (e.g. log/sqrt of negatives, division by zero, overflow) or "
        "clamp them before this op."
    )
    raise AnomalyError("\n".join(lines), "forward", name, scope, inputs)


def _describe(a) -> str:
    from ..tensor import Tensor

    if isinstance(a, Tensor):
        return f"tensor of shape {tuple(a._data.shape)}, {a._data.dtype}"
    if hasattr(a, "shape"):
        return f"array of shape {tuple(a.shape)}"
    return f"constant {a!r}"


def _on_backward(node, grad_out, in_grads) -> None:
    bad = [i for i, g in enumerate(in_grads) if g is not None and not _all_finite(g)]
    if not bad:
        return
    name = node.name()
    stack, fwd_inputs = _origin.get(node, ((), ()))
    scope = _scope_of(stack)
    inputs = [_stats(grad_out)]
    lines = [
        f"detect_anomaly: backward node {name} (of forward op {type(node).__name__}, created "
        f"in module {scope or '<no module>'}) produced {_bad_kind(in_grads[bad[0]])} in the "
        f"gradient of input {bad[0]}.",
        f"  incoming gradient: {_format_stats(inputs[0])}",
    ]
    for i in bad:
        lines.append(f"  gradient of input {i}: {_format_stats(_stats(in_grads[i]))}")
    for i, desc in enumerate(fwd_inputs):
        lines.append(f"  forward input {i}: {desc}")
    lines.append(
        "The forward op's derivative is not finite at these inputs (e.g. sqrt or log at 0, "
        "division by a tiny number); add an epsilon or clamp the input."
    )
    raise AnomalyError("\n".join(lines), "backward", name, scope, inputs)
