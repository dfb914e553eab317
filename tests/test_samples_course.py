"""The course-material samples run and show what the examples promise (examples 1–18, 21, 23)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import graphlab as gl

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def load(name: str):
    """Import ``samples/<name>.py`` as a module."""
    sys.path.insert(0, str(SAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(f"sample_{name}", SAMPLES / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(SAMPLES))


def test_blocks_examples_1_to_5(capsys):
    out = load("blocks").main()
    assert out["sequential"].shape == (2, 10) and out["mlp"].shape == (2, 10)
    assert out["my_sequential"].shape == (2, 10)
    assert out["fixed_hidden_mlp"].shape == () and out["chimera"].shape == ()
    assert abs(out["fixed_hidden_mlp"].item()) <= 1  # the while loop halved it below 1


def test_fixed_hidden_mlp_shares_its_linear_and_has_a_constant_weight():
    blocks = load("blocks")
    m = blocks.FixedHiddenMLP()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["linear.weight", "linear.bias"]  # rand_weight is not a parameter
    out = m(gl.rand(2, 20))
    out.backward()
    assert m.linear.weight.grad is not None and not m.rand_weight.requires_grad


def test_parameters_examples_6_to_10(capsys):
    params = load("parameters")
    a = params.access()
    assert set(a["state_dict"]) == {"weight", "bias"}
    assert a["bias_type"] is gl.nn.Parameter
    assert a["grad_is_none"]
    assert [n for n, _ in a["names"]] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    rgnet, bias = params.nested()
    text = repr(rgnet)
    assert "(block 0): Sequential(" in text and "(1): Linear(in_features=4, out_features=1" in text
    assert bias.shape == (8,)
    normal, constant, xavier, w42 = params.builtin_init()
    assert constant[1] == 0 and bool((constant[0] == 1).all()) and bool((w42 == 42).all())
    drawn, edited = params.custom_init()
    d = drawn.numpy()
    assert np.all((d == 0) | (np.abs(d) >= 5))
    assert edited[0, 0].item() == 42
    assert np.allclose(edited.numpy()[0, 1:], d[0, 1:] + 1)
    net, before, after = params.tied()
    assert before and after and net[2].weight is net[4].weight


def test_tied_gradient_is_the_sum_of_both_uses():
    params = load("parameters")
    net, _, _ = params.tied()
    shared = net[2]
    X = gl.rand(3, 4)
    contributions = []
    for use in (2, 4):
        # Recompute each use's contribution by detaching the other use.
        net.zero_grad()
        h = net[1](net[0](X))
        for i in (2, 3, 4, 5, 6):
            layer = net[i]
            if i in (2, 4) and i != use:
                w, b = layer.weight.detach(), layer.bias.detach()
                h = h @ w.T + b
            else:
                h = layer(h)
        h.sum().backward()
        contributions.append(shared.weight.grad.clone())
    net.zero_grad()
    net(X).sum().backward()
    assert np.allclose(
        shared.weight.grad.numpy(), (contributions[0] + contributions[1]).numpy(), atol=1e-6
    )


def test_lazy_init_example_11(capsys):
    out = load("lazy_init").main()
    assert all(lazy for _, lazy in out["before"])
    assert out["after"] == [
        ("0.weight", (256, 20)),
        ("0.bias", (256,)),
        ("2.weight", (10, 256)),
        ("2.bias", (10,)),
    ]


def test_custom_layers_examples_12_13(capsys):
    out = load("custom_layers").main()
    assert out["centered"].tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert abs(out["mean"].item()) < 1e-5
    assert out["alone"].shape == (2, 3) and out["seq"].shape == (2, 1)
    assert bool((out["alone"] >= 0).all())


def test_file_io_examples_14_15(tmp_path, capsys):
    out = load("file_io").main(str(tmp_path))
    assert out["x"].tolist() == [0, 1, 2, 3]
    assert [t.tolist() for t in out["list"]] == [[0, 1, 2, 3], [0.0] * 4]
    assert set(out["dict"]) == {"x", "y"}
    assert bool(out["same"].all())


def test_gpus_examples_16_to_18(capsys):
    out = load("gpus").main()
    d = out["devices"]
    assert d["cpu"] == gl.device("cpu") and d["cuda:1"] == gl.device("cuda:1")
    if not gl.cuda.is_available():
        assert d["try_gpu"] == "cpu" and d["try_all_gpus"] == [gl.device("cpu")]
    p = out["placement"]
    assert p["mixing error"] is not None
    assert str(p["X.device"]) in p["mixing error"] and str(p["Z.device"]) in p["mixing error"]
    t = out["transfers"]
    assert t["many small copies"][1].startswith("1000 transfers")
    assert t["one large copy"][1].startswith("1 transfers")
    assert "100 host syncs" in t[".item() every step"]
    assert "1 host syncs" in t["one .item() at the end"]
    assert t["totals agree"]


@pytest.mark.slow
def test_digits_cnn_example_23_fast_mode(capsys):
    out = load("digits_cnn").main(["--fast"])
    assert out["history"][-1] < out["history"][0]
    assert out["test"]["accuracy"] > 0.85  # 4 epochs; the full run reaches >= 0.97
    assert out["same"]
    assert len(out["cv"]) == 2
    cm = out["test"]["confusion"]
    assert cm.shape == (10, 10) and int(cm.sum()) == 359  # 20% of 1,797


def test_pretrained_example_21_loads_in_one_call(capsys):
    pre = load("pretrained")
    model = pre.load_pretrained()
    x, y = pre.load_digits_tensors()
    acc = (pre.predict(model, x) == y).float().mean().item()
    assert acc >= 0.97


@pytest.mark.parametrize("name", ["blocks", "parameters", "lazy_init", "custom_layers", "gpus"])
def test_samples_run_as_scripts(name):
    r = subprocess.run(
        [sys.executable, str(SAMPLES / f"{name}.py")], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr
