"""Timing helpers for the benchmarks: warm-up, calibrated loops, the median of repeats,
the best of a few long calls.

Benchmarks are not tests: nothing here judges a timing, it only measures and formats.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """How long to measure one function.

    ``warmup_s``: time spent calling it before measuring (at least ``min_warmup`` calls), which
    also estimates one call's duration; ``target_s``: how long each timed repeat should last (the
    number of calls per repeat is chosen from the estimate, at least one); ``repeats``: how many
    timed repeats, whose median is reported.
    """

    warmup_s: float = 0.05
    target_s: float = 0.05
    repeats: int = 7
    min_warmup: int = 3


FULL = Budget()
QUICK = Budget(warmup_s=0.01, target_s=0.01, repeats=3, min_warmup=2)


def cpu_model(cpuinfo: str) -> str:
    """The processor's name in the text of ``/proc/cpuinfo``, with its family and model numbers
    where the text gives them (a VM often names only "AMD EPYC": the numbers tell which
    generation); "" when the text names none."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            if fields:
                break  # NOTE: the first processor's block is enough
            continue
        fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name", "")
    numbers = [f"{k} {fields[k]}" for k in ("cpu family", "model") if fields.get(k)]
    return f"{name} ({', '.join(numbers)})" if name and numbers else name


def machine() -> str:
    """Where a benchmark ran, for its header: architecture, processor, CPU count and load average
    (other processes skew CPU timings, and the same code measures differently on another
    processor, so figures are only comparable with this line beside them)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            model = cpu_model(f.read())
    except OSError:
        model = ""
    model = model or platform.processor() or "processor unknown"
    load = f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "n/a"
    return f"{platform.machine()} {model}, {os.cpu_count()} CPUs, load average {load}"


def pin_malloc() -> bool:
    """Fix glibc's mmap and trim thresholds (``mallopt``) so that step times do not jump.

    NOTE: with the default *dynamic* thresholds, whether the step's 256 KiB activations come
    from fresh ``mmap`` pages (a page fault per 4 KiB) or from the heap depends on the process's
    allocation history, and the same step measured ~350 µs or ~660 µs from one process to the
    next. Pinning both thresholds makes every setting measure the same allocator behaviour.
    Returns whether it worked (glibc only).
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(
            libc.mallopt(m_mmap_threshold, 64 << 20) and libc.mallopt(m_trim_threshold, 256 << 20)
        )
    except (OSError, AttributeError):
        return False


def measure(fn: Callable[[], object], budget: Budget = FULL) -> float:
    """Seconds per call of ``fn`` (no arguments): the median over ``budget.repeats`` timed loops."""
    clock = time.perf_counter
    calls = 0
    start = clock()
    while calls < budget.min_warmup or clock() - start < budget.warmup_s:
        fn()
        calls += 1
    per_call = (clock() - start) / calls
    number = max(1, int(budget.target_s / per_call)) if per_call > 0 else 1000
    samples = []
    for _ in range(budget.repeats):
        t0 = clock()
        for _ in range(number):
            fn()
        samples.append((clock() - t0) / number)
    return statistics.median(samples)


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """Seconds of the fastest of ``repeats`` calls of ``fn``: for long calls (file I/O, exports)
    whose noise only ever adds time, so the minimum is the figure to compare."""
    best = float("inf")
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """Plain-text table with aligned columns; columns whose index is in ``right`` align right."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def case_parser(description: str, rounds_help: str) -> argparse.ArgumentParser:
    """The options the recorder benchmarks share: ``--quick``, ``--cases`` and ``--rounds``."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true", help="fewer, shorter rounds (noisier)")
    ap.add_argument("--cases", default="mlp,cnn", help="comma-separated: mlp, cnn")
    ap.add_argument("--rounds", type=int, default=None, help=rounds_help)
    return ap


def chosen_cases(ap: argparse.ArgumentParser, cases: str, known: Sequence[str]) -> list[str]:
    """The names in ``cases`` (comma-separated); a usage error through ``ap`` for unknown ones."""
    names = [c.strip() for c in cases.split(",") if c.strip()]
    bad = [n for n in names if n not in known]
    if bad:
        ap.error(f"unknown case(s) {bad}; choose from {sorted(known)}")
    return names
