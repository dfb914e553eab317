"""Deferred initialization (example 11): shapes inferred at the first call.

Run: ``python samples/lazy_init.py``.
"""

from __future__ import annotations

import graphlab as gl
from graphlab import nn


def main() -> dict:
    """Build a lazy net, show its parameters before and after the first call."""
    gl.manual_seed(0)
    net = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
    before = [(name, nn.parameter.is_lazy(p)) for name, p in net.named_parameters()]
    print("before the first call:", before)
    X = gl.rand(2, 20)
    net(X)
    after = [(name, tuple(p.shape)) for name, p in net.named_parameters()]
    print("after net(X):", after)
    return {"before": before, "after": after, "net": net}


if __name__ == "__main__":
    main()
