"""bench/gpu.py: its tables have every row, its floors compute graphlab's step, and graphlab's
training step takes no host sync. Runs with ``--device cpu`` (NumPy floor, PyTorch on the CPU),
the same code paths as on a GPU; the ``gpu`` test runs the real thing."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SMALL_CASES = "mlp 20-256-10,digits cnn"
SMALL_OPS = "add,sigmoid"


@contextlib.contextmanager
def _loaded():
    """bench/gpu.py as a module. NOTE: bench/ is a folder of scripts; gpu.py imports its siblings
    ops, train_step and _timing by name, so bench/ goes on the path while it is loaded, and the
    script modules it added are removed afterwards."""
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(ROOT / "bench"))
    before = set(sys.modules)
    try:
        spec = importlib.util.spec_from_file_location("_bench_gpu", ROOT / "bench" / "gpu.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod  # NOTE: dataclasses look their module up while being made
        spec.loader.exec_module(mod)
        yield mod
    finally:
        for name in set(sys.modules) - before:
            path = getattr(sys.modules[name], "__file__", None) or ""
            if Path(path).parent in (ROOT / "bench", ROOT / "samples"):
                del sys.modules[name]  # NOTE: only scripts: never unload an extension (torch)
        mp.undo()


@pytest.fixture()
def gpu_bench():
    with _loaded() as mod:
        yield mod


def _run_main(argv: list[str]) -> str:
    """What ``python bench/gpu.py ARGV`` prints."""
    with _loaded() as mod:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert mod.main(argv) == 0
        return buf.getvalue()


def _rows(out: str, first: str) -> list[list[str]]:
    """The table rows of ``out`` whose first cell starts with ``first`` (cells: split on runs of
    two or more spaces)."""
    lines = [line.strip() for line in out.splitlines() if line.startswith(first)]
    return [re.split(r"\s{2,}", line) for line in lines]


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory):
    """Quick CPU runs (about 10 s): two training steps and two ops; then the copies, with the
    markdown file written."""
    md = tmp_path_factory.mktemp("gpu") / "gpu.md"
    out = _run_main(["--device", "cpu", "--quick", "--cases", SMALL_CASES, "--ops", SMALL_OPS])
    out2 = _run_main(["--device", "cpu", "--quick", "--sections", "copy", "--out", str(md)])
    return out, out2, md.read_text()


def test_cpu_run_has_every_row_and_no_warning(cpu_run):
    out, _, _ = cpu_run
    assert "warning" not in out and "not measured" not in out and "failed" not in out
    for title in ("Per-op overhead", "Training steps", "numpy"):
        assert title in out
    ops = _rows(out, "add") + _rows(out, "sigmoid")
    assert sorted(r[2] for r in ops) == ["fwd", "fwd", "fwd+bwd", "fwd+bwd"]
    assert all(len(r) == 8 and r[3] != "-" and r[4] != "-" for r in ops)
    steps = _rows(out, "mlp 20-256-10") + _rows(out, "digits cnn")
    assert [r[1] for r in steps] == ["256", "256"]
    for row in steps:
        assert len(row) == 11 and "-" not in (row[2], row[3], row[8]), row
    assert steps[0][7].startswith("<=1.20x & < torch")  # the D2L MLP's goal is judged
    assert not _rows(out, "mlp 4096x4")


def test_big_mlp_runs_on_the_cpu_only_when_named(gpu_bench):
    cpu, notes = gpu_bench.Target("cpu", np), []
    names = [c.name for c in gpu_bench.select_cases([], cpu, notes)]
    assert "mlp 4096x4" not in names and len(names) == 3
    assert notes == ["mlp 4096x4: GPU only (name it in --cases to run it on the CPU)"]
    (case,) = gpu_bench.select_cases(["mlp 4096x4"], cpu, notes)
    assert (case.sizes, case.batch) == ((4096,) * 5, 4096)


def test_graphlab_step_takes_no_host_sync(cpu_run):
    out, _, _ = cpu_run
    steps = _rows(out, "mlp 20-256-10") + _rows(out, "digits cnn")
    assert [r[-1] for r in steps] == ["0", "0"]


def test_copy_section_and_markdown(cpu_run):
    _, out, md = cpu_run
    (row,) = _rows(out, "pageable")
    assert row[1] != "-" and row[2] != "-"
    assert "pinned memory needs CUDA" in out
    assert md.startswith("```\nbench/gpu.py") and "| pageable |" in md
    assert "|---|---|---|---|---|---|" in md


def test_sync_count_sees_a_host_read(gpu_bench):
    ts = gpu_bench.ts
    case = ts.Case("mlp", "mlp", (5, 7, 3), 4)
    x, y = ts.make_batch(case)
    step = ts.GraphlabStep(case, ts.initial_weights(case), x, y)
    assert gpu_bench.trace_syncs(step) == 0
    assert gpu_bench.trace_syncs(lambda: (step(), step.loss())) == 1


def test_floors_agree_with_graphlab_on_the_gpu_cases_shapes(gpu_bench):
    # The GPU cases, scaled down: the floors and PyTorch (if installed) compute graphlab's step.
    ts = gpu_bench.ts
    try:
        import torch
    except ImportError:
        torch = None
    for case in gpu_bench.STEP_CASES:
        small = ts.Case(case.name, case.kind, case.sizes, 8)
        if case.kind == "mlp":
            small = ts.Case(case.name, "mlp", tuple(min(s, 24) for s in case.sizes), 8)
        assert ts.check_case(small, torch, device="cpu") == [], small


def test_floor_is_measured_on_the_array_module_given(gpu_bench):
    # On a GPU the floors of bench/ops.py run on CuPy: every array call goes to ``xp``.
    calls = []

    class CountingXp:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(np, name)

    ops = gpu_bench.op_bench
    x, g = np.linspace(-2, 2, 6, dtype=np.float32), np.ones(6, np.float32)
    out, (gx,) = gpu_bench.floor_op(ops._np_sigmoid, CountingXp())(g, x)
    ref, (ref_gx,) = ops._np_sigmoid(g, x)
    np.testing.assert_allclose(out, ref)
    np.testing.assert_allclose(gx, ref_gx)
    assert calls == ["exp"]  # inside _sigmoid, rebound too
    assert gpu_bench.floor_op(np.exp, CountingXp()) is np.exp and calls[-1] == "exp"
    ops._np_sigmoid(g, x)
    assert calls == ["exp", "exp"]  # bench/ops.py itself is untouched


def test_goal_cell(gpu_bench):
    goal = gpu_bench.Goal(1.20, beat_torch=True)
    cell = gpu_bench._goal_cell
    assert cell(goal, 1.1, 1.0, 2.0).endswith(": met")
    assert cell(goal, 1.3, 1.0, 2.0).endswith(": MISSED")
    assert cell(goal, 1.1, 1.0, 1.0).endswith(": MISSED")  # not faster than PyTorch
    assert cell(None, 1.0, 1.0, 1.0) == "-"


def test_unknown_case_is_a_usage_error(gpu_bench, capsys):
    with pytest.raises(SystemExit):
        gpu_bench.main(["--device", "cpu", "--cases", "mlp 1-2-3"])
    assert "unknown case(s)" in capsys.readouterr().err


class _FakeCupy:
    """The few ``cupy`` calls of the host-wait probe, recorded (no GPU needed)."""

    def __init__(self):
        self.launches, self.events = [], []
        fake = self

        class Event:
            def __init__(self, block=False, disable_timing=False):
                self.stream, self.done = None, False
                fake.events.append(self)

            def record(self, stream=None):
                self.stream = stream

            def synchronize(self):
                pass

        class RawKernel:
            def __init__(self, code, name):
                assert 'extern "C" __global__ void spin(long long cycles)' in code
                self.name = name

            def __call__(self, grid, block, args):
                fake.launches.append((grid, block, args))

        self.RawKernel = RawKernel
        self.cuda = types.SimpleNamespace(
            Event=Event,
            get_current_stream=lambda: "stream",
            get_elapsed_time=lambda start, end: 5.0,  # ms: 10M cycles at 2 GHz
        )


def test_spin_is_calibrated_and_its_event_decides_the_probe(gpu_bench):
    cp = _FakeCupy()
    spin = gpu_bench.make_spin(cp)
    done = spin(0.2)
    grid, block, (cycles,) = cp.launches[-1]
    assert (grid, block) == ((1,), (1,)) and isinstance(cycles, np.int64)
    assert cycles == 400_000_000  # 0.2 s at the measured 2 GHz
    assert done.stream == "stream" and all(e.stream == "stream" for e in cp.events)

    target = types.SimpleNamespace(sync=lambda: None)
    events = []

    def fake_spin(seconds):
        events.append(types.SimpleNamespace(done=False))
        return events[-1]

    seconds, ended = gpu_bench.host_wait(lambda: None, target, fake_spin)
    assert not ended and gpu_bench._wait_cell((seconds, ended)).startswith("no (")
    assert gpu_bench._wait_cell((0.25, True)) == "yes (250.0 ms)"
    assert gpu_bench._wait_cell(None) == "-"


def test_a_slow_first_gpu_call_stays_out_of_the_loop_sizes(gpu_bench):
    # A cold CuPy kernel cache makes the first call compile: it must not shrink the timed loops.
    calls = []

    def first_compiles():
        calls.append(None)
        if len(calls) == 1:
            time.sleep(0.2)

    budget = gpu_bench.Budget(0.01, 0.01, 1, min_warmup=2)
    gpu_bench.ts.measure_interleaved({"f": first_compiles}, budget, sync=lambda: None)
    assert len(calls) > 100  # not 1 + 2 warm-up calls + a loop of 1


@pytest.mark.gpu
@pytest.mark.slow
def test_cuda_quick_run(tmp_path):
    # About a minute on an H100 (most of it CuPy compiling kernels on a cold cache).
    md = tmp_path / "gpu.md"
    out = _run_main(["--device", "cuda", "--quick", "--out", str(md)])
    assert "warning" not in out and "not measured" not in out and "failed" not in out
    steps = [r for r in _rows(out, "mlp ") + _rows(out, "digits cnn") if len(r) == 11]
    assert len(steps) == 4 and all(r[-1] == "0" for r in steps)
    assert "Host waits" in out and len(_rows(out, "pinned")) == 1
    assert md.exists()
