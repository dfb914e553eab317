"""graphlab on a GPU next to a hand-written CuPy floor and PyTorch CUDA, measured in one run.

Run: ``python bench/gpu.py [--device cuda|cpu] [--quick] [--cases NAME,...] [--ops NAME,...]
[--sections ops,steps,copy] [--no-torch] [--out FILE]``. Four sections:

- **per-op overhead** on tiny tensors (1 element; 1×1 matmul), forward and forward+backward, for
  the ops of ``bench/ops.py``: graphlab, the same NumPy-written floor of ``bench/ops.py`` run on
  ``xp`` (CuPy on a GPU), and PyTorch;
- **training steps** (zero_grad, forward, cross-entropy, backward, SGD lr 0.01; the models of
  ``bench/train_step.py``): the D2L MLP 20→256→10 (batch 256), 784→1024→1024→10 (batch 512),
  ``mlp 4096x4`` — four Linear(4096, 4096) layers with ReLU between, 4096 classes, batch 4096
  (GPU only unless named in ``--cases``) — and the digits CNN (batch 256). The floor is
  ``bench/train_step.py``'s hand-written step on CuPy. graphlab is timed with trace recording as
  configured and again with recording off ("untraced"); "syncs" counts the host syncs of one
  graphlab step in its own trace (``graphlab.record()``, ``filter(kind="sync")``);
- **host waits** (CUDA only): three steps are issued behind a 200 ms spin kernel; a host that
  comes back before the spin ends never waited for the GPU inside a step;
- **host→device copies**: pageable (``Tensor.to``) and pinned (``pin_memory()``,
  ``to(..., non_blocking=True)``) next to ``cupy.asarray`` of a pageable array and
  ``ndarray.set`` from a ``cupy.cuda.alloc_pinned_memory`` buffer, and PyTorch's.

GPU timing waits for the device at the end of every timed loop, never per step. ``--device cpu``
runs the same code with NumPy as the floor and PyTorch on the CPU (copies go to graphlab's
logical device ``cpu:1``): it is how the script is tested without a GPU. A benchmark, not a test:
it never fails on a timing; an exception in a case becomes a note under its table.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import sys
import time
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import ops as op_bench
import train_step as ts
from _timing import Budget, format_table, machine

import graphlab as gl

OP_BUDGET = {False: Budget(0.05, 0.05, 7), True: Budget(0.01, 0.01, 3, min_warmup=2)}
STEP_BUDGET = {False: ts.FULL, True: ts.QUICK}
COPY_BUDGET = {False: Budget(0.1, 0.1, 5, min_warmup=2), True: Budget(0.02, 0.02, 3, 2)}
SPIN_S = 0.2  # the GPU spin the host-wait probe issues its steps behind
PROBE_STEPS = 3  # NOTE: >1, so a step that waits for the previous one's work shows too


@dataclass(frozen=True)
class Goal:
    """The issue's goal for one training step: graphlab/floor at most ``floor``; and faster than
    PyTorch when ``beat_torch``."""

    floor: float
    beat_torch: bool = False


MLP_4096 = ts.Case("mlp 4096x4", "mlp", (4096,) * 5, 4096)
STEP_CASES: list[ts.Case] = [
    *(c for c in ts.CASES if c.batch >= 256),  # D2L MLP b256, 784-1024-1024-10 b512, the CNN
    MLP_4096,
]
GPU_ONLY = {MLP_4096.name}  # a step is ~1.6 TFLOP: minutes on a CPU
GOALS = {("mlp 20-256-10", 256): Goal(1.20, beat_torch=True), (MLP_4096.name, 4096): Goal(1.05)}
PINNED_GOAL = 0.80  # graphlab's pinned copy at >= 80% of CuPy's bandwidth


@dataclass(frozen=True)
class Target:
    """Where the benchmark runs: graphlab's and PyTorch's device and the floor's array module."""

    device: str  # "cpu" or "cuda:0"
    xp: types.ModuleType  # numpy or cupy

    @property
    def cuda(self) -> bool:
        """Whether this is a GPU run."""
        return self.device.startswith("cuda")

    @property
    def sync(self) -> Callable[[], None] | None:
        """What waits for the device (``None`` on the CPU, where calls are synchronous).

        NOTE: ``cudaDeviceSynchronize`` waits for every stream of the device, so one call serves
        graphlab, the CuPy floor and PyTorch alike.
        """
        return gl.cuda.synchronize if self.cuda else None


