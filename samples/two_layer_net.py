"""A two-layer network trained on random data (example 20 of the course material).

Run: ``python samples/two_layer_net.py [--variant a|b|all] [--steps N] [--quiet]``. This is also
the demo that ``python -m graphlab`` runs (all variants, default settings).

The network is the one from PyTorch's tutorial "Learning PyTorch with examples": a fully connected
ReLU network with one hidden layer and no biases, trained to fit random outputs from random inputs
by minimising the summed squared error, with plain gradient descent. The same problem is solved
several ways, each a function in ``VARIANTS``:

- ``"a"``: tensors only, the backward pass written by hand;
- ``"b"``: autograd computes the backward pass (``loss.backward()``), the update runs under
  ``gl.no_grad()``;
- ``"c"``: ``nn.Sequential`` with ``F.mse_loss``, manual updates over ``model.parameters()``;
- ``"d"``: the same model trained by ``optim.Adam``;
- ``"e"``: a custom ``TwoLayerNet(nn.Module)``;
- ``"f"``: ``ParallelBlock``s (two linear layers on one input, multiplied, clamped at 0);
- ``"g"``: mini-batches from ``DataLoader(TensorDataset(x, y), batch_size=8)`` over 20 epochs.

Every variant takes the same ``Problem`` and returns its per-step losses, so they can be compared
step by step.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import graphlab as gl
from graphlab import nn, optim
from graphlab.nn import functional as F
from graphlab.utils.data import DataLoader, TensorDataset

# Batch size, input dimension, hidden dimension, output dimension.
N, D_in, H, D_out = 64, 1000, 100, 10
LEARNING_RATE = 1e-6
STEPS = 500
LOG_EVERY = 100


@dataclass(frozen=True)
class Problem:
    """Random inputs ``x``, targets ``y`` and initial weights ``w1``, ``w2``, shared by variants."""

    x: gl.Tensor
    y: gl.Tensor
    w1: gl.Tensor
    w2: gl.Tensor


def make_problem(seed: int = 0) -> Problem:
    """Draw the data and the initial weights from ``gl.manual_seed(seed)`` (reproducible)."""
    gl.manual_seed(seed)
    x = gl.randn(N, D_in)
    y = gl.randn(N, D_out)
    w1 = gl.randn(D_in, H)
    w2 = gl.randn(H, D_out)
    return Problem(x, y, w1, w2)


def _report(variant: str, step: int, loss: float, log_every: int) -> None:
    """Print the loss every ``log_every`` steps (``log_every <= 0`` prints nothing)."""
    if log_every > 0 and step % log_every == log_every - 1:
        print(f"[{variant}] step {step + 1:4d}  loss {loss:.6g}")


def train_tensors(
    problem: Problem,
    steps: int = STEPS,
    learning_rate: float = LEARNING_RATE,
    log_every: int = LOG_EVERY,
) -> list[float]:
    """Variant (a): forward and backward passes written by hand with tensor operations.

    Returns the loss before each update (one float per step).
    """
    x, y = problem.x, problem.y
    # NOTE: clone so that every variant starts from the same weights; the updates are in place.
    w1, w2 = problem.w1.clone(), problem.w2.clone()
    losses = []
    for t in range(steps):
        # Forward pass: compute predicted y.
        h = x.mm(w1)
        h_relu = h.clamp(min=0)
        y_pred = h_relu.mm(w2)

        # Compute and print the loss.
        loss = (y_pred - y).pow(2).sum().item()
        losses.append(loss)
        _report("a", t, loss, log_every)

        # Backprop to compute the gradients of w1 and w2 with respect to the loss.
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.t().mm(grad_y_pred)
        grad_h_relu = grad_y_pred.mm(w2.t())
        grad_h = grad_h_relu.clone()
        grad_h[h < 0] = 0
        grad_w1 = x.t().mm(grad_h)

        # Update the weights with gradient descent.
        w1 -= learning_rate * grad_w1
        w2 -= learning_rate * grad_w2
    return losses


def train_autograd(
    problem: Problem,
    steps: int = STEPS,
    learning_rate: float = LEARNING_RATE,
    log_every: int = LOG_EVERY,
) -> list[float]:
    """Variant (b): autograd computes the backward pass; updates run under ``gl.no_grad()``.

    Returns the loss before each update (one float per step).
    """
    x, y = problem.x, problem.y
    # Leaf tensors that autograd tracks: it fills their .grad on loss.backward().
    w1 = problem.w1.clone().requires_grad_(True)
    w2 = problem.w2.clone().requires_grad_(True)
    losses = []
    for t in range(steps):
        # Forward pass: the same operations as in (a); no intermediate values kept by hand.
        y_pred = x.mm(w1).clamp(min=0).mm(w2)

        # The loss is a tensor with a single element; .item() reads it as a Python float.
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        _report("b", t, losses[-1], log_every)

        # Backward pass: computes the gradient of loss with respect to every tensor with
        # requires_grad=True, here w1.grad and w2.grad.
        loss.backward()

        # NOTE: the update must not be recorded in the graph, hence no_grad; and .grad accumulates
        # across backward calls, hence the zero_() after each step.
        with gl.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    return losses


def _two_layer_sequential() -> nn.Sequential:
    """``Linear → ReLU → Linear`` with PyTorch's default initialisation, seeded."""
    gl.manual_seed(1)
    return nn.Sequential(nn.Linear(D_in, H), nn.ReLU(), nn.Linear(H, D_out))


