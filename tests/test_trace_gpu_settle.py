"""A pass's GPU data (CUDA timing events, statistics still on the device) comes to the host
without the recorder ever waiting for the GPU when a pass closes: closed passes settle once
CUDA says their work is done, and reading a trace waits only for its own pass.

The CUDA side is a fake here (CI has no GPU): events are done when the fake GPU has run up to
them, and every wait is counted. ``tests/test_ops_gpu.py`` runs the real thing on a GPU.
"""

from __future__ import annotations

import contextlib
import types

import numpy as np
import pytest

import graphlab as gl
from graphlab.trace import _stats, _store
from graphlab.trace._store import OP_SECONDS, Pass


class FakeGPU:
    """Work is queued in order; ``run_to(n)`` finishes the first ``n`` recorded events."""

    def __init__(self):
        self.recorded = 0
        self.done_upto = 0
        self.waits = 0  # host waits for the GPU: what closing a pass must never do
        self.copies: list[str] = []  # "current" or "aside": the stream each copy ran on
        gpu = self

        class Event:
            def __init__(self, block=False, disable_timing=False, interprocess=False):
                self.seq = None

            def record(self, stream=None):
                gpu.recorded += 1
                self.seq = gpu.recorded

            @property
            def done(self):
                return self.seq <= gpu.done_upto

            def synchronize(self):
                if not self.done:
                    gpu.waits += 1
                    gpu.done_upto = self.seq

        def elapsed_ms(start, end):
            return float(end.seq - start.seq)  # 1 ms per op

        pool = types.SimpleNamespace(used_bytes=lambda: 4096)
        self.xp = types.SimpleNamespace(
            cuda=types.SimpleNamespace(Event=Event, get_elapsed_time=elapsed_ms),
            get_default_memory_pool=lambda: pool,
        )

    def use(self, dev):
        return contextlib.nullcontext()

    def run_to(self, n):
        self.done_upto = max(self.done_upto, n)


class DeviceArray:
    """Stands for a CuPy array of statistics: ``get()`` copies on the current stream."""

    def __init__(self, gpu, value):
        self.gpu, self.value = gpu, value

    def get(self):
        self.gpu.copies.append("current")
        return np.asarray(self.value)


@pytest.fixture
def gpu(monkeypatch):
    fake = FakeGPU()
    monkeypatch.setattr(gl.backends, "cuda", lambda: fake)

    def get_aside(a):
        a.gpu.copies.append("aside")
        return np.asarray(a.value)

    monkeypatch.setattr(_stats, "_get_aside", get_aside)
    monkeypatch.setattr(_store, "unsettled", [])
    return fake


CUDA0 = gl.device("cuda:0")


def _gpu_pass(gpu, ops: int) -> Pass:
    """A pass at level "stats" with ``ops`` CUDA op events, each holding device statistics."""
    p = Pass(auto=True, level="stats", timing=True, max_events=None, stack=[])
    for eid in range(ops):
        raw = [None] * 13
        raw[OP_SECONDS] = 0.5  # host time, replaced by the device's
        raw[10] = (_stats.Dev(DeviceArray(gpu, [float(eid)])),)
        p.raw.append(tuple(raw))
        p.on_device(eid, OP_SECONDS, CUDA0)
        p.add_pending(eid)
    return p


def test_closing_a_pass_never_waits_for_the_gpu(gpu):
    p = _gpu_pass(gpu, 3)
    p.close()
    assert gpu.waits == 0 and gpu.copies == []
    assert _store.unsettled == [p]
    assert isinstance(p.raw[0][10][0], _stats.Dev)  # still on the device


def test_a_closed_pass_settles_at_a_later_close_once_the_gpu_is_done(gpu):
    first = _gpu_pass(gpu, 3)
    first.close()  # events 1-3 are the ops, 4 the end of the pass
    second = _gpu_pass(gpu, 2)
    gpu.run_to(3)  # the last op is done, but not the end mark
    second.close()
    assert _store.unsettled == [first, second]

    gpu.run_to(4)
    third = _gpu_pass(gpu, 1)
    third.close()
    assert gpu.waits == 0
    assert _store.unsettled == [second, third]
    assert gpu.copies == ["aside"] * 3  # NOTE: never on the stream holding the next step
    assert [r[OP_SECONDS] for r in first.raw] == [0.5, 0.001, 0.001]
    assert [r[10][0].tolist() for r in first.raw] == [[0.0], [1.0], [2.0]]


def test_reading_an_unfinished_pass_waits_for_that_pass_only(gpu):
    first = _gpu_pass(gpu, 2)
    first.close()
    second = _gpu_pass(gpu, 2)
    second.close()
    first._resolve()  # what Trace.events does when it builds the records
    assert gpu.waits == 1 and gpu.done_upto == 3  # first's end mark, not second's work
    assert _store.unsettled == [second]
    assert gpu.copies == ["current", "current"]
    first._resolve()  # resolved once
    assert gpu.waits == 1 and len(gpu.copies) == 2


def test_an_open_pass_read_while_recording_waits_for_its_last_op(gpu):
    p = _gpu_pass(gpu, 2)
    p._resolve()
    assert gpu.waits == 1 and gpu.done_upto == 2
    assert p.raw[1][OP_SECONDS] == 0.001 and p.open


def test_switching_recording_off_settles_every_closed_pass(gpu):
    old = gl.set_trace_options(enabled=True)
    try:
        p = _gpu_pass(gpu, 2)
        p.close()
        assert _store.unsettled == [p]
        gl.set_trace_options(enabled=False)  # no later pass will close to settle it
        assert _store.unsettled == [] and gpu.waits == 1
        assert [r[10][0].tolist() for r in p.raw] == [[0.0], [1.0]]
    finally:
        gl.set_trace_options(**old)
