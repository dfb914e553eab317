"""Layers and blocks (examples 1–5 of the course material).

Run: ``python samples/blocks.py``. Each ``example_*`` function returns what it computed so the
tests can check it; ``main()`` prints them.
"""

from __future__ import annotations

import graphlab as gl
from graphlab import nn
from graphlab.nn import functional as F


def example_1_sequential():
    """An MLP as ``nn.Sequential``."""
    net = nn.Sequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
    X = gl.rand(2, 20)
    return net, X, net(X)


class MLP(nn.Module):
    """Example 2: a custom block with a hidden layer and an output layer."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(20, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, X):
        return self.out(F.relu(self.hidden(X)))


class MySequential(nn.Module):
    """Example 3: a Sequential written by hand (blocks registered by index)."""

    def __init__(self, *args):
        super().__init__()
        for idx, module in enumerate(args):
            self.add_module(str(idx), module)

    def forward(self, X):
        for block in self.children():
            X = block(X)
        return X


class FixedHiddenMLP(nn.Module):
    """Example 4: a constant weight, one layer used twice, and Python control flow."""

    def __init__(self):
        super().__init__()
        # A constant: not a parameter, so it is never updated.
        self.rand_weight = gl.rand((20, 20), requires_grad=False)
        self.linear = nn.Linear(20, 20)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(gl.mm(X, self.rand_weight) + 1)
        X = self.linear(X)  # the same layer again: its parameters are shared
        while X.abs().sum() > 1:  # dynamic control flow: the graph depends on the data
            X /= 2
        return X.sum()


class NestMLP(nn.Module):
    """Example 5: blocks nested inside blocks."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
        self.linear = nn.Linear(32, 16)

    def forward(self, X):
        return self.linear(self.net(X))


def chimera():
    """Example 5: mixing all of the above."""
    return nn.Sequential(NestMLP(), nn.Linear(16, 20), FixedHiddenMLP())


def main() -> dict:
    """Run examples 1–5 and print their outputs."""
    gl.manual_seed(0)
    X = gl.rand(2, 20)
    out = {
        "sequential": example_1_sequential()[2],
        "mlp": MLP()(X),
        "my_sequential": MySequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))(X),
        "fixed_hidden_mlp": FixedHiddenMLP()(X),
        "chimera": chimera()(X),
    }
    for name, value in out.items():
        print(f"{name}: shape {tuple(value.shape)}\n{value}\n")
    return out


if __name__ == "__main__":
    main()
