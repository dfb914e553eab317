"""Static replay vs eager: time per forward (and forward+backward) of the D2L MLP, in one run.

Run: ``python bench/replay.py [--quick] [--batches 1,256]``.
The model is the D2L MLP ``Sequential(Linear(20, 256), ReLU(), Linear(256, 10))``; its static
graph comes from ``graphlab.jit.trace``. "eager" calls the module (module calls, argument
checks, Python ``forward`` code); "replay" calls the static graph (the same three ops, straight
from generated code, with one guard per input). Forward+backward is ``zero_grad``, forward,
``out.sum().backward()``. Eager and replay are measured alternately, five times each (twice
with ``--quick``), and the fastest median of each is kept: a burst of machine load that slows
one measurement of either is left out.

Recording is on, at its defaults, for both: a call of the module and a top-level call of the
static graph each open a pass of the always-on recorder, so both pay for it alike.

As in ``bench/trace_overhead.py``, BLAS runs on one thread (unless the environment says
otherwise) and glibc's malloc thresholds are pinned first: with the dynamic defaults, whether
the batch-256 activations come from fresh ``mmap`` pages depends on the allocation history, and
the same batch-256 forward measured ~85 µs in one process and ~290 µs in another.

Goal (issue 4): replay at least 1.2x faster than eager on the MLP at batch 1. A benchmark, not
a test: it prints figures and ratios and never fails on a timing.
"""

from __future__ import annotations

import os

# NOTE: before NumPy loads (see bench/trace_overhead.py)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
from _timing import FULL, QUICK, Budget, format_table, machine, measure, pin_malloc  # noqa: E402

import graphlab as gl  # noqa: E402
from graphlab import nn  # noqa: E402

GOAL = 1.2


def d2l_mlp() -> nn.Module:
    """The D2L MLP: 20 -> 256 -> 10 with a ReLU."""
    return nn.Sequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))


def _forward(fn, x):
    return lambda: fn(x)


def _step(fn, net, x):
    def run():
        net.zero_grad()
        fn(x).sum().backward()

    return run


def _alternated(a, b, budget: Budget, rounds: int) -> tuple[float, float]:
    """The fastest of ``rounds`` medians of ``a`` and of ``b``, measured in turn."""
    ta, tb = float("inf"), float("inf")
    for _ in range(rounds):
        ta, tb = min(ta, measure(a, budget)), min(tb, measure(b, budget))
    return ta, tb


def _check(net, static, x) -> str | None:
    """None when replay reproduces eager's output and gradients, else what differs."""
    net.zero_grad()
    e = net(x)
    e.sum().backward()
    e_grads = [p.grad.numpy().copy() for p in net.parameters()]
    net.zero_grad()
    r = static(x)
    r.sum().backward()
    if not np.array_equal(e.detach().numpy(), r.detach().numpy()):
        return "outputs differ"
    for (name, p), g in zip(net.named_parameters(), e_grads):
        if not np.array_equal(p.grad.numpy(), g):
            return f"gradient of {name} differs"
    return None


def main(argv: list[str] | None = None) -> dict[int, dict[str, float]]:
    """Measure and print; returns ``{batch: {"fwd_eager": s, "fwd_replay": s, …}}``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short measurements (noisier)")
    ap.add_argument("--batches", default="1,256", help="comma-separated batch sizes")
    args = ap.parse_args(argv)
    budget = QUICK if args.quick else FULL
    rounds = 2 if args.quick else 5
    batches = [int(b) for b in args.batches.split(",")]

    pinned = pin_malloc()
    opts = gl.set_trace_options()
    print(
        f"bench/replay.py  {datetime.datetime.now():%Y-%m-%d %H:%M}  "
        f"{'quick' if args.quick else 'full'} run; recording "
        f"{'on, level ' + opts['level'] if opts['enabled'] else 'off'}; malloc thresholds "
        f"{'pinned' if pinned else 'NOT pinned'}; BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}"
    )
    print(f"machine: {machine()}")
    gl.manual_seed(0)
    net = d2l_mlp()
    rows, notes, results = [], [], {}
    for batch in batches:
        x = gl.rand(batch, 20)
        static = gl.jit.trace(net, x)
        problem = _check(net, static, x)
        if problem:
            notes.append(f"batch {batch}: replay does not match eager ({problem})")
        fe, fr = _alternated(_forward(net, x), _forward(static, x), budget, rounds)
        be, br = _alternated(_step(net, net, x), _step(static, net, x), budget, rounds)
        results[batch] = {"fwd_eager": fe, "fwd_replay": fr, "step_eager": be, "step_replay": br}
        for what, e, r in (("forward", fe, fr), ("forward+backward", be, br)):
            rows.append([str(batch), what, f"{e * 1e6:.1f}", f"{r * 1e6:.1f}", f"{e / r:.2f}x"])
    print("D2L MLP 20->256->10, graphlab eager vs graphlab.jit.trace replay (CPU)")
    print(
        format_table(
            ["batch", "pass", "eager us", "replay us", "speed-up"], rows, right={0, 2, 3, 4}
        )
    )
    if 1 in results:
        r = results[1]["fwd_eager"] / results[1]["fwd_replay"]
        verdict = "met" if r >= GOAL else "NOT met"
        print(
            f"\ngoal: replay >= {GOAL}x faster than eager at batch 1 (forward): {r:.2f}x, {verdict}"
        )
    for note in notes:
        print(f"WARNING: {note}")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