@dataclass
class Section:
    """One table of the report: its title, columns, rows and the notes printed under it."""

    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ----- per-op overhead ---------------------------------------------------------------------------


def _rebound_ops(xp) -> dict:
    """bench/ops.py's globals with ``np`` bound to ``xp`` and its functions rebound to them."""
    ns = dict(vars(op_bench), np=xp)
    for name, value in list(ns.items()):
        if isinstance(value, types.FunctionType) and value.__module__ == op_bench.__name__:
            ns[name] = _rebind(value, ns)
    return ns


def _rebind(fn: types.FunctionType, ns: dict) -> types.FunctionType:
    return types.FunctionType(fn.__code__, ns, fn.__name__, fn.__defaults__, fn.__closure__)


def floor_op(fn, xp) -> Callable:
    """The NumPy floor ``fn`` of bench/ops.py running on array module ``xp``.

    NOTE: called on CuPy arrays, ``np.exp`` & co. would reach CuPy through NumPy's dispatch
    protocols, a microsecond more per call than the floor should cost; rebinding the module's
    ``np`` calls ``xp`` directly and keeps one copy of the math.
    """
    if isinstance(fn, np.ufunc):
        return getattr(xp, fn.__name__)
    return _rebind(fn, _rebound_ops(xp))


def _autograd_fns(lib, case: op_bench.Case, leaves: list, grad) -> dict[str, Callable]:
    """Forward, and forward plus backward, of ``case`` in graphlab or PyTorch (same spelling)."""

    def fwd_bwd():
        case.fn(lib, *leaves).backward(grad)
        for leaf in leaves:
            leaf.grad = None  # NOTE: like zero_grad(set_to_none=True): each backward starts fresh

    return {"fwd": lambda: case.fn(lib, *leaves), "fwd+bwd": fwd_bwd}


def op_fns(case: op_bench.Case, target: Target, torch) -> dict[str, dict[str, Callable]]:
    """The timed closures of one op on tiny inputs: ``{library: {mode: fn}}``."""
    arrays = op_bench.make_inputs(case, "small")
    ones = np.ones_like(case.np_fwd(*arrays))
    dev = target.device
    leaves = [gl.tensor(a, device=dev, requires_grad=True) for a in arrays]
    fns = {"graphlab": _autograd_fns(gl, case, leaves, gl.tensor(ones, device=dev))}
    xp = target.xp
    xs = [xp.asarray(a) for a in arrays]
    fwd, fwd_bwd, g = floor_op(case.np_fwd, xp), floor_op(case.np_fwd_bwd, xp), xp.asarray(ones)
    fns["floor"] = {"fwd": lambda: fwd(*xs), "fwd+bwd": lambda: fwd_bwd(g, *xs)}
    if torch is not None:
        tl = [torch.from_numpy(a.copy()).to(dev).requires_grad_(True) for a in arrays]
        fns["torch"] = _autograd_fns(torch, case, tl, torch.from_numpy(ones).to(dev))
    return fns


def run_ops(cases: Sequence[op_bench.Case], target: Target, torch, quick: bool) -> Section:
    """Per-op overhead (microseconds per op) of every op and mode."""
    sec = Section(
        "Per-op overhead on tiny tensors (us/op)",
        ["op", "size", "mode", "graphlab us", "floor us", "torch us", "gl/floor", "gl/torch"],
    )
    ratios: dict[str, list[float]] = {"floor": [], "torch": []}
    for case in cases:
        label = case.size_labels[0]
        try:
            fns = op_fns(case, target, torch)
        except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
            sec.notes.append(f"{case.name}: setup failed: {exc!r}")
            continue
        for mode in op_bench.MODES:
            try:
                t = ts.measure_interleaved(
                    {lib: f[mode] for lib, f in fns.items()}, OP_BUDGET[quick], target.sync
                )
            except Exception as exc:  # noqa: BLE001
                sec.notes.append(f"{case.name} {mode}: not measured: {exc!r}")
                t = {}
            g, f, tt = t.get("graphlab"), t.get("floor"), t.get("torch")
            for peer, v in (("floor", f), ("torch", tt)):
                if g and v:
                    ratios[peer].append(g / v)
            us = op_bench._us
            sec.rows.append([case.name, label, mode, us(g), us(f), us(tt), _x(g, f), _x(g, tt)])
            _tick()
    means = [
        f"geometric mean of graphlab/{peer} over the rows: "
        + op_bench._ratio(op_bench._geomean(rs), 1)
        for peer, rs in ratios.items()
        if rs
    ]
    sec.notes[:0] = means
    return sec


