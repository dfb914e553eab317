"""Printing parameter tables as aligned plain text (kept apart from the data, as in JAX)."""

from __future__ import annotations

from collections.abc import Iterable

from .tables import ParameterRow

__all__ = ["format_parameter_table"]


def _num(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:.4g}"


_COLUMNS = (
    ("name", "<"),
    ("shape", "<"),
    ("dtype", "<"),
    ("device", "<"),
    ("count", ">"),
    ("mean", ">"),
    ("std", ">"),
    ("min", ">"),
    ("max", ">"),
    ("nan/inf", ">"),
    ("grad norm", ">"),
    ("tie", ">"),
)


def _cells(r: ParameterRow) -> tuple[str, ...]:
    s = r.stats
    if r.lazy:
        shape, count = "? (uninitialized)", "?"
    else:
        shape, count = str(r.shape), f"{r.count:,}"
    bad = "" if s is None or not (s.nan or s.inf) else f"{s.nan}/{s.inf}"
    return (
        r.name,
        shape,
        r.dtype,
        r.device,
        count,
        _num(s and s.mean),
        _num(s and s.std),
        _num(s and s.min),
        _num(s and s.max),
        bad,
        _num(r.grad_norm),
        "" if r.tie_group is None else str(r.tie_group),
    )


def format_parameter_table(rows: Iterable[ParameterRow]) -> str:
    """``rows`` (from :func:`parameter_table`) as an aligned plain-text table with a total line.

    The total counts each tied parameter once; ``nan/inf`` is filled only when there are some.
    """
    rows = list(rows)
    table = [tuple(c for c, _ in _COLUMNS)] + [_cells(r) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(_COLUMNS))]
    lines = [
        "  ".join(
            cell.ljust(w) if align == "<" else cell.rjust(w)
            for cell, w, (_, align) in zip(line, widths, _COLUMNS)
        ).rstrip()
        for line in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    params = [r for r in rows if r.kind == "parameter"]
    seen_groups: set[int] = set()
    total = 0
    for r in params:
        if r.tie_group is not None:
            if r.tie_group in seen_groups:
                continue
            seen_groups.add(r.tie_group)
        total += r.count or 0
    lazy = sum(r.lazy for r in params)
    summary = f"{total:,} parameters in {len(params)} names"
    if seen_groups:
        summary += f" ({len(seen_groups)} tied groups counted once)"
    if lazy:
        summary += f"; {lazy} uninitialized (lazy, not counted)"
    lines.append(summary)
    return "\n".join(lines)
