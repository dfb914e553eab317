"""The workbench's built-in demo session: a few training steps of four models of the course.

- the **chimera** (example 5: nested blocks, a fixed hidden layer, a Python loop in ``forward``);
- the **tied-parameter net** (example 10: one ``Linear`` used twice, its gradient a sum);
- a **lazy net** (example 11: shapes inferred at the first call, an init event in the trace);
- the **digits CNN** (the course's image classifier, on scikit-learn's 8×8 digits).

Models live on the GPU when there is one, else on the logical second CPU device ``cpu:1`` (the
chimera stays on the CPU: its fixed weight is a plain attribute that ``.to`` leaves behind); data
starts on the host and each batch is copied over, and the loss is read with ``.item()`` every
step — so the Transfers view has real copies and implicit syncs to show. Recorded at level
"stats" (statistics of every output and gradient) for the Gradients and Anomalies views.

Run: ``python samples/demo_session.py`` (prints the session), or ``graphlab`` (opens it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import graphlab as gl
from graphlab import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from blocks import chimera  # noqa: E402
from digits_cnn import DigitsCNN  # noqa: E402


def demo_device() -> str:
    """``cuda:0`` when a GPU is available, else ``cpu:1`` (a separate logical device)."""
    return "cuda:0" if gl.cuda.is_available() else "cpu:1"


def tied_net() -> nn.Module:
    """Example 10: ``shared`` is used at positions 2 and 4."""
    shared = nn.Linear(8, 8)
    return nn.Sequential(
        nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1)
    )


def lazy_net() -> nn.Module:
    """Example 11: input sizes left to the first call."""
    return nn.Sequential(nn.LazyLinear(64), nn.ReLU(), nn.LazyLinear(10))


def _digits(n: int):
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # NOTE: scikit-learn is a dependency; this keeps a broken env legible
        raise RuntimeError(
            "the demo's digits CNN needs scikit-learn's digits dataset: pip install scikit-learn"
        ) from None
    import numpy as np

    d = load_digits()
    x = gl.tensor((d.images[:n] / 16.0).astype(np.float32)).unsqueeze(1)
    y = gl.tensor(d.target[:n].astype(np.int64))
    return x, y


def _train(model, make_batch, loss_fn, optimizer, steps: int, device: str, log) -> None:
    for step in range(steps):
        x, y = make_batch(step)
        x, y = x.to(device), y.to(device)  # host -> device copies, recorded as transfers
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        log(f"  {model._get_name():<12} step {step}: loss {loss.item():.4f}")  # a sync per step


def run(steps: int = 3, device: str | None = None, log=print) -> dict[str, nn.Module]:
    """Train the four demo models for ``steps`` steps each on ``device``; returns them by name."""
    device = device or demo_device()
    gl.manual_seed(0)
    log(f"demo session on {device}")

    # NOTE: the chimera stays on the CPU: FixedHiddenMLP's rand_weight is a plain attribute (as
    # in the course), not a buffer, so .to(device) would not move it.
    net = chimera()
    _train(
        net,
        lambda s: (gl.randn(16, 20), gl.randn(())),  # FixedHiddenMLP returns a scalar
        nn.MSELoss(),
        gl.optim.SGD(net.parameters(), lr=0.05),
        steps, "cpu", log,
    )  # fmt: skip

    tied = tied_net().to(device)
    _train(
        tied,
        lambda s: (gl.randn(32, 4), gl.randn(32, 1)),
        nn.MSELoss(),
        gl.optim.Adam(tied.parameters(), lr=1e-2),
        steps, device, log,
    )  # fmt: skip

    lazy = lazy_net().to(device)
    lazy(gl.randn(2, 20).to(device))  # the first call materializes the lazy parameters
    _train(
        lazy,
        lambda s: (gl.randn(32, 20), gl.randint(0, 10, (32,))),
        nn.CrossEntropyLoss(),
        gl.optim.SGD(lazy.parameters(), lr=0.1, momentum=0.9),
        steps, device, log,
    )  # fmt: skip

    cnn = DigitsCNN().to(device)
    x, y = _digits(64 * steps)
    _train(
        cnn,
        lambda s: (x[64 * s : 64 * (s + 1)], y[64 * s : 64 * (s + 1)]),
        nn.CrossEntropyLoss(),
        gl.optim.Adam(cnn.parameters(), lr=3e-3),
        steps, device, log,
    )  # fmt: skip
    return {"chimera": net, "tied": tied, "lazy": lazy, "digits_cnn": cnn}


def build(steps: int = 3, device: str | None = None, log=print, timing: bool = True):
    """Run the demo under :func:`graphlab.inspect.record_session`; returns the Session.

    ``timing=False`` records no seconds (a deterministic session, for snapshot tests)."""
    with gl.inspect.record_session(
        "demo", keep=64, level="stats", timing=timing, source="demo"
    ) as rec:
        rec.name_models(run(steps=steps, device=device, log=log))
    return rec.session


if __name__ == "__main__":
    session = build()
    print(session)
    for model in session.models:
        print(" ", model)