# ----- training steps ----------------------------------------------------------------------------


def trace_syncs(step: Callable[[], object]) -> int:
    """Host syncs of one call of ``step``, counted in graphlab's own trace of it."""
    with gl.record() as tr:
        step()
    return len(tr.filter(kind="sync"))


@contextlib.contextmanager
def recording_off() -> Iterator[None]:
    """graphlab's always-on trace recording switched off for the block."""
    before = gl.set_trace_options()
    gl.set_trace_options(enabled=False)
    try:
        yield
    finally:
        gl.set_trace_options(**before)


_SPIN_SOURCE = r"""
extern "C" __global__ void spin(long long cycles) {
    long long start = clock64();
    while (clock64() - start < cycles) { }
}
"""


def make_spin(cp) -> Callable[[float], object]:
    """A function that queues a kernel keeping the GPU busy for about ``seconds`` and returns an
    event recorded after it (``done`` once the spin has ended).

    The clock rate is measured (CUDA 13 drops ``clockRate`` from the device properties).
    """
    kernel = cp.RawKernel(_SPIN_SOURCE, "spin")
    cycles = 10_000_000
    kernel((1,), (1,), (np.int64(cycles),))  # NOTE: compiles and loads the kernel
    stream = cp.cuda.get_current_stream()  # NOTE: where RawKernel launches; events go there too
    start, end = cp.cuda.Event(), cp.cuda.Event()
    start.record(stream)
    kernel((1,), (1,), (np.int64(cycles),))
    end.record(stream)
    end.synchronize()
    per_s = cycles / (cp.cuda.get_elapsed_time(start, end) / 1e3)

    def spin(seconds: float):
        kernel((1,), (1,), (np.int64(seconds * per_s),))
        done = cp.cuda.Event(disable_timing=True)
        done.record(stream)
        return done

    return spin


def host_wait(step: Callable[[], object], target: Target, spin) -> tuple[float, bool]:
    """Seconds the host took to issue ``PROBE_STEPS`` steps queued behind a ``SPIN_S`` spin, and
    whether the spin had ended by then (the host waited for the GPU, or took longer than it).

    NOTE: the verdict is the spin's event, not the seconds: ``clock64`` counts SM cycles, so a
    spin calibrated at one clock rate lasts less or more than ``SPIN_S`` at another. A spin still
    running when the host comes back proves that nothing in the steps waited for the GPU.
    """
    step()
    target.sync()
    spun = spin(SPIN_S)
    t0 = time.perf_counter()
    for _ in range(PROBE_STEPS):
        step()
    seconds = time.perf_counter() - t0
    ended = spun.done
    target.sync()
    return seconds, ended


def _wait_cell(wait: tuple[float, bool] | None) -> str:
    if wait is None:
        return "-"
    seconds, ended = wait
    return f"{'yes' if ended else 'no'} ({seconds * 1e3:.1f} ms)"


def _goal_cell(goal: Goal | None, g, f, t) -> str:
    if goal is None:
        return "-"
    text = f"<={goal.floor:.2f}x" + (" & < torch" if goal.beat_torch else "")
    if not g or not f:
        return text
    ok = g / f <= goal.floor and not (goal.beat_torch and t and g >= t)
    return f"{text}: {'met' if ok else 'MISSED'}"


