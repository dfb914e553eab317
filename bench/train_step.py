"""Time per training step of graphlab next to hand-written NumPy and PyTorch (CPU), in one run.

Run: ``python bench/train_step.py [--quick] [--cases NAME,...] [--no-torch] [--no-trace]
[--threads N]``.
One training step is: zero the gradients, forward, cross-entropy loss, backward, one SGD update
(lr 0.01), on a fixed random batch. Models: the D2L MLP 20→256→10 (batch 1, 64, 256), a
784→1024→1024→10 MLP (batch 512) and the digits CNN of ``samples/digits_cnn.py`` (batch 256,
1×8×8 images). Each is timed three ways:

- **graphlab**: the model as a user writes it (``nn`` modules, ``F.cross_entropy``,
  ``optim.SGD``);
- **numpy**: the same math written by hand on raw arrays (forward, backward and update; im2col
  convolution and max pooling for the CNN) — the floor for an engine built on NumPy;
- **torch**: the same model in PyTorch (if installed).

Before timing, the three start from the same weights and take one step with dropout off; their
losses and updated parameters are compared, and a mismatch is printed as a warning under the
table. A benchmark, not a test: it never fails on a timing. See bench/README.md.

The hand-written floors are written against an array module (``xp``: NumPy here, CuPy in
``bench/gpu.py``), and the step classes take a device, so the GPU benchmark times the same code.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _timing import Budget, format_table, machine

import graphlab as gl
from graphlab import nn, optim
from graphlab.nn import functional as F

ROOT = Path(__file__).resolve().parent.parent
LR = 0.01
DROPOUT = 0.2  # the digits CNN's dropout probability (samples/digits_cnn.py)

# NOTE: a training step lasts 0.1 ms to 100 ms; longer repeats than bench/ops.py's keep the
# big cases at more than one step per repeat.
FULL = Budget(warmup_s=0.3, target_s=0.2, repeats=9, min_warmup=3)
QUICK = Budget(warmup_s=0.02, target_s=0.02, repeats=3, min_warmup=2)


@dataclass(frozen=True)
class Case:
    """One benchmarked model and batch size.

    ``kind`` is ``"mlp"`` (``sizes`` are the layer widths, ReLU between layers) or ``"cnn"``
    (the digits CNN; ``sizes`` is its ``(1, 8, 8)`` input shape).
    """

    name: str
    kind: str
    sizes: tuple[int, ...]
    batch: int

    @property
    def classes(self) -> int:
        """Number of output classes."""
        return self.sizes[-1] if self.kind == "mlp" else 10


CASES: list[Case] = [
    Case("mlp 20-256-10", "mlp", (20, 256, 10), 1),
    Case("mlp 20-256-10", "mlp", (20, 256, 10), 64),
    Case("mlp 20-256-10", "mlp", (20, 256, 10), 256),
    Case("mlp 784-1024-1024-10", "mlp", (784, 1024, 1024, 10), 512),
    Case("digits cnn", "cnn", (1, 8, 8), 256),
]


def _digits_cnn_class():
    """``DigitsCNN`` from samples/digits_cnn.py (samples/ is a folder of scripts)."""
    name = "_bench_digits_cnn"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "samples" / "digits_cnn.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name].DigitsCNN


def make_batch(case: Case, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fixed random batch: float32 inputs and int64 class labels."""
    rng = np.random.default_rng(seed)
    shape = (case.batch, case.sizes[0]) if case.kind == "mlp" else (case.batch, *case.sizes)
    x = rng.standard_normal(shape, dtype=np.float32)
    y = rng.integers(0, case.classes, size=case.batch, dtype=np.int64)
    return x, y


def graphlab_model(case: Case, seed: int = 0) -> nn.Module:
    """The graphlab model of ``case`` with PyTorch's default initialisation (seeded)."""
    gl.manual_seed(seed)
    if case.kind == "cnn":
        return _digits_cnn_class()()
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(case.sizes, case.sizes[1:])):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(a, b))
    return nn.Sequential(*layers)


def initial_weights(case: Case, seed: int = 0) -> list[np.ndarray]:
    """The starting weights shared by the three implementations, in ``state_dict`` order
    (PyTorch's layouts: ``(out, in)`` linear weights, ``(O, C, kh, kw)`` conv weights)."""
    model = graphlab_model(case, seed)
    return [t.numpy().copy() for t in model.state_dict().values()]


