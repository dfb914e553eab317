"""How long ``exporters.dot.trace_graph`` takes on recorded traces of 1k, 10k and 50k ops.

``bench/io.py`` prints this table with the file-I/O figures; run this file alone to iterate on
the DOT exporter without writing 400 MB of checkpoints. From the repository root::

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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _timing import best_of, format_table  # noqa: E402

import graphlab as gl  # noqa: E402
from exporters import dot  # noqa: E402
from graphlab import nn  # noqa: E402

SIZES = (1_000, 10_000, 50_000)
GOAL_S = 2.0


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


def table(sizes=SIZES, repeats: int = 3) -> str:
    """Export times (best of ``repeats``) for traces of each size, as a printable table."""
    rows = []
    for n in sizes:
        tr = record(n)
        times = [
            best_of(lambda tr=tr: dot.trace_graph(tr), repeats),
            best_of(lambda tr=tr: dot.trace_graph(tr, fold=False), repeats),
            best_of(lambda tr=tr: dot.trace_graph(tr, depth=1, fold=False), repeats),
        ]
        lines = dot.trace_graph(tr, fold=False).source.count("\n")
        slowest = max(times)
        rows.append(
            [f"{len(tr.filter(kind='op')):,}", *(f"{t:.3f}" for t in times), f"{lines:,}"]
            + ["yes" if slowest < GOAL_S else f"no ({slowest:.1f} s)"]
        )
    headers = ["ops", "default s", "fold=False s", "depth=1 s", "DOT lines", f"all < {GOAL_S:g} s"]
    return format_table(headers, rows, right={0, 1, 2, 3, 4})


def main(argv: list[str] | None = None) -> int:
    """Print the export times as a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--repeats", type=int, default=3, help="runs per figure (the best is kept)")
    args = ap.parse_args(argv)
    print(table(args.sizes, args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
