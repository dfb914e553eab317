"""bench/replay.py runs end to end: eager and replay agree, and every row and the goal print."""

from __future__ import annotations

import pytest


@pytest.fixture()
def bench(load_bench):
    return load_bench("replay")


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
