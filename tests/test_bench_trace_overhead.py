"""bench/trace_overhead.py runs end to end (one short round) and prints every setting."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import graphlab as gl

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def bench(monkeypatch):
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")  # NOTE: the module sets them so; put back after
    sys.path.insert(0, str(ROOT / "bench"))
    path = ROOT / "bench" / "trace_overhead.py"
    spec = importlib.util.spec_from_file_location("_trace_overhead", path)
    mod = importlib.util.module_from_spec(spec)
    old = gl.set_trace_options()
    try:
        spec.loader.exec_module(mod)
        # NOTE: mallopt would change this whole test process's allocator
        monkeypatch.setattr(mod, "pin_malloc", lambda: False)
        yield mod
    finally:
        sys.path.remove(str(ROOT / "bench"))
        gl.set_trace_options(**old)


def test_a_quick_round_prints_every_setting_and_the_hooks(bench, capsys):
    bench.main(["--quick", "--cases", "mlp", "--rounds", "1"])
    out = capsys.readouterr().out
    assert "recorder hooks: C (graphlab/trace/_fastrec.c)" in out
    for setting in ("off", "meta", "stats", "values"):
        assert f"mlp 20-256-10 b256  {setting}" in out
    assert "raw B/event" in out


def test_unknown_cases_are_a_usage_error(bench, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--cases", "vgg"])
    assert "unknown case(s)" in capsys.readouterr().err
