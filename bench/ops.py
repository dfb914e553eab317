"""Per-op overhead of graphlab next to raw NumPy and PyTorch (CPU), measured in the same run.

Run: ``python bench/ops.py [--quick] [--ops add,mul,...] [--no-torch]``. See bench/README.md for
what the columns mean. A benchmark, not a test: it prints figures and never fails on a timing; a
measurement that raises is shown as ``-`` with the reason under the table.
"""

from __future__ import annotations

import argparse
import datetime
import math
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from _timing import FULL, QUICK, Budget, format_table, machine, measure

import graphlab as gl

ONE_M = 1 << 20  # "1M" elements: 1,048,576 = 1024 x 1024, so matmul's 1024x1024 matches in size

Arrays = Sequence[np.ndarray]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x: np.ndarray) -> np.ndarray:
    # NOTE: subtract the max so exp cannot overflow; the same trick every framework uses.
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _np_add(g, x, y):
    out = x + y
    return out, (g.copy(), g.copy())


def _np_mul(g, x, y):
    return x * y, (g * y, g * x)


def _np_exp(g, x):
    out = np.exp(x)
    return out, (g * out,)


def _np_relu(g, x):
    return np.maximum(x, 0), (g * (x > 0),)


def _np_sum(g, x):
    return x.sum(), (np.broadcast_to(g, x.shape).copy(),)


def _np_matmul(g, x, y):
    return x @ y, (g @ y.T, x.T @ g)


def _np_sigmoid(g, x):
    s = _sigmoid(x)
    return s, (g * s * (1 - s),)


def _np_softmax(g, x):
    s = _softmax(x)
    return s, (s * (g - (g * s).sum(axis=-1, keepdims=True)),)


def _np_chain(g, x, y):
    u = x * y + x
    out = np.maximum(u, 0)
    gu = g * (u > 0)
    return out, (gu * y + gu, gu * x)


@dataclass(frozen=True)
class Case:
    """One benchmarked op.

    ``shapes``: the input shapes for the "1" ("small") and "1M" ("large") sizes, and a "check" size
    used only to verify the math; ``fn(lib, *inputs)``: the op written
    once for graphlab and PyTorch (``lib`` is ``graphlab`` or ``torch``: the spellings are the
    same); ``np_fwd(*arrays)``: the same math in NumPy; ``np_fwd_bwd(grad, *arrays)``: NumPy
    forward plus a hand-written backward, returning ``(out, grads)``.
    """

    name: str
    shapes: dict[str, list[tuple[int, ...]]]
    fn: Callable
    np_fwd: Callable
    np_fwd_bwd: Callable
    size_labels: tuple[str, str] = ("1", "1M")


def _ew(n_inputs: int) -> dict[str, list[tuple[int, ...]]]:
    # "check": a small 2-D size where every gradient is non-trivial, for check_case.
    return {
        "small": [(1,)] * n_inputs,
        "large": [(ONE_M,)] * n_inputs,
        "check": [(4, 5)] * n_inputs,
    }


CASES: list[Case] = [
    Case("add", _ew(2), lambda m, x, y: x + y, lambda x, y: x + y, _np_add),
    Case("mul", _ew(2), lambda m, x, y: x * y, lambda x, y: x * y, _np_mul),
    Case("exp", _ew(1), lambda m, x: m.exp(x), np.exp, _np_exp),
    Case("relu", _ew(1), lambda m, x: m.relu(x), lambda x: np.maximum(x, 0), _np_relu),
    Case("sum", _ew(1), lambda m, x: x.sum(), lambda x: x.sum(), _np_sum),
    Case(
        "matmul",
        {
            "small": [(1, 1), (1, 1)],
            "large": [(1024, 1024), (1024, 1024)],
            "check": [(3, 4), (4, 5)],
        },
        lambda m, x, y: m.matmul(x, y),
        lambda x, y: x @ y,
        _np_matmul,
        size_labels=("1x1", "1024x1024"),
    ),
    Case("sigmoid", _ew(1), lambda m, x: m.sigmoid(x), _sigmoid, _np_sigmoid),
    Case("softmax", _ew(1), lambda m, x: m.softmax(x, dim=-1), _softmax, _np_softmax),
    Case(
        "relu(x*y+x)",
        _ew(2),
        lambda m, x, y: m.relu(x * y + x),
        lambda x, y: np.maximum(x * y + x, 0),
        _np_chain,
    ),
]

