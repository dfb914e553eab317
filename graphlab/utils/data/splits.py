"""Dataset splits: ``Subset``, ``random_split`` (train/validation), ``KFold`` (cross-validation).

``random_split`` follows PyTorch (lengths or fractions, a random permutation from a
``graphlab.Generator``); ``KFold`` follows scikit-learn's ``KFold``: ``n_splits`` consecutive
folds (of a shuffled order when ``shuffle=True``), the first ``n % n_splits`` one sample larger,
each fold used once as the validation set.
"""

from __future__ import annotations

import itertools
import math
import numbers
import warnings
from collections.abc import Iterator, Sequence, Sized

from ..._device import CPU
from ...random import Generator, rng_for
from .dataset import Dataset
from .sampler import _check_generator

__all__ = ["Subset", "random_split", "KFold"]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: item ``i`` is
    ``dataset[indices[i]]``."""

    def __init__(self, dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)


def _lengths_from(n: int, lengths: Sequence[float]) -> list[int]:
    """Turn fractions summing to 1 into counts (PyTorch's rounding); check integer counts."""
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"random_split: fraction at index {i} is {frac}, not in [0, 1]")
            counts.append(int(math.floor(n * frac)))
        # NOTE: PyTorch hands the remainder out one by one from the first split on.
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, c in enumerate(counts):
            if c == 0:
                warnings.warn(
                    f"random_split: length of split at index {i} is 0; that split is an empty "
                    "dataset",
                    UserWarning,
                    stacklevel=3,
                )
        return counts
    for i, c in enumerate(lengths):
        if isinstance(c, bool) or not isinstance(c, numbers.Integral) or c < 0:
            raise ValueError(
                f"random_split: lengths must be non-negative ints or fractions summing to 1, got "
                f"{c!r} at index {i}"
            )
    if sum(lengths) != n:
        raise ValueError(
            f"random_split: sum of input lengths ({sum(lengths)}) does not equal the length of "
            f"the input dataset ({n})"
        )
    return [int(c) for c in lengths]


def random_split(
    dataset, lengths: Sequence[float], generator: Generator | None = None
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    ``lengths`` are counts summing to ``len(dataset)``, or fractions summing to 1 (e.g.
    ``[0.8, 0.2]``; leftover samples go one each to the first splits). Pass
    ``generator=graphlab.Generator().manual_seed(0)`` for the same split every run.
    """
    _check_generator(generator, "random_split")
    counts = _lengths_from(len(dataset), list(lengths))
    perm = rng_for(CPU, generator).permutation(sum(counts)).tolist()
    return [
        Subset(dataset, perm[end - c : end]) for end, c in zip(itertools.accumulate(counts), counts)
    ]


class KFold:
    """K-fold cross-validation indices, as scikit-learn's ``KFold``.

    ``split(dataset_or_n)`` yields ``n_splits`` pairs ``(train_indices, val_indices)`` (sorted
    lists of ints); each sample is in exactly one validation fold. With ``shuffle=True`` the
    samples are permuted first (by ``generator``, or graphlab's default generator)::

        for train_idx, val_idx in KFold(5, shuffle=True, generator=g).split(ds):
            train, val = Subset(ds, train_idx), Subset(ds, val_idx)
    """

    def __init__(
        self, n_splits: int = 5, shuffle: bool = False, generator: Generator | None = None
    ):
        if isinstance(n_splits, bool) or not isinstance(n_splits, numbers.Integral):
            raise ValueError(f"KFold: n_splits must be an int, got {type(n_splits).__name__}")
        if n_splits < 2:
            raise ValueError(
                f"KFold: k-fold cross-validation needs at least two folds, got n_splits={n_splits}"
            )
        if not isinstance(shuffle, bool):
            raise TypeError(f"KFold: shuffle must be True or False, got {shuffle!r}")
        if generator is not None and not shuffle:
            raise ValueError(
                "KFold: a generator only matters with shuffle=True; pass shuffle=True or drop it"
            )
        self.n_splits = int(n_splits)
        self.shuffle = shuffle
        self.generator = _check_generator(generator, "KFold")

    def get_n_splits(self) -> int:
        """The number of folds."""
        return self.n_splits

    def split(self, data: Sized | int) -> Iterator[tuple[list[int], list[int]]]:
        """Yield ``(train_indices, val_indices)`` for each fold of ``data`` (a dataset or a
        sample count)."""
        if isinstance(data, numbers.Integral) and not isinstance(data, bool):
            n = int(data)
        elif isinstance(data, Sized):
            n = len(data)
        else:
            raise TypeError(
                f"KFold.split: expected a dataset (with __len__) or a number of samples, got "
                f"{type(data).__name__}"
            )
        if self.n_splits > n:
            raise ValueError(
                f"KFold.split: cannot have number of splits n_splits={self.n_splits} greater "
                f"than the number of samples n_samples={n}"
            )
        order = list(range(n))
        if self.shuffle:
            order = rng_for(CPU, self.generator).permutation(n).tolist()
        base, extra = divmod(n, self.n_splits)
        sizes = [base + (1 if i < extra else 0) for i in range(self.n_splits)]
        start = 0
        for size in sizes:
            val = set(order[start : start + size])
            start += size
            yield [i for i in range(n) if i not in val], sorted(val)

    def __repr__(self) -> str:
        return f"KFold(n_splits={self.n_splits}, shuffle={self.shuffle})"
