"""bench/replay.py runs end to end: eager and replay agree, and every row and the goal print."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import graphlab as gl

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def bench(monkeypatch):
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")  # NOTE: the module sets them so; put back after
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("_bench_replay", ROOT / "bench" / "replay.py")
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, mod)
    old = gl.set_trace_options()
    try:
        spec.loader.exec_module(mod)
        # NOTE: mallopt would change this whole test process's allocator
        monkeypatch.setattr(mod, "pin_malloc", lambda: False)
        yield mod
    finally:
        gl.set_trace_options(**old)


def test_a_quick_run_measures_both_passes_at_both_batches(bench, capsys):
    results = bench.main(["--quick", "--batches", "1,4"])
    out = capsys.readouterr().out
    assert set(results) == {1, 4}
    for r in results.values():
        assert set(r) == {"fwd_eager", "fwd_replay", "step_eager", "step_replay"}
        assert all(s > 0 for s in r.values())
    for batch in ("1", "4"):
        for what in ("forward", "forward+backward"):
            assert any(line.split()[:2] == [batch, what] for line in out.splitlines())
    assert "goal: replay >= 1.2x faster than eager at batch 1 (forward):" in out
    assert "machine: " in out and "malloc thresholds NOT pinned" in out
    assert "WARNING" not in out  # replay reproduced eager's output and gradients
