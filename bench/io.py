"""Files and exports: exporters.hdf5 vs raw h5py, graphlab.save/load vs numpy, DOT export times.

    python bench/io.py                  # a 100M-parameter model (~400 MB of float32), all tables
    python bench/io.py --quick          # 5M parameters, 1k/10k-op traces: a quick iteration
    python bench/io.py --only save      # one table: hdf5, save or dot (may be repeated)
    python bench/io.py --params 20000000 --dir /mnt/fast

The model is a stack of square ``Linear`` layers holding about ``--params`` parameters. Each
file row is the best of ``--repeats`` runs (gzip rows: one run), as throughput (MB/s of parameter
data) and as a ratio to its baseline measured in the same run; the goals are >= 0.8x for HDF5
against raw h5py and for graphlab.save/load against numpy.save/load. The baselines do the same
durable work as the code they are compared with: raw h5py writes every array as a dataset of
one file and fsyncs it; numpy.save writes every array into one file and fsyncs it. They do less
of the rest, which is what the ratio shows: no atomic replace, no checksums (graphlab), no
module tree or attributes (HDF5). The DOT table times ``exporters.dot.trace_graph`` on recorded
traces (see ``bench/dot_export.py``). Benchmarks are not tests: nothing here fails on a timing.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dot_export  # noqa: E402
from _timing import best_of, format_table  # noqa: E402

import graphlab as gl  # noqa: E402
import graphlab.nn as nn  # noqa: E402
from exporters import hdf5  # noqa: E402

LAYERS = 8
GOAL = 0.8
SECTIONS = ("hdf5", "save", "dot")


def build(params: int) -> nn.Module:
    """``LAYERS`` square Linear layers with about ``params`` parameters in all."""
    width = max(2, int(math.sqrt(params / LAYERS)))
    gl.manual_seed(0)
    return nn.Sequential(*[nn.Linear(width, width) for _ in range(LAYERS)])


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _h5_name(key: str) -> str:
    return "p/" + key.replace(".", "/")


def hdf5_pairs(model, arrays: dict, d: Path, params: int) -> list:
    """(ours, fn, baseline name, baseline fn, runs) rows for exporters.hdf5 vs raw h5py."""
    target = build(params)  # NOTE: load_into's destination: the same shapes

    def raw_write(compression=None, name="raw.h5"):
        with h5py.File(d / name, "w") as f:
            for k, a in arrays.items():
                f.create_dataset(_h5_name(k), data=a, compression=compression)
        _fsync(d / name)

    def raw_read():
        with h5py.File(d / "raw.h5", "r") as f:
            for k in arrays:
                f[_h5_name(k)][()]

    def raw_gzip():
        raw_write("gzip", "raw-gz.h5")

    return [
        ("hdf5.save(model)", lambda: hdf5.save(model, d / "gl.h5", grads=False),
         "raw h5py write", raw_write, None),
        ("hdf5.save(gzip)", lambda: hdf5.save(model, d / "gz.h5", compression="gzip"),
         "raw h5py write gzip", raw_gzip, 1),
        ("hdf5.load -> Snapshot", lambda: hdf5.load(d / "gl.h5"), "raw h5py read", raw_read, None),
        ("hdf5.load_into(model)", lambda: hdf5.load_into(target, d / "gl.h5"),
         "raw h5py read", raw_read, None),
    ]  # fmt: skip


def save_pairs(state: dict, arrays: dict, d: Path) -> list:
    """(ours, fn, baseline name, baseline fn, runs) rows for graphlab.save/load vs numpy."""

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

    return [
        ("graphlab.save", lambda: gl.save(state, d / "gl.pt"), "numpy.save", np_save, None),
        ("graphlab.load", lambda: gl.load(d / "gl.pt"), "numpy.load", np_load, None),
    ]


def file_table(pairs: list, repeats: int, mb: float) -> str:
    """Time each pair (ours, then its baseline, alternately so that slow spells of a shared
    machine hit both) and format the rows. Writers come first, so every reader finds its file."""
    rows, measured = [], {}
    for name, fn, base_name, base, runs in pairs:
        runs = runs or repeats
        ours = theirs = float("inf")
        for _ in range(runs):
            if base_name not in measured:
                theirs = min(theirs, best_of(base, 1))
            ours = min(ours, best_of(fn, 1))
        theirs = measured.setdefault(base_name, theirs)
        ratio = theirs / ours
        rows.append(
            [name, f"{ours:.3f}", f"{mb / ours:,.0f}", base_name, f"{theirs:.3f}"]
            + [f"{mb / theirs:,.0f}", f"{ratio:.2f}x", "yes" if ratio >= GOAL else "no", str(runs)]
        )
    headers = ["ours", "s", "MB/s", "baseline", "s", "MB/s", "ratio", f">= {GOAL}x", "runs"]
    return format_table(headers, rows, right={1, 2, 4, 5, 6, 8})


def main(argv=None) -> None:
    """Run the benchmarks and print their tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", type=int, default=100_000_000, help="parameters in the model")
    ap.add_argument("--quick", action="store_true", help="5M parameters, 1k and 10k-op traces")
    ap.add_argument("--repeats", type=int, default=5, help="runs per row (the best is kept)")
    ap.add_argument("--only", choices=SECTIONS, action="append", help="tables to print")
    ap.add_argument("--dir", default=None, help="folder for the files (default: a temp folder)")
    args = ap.parse_args(argv)
    params = 5_000_000 if args.quick else args.params
    sections = args.only or SECTIONS

    if "hdf5" in sections or "save" in sections:
        model = build(params)
        state = model.state_dict()
        arrays = {k: np.asarray(v.detach().numpy()) for k, v in state.items()}
        mb = sum(a.nbytes for a in arrays.values()) / 1e6
        count = sum(a.size for a in arrays.values())
        print(f"model: {LAYERS} x Linear, {count:,} parameters, {mb:,.0f} MB (float32)")
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            d = Path(tmp)
            if "hdf5" in sections:
                print("\nHDF5 dumps (exporters.hdf5) vs raw h5py on the same arrays")
                print(file_table(hdf5_pairs(model, arrays, d, params), args.repeats, mb))
            if "save" in sections:
                print("\ncheckpoints (graphlab.save/load) vs numpy.save/load on the same arrays")
                print(file_table(save_pairs(state, arrays, d), args.repeats, mb))
            sizes = {p.name: p.stat().st_size / 1e6 for p in sorted(d.iterdir())}
        print("file sizes (MB): " + ", ".join(f"{k} {v:,.1f}" for k, v in sizes.items()))
    if "dot" in sections:
        dot_sizes = dot_export.SIZES[:2] if args.quick else dot_export.SIZES
        print("\nDOT export (exporters.dot.trace_graph) of recorded traces, best of 3")
        print(dot_export.table(dot_sizes))


if __name__ == "__main__":
    main()
