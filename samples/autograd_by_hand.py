"""Gradients by hand in NumPy, then by autograd in graphlab (example 19 of the course material).

Run: ``python samples/autograd_by_hand.py``.

The computational graph is ``a = x * y; b = a + z; c = b.sum()``. In NumPy we write the backward
pass ourselves, node by node in reverse order; in graphlab the same forward code with
``requires_grad=True`` records the graph and ``c.backward()`` walks it for us. Both must agree:
``dc/dx = y``, ``dc/dy = x`` and ``dc/dz = 1``.
"""

from __future__ import annotations

import numpy as np

import graphlab as gl

N, D = 3, 4


def numpy_by_hand(seed: int = 0) -> dict[str, np.ndarray]:
    """Forward and a hand-written backward pass in NumPy; returns the inputs and gradients."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, D))
    y = rng.standard_normal((N, D))
    z = rng.standard_normal((N, D))

    # Forward pass.
    a = x * y
    b = a + z
    c = np.sum(b)

    # Backward pass, written by hand: each line is the chain rule for one node, in reverse order.
    grad_c = 1.0
    grad_b = grad_c * np.ones((N, D))  # d(sum)/db is 1 everywhere
    grad_a = grad_b.copy()  # an add node copies its gradient to both inputs
    grad_z = grad_b.copy()
    grad_x = grad_a * y  # a mul node swaps its inputs
    grad_y = grad_a * x
    return {
        "x": x,
        "y": y,
        "z": z,
        "c": np.asarray(c),
        "grad_x": grad_x,
        "grad_y": grad_y,
        "grad_z": grad_z,
    }


def graphlab_autograd(x_np: np.ndarray, y_np: np.ndarray, z_np: np.ndarray) -> dict[str, gl.Tensor]:
    """The same forward pass in graphlab, recorded as a graph.

    ``c.backward()`` walks the graph backwards and fills ``x.grad``, ``y.grad`` and ``z.grad``.
    """
    x = gl.tensor(x_np, requires_grad=True)
    y = gl.tensor(y_np, requires_grad=True)
    z = gl.tensor(z_np, requires_grad=True)

    a = x * y
    b = a + z
    c = b.sum()

    c.backward()
    return {"x": x, "y": y, "z": z, "c": c, "grad_x": x.grad, "grad_y": y.grad, "grad_z": z.grad}


def main() -> dict[str, dict]:
    """Run both versions, print them side by side and check that they agree."""
    by_hand = numpy_by_hand()
    auto = graphlab_autograd(by_hand["x"], by_hand["y"], by_hand["z"])
    x, y, z = auto["x"], auto["y"], auto["z"]

    print("NumPy, gradients written by hand")
    print(f"c = {float(by_hand['c']):.6f}")
    for name in ("grad_x", "grad_y", "grad_z"):
        print(f"{name} =\n{by_hand[name]}")
    print()
    print("graphlab, gradients from c.backward()")
    print(f"c = {auto['c'].item():.6f}")
    for name in ("grad_x", "grad_y", "grad_z"):
        print(f"{name} =\n{auto[name]}")

    # The identities the example teaches, checked exactly: no rounding happens in these gradients.
    assert bool((x.grad == y).all()), "x.grad should equal y"
    assert bool((y.grad == x).all()), "y.grad should equal x"
    assert bool((z.grad == 1).all()), "z.grad should be all ones"
    # And the hand-written NumPy backward pass gives the same numbers as autograd.
    for name in ("grad_x", "grad_y", "grad_z"):
        assert np.array_equal(auto[name].numpy(), by_hand[name]), f"{name} differs"
    print("\nx.grad == y, y.grad == x, z.grad == 1, and NumPy by hand == graphlab autograd")
    return {"numpy": by_hand, "graphlab": auto}


if __name__ == "__main__":
    main()
