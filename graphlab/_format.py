"""Printing tensors the way PyTorch does: ``tensor([[0.1000, 2.0000]], requires_grad=True)``."""

from __future__ import annotations

import numpy as np

from . import _dtype, transfer

_PRINT = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None) -> None:
    """Change how tensors print (PyTorch's options: precision, threshold, edgeitems, linewidth)."""
    for k, v in dict(
        precision=precision, threshold=threshold, edgeitems=edgeitems, linewidth=linewidth
    ).items():
        if v is not None:
            _PRINT[k] = v


def _float_formatter(a):
    finite = a[np.isfinite(a)]
    p = _PRINT["precision"]
    if finite.size == 0 or np.all(finite == np.round(finite)):
        big = finite.size and np.abs(finite).max() >= 1e8
        if big:
            return lambda x: np.format_float_scientific(x, precision=p, exp_digits=2)
        return lambda x: f"{x:.0f}." if np.isfinite(x) else str(x)
    amax, amin = np.abs(finite).max(), np.abs(finite[finite != 0]).min() if np.any(finite) else 0
    if amax >= 1e8 or (amin and (amin < 1e-4 or amax / amin > 1000)):
        return lambda x: np.format_float_scientific(x, precision=p, exp_digits=2, unique=False)
    return lambda x: f"{x:.{p}f}" if np.isfinite(x) else str(x)


def _body(a) -> str:
    kw = dict(
        separator=", ",
        threshold=_PRINT["threshold"],
        edgeitems=_PRINT["edgeitems"],
        max_line_width=_PRINT["linewidth"],
        prefix="tensor(",
    )
    if a.dtype.kind == "f":
        fmt = _float_formatter(a.astype(np.float64))
        kw["formatter"] = {"float_kind": fmt}
    elif a.dtype.kind == "b":
        kw["formatter"] = {"bool": lambda x: "True" if x else "False"}
    return np.array2string(a, **kw)


def tensor_repr(t) -> str:
    """The PyTorch-style repr of a tensor (reads the data: on a GPU this is a recorded sync)."""
    a = transfer.host_read(t._data, t._device, "print")
    extras = []
    if a.size == 0 and a.shape != (0,):
        extras.append(f"size={tuple(a.shape)}")
    if t._device.type != "cpu" or t._device.index != 0:
        extras.append(f"device='{t._device}'")
    d = t.dtype
    if d not in (_dtype.get_default_dtype(), _dtype.int64, _dtype.bool_) or (
        a.size == 0 and d is not _dtype.get_default_dtype()
    ):
        extras.append(f"dtype={d}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    body = _body(a)
    if extras:
        return f"tensor({body}, {', '.join(extras)})"
    return f"tensor({body})"
