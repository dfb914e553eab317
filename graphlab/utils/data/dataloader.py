"""``DataLoader``: batches from a map-style dataset, optionally loaded by worker threads.

The loader asks its batch sampler for lists of indices, fetches those samples from the dataset
and merges them with ``collate_fn`` (``default_collate`` stacks tensors, NumPy arrays and
numbers, and recurses into tuples, lists and dicts). ``TensorDataset``s (and ``Subset``s of
them) with the default collate are gathered with one indexing op per tensor instead of one
small tensor per sample.

``num_workers > 0`` loads batches in that many worker *threads* (not processes: graphlab
tensors are not picklable, and NumPy indexing, copies and stacking release the GIL), keeping up
to ``num_workers * prefetch_factor`` batches in flight and yielding them in order. The dataset
is shared by the threads, so its ``__getitem__`` must be thread-safe (reading is). Note that the
ops run by workers are ordinary graphlab ops, seen by any op observer in their thread.

``pin_memory=True`` copies each batch's CPU tensors into page-locked memory (fast, overlappable
host-to-GPU copies); without a GPU it warns and skips pinning, as PyTorch does.
"""

from __future__ import annotations

import collections
import itertools
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as _FutureTimeout
from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import _dtype, cuda
from ..._device import CPU
from ...creation import as_tensor, tensor
from ...functions.shaping import stack
from ...random import Generator, rng_for
from ...tensor import Tensor
from .dataset import TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, _check_generator
from .splits import Subset

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info", "WorkerInfo"]


# ----- collation ----------------------------------------------------------------------------
def _is_numpy(x) -> bool:
    return type(x).__module__ == "numpy" and not isinstance(x, (np.str_, np.bytes_))


def default_convert(data):
    """Turn NumPy arrays and scalars into tensors, recursing into mappings and sequences;
    everything else is returned as is (the collate used when ``batch_size=None``)."""
    if isinstance(data, Tensor):
        return data
    if _is_numpy(data):
        if isinstance(data, np.ndarray) and data.dtype.kind in "USOV":
            return data
        return as_tensor(np.asarray(data))
    if isinstance(data, Mapping):
        out = {k: default_convert(v) for k, v in data.items()}
        return out if type(data) is dict else _rebuild(data, out)
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        out = [default_convert(d) for d in data]
        return out if type(data) is list else _rebuild(data, out)
    return data


def _rebuild(like, values):
    """``type(like)(values)`` when that works (custom mappings/sequences), else ``values``."""
    try:
        return type(like)(values)
    except TypeError:
        return values


def default_collate(batch: Sequence[Any]):
    """Merge a list of samples into a batch, as PyTorch's ``default_collate``.

    Tensors are stacked along a new first dimension; NumPy arrays and scalars become stacked
    tensors; Python floats a float64 tensor, ints (and bools) an int64 (bool) tensor; strings
    stay a list; dicts collate per key, named tuples per field, and other tuples and lists per
    position (a tuple sample gives a list, as in PyTorch).
    """
    if not isinstance(batch, Sequence) or isinstance(batch, (str, bytes)) or not batch:
        raise TypeError(
            f"default_collate: expected a non-empty list of samples, got "
            f"{type(batch).__name__}{'' if batch else ' (empty)'}"
        )
    elem = batch[0]
    if isinstance(elem, Tensor):
        shape = tuple(elem.shape)
        for i, b in enumerate(batch):
            if not isinstance(b, Tensor) or tuple(b.shape) != shape:
                got = tuple(b.shape) if isinstance(b, Tensor) else type(b).__name__
                raise RuntimeError(
                    f"default_collate: every tensor in a batch must have the same shape to be "
                    f"stacked; sample 0 has shape {shape} but sample {i} has {got}. Pad the "
                    "samples to one shape, or pass a collate_fn that handles them"
                )
        return stack(list(batch))
    if _is_numpy(elem):
        if isinstance(elem, np.ndarray):
            if elem.dtype.kind in "USOV":
                raise TypeError(
                    f"default_collate: batch must contain tensors, NumPy arrays, numbers, dicts "
                    f"or lists; found a NumPy array of dtype {elem.dtype}"
                )
            return default_collate([as_tensor(b) for b in batch])
        return as_tensor(np.array(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=_dtype.float64)
    if isinstance(elem, bool):
        return tensor(batch)
    if isinstance(elem, int):
        return tensor(batch, dtype=_dtype.int64)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        out = {k: default_collate([d[k] for d in batch]) for k in elem}
        return out if type(elem) is dict else _rebuild(elem, out)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, Sequence):
        n = len(elem)
        for i, b in enumerate(batch):
            if len(b) != n:
                raise RuntimeError(
                    f"default_collate: each sample in a batch must have the same number of "
                    f"fields; sample 0 has {n} but sample {i} has {len(b)}"
                )
        out = [default_collate(list(s)) for s in zip(*batch)]
        return out if isinstance(elem, (tuple, list)) else _rebuild(elem, out)
    raise TypeError(
        f"default_collate: batch must contain tensors, NumPy arrays, numbers, dicts or lists; "
        f"found {type(elem).__name__}. Pass a collate_fn that knows how to merge it"
    )


