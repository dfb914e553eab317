"""``graphlab.utils.data``: datasets, samplers, ``DataLoader``, splits (PyTorch's names).

``DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)`` yields ``[xb, yb]`` batches;
``random_split`` and ``KFold`` make validation splits and cross-validation folds.
"""

from .dataloader import DataLoader, default_collate, default_convert, get_worker_info
from .dataset import ConcatDataset, Dataset, TensorDataset
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
)
from .splits import KFold, Subset, random_split

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "KFold",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]
