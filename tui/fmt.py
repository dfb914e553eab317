"""Short human-readable numbers for the workbench: bytes, seconds, counts, statistics."""

from __future__ import annotations

import math

__all__ = ["bytes_", "count", "num", "seconds", "shape"]


def bytes_(n: float | None) -> str:
    """``1536`` → ``"1.5 KiB"``."""
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - the loop returns at GiB


def seconds(s: float | None) -> str:
    """``0.00042`` → ``"420 µs"``; None (timing off) → ``"-"``."""
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "-"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.0f} µs"


def count(n: int | None) -> str:
    """``1234567`` → ``"1,234,567"``."""
    return "-" if n is None else f"{n:,}"


def num(x: float | None) -> str:
    """A statistic in 4 significant digits (``nan``/``inf`` spelled out)."""
    if x is None:
        return "-"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return f"{x:.4g}"


def shape(s) -> str:
    """``(2, 3)`` → ``"2×3"``; a scalar → ``"()"``; lazy (None) → ``"lazy"``."""
    if s is None:
        return "lazy"
    return "×".join(str(d) for d in s) if len(s) else "()"
