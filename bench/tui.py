"""Workbench scale: first paint and page-down latency on a big session (issue 6's numbers).

A model of ~1,000 modules and a recorded pass of >= 100,000 events (a real recording: forward and
backward of the model, repeated inside one ``graphlab.record()`` block) are opened in the
workbench, headless (Textual's ``run_test``, which renders every frame as a terminal would).
Printed: the time from starting the app to its first painted screen (Modules view), the time to
switch to the Parameters, Trace and Transfers views, and the median / worst time of a page down in
the Trace and Parameters views, net of the harness's own time per key (measured with a key bound
to nothing, and printed). Goals: first screen < 1 s, page down < 100 ms.

Run: ``python bench/tui.py`` (``--events N`` and ``--blocks N`` to change the size).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import graphlab as gl  # noqa: E402
from graphlab import nn  # noqa: E402
from graphlab.inspect import session  # noqa: E402


def big_model(blocks: int) -> nn.Module:
    """``blocks`` residual-free blocks of (Linear, ReLU, Linear): 3 modules + 1 container each."""
    return nn.Sequential(
        *[nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16)) for _ in range(blocks)]
    )


def big_session(blocks: int, events: int):
    gl.manual_seed(0)
    net = big_model(blocks)
    old = gl.set_trace_options(max_events=events * 2)
    try:
        with gl.record() as trace:
            while len(trace.events) < events:
                net(gl.randn(4, 16)).sum().backward()
    finally:
        gl.set_trace_options(**old)
    return session(net, traces=[trace], name="scale"), len(list(net.modules())), len(trace.events)


async def measure(sess, pages: int) -> dict[str, float]:
    from tui.app import Workbench

    app = Workbench(sess)
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        out["first screen (Modules)"] = app.painted_at - t0
        out["first screen, settled (pilot)"] = time.perf_counter() - t0
        for key, name in (("2", "Parameters"), ("5", "Trace"), ("6", "Transfers")):
            t = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            out[f"switch to {name}"] = time.perf_counter() - t
        # NOTE: the harness itself takes time per key (Pilot.press waits for the app to settle);
        # a key bound to nothing measures that floor, which is subtracted from the page downs.
        floor = statistics.median([await _key_time(pilot, "f12") for _ in range(pages)])
        out["harness floor per key (unbound key)"] = floor
        for key, name in (("5", "Trace"), ("2", "Parameters")):
            await pilot.press(key)
            await pilot.pause()
            times = [await _key_time(pilot, "pagedown") for _ in range(pages)]
            out[f"page down in {name} (median, net)"] = statistics.median(times) - floor
            out[f"page down in {name} (worst, net)"] = max(times) - floor
    return out


async def _key_time(pilot, key: str) -> float:
    t = time.perf_counter()
    await pilot.press(key)
    await pilot.pause()
    return time.perf_counter() - t


def measure_file(sess, folder: str) -> dict[str, float]:
    """Save ``sess`` as a session file, then open it as ``graphlab tui run.h5`` does, in a fresh
    process (this one holds the live session, whose millions of objects would slow the garbage
    collector down): the app paints at once, loads the models in a worker, shows them, then
    decodes the passes in the same worker."""
    import json
    import subprocess

    from exporters.session import load_session, save_session

    path = Path(folder) / "scale.h5"
    out: dict[str, float] = {}
    t = time.perf_counter()
    save_session(sess, path)
    out["save_session"] = time.perf_counter() - t
    t = time.perf_counter()
    load_session(path)
    out["load_session alone"] = time.perf_counter() - t
    t = time.perf_counter()
    load_session(path, defer_traces=True)
    out["load_session, passes deferred"] = time.perf_counter() - t
    child = subprocess.run(
        [sys.executable, __file__, "--open-file", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out.update(json.loads(child.stdout.splitlines()[-1]))
    return out


async def open_file(path: str) -> dict[str, float]:
    """Times (from starting the app) to its first frame, the models' frame and the decoded
    passes' frame, for the session file ``path`` opened as ``graphlab tui`` does."""
    from exporters.session import load_session
    from tui.app import Workbench

    app = Workbench(loader=lambda: load_session(path, defer_traces=True))
    t0 = time.perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        return {
            "file: first screen (loading…)": app.painted_at - t0,
            "file: models shown (Modules view)": app.shown_at - t0,
            "file: passes decoded and shown": app.decoded_at - t0,
        }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=250, help="blocks of 4 modules (default 250)")
    ap.add_argument("--events", type=int, default=100_000, help="events in the pass")
    ap.add_argument("--pages", type=int, default=30, help="page downs measured per view")
    ap.add_argument("--open-file", help=argparse.SUPPRESS)  # the child process of measure_file
    args = ap.parse_args(argv)
    if args.open_file:
        import json

        print(json.dumps(asyncio.run(open_file(args.open_file))))
        return
    t = time.perf_counter()
    sess, modules, events = big_session(args.blocks, args.events)
    built = time.perf_counter() - t
    print(f"session: {modules:,} modules, one pass of {events:,} events (built in {built:.1f} s)")
    results = asyncio.run(measure(sess, args.pages))
    with tempfile.TemporaryDirectory() as folder:
        results.update(measure_file(sess, folder))
    goals = {
        "first screen (Modules)": 1.0,
        "file: first screen (loading…)": 1.0,
        "file: models shown (Modules view)": 1.0,
    }
    for name, seconds in results.items():
        goal = goals.get(name, 0.1 if name.startswith("page down") else None)
        verdict = "" if goal is None else f"   goal < {goal * 1e3:.0f} ms: {seconds / goal:.2f}x"
        print(f"{name:<34} {seconds * 1e3:8.1f} ms{verdict}")


if __name__ == "__main__":
    main()