def _batch_gatherer(dataset) -> Callable[[list[int]], Any] | None:
    """``indices -> collated batch`` for datasets that can be gathered in one indexing op per
    tensor (``TensorDataset`` and ``Subset``s of one, unless a subclass changes ``__getitem__``);
    ``None`` for any other dataset."""
    if isinstance(dataset, TensorDataset) and (
        type(dataset).__getitem__ is TensorDataset.__getitem__
    ):
        return dataset._gather
    if isinstance(dataset, Subset) and type(dataset).__getitem__ is Subset.__getitem__:
        inner = _batch_gatherer(dataset.dataset)
        if inner is not None:
            idx = dataset.indices
            return lambda indices: inner([int(idx[i]) for i in indices])
    return None


def _pin(data):
    """``data`` with every CPU tensor copied into pinned memory (containers rebuilt)."""
    if isinstance(data, Tensor):
        return data.pin_memory() if data.device.type == "cpu" else data
    if isinstance(data, Mapping):
        out = {k: _pin(v) for k, v in data.items()}
        return out if type(data) is dict else _rebuild(data, out)
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(_pin(d) for d in data))
    if isinstance(data, (list, tuple)):
        return type(data)(_pin(d) for d in data)
    return data


# ----- workers ------------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a loader's worker thread."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_local = threading.local()


def get_worker_info() -> WorkerInfo | None:
    """The ``WorkerInfo`` of the current DataLoader worker thread; ``None`` outside workers."""
    return getattr(_worker_local, "info", None)


