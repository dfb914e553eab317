"""Printing tensors the way PyTorch does: ``tensor([[0.1000, 2.0000]], requires_grad=True)``.

This follows ``torch/_tensor_str.py`` step by step so that a repr reads the same in both
libraries: one formatter per tensor decides the mode (integral floats ``1.``, fixed ``0.1000`` or
scientific ``1.0000e+10``) and the width, every element is padded to that width, rows wrap at the
line width, and tensors with more than ``threshold`` elements are summarised with ``...``.
"""

from __future__ import annotations

import math

import numpy as np

from . import _dtype, transfer

_PRINT = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


def set_printoptions(
    precision: int | None = None,
    threshold: int | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Change how tensors print (PyTorch's options: precision, threshold, edgeitems, linewidth,
    sci_mode); options left as ``None`` keep their value, except ``sci_mode`` (None = auto)."""
    for k, v in dict(
        precision=precision, threshold=threshold, edgeitems=edgeitems, linewidth=linewidth
    ).items():
        if v is not None:
            _PRINT[k] = v
    _PRINT["sci_mode"] = sci_mode


class _Formatter:
    """Chooses how every element of one tensor prints, and the common width they pad to."""

    def __init__(self, a: np.ndarray):
        self.floating = a.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        p = _PRINT["precision"]
        flat = a.reshape(-1)
        if not self.floating:
            # NOTE: bool elements print as True/False, ints as Python prints them.
            if flat.size:
                self.max_width = max(len(str(v)) for v in flat.tolist())
            return
        vals = flat.astype(np.float64)
        vals = vals[np.isfinite(vals) & (vals != 0)]
        if vals.size == 0:
            return
        absv = np.abs(vals)
        vmin, vmax = absv.min(), absv.max()
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        values = vals.tolist()
        if self.int_mode:
            if vmax / vmin > 1000.0 or vmax > 1.0e8:
                self.sci_mode = True
                self.max_width = max(len(f"{v:.{p}e}") for v in values)
            else:
                # NOTE: +1 for the trailing '.' that marks an integral float.
                self.max_width = max(len(f"{v:.0f}") + 1 for v in values)
        elif vmax / vmin > 1000.0 or vmax > 1.0e8 or vmin < 1.0e-4:
            self.sci_mode = True
            self.max_width = max(len(f"{v:.{p}e}") for v in values)
        else:
            self.max_width = max(len(f"{v:.{p}f}") for v in values)
        if _PRINT["sci_mode"] is not None:
            self.sci_mode = _PRINT["sci_mode"]

    def format(self, value) -> str:
        p = _PRINT["precision"]
        if self.floating:
            if self.sci_mode:
                s = f"{value:{self.max_width}.{p}e}"
            elif self.int_mode:
                s = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    s += "."
            else:
                s = f"{value:.{p}f}"
        else:
            s = f"{value}"
        return (self.max_width - len(s)) * " " + s


def _summarized(a: np.ndarray) -> np.ndarray:
    """The elements that a summarised print shows (the formatter is sized on these alone)."""
    e = _PRINT["edgeitems"]
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return np.concatenate([a[:e], a[-e:]]) if a.shape[0] > 2 * e else a
    if not e:
        return a.reshape((0,) * a.ndim)
    rows = list(range(e)) + list(range(a.shape[0] - e, a.shape[0])) if a.shape[0] > 2 * e else None
    picked = [a[i] for i in rows] if rows is not None else list(a)
    return np.stack([_summarized(x) for x in picked])


def _vector(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    e = _PRINT["edgeitems"]
    per_line = max(1, int(math.floor((_PRINT["linewidth"] - indent) / (fmt.max_width + 2))))
    if summarize and not e:
        data = ["..."]
    elif summarize and a.shape[0] > 2 * e:
        data = (
            [fmt.format(v) for v in a[:e].tolist()]
            + [" ..."]
            + [fmt.format(v) for v in a[-e:].tolist()]
        )
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    e = _PRINT["edgeitems"]
    if summarize and a.shape[0] > 2 * e:
        slices = (
            [_nested(a[i], indent + 1, summarize, fmt) for i in range(e)]
            + ["..."]
            + [_nested(a[i], indent + 1, summarize, fmt) for i in range(a.shape[0] - e, a.shape[0])]
        )
    else:
        slices = [_nested(a[i], indent + 1, summarize, fmt) for i in range(a.shape[0])]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _body(a: np.ndarray, indent: int) -> str:
    if a.size == 0:
        return "[]"
    summarize = a.size > _PRINT["threshold"]
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    fmt = _Formatter(_summarized(a) if summarize else a)
    return _nested(a, indent, summarize, fmt)


def _add_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """Append ``, suffix`` items, wrapping onto a new line past the line width (as PyTorch)."""
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > _PRINT["linewidth"]:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(t) -> str:
    """The PyTorch-style repr of a tensor (reads the data: on a GPU this is a recorded sync)."""
    a = transfer.host_read(t._data, t._device, "print")
    prefix = "tensor("
    suffixes = []
    # NOTE: PyTorch prints the device when it is not the default one; cpu:N logical devices
    # are not the default either.
    if t._device.type != "cpu" or t._device.index != 0:
        suffixes.append(f"device='{t._device}'")
    d = t.dtype
    default = _dtype.get_default_dtype()
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if d is not default:
            suffixes.append(f"dtype={d}")
        body = "[]"
    else:
        if not _PRINT["edgeitems"]:
            suffixes.append(f"size={tuple(a.shape)}")
        if d not in (default, _dtype.int64, _dtype.bool_):
            suffixes.append(f"dtype={d}")
        body = _body(a, len(prefix))
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, len(prefix))
