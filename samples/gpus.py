"""GPUs (examples 16–18): devices, moving data and models, and what transfers cost.

Run: ``python samples/gpus.py``. Without a GPU everything falls back to the CPU, and the logical
device ``cpu:1`` stands in for a second device, so the mechanics (and the transfer accounting)
are the same.
"""

from __future__ import annotations

import time

import graphlab as gl
from graphlab import nn


def try_gpu(i: int = 0):
    """The GPU ``cuda:i`` if it exists, else the CPU."""
    if gl.cuda.device_count() >= i + 1:
        return gl.device(f"cuda:{i}")
    return gl.device("cpu")


def try_all_gpus():
    """All GPUs, or ``[cpu]`` if there are none."""
    devices = [gl.device(f"cuda:{i}") for i in range(gl.cuda.device_count())]
    return devices if devices else [gl.device("cpu")]


def second_device():
    """A second device to copy to: ``cuda:1``, else the GPU's host, else logical ``cpu:1``."""
    n = gl.cuda.device_count()
    if n >= 2:
        return gl.device("cuda:1")
    if n == 1:
        return gl.device("cpu")
    return gl.device("cpu:1")


def devices() -> dict:
    """Example 16."""
    return {
        "cpu": gl.device("cpu"),
        "cuda": gl.device("cuda"),
        "cuda:1": gl.device("cuda:1"),
        "device_count": gl.cuda.device_count(),
        "try_gpu": try_gpu(),
        "try_gpu(10)": try_gpu(10),
        "try_all_gpus": try_all_gpus(),
    }


def placement() -> dict:
    """Example 17: tensors and models on devices, and the error for mixing them."""
    X = gl.ones(2, 3, device=try_gpu())
    Z = X.to(second_device())
    try:
        X + Z
        error = None
    except RuntimeError as exc:
        error = str(exc)
    net = nn.Sequential(nn.Linear(3, 1))
    net = net.to(device=try_gpu())
    return {
        "X.device": X.device,
        "Z.device": Z.device,
        "mixing error": error,
        "net[0].weight.data.device": net[0].weight.data.device,
        "net(X)": net(X),
    }


class TransferLog:
    """Collects the transfer and sync records graphlab reports while it is active."""

    def __init__(self):
        self.records = []

    def __enter__(self):
        self._handle = gl.transfer.add_observer(self.records.append)
        return self

    def __exit__(self, *exc):
        self._handle.remove()

    def summary(self) -> str:
        moves = [r for r in self.records if isinstance(r, gl.transfer.Transfer)]
        syncs = [r for r in self.records if isinstance(r, gl.transfer.Sync)]
        nbytes = sum(r.nbytes for r in moves)
        secs = sum(r.seconds for r in moves)
        return (
            f"{len(moves)} transfers, {nbytes / 1e6:.2f} MB in {secs * 1e3:.2f} ms; "
            f"{len(syncs)} host syncs"
        )


def transfer_costs(n: int = 1000) -> dict:
    """Example 18: many small copies vs one large one, and ``.item()`` inside a loop."""
    dst = second_device() if try_gpu().type == "cpu" else try_gpu()
    rows = gl.randn(n, 256)
    with TransferLog() as many:
        t0 = time.perf_counter()
        moved = [rows[i].to(dst) for i in range(n)]
        many_s = time.perf_counter() - t0
    with TransferLog() as one:
        t0 = time.perf_counter()
        moved_once = rows.to(dst)
        one_s = time.perf_counter() - t0
    x = gl.randn(256, device=dst)
    with TransferLog() as slow:
        total = 0.0
        for _ in range(100):
            total += (x * 2).sum().item()  # a host sync every step
    with TransferLog() as fast:
        acc = gl.zeros((), device=dst)
        for _ in range(100):
            acc += (x * 2).sum()  # stays on the device
        total_fast = acc.item()  # one sync at the end
    assert len(moved) == n and moved_once.shape == rows.shape
    report = {
        "many small copies": (many_s, many.summary()),
        "one large copy": (one_s, one.summary()),
        ".item() every step": slow.summary(),
        "one .item() at the end": fast.summary(),
        "totals agree": abs(total - total_fast) < 1e-3 * max(1.0, abs(total)),
    }
    return report


def main() -> dict:
    """Run examples 16–18 and print what they show."""
    out = {"devices": devices(), "placement": placement(), "transfers": transfer_costs()}
    for section, values in out.items():
        print(f"== {section}")
        for k, v in values.items():
            print(f"  {k}: {v}")
    return out


if __name__ == "__main__":
    main()
