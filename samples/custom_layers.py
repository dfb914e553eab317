"""Custom layers (examples 12–13): a layer without parameters and one with.

Run: ``python samples/custom_layers.py``.
"""

from __future__ import annotations

import graphlab as gl
from graphlab import nn
from graphlab.nn import functional as F


class CenteredLayer(nn.Module):
    """Subtracts the mean: no parameters."""

    def forward(self, X):
        return X - X.mean()


class MyLinear(nn.Module):
    """A fully connected layer with ReLU, its parameters created by hand."""

    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(gl.randn(in_units, units))
        self.bias = nn.Parameter(gl.randn(units))

    def forward(self, X):
        linear = gl.matmul(X, self.weight.data) + self.bias.data
        return F.relu(linear)


def main() -> dict:
    """Run both layers alone and inside a Sequential."""
    gl.manual_seed(0)
    layer = CenteredLayer()
    centered = layer(gl.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
    net = nn.Sequential(nn.Linear(8, 128), CenteredLayer())
    mean = net(gl.rand(4, 8)).mean()
    linear = MyLinear(5, 3)
    alone = linear(gl.rand(2, 5))
    seq = nn.Sequential(MyLinear(64, 8), MyLinear(8, 1))(gl.rand(2, 64))
    print("CenteredLayer:", centered)
    print("mean after CenteredLayer (about 0):", mean)
    print("MyLinear weight:", linear.weight)
    print("MyLinear alone:", alone)
    print("MyLinear in a Sequential:", seq)
    return {"centered": centered, "mean": mean, "alone": alone, "seq": seq, "linear": linear}


if __name__ == "__main__":
    main()