def run_steps(
    cases: Sequence[ts.Case], target: Target, torch, quick: bool, spin
) -> tuple[Section, Section | None]:
    """Time every training step; returns the step table and (CUDA only) the host-wait table."""
    floor = target.xp.__name__
    steps_sec = Section(
        f"Training steps (ms/step; floor = hand-written {floor})",
        ["model", "batch", "graphlab ms", "floor ms", "torch ms", "gl/floor", "gl/torch"]
        + ["goal", "untraced ms", "untr/floor", "syncs/step"],
    )
    waits = Section(
        f"Host waits inside a training step ({PROBE_STEPS} steps issued behind a "
        f"{SPIN_S * 1e3:.0f} ms GPU spin; yes = the host waited for the GPU)",
        ["model", "batch", "graphlab", "gl untraced", "floor", "torch"],
    )
    budget = STEP_BUDGET[quick]
    for case in cases:
        what = f"{case.name} b{case.batch}"
        try:
            steps_sec.notes += [f"warning: {p}" for p in ts.check_case(case, torch, **_dev(target))]
        except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
            steps_sec.notes.append(f"warning: {what}: check failed: {exc!r}")
        times: dict[str, float] = {}
        wait: dict[str, tuple[float, bool]] = {}
        syncs = "-"
        try:
            steps = ts.make_steps(case, torch, **_dev(target))
            steps["floor"] = steps.pop(floor)
            times = ts.measure_interleaved(steps, budget, target.sync)
            syncs = str(trace_syncs(steps["graphlab"]))
            if spin is not None:
                wait = {name: host_wait(step, target, spin) for name, step in steps.items()}
        except Exception as exc:  # noqa: BLE001
            steps_sec.notes.append(f"{what}: not measured: {exc!r}")
        _tick()
        try:
            with recording_off():
                weights = ts.initial_weights(case)
                x, y = ts.make_batch(case)
                step = ts.GraphlabStep(case, weights, x, y, **_dev(target))
                times["untraced"] = ts.measure_interleaved({"u": step}, budget, target.sync)["u"]
                if spin is not None:
                    wait["untraced"] = host_wait(step, target, spin)
        except Exception as exc:  # noqa: BLE001
            steps_sec.notes.append(f"{what}: graphlab untraced not measured: {exc!r}")
        _tick()
        g, f, t, u = (times.get(k) for k in ("graphlab", "floor", "torch", "untraced"))
        goal = _goal_cell(GOALS.get((case.name, case.batch)), g, f, t)
        steps_sec.rows.append(
            [case.name, str(case.batch), ts._ms(g), ts._ms(f), ts._ms(t), _x(g, f), _x(g, t)]
            + [goal, ts._ms(u), _x(u, f), syncs]
        )
        cells = [_wait_cell(wait.get(k)) for k in ("graphlab", "untraced", "floor", "torch")]
        waits.rows.append([case.name, str(case.batch), *cells])
    if any(r[-2].startswith("yes") for r in waits.rows):
        waits.notes.append("the floor waited too: the probe is inconclusive for that row")
    return steps_sec, waits if spin is not None else None


def _dev(target: Target) -> dict:
    return {"device": target.device}


# ----- host-to-device copies ---------------------------------------------------------------------


