"""graphlab.utils.data: datasets, samplers, DataLoader (threads, pinning), splits, KFold."""

from __future__ import annotations

import threading
import time
import warnings
from collections import namedtuple

import numpy as np
import pytest

import graphlab as gl
from graphlab.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    KFold,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)


def _xy(n=10):
    x = gl.arange(n * 2, dtype=gl.float32).reshape(n, 2)
    y = gl.arange(n)
    return x, y


class Squares(Dataset):
    """A plain map-style dataset (no fast path): sample i is (array([i, i*i]), i)."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return np.array([i, i * i], dtype=np.float32), i

    def __len__(self):
        return self.n


# ----- datasets ---------------------------------------------------------------------------------
def test_tensor_dataset_items_and_length():
    x, y = _xy()
    ds = TensorDataset(x, y)
    assert len(ds) == 10
    xi, yi = ds[3]
    assert xi.tolist() == [6.0, 7.0] and yi.item() == 3


def test_tensor_dataset_size_mismatch_names_the_sizes():
    with pytest.raises(ValueError, match=r"\[10, 7\].*\(10, 2\), \(7,\)"):
        TensorDataset(_xy()[0], gl.arange(7))
    with pytest.raises(TypeError, match="argument 1 is a ndarray"):
        TensorDataset(_xy()[0], np.arange(10))
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()


def test_concat_dataset():
    ds = Squares(3) + Squares(2)
    assert isinstance(ds, ConcatDataset) and len(ds) == 5
    assert ds[3][1] == 0 and ds[4][1] == 1 and ds[-1][1] == 1
    with pytest.raises(IndexError):
        ds[5]


# ----- collate --------------------------------------------------------------------------------
def test_default_collate_kinds():
    Point = namedtuple("Point", "x y")
    batch = [
        {"a": gl.tensor([1.0, 2.0]), "b": 1.5, "c": 3, "d": "s", "e": Point(1, 2.0)},
        {"a": gl.tensor([3.0, 4.0]), "b": 2.5, "c": 4, "d": "t", "e": Point(3, 4.0)},
    ]
    out = default_collate(batch)
    assert out["a"].tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert out["b"].dtype is gl.float64 and out["b"].tolist() == [1.5, 2.5]
    assert out["c"].dtype is gl.int64 and out["c"].tolist() == [3, 4]
    assert out["d"] == ["s", "t"]
    assert isinstance(out["e"], Point) and out["e"].x.tolist() == [1, 3]
    arrays = default_collate([np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32)])
    assert arrays.shape == (2, 2, 2) and arrays.dtype is gl.float32
    scalars = default_collate([np.float32(1), np.float32(2)])
    assert scalars.dtype is gl.float32 and scalars.tolist() == [1.0, 2.0]
    pairs = default_collate([(1, 2.0), (3, 4.0)])
    assert isinstance(pairs, list) and pairs[0].tolist() == [1, 3]
    assert default_collate([True, False]).dtype is gl.bool


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match=r"sample 0 has shape \(2,\) but sample 1 has \(3,\)"):
        default_collate([gl.zeros(2), gl.zeros(3)])
    with pytest.raises(RuntimeError, match="same number of fields"):
        default_collate([[1, 2], [1, 2, 3]])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])


def test_default_convert():
    out = default_convert({"a": np.arange(3), "b": [np.float64(2.0), "x"]})
    assert isinstance(out["a"], gl.Tensor) and out["a"].tolist() == [0, 1, 2]
    assert out["b"][0].item() == 2.0 and out["b"][1] == "x"


# ----- samplers -------------------------------------------------------------------------------
def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    g = gl.Generator().manual_seed(3)
    perm = list(RandomSampler(range(6), generator=g))
    assert sorted(perm) == list(range(6))
    assert len(list(RandomSampler(range(3), replacement=True, num_samples=7))) == 7
    over = list(RandomSampler(range(3), num_samples=7))
    assert len(over) == 7 and sorted(over[:3]) == [0, 1, 2] and sorted(over[3:6]) == [0, 1, 2]
    sub = list(SubsetRandomSampler([10, 20, 30], generator=g))
    assert sorted(sub) == [10, 20, 30]
    assert list(BatchSampler(range(5), 2, drop_last=False)) == [[0, 1], [2, 3], [4]]
    assert list(BatchSampler(range(5), 2, drop_last=True)) == [[0, 1], [2, 3]]
    assert len(BatchSampler(range(5), 2, False)) == 3 and len(BatchSampler(range(5), 2, True)) == 2
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(range(5), 0, False)
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler([])
    with pytest.raises(TypeError, match="graphlab.Generator"):
        RandomSampler(range(3), generator=np.random.default_rng(0))
    with pytest.raises(NotImplementedError):
        iter(Sampler())


def test_random_sampler_reproducible_and_fresh_each_epoch():
    a = RandomSampler(range(50), generator=gl.Generator().manual_seed(7))
    b = RandomSampler(range(50), generator=gl.Generator().manual_seed(7))
    first, second = list(a), list(a)
    assert first == list(b) and second == list(b)
    assert first != second
    gl.manual_seed(5)
    c = list(RandomSampler(range(50)))
    gl.manual_seed(5)
    assert list(RandomSampler(range(50))) == c


# ----- DataLoader -----------------------------------------------------------------------------
def test_loader_batches_in_order_with_last_short_batch():
    x, y = _xy()
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].shape == (4, 2) and batches[0][0].dtype is gl.float32
    assert isinstance(batches[0], list)


def test_fast_path_equals_per_sample_collate():
    x, y = _xy(13)
    ds = TensorDataset(x, y)
    sub = Subset(ds, [12, 0, 5, 7, 3])
    for dataset in (ds, sub):
        fast = list(DataLoader(dataset, batch_size=3))
        slow = list(DataLoader(dataset, batch_size=3, collate_fn=default_collate_wrapper))
        assert len(fast) == len(slow)
        for f, s in zip(fast, slow):
            assert [t.tolist() for t in f] == [t.tolist() for t in s]
            assert [t.dtype for t in f] == [t.dtype for t in s]


def default_collate_wrapper(batch):
    # NOTE: a collate_fn that is not ``default_collate`` itself disables the gather fast path.
    return default_collate(batch)


def test_drop_last_and_generic_dataset():
    loader = DataLoader(Squares(7), batch_size=3, drop_last=True)
    batches = list(loader)
    assert len(loader) == 2 and len(batches) == 2
    xb, yb = batches[1]
    assert xb.tolist() == [[3.0, 9.0], [4.0, 16.0], [5.0, 25.0]] and yb.tolist() == [3, 4, 5]


def test_shuffle_with_generator_is_reproducible():
    x, y = _xy(20)
    ds = TensorDataset(x, y)

    def order(seed, epochs=2):
        loader = DataLoader(
            ds, batch_size=6, shuffle=True, generator=gl.Generator().manual_seed(seed)
        )
        return [[b[1].tolist() for b in loader] for _ in range(epochs)]

    a, b, c = order(1), order(1), order(2)
    assert a == b and a != c
    assert a[0] != a[1]  # a new order each epoch
    assert sorted(sum(a[0], [])) == list(range(20))


def test_no_auto_batching():
    loader = DataLoader(Squares(3), batch_size=None)
    items = list(loader)
    assert len(items) == 3 and isinstance(items[1][0], gl.Tensor)
    assert items[2][0].tolist() == [2.0, 4.0] and items[2][1] == 2


def test_sampler_and_batch_sampler_options():
    ds = Squares(6)
    loader = DataLoader(ds, batch_size=2, sampler=[5, 4, 3, 2, 1, 0])
    assert [b[1].tolist() for b in loader] == [[5, 4], [3, 2], [1, 0]]
    loader = DataLoader(ds, batch_sampler=[[0, 5], [1], [2, 3, 4]])
    assert [b[1].tolist() for b in loader] == [[0, 5], [1], [2, 3, 4]]


class GetItems(Squares):
    def __init__(self, n):
        super().__init__(n)
        self.calls = 0

    def __getitems__(self, indices):
        self.calls += 1
        return [self[i] for i in indices]


def test_getitems_is_used_when_defined():
    ds = GetItems(5)
    assert len(list(DataLoader(ds, batch_size=2))) == 3
    assert ds.calls == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(sampler=[0, 1], shuffle=True), "mutually exclusive with shuffle"),
        (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
        (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
        (dict(batch_size=None, drop_last=True), "mutually exclusive with drop_last"),
        (dict(batch_size=0), "batch_size should be a positive integer"),
        (dict(num_workers=-1), "num_workers"),
        (dict(prefetch_factor=2), "prefetch_factor"),
        (dict(persistent_workers=True), "persistent_workers"),
        (dict(timeout=-1), "timeout"),
    ],
)
def test_loader_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(Squares(4), **kwargs)


def test_loader_rejects_non_dataset():
    with pytest.raises(TypeError, match="map-style dataset"):
        DataLoader(42)


class Slow(Squares):
    """Sleeps in __getitem__ (releasing the GIL), recording which threads loaded samples."""

    def __init__(self, n, delay=0.01):
        super().__init__(n)
        self.delay = delay
        self.threads = set()
        self.lock = threading.Lock()

    def __getitem__(self, i):
        time.sleep(self.delay)
        with self.lock:
            self.threads.add(threading.current_thread().name)
        return super().__getitem__(i)


def test_workers_preserve_order_and_run_in_threads():
    ds = Slow(24, delay=0.002)
    loader = DataLoader(ds, batch_size=2, num_workers=4)
    got = [b[1].tolist() for b in loader]
    assert got == [[i, i + 1] for i in range(0, 24, 2)]
    assert ds.threads and all(name.startswith("graphlab-loader") for name in ds.threads)


def test_workers_load_concurrently():
    # NOTE: samples 0 and 1 (two batches) each wait for the other at a barrier: the loader only
    # gets past them if two worker threads load at the same time.
    barrier = threading.Barrier(2, timeout=10)

    class Meet(Squares):
        def __getitem__(self, i):
            if i < 2:
                barrier.wait()
            return super().__getitem__(i)

    got = [b[1].tolist() for b in DataLoader(Meet(6), batch_size=1, num_workers=2)]
    assert got == [[i] for i in range(6)]


def test_workers_with_tensor_dataset_and_shuffle_match_single_thread():
    x, y = _xy(30)
    ds = TensorDataset(x, y)

    def run(workers):
        g = gl.Generator().manual_seed(11)
        loader = DataLoader(ds, batch_size=4, shuffle=True, generator=g, num_workers=workers)
        return [b[1].tolist() for b in loader]

    assert run(0) == run(3)


def test_worker_info_and_init_fn():
    seen = []
    lock = threading.Lock()

    def init(worker_id):
        with lock:
            seen.append(worker_id)

    class Info(Squares):
        def __getitem__(self, i):
            info = get_worker_info()
            assert info is not None and info.num_workers == 2 and info.dataset is self
            return super().__getitem__(i)

    assert get_worker_info() is None
    list(DataLoader(Info(8), batch_size=2, num_workers=2, worker_init_fn=init))
    assert sorted(seen) in ([0], [0, 1])


def test_worker_exception_reaches_the_caller():
    class Broken(Squares):
        def __getitem__(self, i):
            if i == 5:
                raise KeyError("sample 5 is corrupt")
            return super().__getitem__(i)

    loader = DataLoader(Broken(8), batch_size=2, num_workers=2)
    with pytest.raises(KeyError, match="corrupt"):
        list(loader)


def test_worker_timeout():
    loader = DataLoader(Slow(4, delay=0.3), batch_size=2, num_workers=1, timeout=0.05)
    with pytest.raises(RuntimeError, match="timed out"):
        list(loader)


def test_persistent_workers_reuse_the_pool_and_early_break_is_clean():
    loader = DataLoader(Squares(10), batch_size=2, num_workers=2, persistent_workers=True)
    assert len(list(loader)) == 5
    pool = loader._executor
    for i, _ in enumerate(loader):
        if i == 1:
            break
    assert loader._executor is pool
    assert len(list(loader)) == 5


def test_pin_memory_without_gpu_warns_and_skips():
    if gl.cuda.is_available():
        pytest.skip("a GPU is present: pinning is exercised by the gpu test")
    loader = DataLoader(TensorDataset(*_xy()), batch_size=5, pin_memory=True)
    with pytest.warns(UserWarning, match="pin_memory"):
        batches = list(loader)
    assert len(batches) == 2 and not batches[0][0].is_pinned()


@pytest.mark.gpu
def test_pin_memory_pins_batches_on_cuda():
    loader = DataLoader(TensorDataset(*_xy()), batch_size=5, pin_memory=True, num_workers=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batches = list(loader)
    assert all(t.is_pinned() for b in batches for t in b)
    xb = batches[0][0].to("cuda", non_blocking=True)
    assert xb.device.type == "cuda" and xb.cpu().tolist() == batches[0][0].tolist()


@pytest.mark.gpu
def test_cuda_tensor_dataset_batches_stay_on_device():
    x, y = _xy()
    ds = TensorDataset(x.cuda(), y.cuda())
    batches = list(DataLoader(ds, batch_size=4, shuffle=True))
    assert all(t.device.type == "cuda" for b in batches for t in b)
    assert sorted(sum((b[1].cpu().tolist() for b in batches), [])) == list(range(10))


# ----- splits ---------------------------------------------------------------------------------
def test_subset():
    sub = Subset(Squares(10), [9, 2])
    assert len(sub) == 2 and sub[0][1] == 9 and sub[1][1] == 2


def test_random_split_counts_and_fractions():
    ds = Squares(10)
    a, b = random_split(ds, [7, 3], generator=gl.Generator().manual_seed(0))
    assert len(a) == 7 and len(b) == 3
    assert sorted(a.indices + b.indices) == list(range(10))
    c, d = random_split(ds, [7, 3], generator=gl.Generator().manual_seed(0))
    assert c.indices == a.indices and d.indices == b.indices
    parts = random_split(Squares(11), [0.5, 0.3, 0.2])
    # NOTE: floor(5.5), floor(3.3), floor(2.2) = 5, 3, 2; the one left over goes to the first.
    assert [len(p) for p in parts] == [6, 3, 2]
    with pytest.raises(ValueError, match="does not equal the length"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match="non-negative ints"):
        random_split(ds, [12, -2])
    with pytest.warns(UserWarning, match="index 2 is 0"):
        assert [len(p) for p in random_split(Squares(2), [0.5, 0.5, 0.0])] == [1, 1, 0]


@pytest.mark.torch
def test_random_split_lengths_match_torch():
    torch = pytest.importorskip("torch")
    for n, fracs in [(11, [0.5, 0.3, 0.2]), (7, [0.25, 0.25, 0.5]), (100, [0.8, 0.2]), (3, [1.0])]:
        ours = [len(s) for s in random_split(Squares(n), fracs)]
        ref = [len(s) for s in torch.utils.data.random_split(range(n), fracs)]
        assert ours == ref


@pytest.mark.parametrize("n", [10, 11, 13, 5])
def test_kfold_sizes_and_coverage(n):
    folds = list(KFold(5).split(n))
    assert len(folds) == 5
    sizes = [len(v) for _, v in folds]
    assert sizes == [n // 5 + (1 if i < n % 5 else 0) for i in range(5)]
    assert sorted(sum((v for _, v in folds), [])) == list(range(n))
    for train, val in folds:
        assert sorted(train + val) == list(range(n)) and not set(train) & set(val)
    assert folds[0][1] == list(range(sizes[0]))  # no shuffle: consecutive folds


def test_kfold_matches_sklearn_without_shuffle():
    sklearn = pytest.importorskip("sklearn.model_selection")
    for n, k in [(10, 3), (17, 4), (6, 6)]:
        ours = list(KFold(k).split(Squares(n)))
        ref = [(t.tolist(), v.tolist()) for t, v in sklearn.KFold(k).split(np.zeros(n))]
        assert ours == ref


def test_kfold_shuffle_is_reproducible_and_usable_with_subset():
    def folds(seed):
        return list(KFold(3, shuffle=True, generator=gl.Generator().manual_seed(seed)).split(9))

    assert folds(1) == folds(1) and folds(1) != folds(2)
    train, val = folds(1)[0]
    assert val == sorted(val) and len(val) == 3
    ds = TensorDataset(*_xy(9))
    batch = next(iter(DataLoader(Subset(ds, val), batch_size=3)))
    assert batch[1].tolist() == val


def test_kfold_bad_input():
    with pytest.raises(ValueError, match="at least two folds"):
        KFold(1)
    with pytest.raises(ValueError, match="greater than the number of samples"):
        list(KFold(5).split(3))
    with pytest.raises(ValueError, match="shuffle=True"):
        KFold(3, generator=gl.Generator())
    with pytest.raises(TypeError, match="dataset"):
        list(KFold(3).split(object()))


# ----- training with real modules -------------------------------------------------------------
def test_training_loop_with_loader_reduces_loss():
    nn = pytest.importorskip("graphlab.nn")
    if not hasattr(nn, "Linear"):
        pytest.skip("graphlab.nn.Linear is not available yet")
    gl.manual_seed(0)
    x = gl.randn(64, 3)
    y = x @ gl.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    net = nn.Linear(3, 1)
    opt = gl.optim.SGD(net.parameters(), lr=0.1)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)

    def full_loss():
        with gl.no_grad():
            return ((net(x) - y) ** 2).mean().item()

    before = full_loss()
    for _ in range(20):
        for xb, yb in loader:
            opt.zero_grad()
            ((net(xb) - yb) ** 2).mean().backward()
            opt.step()
    assert full_loss() < before * 1e-3