# ----- graphlab and PyTorch: the same user code -------------------------------------------------


class GraphlabStep:
    """One graphlab training step per call; ``loss()`` and ``params()`` read back the results.

    ``device``: where the model and the batch live (``"cpu"``, ``"cuda:0"``...).
    """

    def __init__(
        self,
        case: Case,
        weights: Sequence[np.ndarray],
        x,
        y,
        dropout: bool = True,
        device: str = "cpu",
    ):
        self.model = graphlab_model(case)
        with gl.no_grad():
            for p, w in zip(self.model.state_dict().values(), weights):
                p.copy_(gl.tensor(w))
        dev = gl.device(device)
        if dev != gl.device("cpu"):
            self.model.to(dev)
        self.model.train(dropout)
        self.opt = optim.SGD(self.model.parameters(), lr=LR)
        self.x, self.y = gl.tensor(x, device=dev), gl.tensor(y, device=dev)
        self._loss = None

    def __call__(self) -> None:
        self.opt.zero_grad()
        loss = F.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        self._loss = loss  # NOTE: kept as a tensor: reading it would add a sync per step

    def loss(self) -> float:
        """The loss of the last step."""
        return float(self._loss.item())

    def params(self) -> list[np.ndarray]:
        """The parameters now, in ``state_dict`` order."""
        return [t.cpu().numpy() for t in self.model.state_dict().values()]


def torch_model(torch, case: Case):
    """The PyTorch twin of :func:`graphlab_model` (same module names, so the same state keys)."""
    tnn = torch.nn
    if case.kind == "mlp":
        layers = []
        for i, (a, b) in enumerate(zip(case.sizes, case.sizes[1:])):
            if i:
                layers.append(tnn.ReLU())
            layers.append(tnn.Linear(a, b))
        return tnn.Sequential(*layers)

    class TorchDigitsCNN(tnn.Module):
        def __init__(self):
            super().__init__()
            self.features = tnn.Sequential(
                tnn.Conv2d(1, 16, 3, padding=1),
                tnn.ReLU(),
                tnn.MaxPool2d(2),
                tnn.Conv2d(16, 32, 3, padding=1),
                tnn.ReLU(),
                tnn.MaxPool2d(2),
            )
            self.classifier = tnn.Sequential(
                tnn.Flatten(),
                tnn.Linear(32 * 2 * 2, 64),
                tnn.ReLU(),
                tnn.Dropout(DROPOUT),
                tnn.Linear(64, 10),
            )

        def forward(self, x):
            return self.classifier(self.features(x))

    return TorchDigitsCNN()


class TorchStep:
    """One PyTorch training step per call (the same code as :class:`GraphlabStep`)."""

    def __init__(
        self,
        torch,
        case: Case,
        weights: Sequence[np.ndarray],
        x,
        y,
        dropout: bool = True,
        device: str = "cpu",
    ):
        self.torch = torch
        self.model = torch_model(torch, case)
        keys = list(self.model.state_dict())
        self.model.load_state_dict({k: torch.from_numpy(w.copy()) for k, w in zip(keys, weights)})
        self.model.to(device)
        self.model.train(dropout)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR)
        self.x = torch.from_numpy(x.copy()).to(device)
        self.y = torch.from_numpy(y.copy()).to(device)
        self._loss = None

    def __call__(self) -> None:
        self.opt.zero_grad()
        loss = self.torch.nn.functional.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        self._loss = loss

    def loss(self) -> float:
        """The loss of the last step."""
        return float(self._loss.item())

    def params(self) -> list[np.ndarray]:
        """The parameters now, in ``state_dict`` order."""
        return [t.detach().cpu().numpy() for t in self.model.state_dict().values()]


# ----- NumPy (or CuPy) by hand: the floor -------------------------------------------------------


def array_module(a):
    """The array module of ``a``: NumPy for host arrays, else CuPy (imported only then)."""
    if isinstance(a, np.ndarray):
        return np
    import cupy

    return cupy


def to_host(a) -> np.ndarray:
    """``a`` as a NumPy array (itself when it is one; a copy of a CuPy array)."""
    return a if isinstance(a, np.ndarray) else a.get()