LIBS = ("graphlab", "numpy", "torch")
MODES = ("fwd", "fwd+bwd")


def make_inputs(case: Case, size: str, seed: int = 0) -> list[np.ndarray]:
    """Random float32 inputs for ``case`` at ``size`` ("small", "large" or "check")."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape, dtype=np.float32) for shape in case.shapes[size]]


def graphlab_fns(case: Case, arrays: Arrays) -> dict[str, Callable[[], object]]:
    """The timed graphlab closures: forward (graph recorded), and forward plus backward."""
    leaves = [gl.tensor(a, requires_grad=True) for a in arrays]
    grad = gl.tensor(np.ones_like(case.np_fwd(*arrays)))

    def fwd_bwd():
        case.fn(gl, *leaves).backward(grad)
        # NOTE: like zero_grad(set_to_none=True) in a training loop: each backward starts fresh.
        for leaf in leaves:
            leaf.grad = None

    return {"fwd": lambda: case.fn(gl, *leaves), "fwd+bwd": fwd_bwd}


def torch_fns(torch, case: Case, arrays: Arrays) -> dict[str, Callable[[], object]]:
    """The timed PyTorch closures, the same code as ``graphlab_fns`` with ``torch`` for ``gl``."""
    leaves = [torch.from_numpy(a.copy()).requires_grad_(True) for a in arrays]
    grad = torch.from_numpy(np.ones_like(case.np_fwd(*arrays)))

    def fwd_bwd():
        case.fn(torch, *leaves).backward(grad)
        for leaf in leaves:
            leaf.grad = None

    return {"fwd": lambda: case.fn(torch, *leaves), "fwd+bwd": fwd_bwd}


def numpy_fns(case: Case, arrays: Arrays) -> dict[str, Callable[[], object]]:
    """The timed NumPy closures: the forward math, and forward plus hand-written backward."""
    grad = np.ones_like(case.np_fwd(*arrays))
    return {"fwd": lambda: case.np_fwd(*arrays), "fwd+bwd": lambda: case.np_fwd_bwd(grad, *arrays)}


def check_case(case: Case, size: str = "check", seed: int = 1) -> list[str]:
    """Compare graphlab's output and gradients with the NumPy reference; returns the mismatches.

    Run before timing, so a table never compares graphlab with different math. The upstream
    gradient is random (not ones) so that, e.g., softmax's backward is not trivially zero.
    """
    arrays = make_inputs(case, size, seed)
    rng = np.random.default_rng(seed + 1)
    ref_out = np.asarray(case.np_fwd(*arrays))
    grad = rng.standard_normal(ref_out.shape).astype(np.float32)
    ref_out_bwd, ref_grads = case.np_fwd_bwd(grad, *arrays)
    leaves = [gl.tensor(a, requires_grad=True) for a in arrays]
    out = case.fn(gl, *leaves)
    out.backward(gl.tensor(grad))
    problems = []
    pairs = [("output", out.detach().numpy(), ref_out)]
    # The NumPy forward+backward must compute the same forward as the NumPy forward alone.
    pairs.append(("NumPy fwd+bwd output", np.asarray(ref_out_bwd), ref_out))
    pairs += [
        (f"grad {i}", leaf.grad.numpy(), ref)
        for i, (leaf, ref) in enumerate(zip(leaves, ref_grads))
    ]
    for what, got, want in pairs:
        scale = max(1.0, float(np.abs(want).max(initial=0.0)))
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-3, atol=1e-4 * scale):
            problems.append(f"{case.name} ({size}): {what} differs from NumPy")
    return problems


def _us(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    us = seconds * 1e6
    if us < 10:
        return f"{us:.2f}"
    if us < 1000:
        return f"{us:.1f}"
    return f"{us:,.0f}"


def _ratio(num: float | None, den: float | None) -> str:
    if num is None or den is None or den <= 0:
        return "-"
    r = num / den
    return f"{r:.2f}x" if r < 10 else f"{r:.1f}x" if r < 100 else f"{r:.0f}x"


def _geomean(values: list[float]) -> float | None:
    return math.exp(sum(map(math.log, values)) / len(values)) if values else None


def run(cases: Sequence[Case], budget: Budget, torch=None) -> tuple[str, list[str]]:
    """Measure every case, size, mode and library; returns the table and the notes under it."""
    notes: list[str] = []
    rows: list[list[str]] = []
    ratios: dict[tuple[str, str], list[float]] = {}
    libs = [lib for lib in LIBS if lib != "torch" or torch is not None]
    for case in cases:
        for size, label in zip(("small", "large"), case.size_labels):
            try:
                notes += check_case(case, size)
            except Exception as exc:  # a benchmark reports, it does not stop
                notes.append(f"{case.name} ({label}): check failed: {type(exc).__name__}: {exc}")
            arrays = make_inputs(case, size)
            fns: dict[str, dict[str, Callable[[], object]]] = {}
            for lib in libs:
                try:
                    if lib == "graphlab":
                        fns[lib] = graphlab_fns(case, arrays)
                    elif lib == "numpy":
                        fns[lib] = numpy_fns(case, arrays)
                    else:
                        fns[lib] = torch_fns(torch, case, arrays)
                except Exception as exc:
                    notes.append(f"{case.name} ({label}) {lib}: setup failed: {exc!r}")
            for mode in MODES:
                times: dict[str, float | None] = {}
                for lib in libs:
                    times[lib] = None
                    if lib not in fns:
                        continue
                    try:
                        times[lib] = measure(fns[lib][mode], budget)
                    except Exception as exc:
                        notes.append(f"{case.name} ({label}) {mode} {lib}: {exc!r}")
                    print(".", end="", file=sys.stderr, flush=True)
                gl_t = times["graphlab"]
                for peer in ("numpy", "torch"):
                    if gl_t and times.get(peer):
                        ratios.setdefault((peer, size), []).append(gl_t / times[peer])
                row = [case.name, label, mode, _us(gl_t), _us(times["numpy"])]
                if torch is not None:
                    row.append(_us(times["torch"]))
                row.append(_ratio(gl_t, times["numpy"]))
                if torch is not None:
                    row.append(_ratio(gl_t, times["torch"]))
                rows.append(row)
    print(file=sys.stderr)
    headers = ["op", "size", "mode", "graphlab us", "numpy us"]
    if torch is not None:
        headers.append("torch us")
    headers.append("gl/np")
    if torch is not None:
        headers.append("gl/torch")
    table = format_table(headers, rows, right=set(range(3, len(headers))))
    means = [
        f"geometric mean of graphlab/{peer} over the ops, {which} inputs: "
        + _ratio(_geomean(ratios.get((peer, size), [])), 1)
        for peer in ("numpy", "torch")
        for size, which in (("small", "1-element"), ("large", "1M-element"))
        if (peer, size) in ratios
    ]
    return table, means + notes


def _header(args: argparse.Namespace, torch) -> list[str]:
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    torch_line = (
        f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
        if torch is not None
        else "torch: not measured"
    )
    return [
        f"bench/ops.py  {now}  {'--quick' if args.quick else 'full'} run",
        f"python {platform.python_version()}, numpy {np.__version__}, {torch_line}, "
        f"graphlab {getattr(gl, '__version__', '(dev)')}",
        f"machine: {machine()}; float32; median of repeats, microseconds per op",
    ]


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, measure, print the table; returns the exit status (always 0)."""
    parser = argparse.ArgumentParser(prog="bench/ops.py", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short warm-up and 3 repeats")
    parser.add_argument(
        "--ops",
        default="",
        help="comma-separated op names to run (default: all: "
        + ", ".join(c.name for c in CASES)
        + ")",
    )
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="PyTorch intra-op threads (default 1, like NumPy's element-wise kernels; "
        "0 keeps PyTorch's default)",
    )
    args = parser.parse_args(argv)
    wanted = [name for name in args.ops.split(",") if name]
    unknown = sorted(set(wanted) - {c.name for c in CASES})
    if unknown:
        parser.error(f"unknown op(s) {unknown}; choose from {[c.name for c in CASES]}")
    cases = [c for c in CASES if not wanted or c.name in wanted]
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            torch = None
    if torch is not None and args.torch_threads > 0:
        # NOTE: NumPy (and so graphlab) runs element-wise ops on one thread; PyTorch's default
        # thread pool measures parallelism, not per-op cost, and on a busy 2-core machine its
        # spinning workers can make it 10-50x slower than one thread.
        torch.set_num_threads(args.torch_threads)
    budget = QUICK if args.quick else FULL
    header = _header(args, torch)
    table, notes = run(cases, budget, torch)
    print("\n".join(header))
    print()
    print(table)
    if notes:
        print()
        print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
