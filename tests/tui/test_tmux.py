"""The real ``graphlab`` command in a real terminal (tmux): start it, press keys, read it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed"),
    pytest.mark.slow,
]

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import graphlab as gl
from graphlab import nn

gl.manual_seed(0)
shared = nn.Linear(8, 8)
net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.Linear(8, 1))
opt = gl.optim.SGD(net.parameters(), lr=0.1)
for _ in range(2):
    loss = net(gl.randn(16, 4)).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
"""


class Tmux:
    def __init__(self, name: str, command: str, cwd: Path):
        self.name = name
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", name, "-x", "140", "-y", "40", "-c", str(cwd),
             command],
            check=True,
        )  # fmt: skip

    def screen(self) -> str:
        res = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        )
        return res.stdout

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        end = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < end:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear on the screen:\n{screen}")

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def alive(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.name]).returncode == 0

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def tmux_app(tmp_path):
    script = tmp_path / "tied_script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    done = tmp_path / "exit_code"
    command = f"{sys.executable} -m graphlab tui {script}; echo $? > {done}"
    term = Tmux(f"graphlab-test-{os.getpid()}-{uuid.uuid4().hex[:8]}", command, ROOT)
    try:
        yield term, done
    finally:
        term.kill()


def test_graphlab_tui_in_a_real_terminal(tmux_app):
    term, done = tmux_app
    screen = term.wait_for("8 NaN/Inf")
    for tab in ("1 Modules", "2 Params", "5 Trace"):
        assert tab in screen
    assert "net" in term.wait_for("pass 2/2")
    term.keys("2")
    screen = term.wait_for("2.weight")
    term.keys("4")
    screen = term.wait_for("4.weight")
    assert "2.weight" in screen
    term.keys("?")
    term.wait_for("Keys (Esc closes)")
    term.keys("Escape")
    # NOTE: wait for the help to close: Escape then q at once reads as Alt+q in a terminal.
    end = time.monotonic() + 30
    while "Keys (Esc closes)" in term.screen() and time.monotonic() < end:
        time.sleep(0.2)
    term.keys("q")
    end = time.monotonic() + 30
    while not done.exists() and time.monotonic() < end:
        time.sleep(0.2)
    assert done.read_text().strip() == "0"