def _softmax_xent(logits, y):
    """Mean cross-entropy of ``logits`` and its gradient with respect to the logits.

    The loss is a 0-d array on the logits' device: converting it to a number here would make the
    host wait for the device on every step (``loss()`` converts it when asked).
    """
    xp = array_module(logits)
    n = logits.shape[0]
    m = logits.max(axis=1, keepdims=True)
    e = xp.exp(logits - m)
    s = e.sum(axis=1, keepdims=True)
    rows = xp.arange(n)
    loss = xp.mean(xp.log(s[:, 0]) + m[:, 0] - logits[rows, y])
    g = e / s
    g[rows, y] -= 1
    g *= 1.0 / n
    return loss, g


class NumpyMLPStep:
    """An MLP step by hand: ``h = relu(h @ W.T + b)`` forward, the chain rule backward, SGD.

    ``xp``: the array module the step runs on (``numpy``, or ``cupy`` for the GPU floor).
    """

    def __init__(
        self, case: Case, weights: Sequence[np.ndarray], x, y, dropout: bool = True, xp=np
    ):
        self.xp = xp
        self.params_ = [xp.array(w) for w in weights]  # copies: W0, b0, W1, b1, ...
        self.x, self.y = xp.asarray(x), xp.asarray(y)
        self._loss = xp.asarray(float("nan"))

    def __call__(self) -> None:
        ps = self.params_
        nl = len(ps) // 2
        hs = [self.x]  # the input of each layer
        for i in range(nl):
            z = hs[-1] @ ps[2 * i].T
            z += ps[2 * i + 1]
            if i < nl - 1:
                hs.append(self.xp.maximum(z, 0))
        self._loss, g = _softmax_xent(z, self.y)
        for i in reversed(range(nl)):
            w, b, h = ps[2 * i], ps[2 * i + 1], hs[i]
            gw = g.T @ h
            gb = g.sum(axis=0)
            if i:
                g = g @ w  # NOTE: before the update below changes w
                g *= h > 0  # ReLU's derivative, from its output
            w -= LR * gw
            b -= LR * gb

    def loss(self) -> float:
        """The loss of the last step."""
        return float(self._loss)

    def params(self) -> list[np.ndarray]:
        """The parameters now, in ``state_dict`` order (on the host)."""
        return [to_host(p) for p in self.params_]


def _im2col(xpad, h: int, w: int):
    """3×3 windows of an NHWC ``xpad`` (padded by 1) as ``(N*h*w, C*9)`` rows, ``(C, kh, kw)``
    order to match a ``(O, C, 3, 3)`` weight reshaped to ``(O, C*9)``."""
    xp = array_module(xpad)
    n, c = xpad.shape[0], xpad.shape[3]
    win = xp.lib.stride_tricks.sliding_window_view(xpad, (3, 3), axis=(1, 2))  # (N,h,w,C,3,3)
    return win.reshape(n * h * w, c * 9)


def _col2im(dcols, n: int, h: int, w: int, c: int):
    """Adjoint of :func:`_im2col` (padding cropped): scatter-add the rows into an NHWC image."""
    d = dcols.reshape(n, h, w, c, 3, 3)
    gpad = array_module(dcols).zeros((n, h + 2, w + 2, c), dtype=dcols.dtype)
    for i in range(3):
        for j in range(3):
            gpad[:, i : i + h, j : j + w, :] += d[..., i, j]
    return gpad[:, 1:-1, 1:-1, :]


def _pad1(x):
    n, h, w, c = x.shape
    xpad = array_module(x).zeros((n, h + 2, w + 2, c), dtype=x.dtype)
    xpad[:, 1:-1, 1:-1, :] = x
    return xpad


