"""`graphlab record | tui | summary | export` on scripts and saved sessions; inspect.show."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import graphlab as gl
from exporters.session import load_session
from graphlab import nn

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import sys
import graphlab as gl
from graphlab import nn

gl.manual_seed(0)
shared = nn.Linear(4, 4)
net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), shared, nn.ReLU(), shared)
opt = gl.optim.SGD(net.parameters(), lr=0.1)
for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 2):
    loss = net(gl.randn(5, 3)).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
"""


def run(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "graphlab", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=180,
    )  # fmt: skip


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(textwrap.dedent(SCRIPT))
    return path


@pytest.fixture
def session_file(script, tmp_path):
    out = tmp_path / "run.h5"
    res = run("record", script, "-o", out, "--level", "stats", "--", "3")
    assert res.returncode == 0, res.stderr
    return out


@pytest.mark.parametrize("cmd", [[], ["record"], ["tui"], ["summary"], ["export", "svg"]])
def test_help(cmd):
    res = run(*cmd, "--help")
    assert res.returncode == 0 and "usage: graphlab" in res.stdout


def test_record_saves_models_passes_and_optimizer(session_file):
    s = load_session(session_file)
    assert [m.name for m in s.models] == ["net"]
    net = s.model("net")
    assert len(net.traces) == 3  # the script got "3" after --
    assert all(t.level == "stats" for t in net.traces)
    assert net.optimizer.type_name == "SGD"
    assert net.tied_parameters() == [["2.weight", "4.weight"], ["2.bias", "4.bias"]]
    assert set(net.gradients) == set(net.parameters)


def test_record_of_a_failing_script_saves_what_ran_and_exits_1(tmp_path):
    path = tmp_path / "boom.py"
    path.write_text(
        "import graphlab as gl\nfrom graphlab import nn\nnet = nn.Linear(2, 2)\n"
        "net(gl.ones(1, 2))\nraise ValueError('boom after one pass')\n"
    )
    out = tmp_path / "boom.h5"
    res = run("record", path, "-o", out)
    assert res.returncode == 1 and "boom after one pass" in res.stderr
    assert len(load_session(out).traces) == 1


def test_record_without_a_module_call_exits_2_and_writes_nothing(tmp_path):
    path = tmp_path / "plain.py"
    path.write_text("import graphlab as gl\nx = gl.ones(2) * 3\n")
    res = run("record", path, "-o", tmp_path / "x.h5")
    assert res.returncode == 2 and "called no nn.Module" in res.stderr
    assert not (tmp_path / "x.h5").exists()


def test_summary_of_a_session_and_of_a_script(session_file, script):
    for path in (session_file, script):
        res = run("summary", path)
        assert res.returncode == 0, res.stderr
        out = res.stdout
        assert "Model: net" in out and "Output shape" in out
        assert "Total parameters: 36 (tied parameters counted once)" in out
        assert "4 (Linear) = 2" in out and "[5, 4]" in out


@pytest.mark.parametrize("cmd", ["summary", "tui", "record"])
def test_missing_and_wrong_files_exit_2(cmd, tmp_path):
    res = run(cmd, tmp_path / "nope.h5")
    assert res.returncode == 2 and "not found" in res.stderr
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    res = run(cmd, notes)
    assert res.returncode == 2 and "is not a" in res.stderr


def test_corrupt_and_foreign_session_files_exit_2(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100)
    res = run("summary", bad)
    assert res.returncode == 2 and str(bad) in res.stderr
    import h5py

    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = [1, 2, 3]
    res = run("summary", foreign)
    assert res.returncode == 2 and "foreign.h5" in res.stderr


def test_export_from_a_session(session_file, tmp_path):
    out = tmp_path / "p.dot"
    res = run("export", "dot", session_file, "-o", out, "--model", "net", "--pass", "0")
    assert res.returncode == 0, res.stderr
    assert out.read_text().startswith('digraph "run" {')
    res = run("export", "dot", session_file, "-o", out, "--pass", "7")
    assert res.returncode == 2 and "out of range" in res.stderr
    res = run("export", "dot", session_file, "-o", out, "--model", "nope")
    assert res.returncode == 2 and "no model 'nope'" in res.stderr
    h5 = tmp_path / "dump.h5"
    assert run("export", "hdf5", session_file, "-o", h5).returncode == 0
    from exporters import hdf5

    assert hdf5.load(h5).name == "net"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")
def test_export_svg_from_a_session(session_file, tmp_path):
    out = tmp_path / "p.svg"
    res = run("export", "svg", session_file, "-o", out, "--backward")
    assert res.returncode == 0, res.stderr
    assert out.read_bytes().startswith(b"<?xml")


def test_inspect_show_opens_the_workbench_on_live_objects(monkeypatch):
    from tui.app import Workbench

    shown = []
    monkeypatch.setattr(Workbench, "run", lambda self: shown.append(self.session))
    gl.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    opt = gl.optim.Adam(net.parameters())
    net(gl.ones(4, 2)).sum().backward()
    gl.inspect.show(net, optimizer=opt)
    (s,) = shown
    snap = s.models[0]
    assert snap.name == "Sequential" and snap.optimizer.type_name == "Adam"
    assert snap.traces and snap.traces[-1].roots == ("Sequential",)
    assert not snap.traces[-1].recording
    with pytest.raises(TypeError):
        gl.inspect.show("not a model")