def copy_fns(target: Target, nbytes: int, torch) -> dict[str, dict[str, Callable]]:
    """The timed copies of ``nbytes`` of float32 from the host: ``{kind: {library: fn}}``."""
    a = np.random.default_rng(0).standard_normal(nbytes // 4, dtype=np.float32)
    t = gl.tensor(a)
    if not target.cuda:
        # NOTE: without a GPU, graphlab's logical device cpu:1 takes a real, recorded copy.
        return {"pageable": {"graphlab": lambda: t.to("cpu:1"), "floor": lambda: np.array(a)}}
    cp, dev = target.xp, target.device
    fns = {"pageable": {"graphlab": lambda: t.to(dev), "floor": lambda: cp.asarray(a)}}
    tp = t.pin_memory()
    mem = cp.cuda.alloc_pinned_memory(a.nbytes)
    pa = np.frombuffer(mem, np.float32, a.size)
    pa[...] = a

    def floor_pinned():
        # NOTE: one DMA from the pinned buffer, as graphlab's copy; cupy.asarray stages a NumPy
        # array through a fresh pinned buffer (a host memcpy first) unless its CuPy release
        # checks for pinned memory.
        out = cp.empty(pa.shape, pa.dtype)
        out.set(pa, stream=cp.cuda.get_current_stream())
        return out

    fns["pinned"] = {"graphlab": lambda: tp.to(dev, non_blocking=True), "floor": floor_pinned}
    if torch is not None:
        ta = torch.from_numpy(a)
        fns["pageable"]["torch"] = lambda: ta.to(dev)
        tpa = ta.pin_memory()
        fns["pinned"]["torch"] = lambda: tpa.to(dev, non_blocking=True)
    return fns


def run_copies(target: Target, torch, quick: bool, mib: int) -> Section:
    """Host-to-device bandwidth, pageable and pinned, of graphlab, CuPy and PyTorch."""
    dst = target.device if target.cuda else "cpu:1 (graphlab), a NumPy copy (floor)"
    sec = Section(
        f"Host-to-device copies of {mib} MiB float32 to {dst} (GB/s)",
        ["memory", "graphlab GB/s", "floor GB/s", "torch GB/s", "gl/floor", "goal"],
    )
    nbytes = mib << 20
    try:
        kinds = copy_fns(target, nbytes, torch)
    except Exception as exc:  # noqa: BLE001
        sec.notes.append(f"copies not measured: {exc!r}")
        return sec
    if not target.cuda:
        sec.notes.append("pinned memory needs CUDA: only pageable copies on the CPU")
    for kind, fns in kinds.items():
        try:
            t = ts.measure_interleaved(fns, COPY_BUDGET[quick], target.sync)
        except Exception as exc:  # noqa: BLE001
            sec.notes.append(f"{kind}: not measured: {exc!r}")
            t = {}
        bw = {k: nbytes / s for k, s in t.items() if s}
        g, f = bw.get("graphlab"), bw.get("floor")
        goal = "-"
        if kind == "pinned":
            goal = f">={PINNED_GOAL:.2f}x"
            if g and f:
                goal += ": met" if g / f >= PINNED_GOAL else ": MISSED"
        gbs = [f"{bw[k] / 1e9:.1f}" if k in bw else "-" for k in ("graphlab", "floor", "torch")]
        sec.rows.append([kind, *gbs, _x(g, f), goal])
        _tick()
    return sec


# ----- output --------------------------------------------------------------------------------


def _x(a: float | None, b: float | None) -> str:
    return "-" if not a or not b else f"{a / b:.2f}x"


def _tick() -> None:
    print(".", end="", file=sys.stderr, flush=True)


def _text(sec: Section) -> str:
    right = set(range(1, len(sec.headers)))
    lines = [sec.title, "", format_table(sec.headers, sec.rows, right)]
    return "\n".join(lines + ([""] + sec.notes if sec.notes else []))


def _markdown(sec: Section) -> str:
    lines = [f"#### {sec.title}", "", "| " + " | ".join(sec.headers) + " |"]
    lines.append("|" + "|".join("---" for _ in sec.headers) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in sec.rows]
    return "\n".join(lines + ([""] + [f"- {n}" for n in sec.notes] if sec.notes else []))


def _versions(target: Target, torch) -> str:
    parts = [f"python {platform.python_version()}", f"numpy {np.__version__}"]
    if target.cuda:
        rt = target.xp.cuda.runtime
        parts.append(
            f"cupy {target.xp.__version__} (CUDA runtime {rt.runtimeGetVersion()}, driver "
            f"{rt.driverGetVersion()})"
        )
    if torch is not None:
        cuda = f", CUDA {torch.version.cuda}, TF32 off" if target.cuda else ""
        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads{cuda})")
    else:
        parts.append("torch: not measured")
    opts = gl.set_trace_options()
    rec = f"on, timing {'on' if opts['timing'] else 'off'}" if opts["enabled"] else "off"
    parts.append(f"graphlab {getattr(gl, '__version__', '(dev)')} (trace recording {rec})")
    return ", ".join(parts)


def header(target: Target, torch, quick: bool) -> list[str]:
    """The lines above the tables: when, where, what versions, how measured."""
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    if target.cuda:
        idx = target.xp.cuda.Device().id
        name = target.xp.cuda.runtime.getDeviceProperties(idx)["name"]
        name = name.decode() if isinstance(name, bytes) else name
        if torch is not None:
            name += f" (torch: {torch.cuda.get_device_name()})"
        where = f"{target.device}: {name}; host {os.cpu_count()} CPUs"
    else:
        where = f"cpu ({machine()})"
    return [
        f"bench/gpu.py  {now}  {'--quick' if quick else 'full'} run on {where}",
        _versions(target, torch),
        "float32; median of repeats; the device is synchronized at the end of each timed loop, "
        f"never per step; floor = the same math by hand on {target.xp.__name__}",
    ]


