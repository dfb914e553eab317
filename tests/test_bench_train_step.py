"""bench/train_step.py: its three implementations compute the same step, and it runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def bench(monkeypatch):
    # NOTE: bench/ is a folder of scripts, not a package; train_step.py imports its sibling
    # _timing, so bench/ goes on the path while the module loads and runs.
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location(
        "_bench_train_step", ROOT / "bench" / "train_step.py"
    )
    mod = importlib.util.module_from_spec(spec)
    # NOTE: dataclasses look their module up in sys.modules while the class is created.
    monkeypatch.setitem(sys.modules, spec.name, mod)
    spec.loader.exec_module(mod)
    return mod


def _small_cases(bench):
    return [
        bench.Case("mlp", "mlp", (5, 7, 3), 4),
        bench.Case("mlp deep", "mlp", (6, 8, 8, 4), 3),
        bench.Case("digits cnn", "cnn", (1, 8, 8), 4),
    ]


def test_graphlab_and_numpy_agree_on_loss_and_update(bench):
    for case in _small_cases(bench):
        assert bench.check_case(case) == [], case


def test_all_three_agree_on_loss_and_update(bench):
    torch = pytest.importorskip("torch")
    for case in _small_cases(bench):
        assert bench.check_case(case, torch) == [], case


def test_one_step_changes_every_parameter_the_same_way(bench):
    # The agreement above is not vacuous: the step moves every parameter, by the same amount.
    case = bench.Case("digits cnn", "cnn", (1, 8, 8), 4)
    start = bench.initial_weights(case, seed=1)
    steps = bench.make_steps(case, dropout=False, seed=1)
    for step in steps.values():
        step()
    moved = [p - w for p, w in zip(steps["numpy"].params(), start)]
    assert all(np.abs(d).max() > 0 for d in moved)
    for a, b in zip(steps["graphlab"].params(), steps["numpy"].params()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert np.isfinite(steps["graphlab"].loss())
    assert steps["graphlab"].loss() == pytest.approx(steps["numpy"].loss(), rel=1e-5)


def test_check_reports_wrong_math(bench, monkeypatch):
    real = bench._softmax_xent

    def doubled(logits, y):
        loss, g = real(logits, y)
        return loss, 2 * g  # a wrong gradient: the NumPy update no longer matches

    monkeypatch.setattr(bench, "_softmax_xent", doubled)
    problems = bench.check_case(bench.Case("mlp", "mlp", (5, 7, 3), 4))
    assert problems and all("numpy parameter" in p for p in problems)


def test_numpy_dropout_step_runs_and_learns(bench):
    # With dropout on (as timed), the hand-written CNN step still lowers the loss.
    case = bench.Case("digits cnn", "cnn", (1, 8, 8), 16)
    weights = bench.initial_weights(case)
    x, y = bench.make_batch(case)
    step = bench.NumpyCNNStep(case, weights, x, y, dropout=True)
    losses = []
    for _ in range(30):
        step()
        losses.append(step.loss())
    assert np.mean(losses[-5:]) < np.mean(losses[:5])


def test_quick_run_completes(bench, capsys):
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "graphlab ms" in out and "gl/np" in out and "CPUs" in out
    rows = [line for line in out.splitlines() if line.startswith(("mlp ", "digits cnn"))]
    assert len(rows) == len(bench.CASES)
    assert "warning" not in out