def train_sequential(
    problem: Problem, steps: int = STEPS, learning_rate: float = 1e-4, log_every: int = LOG_EVERY
) -> list[float]:
    """Variant (c): ``nn.Sequential`` and ``F.mse_loss``; manual updates over the parameters."""
    model = _two_layer_sequential()
    losses = []
    for t in range(steps):
        y_pred = model(problem.x)
        loss = F.mse_loss(y_pred, problem.y, reduction="sum")
        losses.append(loss.item())
        _report("c", t, losses[-1], log_every)
        model.zero_grad()
        loss.backward()
        with gl.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
    return losses


def _fit(variant, model, optimizer, problem, steps, log_every) -> list[float]:
    """The training loop of variants (d)–(f): summed squared error, ``optimizer`` updates."""
    losses = []
    for t in range(steps):
        loss = F.mse_loss(model(problem.x), problem.y, reduction="sum")
        losses.append(loss.item())
        _report(variant, t, losses[-1], log_every)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


def train_adam(
    problem: Problem, steps: int = STEPS, learning_rate: float = 1e-4, log_every: int = LOG_EVERY
) -> list[float]:
    """Variant (d): ``optim.Adam`` updates the parameters (``step()`` / ``zero_grad()``)."""
    model = _two_layer_sequential()
    optimizer = optim.Adam(model.parameters(), lr=learning_rate)
    return _fit("d", model, optimizer, problem, steps, log_every)


class TwoLayerNet(nn.Module):
    """Variant (e): the two-layer network as a custom module."""

    def __init__(self, D_in: int, H: int, D_out: int):
        super().__init__()
        self.linear1 = nn.Linear(D_in, H)
        self.linear2 = nn.Linear(H, D_out)

    def forward(self, x):
        h_relu = self.linear1(x).clamp(min=0)
        return self.linear2(h_relu)


def train_module(
    problem: Problem, steps: int = STEPS, learning_rate: float = 1e-4, log_every: int = LOG_EVERY
) -> list[float]:
    """Variant (e): a custom ``TwoLayerNet(nn.Module)`` trained by ``optim.SGD``."""
    gl.manual_seed(1)
    model = TwoLayerNet(D_in, H, D_out)
    optimizer = optim.SGD(model.parameters(), lr=learning_rate)
    return _fit("e", model, optimizer, problem, steps, log_every)


class ParallelBlock(nn.Module):
    """Variant (f): two linear layers on the same input, multiplied, then clamped at 0."""

    def __init__(self, D_in: int, D_out: int):
        super().__init__()
        self.linear1 = nn.Linear(D_in, D_out)
        self.linear2 = nn.Linear(D_in, D_out)

    def forward(self, x):
        h1 = self.linear1(x)
        h2 = self.linear2(x)
        return (h1 * h2).clamp(min=0)


def train_parallel(
    problem: Problem, steps: int = STEPS, learning_rate: float = 1e-4, log_every: int = LOG_EVERY
) -> list[float]:
    """Variant (f): ``ParallelBlock``s stacked in an ``nn.Sequential``, trained by Adam."""
    gl.manual_seed(1)
    model = nn.Sequential(ParallelBlock(D_in, H), ParallelBlock(H, H), nn.Linear(H, D_out))
    optimizer = optim.Adam(model.parameters(), lr=learning_rate)
    return _fit("f", model, optimizer, problem, steps, log_every)


def train_dataloader(
    problem: Problem, steps: int = STEPS, learning_rate: float = 1e-2, log_every: int = LOG_EVERY
) -> list[float]:
    """Variant (g): mini-batches of 8 from a ``DataLoader`` (20 epochs for the default steps)."""
    gl.manual_seed(1)
    loader = DataLoader(TensorDataset(problem.x, problem.y), batch_size=8)
    model = TwoLayerNet(D_in, H, D_out)
    optimizer = optim.SGD(model.parameters(), lr=learning_rate)
    epochs = max(1, steps // 25)
    losses = []
    for epoch in range(epochs):
        for x_batch, y_batch in loader:
            loss = F.mse_loss(model(x_batch), y_batch)
            losses.append(loss.item())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if log_every > 0 and (epoch + 1) % 5 == 0:
            print(f"[g] epoch {epoch + 1:3d}  loss {losses[-1]:.6g}")
    return losses


Variant = Callable[..., list[float]]

# Each variant takes (problem, steps, learning_rate, log_every) and returns its per-step losses.
VARIANTS: dict[str, Variant] = {
    "a": train_tensors,
    "b": train_autograd,
    "c": train_sequential,
    "d": train_adam,
    "e": train_module,
    "f": train_parallel,
    "g": train_dataloader,
}


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="two_layer_net.py",
        description="Train the two-layer network of example 20 in one or all of its variants.",
    )
    parser.add_argument(
        "--variant",
        choices=[*VARIANTS, "all"],
        default="all",
        help="which variant to train (default: all of them, one after the other)",
    )
    parser.add_argument(
        "--steps", type=int, default=STEPS, help=f"training steps (default {STEPS})"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the final loss of each variant"
    )
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be a positive number of steps, got {args.steps}")
    return args


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    """Train the chosen variants from the same seeded problem; returns their losses by variant."""
    args = _parse_args(argv)
    names = list(VARIANTS) if args.variant == "all" else [args.variant]
    problem = make_problem(seed=0)
    results = {}
    for name in names:
        train = VARIANTS[name]
        if not args.quiet:
            # The first docstring line names the variant: "Variant (a): ...".
            print((train.__doc__ or f"Variant ({name})").splitlines()[0].replace("``", "`"))
        losses = train(problem, steps=args.steps, log_every=0 if args.quiet else LOG_EVERY)
        results[name] = losses
        print(f"[{name}] final loss after {args.steps} steps: {losses[-1]:.6g}")
    return results


if __name__ == "__main__":
    main()
