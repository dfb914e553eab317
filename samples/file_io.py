"""File I/O (examples 14–15): save and load tensors and a model's parameters (no pickle).

Run: ``python samples/file_io.py [--dir FOLDER]`` (a temporary folder by default).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import graphlab as gl
from graphlab import nn
from graphlab.nn import functional as F


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(20, 256)
        self.output = nn.Linear(256, 10)

    def forward(self, x):
        return self.output(F.relu(self.hidden(x)))


def main(folder: str | None = None) -> dict:
    """Save and load a tensor, a list, a dict and a state dict; compare the clone's output."""
    gl.manual_seed(0)
    d = Path(folder or tempfile.mkdtemp(prefix="graphlab-io-"))
    x = gl.arange(4)
    gl.save(x, d / "x-file")
    x2 = gl.load(d / "x-file")
    y = gl.zeros(4)
    gl.save([x, y], d / "x-files")
    x2y2 = gl.load(d / "x-files")
    gl.save({"x": x, "y": y}, d / "mydict")
    mydict2 = gl.load(d / "mydict")
    print("tensor:", x2, "\nlist:", x2y2, "\ndict:", mydict2)

    net = MLP()
    X = gl.randn(2, 20)
    Y = net(X)
    gl.save(net.state_dict(), d / "mlp.params")
    clone = MLP()
    clone.load_state_dict(gl.load(d / "mlp.params"))
    clone.eval()
    Y_clone = clone(X)
    same = Y_clone == Y
    print("clone(X) == net(X):", same)
    return {"x": x2, "list": x2y2, "dict": mydict2, "same": same, "folder": d}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dir", default=None, help="folder for the files (default: a temp folder)")
    main(p.parse_args().dir)
