"""Shared test setup: the ``gpu`` marker skips without CuPy and a GPU; hypothesis profiles."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture
def default_trace_options():
    """The always-on recorder at its default options for the test; the options before it are
    put back after."""
    import graphlab as gl

    old = gl.set_trace_options(keep=8, level="meta", timing=True, enabled=True)
    yield
    gl.set_trace_options(**old)


@pytest.fixture
def load_bench(monkeypatch):
    """``load_bench(name)``: ``bench/<name>.py`` loaded as a module, for the benchmarks' tests.

    BLAS on one thread (as the trace benchmarks set it), ``bench/`` on the path (its scripts
    import ``_timing`` and each other), ``pin_malloc`` made a no-op (``mallopt`` would change this
    whole test process's allocator), and the trace options put back afterwards.
    """
    import graphlab as gl

    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")  # NOTE: the modules set them so; put back after
    folder = Path(__file__).resolve().parent.parent / "bench"
    monkeypatch.syspath_prepend(str(folder))
    old = gl.set_trace_options()

    def load(name: str):
        spec = importlib.util.spec_from_file_location(f"_bench_{name}", folder / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        # NOTE: dataclasses look their module up in sys.modules while a class is created
        monkeypatch.setitem(sys.modules, spec.name, mod)
        spec.loader.exec_module(mod)
        if hasattr(mod, "pin_malloc"):
            monkeypatch.setattr(mod, "pin_malloc", lambda: False)
        return mod

    yield load
    gl.set_trace_options(**old)


def _has_gpu() -> bool:
    import graphlab as gl

    return gl.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    if _has_gpu():
        return
    skip = pytest.mark.skip(reason="needs CuPy and an NVIDIA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
