"""bench/trace_hooks.py builds the hook-timing variant of the C recorder and reports every hook."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "trace_hooks.py"


def _compiler() -> str | None:
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc)


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.skipif(_compiler() is None, reason="no C compiler to build the timed recorder")
def test_a_quick_round_times_every_hook_and_what_is_left():
    done = _run("--quick", "--cases", "mlp", "--rounds", "1")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for row in ("step, recorder off", '"meta" - off', "inside all hooks", "outside the hooks"):
        assert row in out
    for hook, calls in (("on_op", "4.0"), ("on_backward", "4.0"), ("on_top_level", "1.0")):
        line = next(x for x in out.splitlines() if f"inside {hook}" in x)
        assert line.split()[-3] == calls, line  # NOTE: the MLP step: 4 ops, 4 nodes, 1 pass


def test_the_python_hooks_and_unknown_cases_are_usage_errors():
    done = _run("--cases", "mlp", GRAPHLAB_TRACE_ACCEL="0")
    assert done.returncode == 2 and "times the C ones" in done.stderr
    done = _run("--cases", "vgg")
    assert done.returncode == 2 and "unknown case(s)" in done.stderr
