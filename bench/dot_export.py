"""How long ``exporters.dot.trace_graph`` takes on recorded traces of 1k, 10k and 50k ops.

Run from the repository root::

    python bench/dot_export.py            # 1k, 10k, 50k ops
    python bench/dot_export.py --sizes 1000 5000

The traces are real recordings (``with graphlab.record()``) of a deep model: a ``Sequential``
of blocks (``Linear``, ``ReLU``, ``Linear``, ``Tanh``, a residual ``Add``), called in a loop until
the trace holds the number of ops asked for. Three figures per size: the default export (repeated
blocks fold into ×N nodes), ``fold=False`` (every op drawn: the worst case), and ``depth=1``.
The goal is under 2 s for 50k ops in every mode. Figures only: a benchmark never fails a build.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import graphlab as gl  # noqa: E402
from exporters import dot  # noqa: E402
from graphlab import nn  # noqa: E402


class Block(nn.Module):
    """Two linear layers with a residual connection: 5 ops per call."""

    def __init__(self, width: int):
        super().__init__()
        self.fc1 = nn.Linear(width, width)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(width, width)
        self.out = nn.Tanh()

    def forward(self, x):
        return self.out(self.fc2(self.act(self.fc1(x)))) + x


def record(n_ops: int, blocks: int = 100, width: int = 8) -> gl.trace.Trace:
    """A trace of at least ``n_ops`` forward ops (whole passes of the model)."""
    gl.manual_seed(0)
    model = nn.Sequential(*[Block(width) for _ in range(blocks)])
    x = gl.randn(2, width)
    with gl.no_grad(), gl.record(timing=False) as tr:
        count = 0
        while count < n_ops:
            model(x)
            count += blocks * 5
    return tr


def best_of(fn, repeats: int = 3) -> float:
    """The fastest of ``repeats`` timed calls, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    """Print the export times as a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 50_000])
    args = ap.parse_args(argv)
    print(f"{'ops':>8} {'default':>10} {'fold=False':>11} {'depth=1':>9} {'DOT lines':>10}")
    for n in args.sizes:
        tr = record(n)
        ops = len(tr.filter(kind="op"))
        t_default = best_of(lambda tr=tr: dot.trace_graph(tr))
        t_flat = best_of(lambda tr=tr: dot.trace_graph(tr, fold=False))
        t_depth = best_of(lambda tr=tr: dot.trace_graph(tr, depth=1, fold=False))
        lines = dot.trace_graph(tr, fold=False).source.count("\n")
        print(f"{ops:>8} {t_default:>9.3f}s {t_flat:>10.3f}s {t_depth:>8.3f}s {lines:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
