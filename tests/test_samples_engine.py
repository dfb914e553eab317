"""The engine samples (examples 19 and 20 of the course material) run and give the right numbers."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def _load(path: Path, name: str):
    """Import a script that is not in a package, by path, under a unique module name."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    # NOTE: dataclasses look their module up in sys.modules, so register it before running it.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def by_hand():
    return _load(SAMPLES / "autograd_by_hand.py", "_sample_autograd_by_hand")


@pytest.fixture(scope="module")
def net():
    return _load(SAMPLES / "two_layer_net.py", "_sample_two_layer_net")


@pytest.fixture(scope="module")
def full_runs(net):
    """Both variants trained the full 500 steps from the same problem (shared: takes seconds)."""
    problem = net.make_problem(seed=0)
    return {name: np.array(net.VARIANTS[name](problem, log_every=0)) for name in ("a", "b")}


# --- example 19 -------------------------------------------------------------------------------


def test_autograd_by_hand_main(by_hand, capsys):
    out = by_hand.main()
    printed = capsys.readouterr().out
    assert "x.grad == y" in printed
    auto, hand = out["graphlab"], out["numpy"]
    np.testing.assert_array_equal(auto["x"].grad.numpy(), hand["y"])
    np.testing.assert_array_equal(auto["y"].grad.numpy(), hand["x"])
    np.testing.assert_array_equal(auto["z"].grad.numpy(), np.ones((3, 4)))
    assert auto["c"].item() == pytest.approx(float((hand["x"] * hand["y"] + hand["z"]).sum()))


def test_autograd_by_hand_gradients_match_numpy(by_hand):
    hand = by_hand.numpy_by_hand(seed=3)
    auto = by_hand.graphlab_autograd(hand["x"], hand["y"], hand["z"])
    for name in ("grad_x", "grad_y", "grad_z"):
        np.testing.assert_array_equal(auto[name].numpy(), hand[name])


# --- example 20: running the script -----------------------------------------------------------


def test_two_layer_net_main_small(net, capsys):
    losses = net.main(["--steps", "20", "--quiet"])
    assert set(losses) == set("abcdefg")
    assert all(len(v) == 20 for k, v in losses.items() if k != "g")
    assert len(losses["g"]) == 8  # one epoch of 64 samples in batches of 8
    printed = capsys.readouterr().out
    for v in "abcdef":
        assert f"[{v}] final loss after 20 steps" in printed
    # --quiet prints only the final losses.
    assert "step" not in printed.replace("steps", "")


def test_two_layer_net_one_variant_logs_every_100_steps(net, capsys):
    losses = net.main(["--variant", "b", "--steps", "100"])
    assert list(losses) == ["b"]
    printed = capsys.readouterr().out
    assert "[b] step  100" in printed and "[b] step   99" not in printed
    assert "[a]" not in printed


def test_two_layer_net_is_reproducible(net):
    first = net.main(["--variant", "a", "--steps", "5", "--quiet"])
    second = net.main(["--variant", "a", "--steps", "5", "--quiet"])
    assert first == second


@pytest.mark.parametrize("args", [["--steps", "0"], ["--variant", "z"]])
def test_two_layer_net_rejects_bad_arguments(net, args):
    with pytest.raises(SystemExit) as info:
        net.main(args)
    assert info.value.code == 2


