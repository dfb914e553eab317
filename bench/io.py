"""Checkpoint and dump I/O: exporters.hdf5 vs raw h5py, graphlab.save/load vs numpy.save/load.

    python bench/io.py                 # a 100M-parameter model (~400 MB of float32)
    python bench/io.py --quick         # 5M parameters
    python bench/io.py --params 20000000 --dir /mnt/fast

The model is a stack of square ``Linear`` layers holding about ``--params`` parameters. Each row
is the best of ``--repeats`` runs, as throughput (MB/s of parameter data) and as a ratio to its
baseline (the issue's goal for HDF5 is >= 0.8x raw h5py). The baselines do the same durable work
as the code they are compared with: raw h5py writes every array as a contiguous dataset and
fsyncs the file; numpy.save writes every array into one file and fsyncs it. Benchmarks are not
tests: nothing here fails on a timing.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _timing import format_table  # noqa: E402

import graphlab as gl  # noqa: E402
import graphlab.nn as nn  # noqa: E402
from exporters import hdf5  # noqa: E402

LAYERS = 8


def build(params: int) -> nn.Module:
    """``LAYERS`` square Linear layers with about ``params`` parameters in all."""
    width = max(2, int(math.sqrt(params / LAYERS)))
    gl.manual_seed(0)
    return nn.Sequential(*[nn.Linear(width, width) for _ in range(LAYERS)])


def best(fn, repeats: int) -> float:
    """The fastest of ``repeats`` calls, in seconds (I/O noise only ever adds time)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def main(argv=None) -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", type=int, default=100_000_000, help="parameters in the model")
    ap.add_argument("--quick", action="store_true", help="5M parameters, 2 repeats")
    ap.add_argument("--repeats", type=int, default=3, help="runs per row (the best is kept)")
    ap.add_argument("--dir", default=None, help="folder for the files (default: a temp folder)")
    args = ap.parse_args(argv)
    params = 5_000_000 if args.quick else args.params
    repeats = 2 if args.quick else args.repeats

    model = build(params)
    state = model.state_dict()
    arrays = {k: np.asarray(v.detach().numpy()) for k, v in state.items()}
    nbytes = sum(a.nbytes for a in arrays.values())
    count = sum(a.size for a in arrays.values())
    mb = nbytes / 1e6
    print(f"model: {LAYERS} x Linear, {count:,} parameters, {mb:,.0f} MB (float32)")

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        d = Path(tmp)

        def raw_write():
            with h5py.File(d / "raw.h5", "w") as f:
                for k, a in arrays.items():
                    f.create_dataset("p/" + k.replace(".", "/"), data=a)
            _fsync(d / "raw.h5")

        def raw_read():
            with h5py.File(d / "raw.h5", "r") as f:
                for k in arrays:
                    f["p/" + k.replace(".", "/")][()]

        def np_save():
            with open(d / "np.bin", "wb") as fh:
                for a in arrays.values():
                    np.save(fh, a)
                fh.flush()
                os.fsync(fh.fileno())

        def np_load():
            with open(d / "np.bin", "rb") as fh:
                for _ in arrays:
                    np.load(fh)

        target = build(params)  # NOTE: load_into's destination, the same shapes
        rows = []
        pairs = [
            ("hdf5.save(model)", lambda: hdf5.save(model, d / "gl.h5", grads=False), raw_write,
             "raw h5py write"),
            ("hdf5.save(gzip)", lambda: hdf5.save(model, d / "gz.h5", compression="gzip"),
             raw_write, "raw h5py write"),
            ("hdf5.load -> Snapshot", lambda: hdf5.load(d / "gl.h5"), raw_read, "raw h5py read"),
            ("hdf5.load_into(model)", lambda: hdf5.load_into(target, d / "gl.h5"), raw_read,
             "raw h5py read"),
            ("graphlab.save", lambda: gl.save(state, d / "gl.pt"), np_save, "numpy.save"),
            ("graphlab.load", lambda: gl.load(d / "gl.pt"), np_load, "numpy.load"),
        ]  # fmt: skip
        # NOTE: writers run first so every reader finds its file.
        baseline_s = {}
        for name, fn, base, base_name in pairs:
            if base_name not in baseline_s:
                baseline_s[base_name] = best(base, repeats)
            ours = best(fn, repeats)
            theirs = baseline_s[base_name]
            rows.append(
                [
                    name,
                    f"{ours:.3f}",
                    f"{mb / ours:,.0f}",
                    base_name,
                    f"{theirs:.3f}",
                    f"{mb / theirs:,.0f}",
                    f"{theirs / ours:.2f}x",
                ]
            )
        sizes = {p: os.path.getsize(d / p) / 1e6 for p in ("gl.h5", "gz.h5", "raw.h5", "gl.pt")}
    headers = ["ours", "s", "MB/s", "baseline", "s", "MB/s", "throughput ratio"]
    print(format_table(headers, rows, right={1, 2, 4, 5, 6}))
    print(
        "file sizes (MB): "
        + ", ".join(f"{k} {v:,.1f}" for k, v in sizes.items())
        + "  (ratio = our throughput / baseline's; goal for HDF5 >= 0.80x)"
    )


if __name__ == "__main__":
    main()
