"""Datasets: the ``Dataset`` protocol, ``TensorDataset`` and ``ConcatDataset``.

A map-style dataset is anything with ``__getitem__(i)`` and ``__len__()``; subclassing
``Dataset`` adds ``dataset_a + dataset_b`` (a ``ConcatDataset``).
"""

from __future__ import annotations

import bisect
from typing import Any

from ... import _dtype
from ...creation import tensor
from ...tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "ConcatDataset"]


class Dataset:
    """Base class of map-style datasets: implement ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are slices of tensors along their first dimension: item ``i`` is
    ``(t0[i], t1[i], ...)``. Every tensor must have the same first size.
    """

    def __init__(self, *tensors: Tensor):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor, e.g. TensorDataset(x, y)")
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"TensorDataset: argument {i} is a {type(t).__name__}, not a graphlab Tensor; "
                    "convert it with graphlab.tensor(...) or graphlab.from_numpy(...)"
                )
            if t.ndim == 0:
                raise ValueError(
                    f"TensorDataset: argument {i} is a 0-d tensor; every tensor needs a first "
                    "dimension indexing the samples"
                )
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) > 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
            raise ValueError(
                f"TensorDataset: size mismatch between tensors: the first dimensions are {sizes} "
                f"(shapes {shapes}), but every tensor needs one entry per sample; make them the "
                "same length"
            )
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _gather(self, indices: list[int]) -> list[Tensor]:
        """The collated batch for ``indices`` in one indexing op per tensor.

        Equal to ``default_collate([self[i] for i in indices])`` (a list, like PyTorch's collate
        of tuples) without building one small tensor per sample.
        """
        index_on: dict = {}
        out = []
        for t in self.tensors:
            idx = index_on.get(t.device)
            if idx is None:
                idx = index_on[t.device] = tensor(indices, dtype=_dtype.int64, device=t.device)
            out.append(t[idx])
        return out


class ConcatDataset(Dataset):
    """The datasets one after another: item ``i`` comes from the dataset that holds it."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: needs at least one dataset")
        self.cumulative_sizes: list[int] = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int):
        n = len(self)
        if index < 0:
            if -index > n:
                raise IndexError(f"ConcatDataset: index {index} out of range for length {n}")
            index += n
        if index >= n:
            raise IndexError(f"ConcatDataset: index {index} out of range for length {n}")
        k = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][index - start]
