"""bench/trace_overhead.py runs end to end (one short round) and prints every setting."""

from __future__ import annotations

import pytest


@pytest.fixture
def bench(load_bench):
    return load_bench("trace_overhead")


def test_a_quick_round_prints_every_setting_and_the_hooks(bench, capsys):
    bench.main(["--quick", "--cases", "mlp", "--rounds", "1"])
    out = capsys.readouterr().out
    assert "recorder hooks: C (graphlab/trace/_fastrec.c)" in out
    for setting in ("off", "meta", "stats", "values"):
        assert f"mlp 20-256-10 b256  {setting}" in out
    assert "raw B/event" in out


def test_worker_processes_are_measured_and_their_range_printed(bench, capsys):
    bench.main(["--quick", "--cases", "mlp", "--rounds", "1", "--processes", "2"])
    out = capsys.readouterr().out
    assert "in each of 2 worker processes" in out
    row = next(line for line in out.splitlines() if line.startswith("mlp 20-256-10 b256  meta"))
    lo, hi = (float(x) for x in row.split()[7].split("-"))  # the 'processes' column
    assert lo <= float(row.split()[6].rstrip("x")) <= hi


def test_summary_is_the_median_of_the_processes_ratios(bench):
    runs = [
        {"off": [1.0, 2.0, 1.0], "meta": [1.1, 2.0, 1.3]},  # ratios 1.1, 1.0, 1.3: median 1.1
        {"off": [1.0, 1.0, 1.0], "meta": [1.02, 1.04, 1.06]},  # median 1.04
        {"off": [2.0, 2.0, 2.0], "meta": [2.1, 2.1, 2.1]},  # median 1.05
    ]
    meta = bench.summarize(runs)["meta"]
    assert meta["ratio"] == pytest.approx(1.05)
    assert (meta["lo"], meta["hi"]) == (pytest.approx(1.04), pytest.approx(1.1))
    assert meta["min"] == 1.02 and meta["median"] == pytest.approx(1.3)  # over all rounds


def test_unknown_cases_are_a_usage_error(bench, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--cases", "vgg"])
    assert "unknown case(s)" in capsys.readouterr().err
