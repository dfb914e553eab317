"""Copies are slower than compute: a slow training loop, its fixed version, and the figures of both.

Run: ``python samples/transfer_costs.py [--steps N] [--quiet]``.

The same small MLP (64 → 128 → 10, digits-sized) is trained for one epoch on the same synthetic
data, in the same order, from the same initial weights, twice:

- **slow**: every step copies its batch to the device one sample at a time, from pageable host
  memory, and reads the loss and the accuracy back with ``loss.item()`` and ``float(...)`` (a host
  sync inside the loop: on a GPU the host waits for the device at every step);
- **fixed**: a ``DataLoader`` hands out big chunks of the data (pinned when a GPU exists), each
  moved with one ``.to(device, non_blocking=True)``; the batches are slices on the device, and the
  loss and the accuracy are summed on the device and read once, at the end.

Each epoch runs inside ``graphlab.record()``; the trace's transfer and sync events give the
figures (copies, bytes, achieved bandwidth, pinned or pageable, host syncs) and
``trace.transfer_report()`` gives advice with the call sites: many small copies and syncs inside
a loop (and pageable host-to-GPU copies on a GPU) for the slow loop, nothing for the fixed one.
Both end with the same weights: the fix changes what the loop costs, not what it computes.

The device is ``cuda:0`` when a GPU exists, else the logical second CPU device ``cpu:1``, where a
copy is a real (recorded) copy and a sync costs nothing but shows the same pattern. On a GPU a
non-blocking copy is timed until it is queued, not until it lands, so the fixed loop's bandwidth
there is an upper bound; its wall time (which ends with a sync) is the honest figure.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import graphlab as gl
from graphlab import nn, optim
from graphlab.nn import functional as F
from graphlab.utils.data import DataLoader, TensorDataset

STEPS = 200  # steps in the epoch (one batch each)
BATCH = 32  # samples per step
# Samples per copy in the fixed loop: 2 MiB of inputs and 64 KiB of int64 labels, so even the
# labels are not "small" copies (graphlab.trace.analysis.SMALL_COPY_BYTES) however long the epoch.
CHUNK = 8192
LR = 0.1
SEED = 0


def pick_device() -> gl.device:
    """``cuda:0`` when a GPU exists, else the logical second CPU device ``cpu:1``."""
    return gl.device("cuda:0") if gl.cuda.is_available() else gl.device("cpu:1")


def make_data(steps: int = STEPS, seed: int = SEED) -> tuple[gl.Tensor, gl.Tensor]:
    """``steps * BATCH`` host samples: 64 features and a label from a random linear teacher."""
    gl.manual_seed(seed)
    x = gl.randn(steps * BATCH, 64)
    teacher = gl.randn(64, 10)
    return x, (x @ teacher).argmax(dim=1)


def make_model(device, seed: int = SEED) -> nn.Module:
    """The MLP, initialised from ``seed`` (so both loops start from the same weights)."""
    gl.manual_seed(seed + 1)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    return model.to(device)


def _step(model, opt, xb, yb):
    """One SGD step on a batch already on the model's device; returns the logits and the loss."""
    logits = model(xb)
    loss = F.cross_entropy(logits, yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return logits, loss


def slow_epoch(model, opt, x, y, device) -> tuple[float, float]:
    """The slow loop: per-sample pageable copies and two host syncs per step.

    Returns the mean loss and the accuracy of the epoch.
    """
    losses, correct = [], 0.0
    for step in range(len(y) // BATCH):
        rows = range(step * BATCH, (step + 1) * BATCH)
        xb = gl.stack([x[i].to(device) for i in rows])  # one small copy per sample
        yb = gl.stack([y[i].to(device) for i in rows])
        logits, loss = _step(model, opt, xb, yb)
        losses.append(loss.item())  # the host waits for the device, every step
        correct += float((logits.argmax(dim=1) == yb).sum())  # and again
    return sum(losses) / len(losses), correct / len(y)


def fixed_epoch(model, opt, x, y, device) -> tuple[float, float]:
    """The fixed loop: big (pinned on a GPU) non-blocking copies, one read at the end.

    Returns the mean loss and the accuracy of the epoch.
    """
    # NOTE: pinning needs CUDA; DataLoader(pin_memory=True) would only warn and skip it here.
    loader = DataLoader(TensorDataset(x, y), batch_size=CHUNK, pin_memory=device.type == "cuda")
    total = gl.zeros((), device=device)
    correct = gl.zeros((), dtype=gl.int64, device=device)
    for xc, yc in loader:
        xc = xc.to(device, non_blocking=True)  # one big copy per chunk
        yc = yc.to(device, non_blocking=True)
        for lo in range(0, len(yc), BATCH):
            xb, yb = xc[lo : lo + BATCH], yc[lo : lo + BATCH]  # slices on the device: no copy
            logits, loss = _step(model, opt, xb, yb)
            total += loss.detach()  # stays on the device
            correct += (logits.argmax(dim=1) == yb).sum()
    steps = len(y) // BATCH
    return total.item() / steps, correct.item() / len(y)  # the only two syncs


LOOPS = {"slow": slow_epoch, "fixed": fixed_epoch}


def measure(loop: str, device=None, steps: int = STEPS, seed: int = SEED) -> dict:
    """Train one epoch with ``LOOPS[loop]`` under ``graphlab.record()``; return its figures.

    The keys: ``wall_s`` (the epoch's wall time, recording included), ``transfers``, ``bytes``,
    ``copy_s`` (seconds inside copies), ``bandwidth`` (bytes per second over all copies, None
    when none took measurable time), ``pinned``, ``pageable``, ``non_blocking`` (copy counts),
    ``syncs``, ``loss``, ``accuracy``, ``weights`` (the final ``state_dict`` as NumPy arrays),
    ``report`` (the :class:`~graphlab.trace.analysis.TransferReport`) and ``trace``.
    """
    if loop not in LOOPS:
        raise ValueError(f"measure: loop must be one of {', '.join(LOOPS)}, got {loop!r}")
    device = pick_device() if device is None else gl.device(device)
    x, y = make_data(steps, seed)
    model = make_model(device, seed)
    opt = optim.SGD(model.parameters(), lr=LR)
    with gl.record() as trace:
        t0 = time.perf_counter()
        loss, accuracy = LOOPS[loop](model, opt, x, y, device)
        wall = time.perf_counter() - t0
    report = trace.transfer_report()
    moves = trace.transfers()
    return {
        "wall_s": wall,
        "transfers": report.count,
        "bytes": report.nbytes,
        "copy_s": report.seconds,
        "bandwidth": report.nbytes / report.seconds if report.seconds > 0 else None,
        "pinned": sum(m.pinned for m in moves),
        "pageable": sum(not m.pinned for m in moves),
        "non_blocking": sum(m.non_blocking for m in moves),
        "syncs": report.syncs,
        "loss": loss,
        "accuracy": accuracy,
        "weights": {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()},
        "report": report,
        "trace": trace,
    }


def run(device=None, steps: int = STEPS, seed: int = SEED) -> dict:
    """Both loops on ``device`` (default: :func:`pick_device`): ``{"device", "slow", "fixed"}``."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"run: steps must be a positive int, got {steps!r}")
    device = pick_device() if device is None else gl.device(device)
    out = {"device": str(device)}
    for loop in LOOPS:
        out[loop] = measure(loop, device, steps, seed)
    return out


def _rows(fig: dict) -> list[tuple[str, str]]:
    """The figures of one loop as (label, text) pairs, in print order."""
    bw = fig["bandwidth"]
    return [
        ("wall time (epoch)", f"{fig['wall_s'] * 1e3:.0f} ms"),
        ("transfers", f"{fig['transfers']}"),
        ("bytes copied", f"{fig['bytes'] / 2**20:.2f} MiB"),
        ("time in copies", f"{fig['copy_s'] * 1e3:.1f} ms"),
        ("mean bandwidth", f"{bw / 1e9:.2f} GB/s" if bw is not None else "-"),
        ("pinned / pageable", f"{fig['pinned']} / {fig['pageable']}"),
        ("non-blocking", f"{fig['non_blocking']}"),
        ("host syncs", f"{fig['syncs']}"),
        ("advice lines", f"{len(fig['report'].advice)}"),
        ("mean loss", f"{fig['loss']:.4f}"),
        ("accuracy", f"{fig['accuracy']:.3f}"),
    ]


def summary_table(result: dict) -> str:
    """Both loops side by side, as plain aligned text."""
    slow, fixed = _rows(result["slow"]), _rows(result["fixed"])
    w0 = max(len(label) for label, _ in slow)
    w1 = max(len("slow"), *(len(v) for _, v in slow))
    w2 = max(len("fixed"), *(len(v) for _, v in fixed))
    lines = [f"{'':<{w0}}  {'slow':>{w1}}  {'fixed':>{w2}}"]
    for (label, a), (_, b) in zip(slow, fixed, strict=True):
        lines.append(f"{label:<{w0}}  {a:>{w1}}  {b:>{w2}}")
    return "\n".join(lines)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="transfer_costs.py",
        description="Train a slow loop and its fixed version; print what their copies cost.",
    )
    parser.add_argument(
        "--steps", type=int, default=STEPS, help=f"steps per epoch (default {STEPS})"
    )
    parser.add_argument("--quiet", action="store_true", help="print only the side-by-side summary")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be a positive number of steps, got {args.steps}")
    return args


def main(argv: list[str] | None = None) -> dict:
    """Run both loops and print their figures, transfer reports and a side-by-side summary."""
    args = _parse_args(argv)
    result = run(steps=args.steps)
    if not args.quiet:
        print(f"device {result['device']}: {args.steps} steps of {BATCH} samples per epoch")
        for loop in LOOPS:
            fig = result[loop]
            print(f"\n== {loop}: {LOOPS[loop].__doc__.splitlines()[0]}")
            for label, text in _rows(fig):
                print(f"  {label}: {text}")
            print("  transfer report:")
            print("\n".join(f"    {line}" for line in str(fig["report"]).splitlines()))
        print()
    print(summary_table(result))
    same = all(
        np.allclose(result["slow"]["weights"][k], w, rtol=1e-5, atol=1e-6)
        for k, w in result["fixed"]["weights"].items()
    )
    print(f"same final weights: {same}")
    return result


if __name__ == "__main__":
    main()
