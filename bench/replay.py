"""Static replay vs eager: time per forward (and forward+backward) of the D2L MLP, in one run.

Run: ``python bench/replay.py [--quick] [--batches 1,256]``.
The model is the D2L MLP ``Sequential(Linear(20, 256), ReLU(), Linear(256, 10))``; its static
graph comes from ``graphlab.jit.trace``. "eager" calls the module (module calls, argument
checks, Python ``forward`` code); "replay" calls the static graph (the same three ops, straight
from generated code, with one guard per input). Forward+backward is ``zero_grad``, forward,
``out.sum().backward()``. Eager and replay are measured alternately, twice each, and the faster
median of each is kept, so a burst of machine load hits both alike.

Goal (issue 4): replay at least 1.2x faster than eager on the MLP at batch 1. A benchmark, not
a test: it prints figures and ratios and never fails on a timing.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _timing import FULL, QUICK, Budget, format_table, measure

import graphlab as gl
from graphlab import nn

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


def _best_of_two(a, b, budget: Budget) -> tuple[float, float]:
    ta1, tb1 = measure(a, budget), measure(b, budget)
    ta2, tb2 = measure(a, budget), measure(b, budget)
    return min(ta1, ta2), min(tb1, tb2)


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
    batches = [int(b) for b in args.batches.split(",")]

    gl.manual_seed(0)
    net = d2l_mlp()
    rows, notes, results = [], [], {}
    for batch in batches:
        x = gl.rand(batch, 20)
        static = gl.jit.trace(net, x)
        problem = _check(net, static, x)
        if problem:
            notes.append(f"batch {batch}: replay does not match eager ({problem})")
        fe, fr = _best_of_two(_forward(net, x), _forward(static, x), budget)
        be, br = _best_of_two(_step(net, net, x), _step(static, net, x), budget)
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
