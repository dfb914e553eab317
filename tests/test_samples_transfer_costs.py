"""samples/transfer_costs.py: the slow loop's copies and syncs, and the fix, seen in the trace."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from graphlab.trace.analysis import SMALL_COPIES_PER_SITE, SYNCS_PER_SITE

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "transfer_costs.py"
STEPS = 12  # > SYNCS_PER_SITE, and STEPS * BATCH per-sample copies > SMALL_COPIES_PER_SITE


def _load():
    name = "_sample_transfer_costs"
    spec = importlib.util.spec_from_file_location(name, SAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


tc = _load()


def _line(snippet: str) -> int:
    """The line number of the one line of the sample that contains ``snippet``."""
    hits = [i for i, text in enumerate(SAMPLE.read_text().splitlines(), 1) if snippet in text]
    assert len(hits) == 1, f"{snippet!r} found on lines {hits} of {SAMPLE}"
    return hits[0]


def _site(report, line: int) -> str:
    """The report's call site (``file:line``) for ``line`` of the sample."""
    for s in report.by_site:
        path, _, at = s.call_site.rpartition(":")
        if Path(path).resolve() == SAMPLE and at == str(line):
            return s.call_site
    sites = [s.call_site for s in report.by_site]
    raise AssertionError(f"no call site for {SAMPLE.name}:{line} in {sites}")


@pytest.fixture(scope="module")
def cpu_run():
    return tc.run("cpu:1", steps=STEPS)


def test_the_steps_are_enough_to_cross_the_advice_thresholds():
    assert STEPS > SYNCS_PER_SITE and STEPS * tc.BATCH > SMALL_COPIES_PER_SITE


def test_slow_loop_syncs_every_step_and_copies_per_sample(cpu_run):
    slow = cpu_run["slow"]
    assert cpu_run["device"] == "cpu:1"
    assert slow["syncs"] >= STEPS and slow["syncs"] == 2 * STEPS  # loss.item() and float(...)
    assert slow["transfers"] == 2 * STEPS * tc.BATCH  # x and y, one sample at a time
    assert slow["pageable"] == slow["transfers"] and slow["pinned"] == 0
    assert slow["non_blocking"] == 0
    small = [s.small for s in slow["report"].by_site if s.transfers]
    assert small == [STEPS * tc.BATCH] * 2


def test_fixed_loop_copies_once_and_syncs_at_the_end(cpu_run):
    slow, fixed = cpu_run["slow"], cpu_run["fixed"]
    assert fixed["syncs"] <= 2
    assert fixed["transfers"] <= 2 and fixed["transfers"] * 100 < slow["transfers"]
    assert fixed["non_blocking"] == fixed["transfers"]
    assert fixed["bytes"] == slow["bytes"]  # the same data crosses, in far fewer copies


def test_slow_report_advises_on_small_copies_and_syncs_with_the_call_site(cpu_run):
    report = cpu_run["slow"]["report"]
    copy_x = _site(report, _line("x[i].to(device)"))
    copy_y = _site(report, _line("y[i].to(device)"))
    item = _site(report, _line("losses.append(loss.item())"))
    to_float = _site(report, _line("correct += float("))
    for site in (copy_x, copy_y):
        assert any(a.startswith(f"{site}: ") and "copies under" in a for a in report.advice)
    for site in (item, to_float):
        assert any(
            a.startswith(f"{site}: ") and "host syncs" in a and ".item() inside a loop" in a
            for a in report.advice
        )
    assert len(report.advice) == 4
    assert "advice:" in str(report) and f"{copy_x}: " in str(report)


def test_fixed_report_gives_no_advice(cpu_run):
    report = cpu_run["fixed"]["report"]
    assert report.advice == ()
    assert "advice:" not in str(report)


def test_both_loops_reach_the_same_weights(cpu_run):
    slow, fixed = cpu_run["slow"], cpu_run["fixed"]
    assert slow["weights"].keys() == fixed["weights"].keys()
    for name, w in fixed["weights"].items():
        np.testing.assert_allclose(w, slow["weights"][name], rtol=1e-6, atol=1e-7, err_msg=name)
    assert slow["loss"] == pytest.approx(fixed["loss"], rel=1e-5)
    assert slow["accuracy"] == fixed["accuracy"]
    # and training moved them: the comparison is not between two untouched models
    start = tc.make_model("cpu:1").state_dict()["0.weight"].detach().numpy()
    assert not np.allclose(start, fixed["weights"]["0.weight"])


def test_main_prints_the_summary(capsys):
    result = tc.main(["--steps", "4", "--quiet"])
    out = capsys.readouterr().out
    assert "slow" in out and "fixed" in out and "host syncs" in out
    assert "same final weights: True" in out
    assert "transfer report" not in out  # --quiet prints only the summary
    assert result["slow"]["syncs"] == 8


def test_run_rejects_bad_arguments():
    with pytest.raises(ValueError, match="steps must be a positive int"):
        tc.run("cpu:1", steps=0)
    with pytest.raises(ValueError, match="loop must be one of"):
        tc.measure("medium", "cpu:1", steps=1)


@pytest.mark.gpu
def test_on_a_gpu_the_fix_pins_and_does_not_block():
    result = tc.run("cuda:0", steps=STEPS)
    slow, fixed = result["slow"], result["fixed"]
    assert slow["pageable"] == slow["transfers"] > 0 and slow["pinned"] == 0
    assert fixed["pinned"] == fixed["transfers"] == fixed["non_blocking"] > 0
    assert any("pageable memory" in a for a in slow["report"].advice)
    assert not any("pageable memory" in a for a in fixed["report"].advice)
    assert fixed["report"].advice == ()
    for name, w in fixed["weights"].items():
        np.testing.assert_allclose(w, slow["weights"][name], rtol=1e-5, atol=1e-6, err_msg=name)