def test_two_layer_net_subprocess():
    proc = subprocess.run(
        [sys.executable, "samples/two_layer_net.py", "--steps", "50", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "[a] final loss after 50 steps" in proc.stdout
    assert "[b] final loss after 50 steps" in proc.stdout


def test_two_layer_net_does_not_modify_the_problem(net):
    problem = net.make_problem(seed=0)
    w1 = problem.w1.numpy().copy()
    net.train_tensors(problem, steps=3, log_every=0)
    net.train_autograd(problem, steps=3, log_every=0)
    np.testing.assert_array_equal(problem.w1.numpy(), w1)


# --- example 20: the numbers ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["a", "b"])
def test_loss_decreases_a_lot(full_runs, variant):
    losses = full_runs[variant]
    assert len(losses) == 500
    assert np.all(np.isfinite(losses))
    # From about 3e7 to well under 1: the network fits the random targets.
    assert losses[0] > 1e6
    assert losses[-1] < 1e-2
    assert losses[-1] < losses[0] * 1e-8


@pytest.mark.slow
def test_hand_written_and_autograd_gradients_give_the_same_trajectory(full_runs):
    np.testing.assert_allclose(full_runs["a"], full_runs["b"], rtol=1e-5)


def test_autograd_variant_matches_pytorch(net):
    torch = pytest.importorskip("torch")
    steps = 50
    problem = net.make_problem(seed=0)
    ours = net.train_autograd(problem, steps=steps, log_every=0)

    # The same code in PyTorch, started from the same numbers (copied from the numpy arrays).
    x, y, w1, w2 = (
        torch.from_numpy(t.numpy().copy()) for t in (problem.x, problem.y, problem.w1, problem.w2)
    )
    w1.requires_grad_(True)
    w2.requires_grad_(True)
    theirs = []
    for _ in range(steps):
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        theirs.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= net.LEARNING_RATE * w1.grad
            w2 -= net.LEARNING_RATE * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)


@pytest.mark.parametrize("variant", ["c", "d", "e", "f", "g"])
def test_nn_variants_learn(net, variant):
    problem = net.make_problem(seed=0)
    losses = np.array(net.VARIANTS[variant](problem, steps=150, log_every=0))
    assert np.all(np.isfinite(losses))
    if variant == "g":  # mini-batch losses: compare the first and the last epoch
        assert losses[-8:].mean() < losses[:8].mean() * 0.8
    else:
        assert losses[-1] < losses[0] * 0.5


def test_sequential_variant_matches_pytorch(net):
    """Variant (c) in graphlab and in PyTorch from the same initial weights."""
    torch = pytest.importorskip("torch")
    problem = net.make_problem(seed=0)
    ours = net.train_sequential(problem, steps=30, log_every=0)
    model = net._two_layer_sequential()
    tm = torch.nn.Sequential(
        torch.nn.Linear(net.D_in, net.H), torch.nn.ReLU(), torch.nn.Linear(net.H, net.D_out)
    )
    with torch.no_grad():
        for p, q in zip(tm.parameters(), model.parameters()):
            p.copy_(torch.from_numpy(q.detach().numpy().copy()))
    x = torch.from_numpy(problem.x.numpy().copy())
    y = torch.from_numpy(problem.y.numpy().copy())
    theirs = []
    for _ in range(30):
        loss = torch.nn.functional.mse_loss(tm(x), y, reduction="sum")
        theirs.append(loss.item())
        tm.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in tm.parameters():
                p -= 1e-4 * p.grad
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)


# --- bench/ops.py: its NumPy reference math is right, and it runs -----------------------------


@pytest.fixture()
def bench_ops(monkeypatch):
    # NOTE: bench/ is a folder of scripts, not a package; ops.py imports its sibling _timing.
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    return _load(ROOT / "bench" / "ops.py", "_bench_ops")


def test_bench_ops_numpy_reference_matches_graphlab(bench_ops):
    names = [case.name for case in bench_ops.CASES]
    assert names == [
        "add",
        "mul",
        "exp",
        "relu",
        "sum",
        "matmul",
        "sigmoid",
        "softmax",
        "relu(x*y+x)",
    ]
    for case in bench_ops.CASES:
        assert bench_ops.check_case(case) == [], case.name
        assert bench_ops.check_case(case, "small") == [], case.name


def test_bench_ops_check_catches_wrong_math(bench_ops):
    case = bench_ops.CASES[1]  # mul, with a NumPy reference that is wrong on purpose
    wrong = bench_ops.Case(case.name, case.shapes, case.fn, lambda x, y: x + y, case.np_fwd_bwd)
    assert bench_ops.check_case(wrong) != []


def test_bench_ops_quick_run(bench_ops, capsys):
    assert bench_ops.main(["--quick", "--ops", "add", "--no-torch"]) == 0
    out = capsys.readouterr().out
    assert "graphlab us" in out and "gl/np" in out
    assert out.count("\nadd ") == 4  # sizes 1 and 1M, modes fwd and fwd+bwd
