"""``Flatten`` and ``Unflatten``: reshape layers (views when the memory layout allows)."""

from __future__ import annotations

from ...functions.shaping import flatten, unflatten
from ...tensor import Tensor
from .module import Module

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Merge dims ``start_dim..end_dim`` into one: ``(N, C, H, W)`` to ``(N, C*H*W)`` by
    default (the batch dim is kept)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """The flattened input."""
        if (
            isinstance(input, Tensor)
            and input.ndim
            and not -input.ndim <= self.start_dim < input.ndim
        ):
            raise IndexError(
                f"Flatten: start_dim={self.start_dim} is out of range for an input with "
                f"{input.ndim} dims (shape {tuple(input.shape)}); expected at least "
                f"{self.start_dim + 1 if self.start_dim >= 0 else -self.start_dim} dims"
            )
        return flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        """``start_dim=…, end_dim=…``."""
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: ``Unflatten(1, (2, 5))`` maps
    ``(N, 10)`` to ``(N, 2, 5)``. One entry may be ``-1`` (inferred)."""

    def __init__(self, dim: int | str, unflattened_size) -> None:
        super().__init__()
        if isinstance(dim, str):
            raise TypeError(
                "Unflatten: named dimensions are not supported by graphlab; pass an int dim"
            )
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise TypeError(f"Unflatten: invalid argument type for dim: {type(dim).__name__}")
        if not isinstance(unflattened_size, (tuple, list)) or not all(
            isinstance(s, int) and not isinstance(s, bool) for s in unflattened_size
        ):
            raise TypeError(
                f"Unflatten: unflattened_size must be a tuple of ints, got {unflattened_size!r}"
            )
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """The input with dim ``dim`` split."""
        return unflatten(input, self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        """``dim=…, unflattened_size=…``."""
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