# ----- command line ------------------------------------------------------------------------------


def _target(kind: str) -> Target:
    if kind == "cpu":
        return Target("cpu", np)
    if not gl.cuda.is_available():
        raise RuntimeError(
            "bench/gpu.py: --device cuda needs CuPy and an NVIDIA GPU, and graphlab sees none; "
            "run with --device cpu to test the script without one"
        )
    import cupy

    return Target("cuda:0", cupy)


def _torch(target: Target, notes: list[str]):
    try:
        import torch
    except ImportError:
        notes.append("torch: not installed")
        return None
    if target.cuda:
        if not torch.cuda.is_available():
            notes.append("torch: no CUDA in this PyTorch build; left out")
            return None
        # NOTE: graphlab and CuPy compute in full float32; so must PyTorch (cuDNN defaults to
        # TF32 convolutions on Ampere and later).
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return torch


def select_cases(wanted: Sequence[str], target: Target, notes: list[str]) -> list[ts.Case]:
    """The training steps named in ``wanted`` (all when empty, less the GPU-only ones on a CPU,
    which adds a note saying so)."""
    cases = [c for c in STEP_CASES if c.name in wanted or not wanted]
    if not target.cuda and not wanted:
        cases = [c for c in cases if c.name not in GPU_ONLY]
        notes += [f"{n}: GPU only (name it in --cases to run it on the CPU)" for n in GPU_ONLY]
    return cases


def _pick(wanted: str, names: list[str], what: str, parser) -> list[str]:
    chosen = [n for n in wanted.split(",") if n]
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        parser.error(f"unknown {what} {unknown}; choose from {names}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, measure, print the tables (and write ``--out``); returns 0."""
    parser = argparse.ArgumentParser(prog="bench/gpu.py", description=__doc__.splitlines()[0])
    default = "cuda" if gl.cuda.is_available() else "cpu"
    parser.add_argument("--device", choices=("cuda", "cpu"), default=default)
    parser.add_argument("--quick", action="store_true", help="short warm-up and 3 repeats")
    case_names = [c.name for c in STEP_CASES]
    parser.add_argument("--cases", default="", help=f"training steps to run: {case_names}")
    op_names = [c.name for c in op_bench.CASES]
    parser.add_argument("--ops", default="", help=f"ops to run (default all): {op_names}")
    parser.add_argument("--sections", default="ops,steps,copy", help="of ops,steps,copy")
    parser.add_argument("--copy-mib", type=int, default=0, help="copy size (128, quick 16)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--out", default="", help="also write the tables as markdown here")
    args = parser.parse_args(argv)
    wanted_cases = _pick(args.cases, case_names, "case(s)", parser)
    wanted_ops = _pick(args.ops, op_names, "op(s)", parser)
    sections = _pick(args.sections, ["ops", "steps", "copy"], "section(s)", parser)
    try:
        target = _target(args.device)
    except RuntimeError as exc:
        parser.error(str(exc))
    notes: list[str] = []
    torch = None if args.no_torch else _torch(target, notes)
    restore = ts._limit_threads(1, torch) if not target.cuda else (lambda: None)
    cases = select_cases(wanted_cases, target, notes)
    ops = [c for c in op_bench.CASES if c.name in wanted_ops or not wanted_ops]
    out: list[Section] = []
    head = header(target, torch, args.quick)  # NOTE: while the thread limits hold
    try:
        if "ops" in sections:
            out.append(run_ops(ops, target, torch, args.quick))
        if "steps" in sections:
            spin = None
            if target.cuda:
                try:
                    spin = make_spin(target.xp)
                except Exception as exc:  # noqa: BLE001
                    notes.append(f"host-wait probe unavailable: {exc!r}")
            out += [s for s in run_steps(cases, target, torch, args.quick, spin) if s]
        if "copy" in sections:
            mib = args.copy_mib or (16 if args.quick else 128)
            out.append(run_copies(target, torch, args.quick, mib))
    finally:
        restore()
        print(file=sys.stderr)
    head += notes
    print("\n\n".join(["\n".join(head), *(_text(s) for s in out)]))
    if args.out:
        md = ["```\n" + "\n".join(head) + "\n```", *(_markdown(s) for s in out)]
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write("\n\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