# ----- the loader ---------------------------------------------------------------------------
class DataLoader:
    """Iterate over a dataset in batches.

    ``batch_size`` samples per batch (``None`` turns batching off); ``shuffle=True`` visits
    the samples in a new random order each epoch (reproducible with
    ``generator=graphlab.Generator().manual_seed(seed)``); ``drop_last`` drops a final short
    batch; ``sampler`` / ``batch_sampler`` choose the indices yourself; ``collate_fn`` merges
    samples (``default_collate``); ``num_workers`` threads load batches ahead
    (``prefetch_factor`` batches each); ``pin_memory`` pins batches for fast GPU copies.
    """

    def __init__(
        self,
        dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | None = None,
        batch_sampler: Sampler | None = None,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        generator: Generator | None = None,
    ):
        if not hasattr(dataset, "__getitem__"):
            raise TypeError(
                f"DataLoader: expected a map-style dataset (with __getitem__ and __len__), got "
                f"{type(dataset).__name__}"
            )
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(
                f"DataLoader: num_workers option should be a non-negative integer, got "
                f"{num_workers!r}; use num_workers=0 to load in the main thread"
            )
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "DataLoader: prefetch_factor option can only be specified with num_workers > 0"
            )
        if prefetch_factor is not None and prefetch_factor < 1:
            raise ValueError(f"DataLoader: prefetch_factor must be >= 1, got {prefetch_factor}")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        _check_generator(generator, "DataLoader")
        if sampler is not None and shuffle:
            raise ValueError(
                "DataLoader: sampler option is mutually exclusive with shuffle; shuffle in the "
                "sampler (e.g. RandomSampler) instead"
            )
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                    "shuffle, sampler, and drop_last; leave those at their defaults"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None:
            if drop_last:
                raise ValueError(
                    "DataLoader: batch_size=None option disables auto-batching and is mutually "
                    "exclusive with drop_last"
                )
        elif isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(
                f"DataLoader: batch_size should be a positive integer or None, got {batch_size!r}"
            )
        if sampler is None:
            if not hasattr(dataset, "__len__"):
                raise TypeError(
                    f"DataLoader: the dataset ({type(dataset).__name__}) has no __len__; give it "
                    "one, or pass a sampler"
                )
            if shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.prefetch_factor = 2 if prefetch_factor is None and num_workers > 0 else prefetch_factor
        self.pin_memory = bool(pin_memory)
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.persistent_workers = persistent_workers
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._executor: ThreadPoolExecutor | None = None

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self) -> int:
        return len(self._index_sampler)

    # ----- fetching -----------------------------------------------------------------------
    def _fetcher(self, pin: bool) -> Callable[[Any], Any]:
        dataset, collate = self.dataset, self.collate_fn
        if not self._auto_collation:

            def fetch(index):
                return collate(dataset[index])

        else:
            gather = _batch_gatherer(dataset) if collate is default_collate else None
            getitems = getattr(dataset, "__getitems__", None)
            if gather is not None:
                fetch = gather
            elif getitems is not None:

                def fetch(indices):
                    return collate(getitems(indices))

            else:

                def fetch(indices):
                    return collate([dataset[i] for i in indices])

        if not pin:
            return fetch
        return lambda index: _pin(fetch(index))

    def _should_pin(self) -> bool:
        if not self.pin_memory:
            return False
        if not cuda.is_available():
            warnings.warn(
                "DataLoader: 'pin_memory' argument is set as true but no accelerator is found, "
                "then device pinned memory won't be used",
                UserWarning,
                stacklevel=3,
            )
            return False
        return True

    def __iter__(self) -> Iterator:
        fetch = self._fetcher(self._should_pin())
        # NOTE: drawn on every epoch whatever num_workers is (as PyTorch does), so the shuffled
        # order for a given generator does not depend on the number of workers.
        base_seed = int(rng_for(CPU, self.generator).integers(0, 2**62))
        if self.num_workers == 0:
            return (fetch(index) for index in self._index_sampler)
        return self._threaded(fetch, base_seed)

    def _make_executor(self, base_seed: int) -> ThreadPoolExecutor:
        ids = itertools.count()
        num_workers, dataset, init_fn = self.num_workers, self.dataset, self.worker_init_fn

        def init() -> None:
            wid = next(ids)
            _worker_local.info = WorkerInfo(wid, num_workers, base_seed + wid, dataset)
            if init_fn is not None:
                init_fn(wid)

        return ThreadPoolExecutor(
            max_workers=num_workers, thread_name_prefix="graphlab-loader", initializer=init
        )

    def _threaded(self, fetch, base_seed: int) -> Iterator:
        if self.persistent_workers:
            if self._executor is None:
                self._executor = self._make_executor(base_seed)
            executor = self._executor
        else:
            executor = self._make_executor(base_seed)
        indices = iter(self._index_sampler)
        pending: collections.deque[Future] = collections.deque()
        limit = self.num_workers * self.prefetch_factor
        timeout = self.timeout or None

        def submit() -> None:
            for index in itertools.islice(indices, 1):
                pending.append(executor.submit(fetch, index))

        try:
            for _ in range(limit):
                submit()
            while pending:
                fut = pending.popleft()
                try:
                    batch = fut.result(timeout=timeout)
                except _FutureTimeout:
                    raise RuntimeError(
                        f"DataLoader timed out after {self.timeout} seconds waiting for a batch "
                        "from a worker thread"
                    ) from None
                except Exception as exc:
                    if hasattr(exc, "add_note"):
                        exc.add_note("(raised while loading a batch in a DataLoader worker thread)")
                    raise
                # NOTE: refill before handing the batch out, so a worker loads the next batch
                # while the caller trains on this one.
                submit()
                yield batch
        finally:
            for fut in pending:
                fut.cancel()
            if not self.persistent_workers:
                executor.shutdown(wait=False, cancel_futures=True)

    def __del__(self):
        ex = getattr(self, "_executor", None)
        if ex is not None:
            ex.shutdown(wait=False, cancel_futures=True)

    def __repr__(self) -> str:
        return (
            f"DataLoader(dataset={type(self.dataset).__name__}, batch_size={self.batch_size}, "
            f"num_workers={self.num_workers})"
        )