def _maxpool2(x):
    """2×2 max pooling of NHWC ``x``; returns the output and the where-the-max-was mask."""
    n, h, w, c = x.shape
    win = x.reshape(n, h // 2, 2, w // 2, 2, c)
    y = win.max(axis=(2, 4))
    # NOTE: a tie marks every tied element; here the input is a ReLU output, so ties (zeros)
    # carry a gradient that ReLU's backward zeroes anyway: the result equals first-max routing.
    mask = win == y[:, :, None, :, None, :]
    return y, mask


def _maxpool2_backward(g, mask):
    n, h2, w2, c = g.shape
    return (mask * g[:, :, None, :, None, :]).reshape(n, h2 * 2, w2 * 2, c)


class NumpyCNNStep:
    """The digits CNN step by hand, in NHWC layout: im2col conv (one GEMM each), ReLU, 2×2 max
    pool (twice), flatten, linear, ReLU, dropout, linear; backward by hand; SGD.

    ``xp``: the array module the step runs on (``numpy``, or ``cupy`` for the GPU floor).
    """

    def __init__(
        self, case: Case, weights: Sequence[np.ndarray], x, y, dropout: bool = True, xp=np
    ):
        self.xp = xp
        # copies: conv1 w, b, conv2 w, b, fc1 w, b, fc2 w, b
        self.params_ = [xp.array(w) for w in weights]
        self.x = xp.ascontiguousarray(xp.asarray(x).transpose(0, 2, 3, 1))  # NHWC, once
        self.y = xp.asarray(y)
        self.dropout = dropout
        self.rng = xp.random.default_rng(0)
        self._loss = xp.asarray(float("nan"))

    def __call__(self) -> None:
        xp = self.xp
        w1, b1, w2, b2, w3, b3, w4, b4 = self.params_
        x = self.x
        n, h, w, _ = x.shape
        # conv1 (1 -> 16) + ReLU + pool
        c1 = _im2col(_pad1(x), h, w)
        z1 = c1 @ w1.reshape(w1.shape[0], -1).T
        z1 += b1
        a1 = xp.maximum(z1, 0).reshape(n, h, w, -1)
        p1, m1 = _maxpool2(a1)
        # conv2 (16 -> 32) + ReLU + pool
        h2, w2_ = h // 2, w // 2
        c2 = _im2col(_pad1(p1), h2, w2_)
        z2 = c2 @ w2.reshape(w2.shape[0], -1).T
        z2 += b2
        a2 = xp.maximum(z2, 0).reshape(n, h2, w2_, -1)
        p2, m2 = _maxpool2(a2)
        # classifier: flatten in PyTorch's (C, H, W) order, linear, ReLU, dropout, linear
        f = p2.transpose(0, 3, 1, 2).reshape(n, -1)
        z3 = f @ w3.T
        z3 += b3
        a3 = xp.maximum(z3, 0)
        if self.dropout:
            u = self.rng.random(a3.shape, dtype=np.float32)
            mask = ((u >= DROPOUT) * (1.0 / (1.0 - DROPOUT))).astype(np.float32)
            d3 = a3 * mask
        else:
            d3 = a3
        logits = d3 @ w4.T
        logits += b4
        self._loss, g = _softmax_xent(logits, self.y)
        # backward
        gw4, gb4 = g.T @ d3, g.sum(axis=0)
        g = g @ w4
        if self.dropout:
            g *= mask
        g *= a3 > 0
        gw3, gb3 = g.T @ f, g.sum(axis=0)
        g = (g @ w3).reshape(n, -1, h2 // 2, w2_ // 2).transpose(0, 2, 3, 1)  # back to NHWC
        g = _maxpool2_backward(g, m2)
        g = g * (a2 > 0)
        g2 = g.reshape(-1, g.shape[-1])
        gw2 = (g2.T @ c2).reshape(w2.shape)
        gb2 = g2.sum(axis=0)
        g = _col2im(g2 @ w2.reshape(w2.shape[0], -1), n, h2, w2_, w2.shape[1])
        g = _maxpool2_backward(g, m1)
        g *= a1 > 0
        g1 = g.reshape(-1, g.shape[-1])
        gw1 = (g1.T @ c1).reshape(w1.shape)
        gb1 = g1.sum(axis=0)
        # NOTE: the first layer's input gradient is never needed (graphlab and PyTorch skip it).
        for p, gp in zip(self.params_, (gw1, gb1, gw2, gb2, gw3, gb3, gw4, gb4)):
            p -= LR * gp

    def loss(self) -> float:
        """The loss of the last step."""
        return float(self._loss)

    def params(self) -> list[np.ndarray]:
        """The parameters now, in ``state_dict`` order (on the host)."""
        return [to_host(p) for p in self.params_]


def numpy_step(case: Case, weights, x, y, dropout: bool = True, xp=np):
    """The hand-written step for ``case`` on array module ``xp`` (NumPy, or CuPy)."""
    cls = NumpyMLPStep if case.kind == "mlp" else NumpyCNNStep
    return cls(case, weights, x, y, dropout, xp=xp)


def floor_module(device: str = "cpu"):
    """The array module of the hand-written floor on ``device``: NumPy on CPUs, else CuPy."""
    if gl.device(device).type == "cpu":
        return np
    import cupy

    return cupy


def make_steps(
    case: Case, torch=None, dropout: bool = True, seed: int = 0, device: str = "cpu"
) -> dict[str, Callable]:
    """The step callables, all starting from the same weights on the same batch on ``device``:
    ``graphlab``, the floor (keyed ``numpy``, or ``cupy`` on a GPU), and ``torch`` when given."""
    weights = initial_weights(case, seed)
    x, y = make_batch(case, seed)
    xp = floor_module(device)
    steps = {
        "graphlab": GraphlabStep(case, weights, x, y, dropout, device=device),
        xp.__name__: numpy_step(case, weights, x, y, dropout, xp=xp),
    }
    if torch is not None:
        steps["torch"] = TorchStep(torch, case, weights, x, y, dropout, device=device)
    return steps


def check_case(
    case: Case, torch=None, rtol: float = 1e-4, atol: float = 1e-5, device: str = "cpu"
) -> list[str]:
    """One step of each implementation from the same weights, dropout off: the losses and the
    updated parameters must agree with graphlab's. Returns the mismatches (empty when none)."""
    steps = make_steps(case, torch, dropout=False, seed=1, device=device)
    for step in steps.values():
        step()
    ref_loss, ref_params = steps["graphlab"].loss(), steps["graphlab"].params()
    problems = []
    for name, step in steps.items():
        if name == "graphlab":
            continue
        loss = step.loss()
        if not np.isclose(loss, ref_loss, rtol=rtol, atol=atol):
            problems.append(f"{case.name} b{case.batch}: {name} loss {loss:.6g} != {ref_loss:.6g}")
        for i, (p, q) in enumerate(zip(step.params(), ref_params)):
            if p.shape != q.shape or not np.allclose(p, q, rtol=rtol, atol=atol):
                err = np.abs(p - q).max() if p.shape == q.shape else "shape"
                problems.append(
                    f"{case.name} b{case.batch}: {name} parameter {i} after one step differs "
                    f"from graphlab's (max abs error {err})"
                )
    return problems


def measure_interleaved(
    fns: dict[str, Callable[[], object]],
    budget: Budget,
    sync: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Seconds per call of each function: the median of ``budget.repeats`` timed loops.

    The repeats take turns (graphlab, numpy, torch, graphlab, ...), so a burst of load from
    other processes hits all three alike instead of one implementation's whole measurement.
    ``sync`` (for a GPU: wait for the device) ends every warm-up call and every timed loop, never
    a call inside a loop: the device's queue runs as it would in a training loop.
    """
    clock = time.perf_counter
    wait = sync or (lambda: None)
    numbers = {}
    for name, fn in fns.items():
        if sync is not None:
            # NOTE: a first GPU call compiles (CuPy's NVRTC) or loads its kernels, seconds on a
            # cold cache: inside the estimate, it would cut every timed loop to one call + sync.
            fn()
            wait()
        calls, start = 0, clock()
        while calls < budget.min_warmup or clock() - start < budget.warmup_s:
            fn()
            if sync is not None:
                wait()  # NOTE: so the warm-up estimates a call's device time, not its launch
            calls += 1
        per_call = (clock() - start) / calls
        numbers[name] = max(1, int(budget.target_s / per_call)) if per_call > 0 else 1000
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(budget.repeats):
        for name, fn in fns.items():
            number = numbers[name]
            t0 = clock()
            for _ in range(number):
                fn()
            wait()
            samples[name].append((clock() - t0) / number)
    return {name: statistics.median(s) for name, s in samples.items()}


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    return f"{ms:,.3f}" if ms < 1 else f"{ms:,.2f}" if ms < 100 else f"{ms:,.1f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None else f"{a / b:.2f}x"


def run(cases: Sequence[Case], budget: Budget, torch) -> tuple[str, list[str]]:
    """Check and time every case; returns the table and the notes to print under it."""
    rows, notes = [], []
    for case in cases:
        try:
            notes += [f"warning: {p}" for p in check_case(case, torch)]
        except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
            notes.append(f"warning: {case.name} b{case.batch}: check failed: {exc!r}")
        try:
            times = measure_interleaved(make_steps(case, torch), budget)
        except Exception as exc:  # noqa: BLE001
            notes.append(f"{case.name} b{case.batch}: not measured: {exc!r}")
            times = {}
        g, n, t = times.get("graphlab"), times.get("numpy"), times.get("torch")
        rows.append(
            [case.name, str(case.batch), _ms(g), _ms(n), _ms(t), _ratio(g, n), _ratio(g, t)]
        )
    headers = ["model", "batch", "graphlab ms", "numpy ms", "torch ms", "gl/np", "gl/torch"]
    return format_table(headers, rows, right={1, 2, 3, 4, 5, 6}), notes


def _blas_threads() -> int | None:
    """Threads of NumPy's BLAS (``threadpoolctl``, if installed), else ``None``."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return max(counts) if counts else None


def _limit_threads(threads: int, torch) -> Callable[[], None]:
    """Run BLAS (NumPy's, via ``threadpoolctl``) and PyTorch on ``threads`` threads (0: leave
    the defaults, with PyTorch matching NumPy's BLAS pool). Returns what undoes it."""
    undo = []
    if torch is not None:
        before = torch.get_num_threads()
        undo.append(lambda: torch.set_num_threads(before))
        torch.set_num_threads(threads if threads > 0 else _blas_threads() or os.cpu_count() or 1)
    if threads > 0:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            pass  # the header then shows NumPy's BLAS threads as unknown
        else:
            undo.append(threadpool_limits(limits=threads, user_api="blas").restore_original_limits)

    def restore() -> None:
        for fn in reversed(undo):
            fn()

    return restore


def _trace_options() -> dict | None:
    """graphlab's trace-recorder settings (``None`` for a graphlab without a recorder)."""
    options = getattr(gl, "set_trace_options", None)
    return options() if options is not None else None


def _header(quick: bool, torch, blas: int | None) -> list[str]:
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    options = _trace_options()
    trace = "n/a" if options is None else "on" if options["enabled"] else "off"
    torch_line = (
        f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
        if torch is not None
        else "torch: not measured"
    )
    return [
        f"bench/train_step.py  {now}  {'--quick' if quick else 'full'} run",
        f"python {platform.python_version()}, numpy {np.__version__} (BLAS threads: "
        f"{blas if blas is not None else 'unknown'}), {torch_line}, "
        f"graphlab {getattr(gl, '__version__', '(dev)')} (trace recording {trace})",
        f"machine: {machine()}; float32; "
        f"SGD lr {LR}, cross-entropy; median of repeats, milliseconds per training step",
    ]


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, check, measure, print the table; returns 0 (never fails)."""
    parser = argparse.ArgumentParser(
        prog="bench/train_step.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="short warm-up and 3 repeats")
    names = sorted({c.name for c in CASES})
    parser.add_argument(
        "--cases", default="", help=f"comma-separated models to run (default: all: {names})"
    )
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument(
        "--no-trace",
        action="store_true",
        help="switch graphlab's always-on trace recording off for the run (default: as "
        "configured, i.e. on unless GRAPHLAB_TRACE=0)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads for NumPy's BLAS (so graphlab's too) and PyTorch (default 1; 0 keeps "
        "each library's default pool)",
    )
    args = parser.parse_args(argv)
    wanted = [name for name in args.cases.split(",") if name]
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {names}")
    cases = [c for c in CASES if not wanted or c.name in wanted]
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            torch = None
    restore = _limit_threads(args.threads, torch)
    trace_before = _trace_options()
    if args.no_trace and trace_before is not None:
        gl.set_trace_options(enabled=False)
    blas = _blas_threads()
    budget = QUICK if args.quick else FULL
    header = _header(args.quick, torch, blas)
    try:
        table, notes = run(cases, budget, torch)
    finally:
        restore()
        if args.no_trace and trace_before is not None:
            gl.set_trace_options(**trace_before)
    print("\n".join(header))
    print()
    print(table)
    if notes:
        print()
        print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
