"""`python -m graphlab export dot|hdf5 SCRIPT`: run a script, export what it recorded or built."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import graphlab as gl
from graphlab import nn
from tui import cli, scripts

ROOT = Path(__file__).resolve().parent.parent
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")

SCRIPT = """
import graphlab as gl
from graphlab import nn

gl.manual_seed(0)
net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
head = nn.Linear(2, 1)
inner = net[0]  # part of net: not a top-level model
for _ in range(2):
    net(gl.ones(2, 3)).sum().backward()
head(gl.ones(1, 2))
"""


def run(*args, env=None, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "graphlab", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "model_script.py"
    path.write_text(textwrap.dedent(SCRIPT))
    return path


@pytest.mark.parametrize(
    "args",
    [["--help"], ["export", "--help"], ["export", "dot", "-h"], ["export", "hdf5", "--help"]],
)
def test_help(args):
    res = run(*args)
    assert res.returncode == 0, res.stderr
    assert "usage: graphlab" in res.stdout


def test_no_arguments_opens_the_demo(monkeypatch):
    called = []
    monkeypatch.setattr(cli.commands, "demo", lambda args: called.append(args.steps) or 0)
    assert cli.main([]) == 0 and called == [3]


def test_export_dot_last_pass(script, tmp_path):
    out = tmp_path / "g.dot"
    res = run("export", "dot", script, "-o", out)
    assert res.returncode == 0, res.stderr
    src = out.read_text()
    assert src.startswith('digraph "model_script" {')
    # The last pass is head's call: one Linear, no Sequential clusters.
    assert 'label="0 (Linear)"' not in src and "Linear" in src
    assert "head" not in src and src.count('label="Linear"') == 1


def test_export_dot_all_backward_and_depth(script, tmp_path):
    out = tmp_path / "all.dot"
    assert run("export", "dot", script, "-o", out, "--all").returncode == 0
    everything = out.read_text()
    assert everything.count('label="Linear"') >= 2
    assert run("export", "dot", script, "-o", out, "--all", "--backward").returncode == 0
    assert "LinearBackward0" in out.read_text()
    assert run("export", "dot", script, "-o", out, "--all", "--depth", "0").returncode == 0
    assert "subgraph cluster_0 " not in out.read_text()


@needs_dot
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_export_dot_rendered(script, tmp_path, fmt):
    out = tmp_path / f"g.{fmt}"
    res = run("export", "dot", script, "-o", out, "--format", fmt)
    assert res.returncode == 0, res.stderr
    head = out.read_bytes()[:8]
    assert head.startswith(b"<?xml") if fmt == "svg" else head == b"\x89PNG\r\n\x1a\n"


def test_missing_dot_program_exits_2_naming_graphviz(script, tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))
    res = run("export", "dot", script, "-o", tmp_path / "g.svg", env=env)
    assert res.returncode == 2
    assert "graphviz" in res.stderr and not (tmp_path / "g.svg").exists()


@pytest.mark.parametrize("kind", ["dot", "hdf5"])
def test_missing_or_wrong_script_exits_2(tmp_path, kind):
    res = run("export", kind, tmp_path / "nope.py", "-o", tmp_path / "x")
    assert res.returncode == 2 and "not found" in res.stderr
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    res = run("export", kind, txt, "-o", tmp_path / "x")
    assert res.returncode == 2 and "is not a .py or .h5 or .hdf5 file" in res.stderr


def test_usage_errors_exit_2(script, tmp_path):
    assert run("export", "dot", script).returncode == 2  # -o is required
    assert run("export", "dot", script, "-o", tmp_path / "x", "--format", "gif").returncode == 2
    res = run("export", "dot", script, "-o", tmp_path / "x", "--depth", "-1")
    assert res.returncode == 2 and "--depth must be >= 0" in res.stderr


def test_script_without_a_module_call(tmp_path):
    path = tmp_path / "plain.py"
    path.write_text("import graphlab as gl\nx = gl.ones(2) * 3\n")
    res = run("export", "dot", path, "-o", tmp_path / "x.dot")
    assert res.returncode == 2 and "recorded no pass" in res.stderr
    res = run("export", "dot", path, "-o", tmp_path / "x.dot", "--all")
    assert res.returncode == 0 and 'label="Mul"' in (tmp_path / "x.dot").read_text()


def test_failing_script_exits_1_with_its_traceback(tmp_path):
    path = tmp_path / "boom.py"
    path.write_text("raise ValueError('boom from the script')\n")
    res = run("export", "dot", path, "-o", tmp_path / "x.dot")
    assert res.returncode == 1 and "boom from the script" in res.stderr


def test_top_level_models_rule():
    gl.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 2))
    head = nn.Linear(2, 1)
    found = scripts.top_models({"net": net, "inner": net[0], "head": head, "alias": net, "n": 3})
    assert found == [("net", net), ("head", head)]


def test_export_hdf5(script, tmp_path):
    out = tmp_path / "m.h5"
    res = run("export", "hdf5", script, "-o", out)
    if importlib.util.find_spec("exporters.hdf5") is None:
        assert res.returncode == 2 and "exporters.hdf5" in res.stderr
        return
    assert res.returncode == 0, res.stderr
    # Two top-level models (net, head): one file each.
    assert (tmp_path / "m.net.h5").is_file() and (tmp_path / "m.head.h5").is_file()
