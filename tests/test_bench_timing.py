"""bench/_timing.py: the machine line every benchmark header carries."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# NOTE: two processors' blocks, as /proc/cpuinfo lists them: only the first is read
EPYC = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
flags\t\t: fpu vme de

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: Another CPU
"""


@pytest.fixture()
def timing(monkeypatch):
    spec = importlib.util.spec_from_file_location("_bench_timing", ROOT / "bench" / "_timing.py")
    mod = importlib.util.module_from_spec(spec)
    # NOTE: dataclasses look their module up in sys.modules while the class is created.
    monkeypatch.setitem(sys.modules, spec.name, mod)
    spec.loader.exec_module(mod)
    return mod


def test_cpu_model_names_the_first_processor_with_its_family_and_model(timing):
    assert timing.cpu_model(EPYC) == "AMD EPYC (cpu family 26, model 2)"


def test_cpu_model_without_numbers_is_the_name_alone(timing):
    assert timing.cpu_model("processor : 0\nmodel name : Neoverse-N1\n") == "Neoverse-N1"


def test_cpu_model_of_text_that_names_no_processor_is_empty(timing):
    assert timing.cpu_model("") == ""
    assert timing.cpu_model("processor : 0\nBogoMIPS : 50.00\n") == ""


def test_machine_line_gives_architecture_processor_cpus_and_load(timing):
    line = timing.machine()
    assert f"{os.cpu_count()} CPUs, load average " in line
    if Path("/proc/cpuinfo").exists():
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            model = timing.cpu_model(f.read())
        if model:
            assert model in line
