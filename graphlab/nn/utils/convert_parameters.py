"""``parameters_to_vector`` and ``vector_to_parameters``: all parameters as one flat vector."""

from __future__ import annotations

from collections.abc import Iterable

from ...functions.shaping import cat
from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_device(params: list[Tensor], fn: str) -> None:
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: element {i} is a {type(p).__name__}, not a graphlab Tensor")
        if p.device != params[0].device:
            raise TypeError(
                f"{fn}: found two parameters on different devices ({params[0].device} and "
                f"{p.device}); move the model to one device first"
            )


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """One 1-d tensor holding every parameter's elements in order (differentiable; a copy)."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    _check_same_device(params, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Point each parameter's data at its slice of ``vec`` (shared storage, as in PyTorch).

    ``vec`` must hold exactly as many elements as the parameters together.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(
            f"vector_to_parameters: expected a graphlab Tensor, got {type(vec).__name__}"
        )
    if vec.ndim != 1:
        raise ValueError(
            f"vector_to_parameters: expected a 1-d vector, got shape {tuple(vec.shape)}"
        )
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    _check_same_device(params, "vector_to_parameters")
    total = sum(p.numel() for p in params)
    if vec.numel() != total:
        raise ValueError(
            f"vector_to_parameters: the vector has {vec.numel()} elements but the parameters "
            f"need {total}"
        )
    if params and vec.device != params[0].device:
        raise TypeError(
            f"vector_to_parameters: the vector is on {vec.device} but the parameters are on "
            f"{params[0].device}"
        )
    ptr = 0
    for p in params:
        n = p.numel()
        p.data = vec[ptr : ptr + n].view(tuple(p.shape)).data
        ptr += n
