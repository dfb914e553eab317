"""Small sessions for the Trace, Transfers and Graph view tests (built once per test module).

- :func:`dynamic_session`: example 4's ``FixedHiddenMLP`` (a ``while`` loop on the data) called on
  inputs of different scales, so its passes run different numbers of ops;
- :func:`transfer_session`: a model whose pass copies its output to ``cpu:1`` twelve times and
  reads five of the copies with ``.item()`` (exact bytes, syncs, advice);
- :func:`quiet_session`: a model whose pass neither copies nor syncs;
- :func:`huge_session`: one pass of ``n`` op events built directly as records.
"""

from __future__ import annotations

import sys
from pathlib import Path

import graphlab as gl
from graphlab import nn
from graphlab.inspect import session
from graphlab.trace import Trace
from graphlab.trace.events import OpEvent, ValueRef

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
COPIES = 12  # more than SMALL_COPIES_PER_SITE: the report advises batching them
SYNCS = 5  # more than SYNCS_PER_SITE: the report advises reading once


def dynamic_session(scales=(0.01, 1.0, 10.0, 1.0)):
    """One pass of example 4 per input scale (a larger input loops ``X /= 2`` more times)."""
    sys.path.insert(0, str(SAMPLES))
    try:
        from blocks import FixedHiddenMLP
    finally:
        sys.path.remove(str(SAMPLES))
    gl.manual_seed(0)
    net = FixedHiddenMLP()
    traces = []
    for scale in scales:
        with gl.record(level="meta", timing=False) as tr:
            net(gl.randn(2, 20) * scale).backward()
        traces.append(tr)
    return session(net, traces=traces, name="dynamic")


def transfer_session(steps: int = 2):
    """A ``Linear(5, 3)`` on the CPU whose (4, 3) float32 output (48 B) is copied to ``cpu:1``."""
    gl.manual_seed(0)
    lin = nn.Linear(5, 3)
    traces = []
    for _ in range(steps):
        with gl.record(timing=False) as tr:
            out = lin(gl.randn(4, 5))
            moved = [out.to("cpu:1") for _ in range(COPIES)]
            for m in moved[:SYNCS]:
                m.sum().item()
        traces.append(tr)
    return session(lin, traces=traces, name="transfers")


def quiet_session():
    """A pass with ops only: no copy, no sync."""
    lin = nn.Linear(5, 3)
    with gl.record(timing=False) as tr:
        lin(gl.randn(4, 5))
    return session(lin, traces=[tr], name="quiet")


def no_pass_session():
    """A model that recorded no pass."""
    return session(nn.Linear(5, 3), name="unrecorded")


def huge_trace(n: int) -> Trace:
    """``n`` op events in a chain (each reads the last one's output), timed, in 50 modules."""
    events = []
    prev = ValueRef(0, (4, 8), "float32", "cpu", 128, const=True)
    for i in range(n):
        out = ValueRef(i + 1, (4, 8), "float32", "cpu", 128, requires_grad=True)
        events.append(
            OpEvent(
                i, "Add" if i % 2 else "Relu", f"layers.{i % 50}", "Linear", (prev, 1.0), (out,),
                seconds=1e-6 * (i % 7 + 1),
            )
        )  # fmt: skip
        prev = out
    return Trace(events, timing=True)


def huge_session(n: int = 100_000):
    """A session whose one model holds one pass of ``n`` op events."""
    return session(nn.Linear(8, 8), traces=[huge_trace(n)], name="huge")
