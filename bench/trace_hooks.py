"""Where the always-on recorder's time goes: inside its C hooks, and outside them.

Run from the repository root::

    python bench/trace_hooks.py                  # about a minute on 2 cores
    python bench/trace_hooks.py --quick          # a few seconds; noisier
    python bench/trace_hooks.py --cases mlp --rounds 400

``bench/trace_overhead.py`` says what recording at "meta" costs a training step; this says where
that time is spent. It builds ``graphlab/trace/_fastrec.c`` once more with
``-DFASTREC_HOOK_TIMING`` in a scratch folder (a C compiler is needed; the installed build is not
touched), loads that build in place of the installed one before graphlab is imported, and times
the training steps of ``bench/trace_overhead.py``'s cases with the recorder off and at "meta" in
paired rounds (same method: interleaved, ``keep`` + 1 untimed steps first, BLAS on one thread,
glibc's malloc thresholds pinned). In that build each hook (op, backward, top-level) adds up the
wall time spent inside it; its two clock reads per call (tens of nanoseconds) are counted in.

Printed per case: the step off and at "meta", their difference per step, and per hook its calls,
microseconds per step and per call; then "outside the hooks", the difference not spent inside
them: calling the hooks from Python, and what recording does to the rest of the step (the caches
and branch predictors its code and data take). Each figure is the median over rounds; the
difference and "outside" are medians of per-round values, so they need not add up exactly.

A benchmark, not a test: it prints figures and never fails on a timing.
"""

from __future__ import annotations

import os

# NOTE: before NumPy loads (see bench/trace_overhead.py)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import contextlib  # noqa: E402
import importlib.util  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import sysconfig  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODULE = "graphlab.trace._fastrec"
HOOKS = ("on_op", "on_backward", "on_top_level")


def build_timed(where: Path) -> Path:
    """Build the recorder extension with hook timing into ``where``; the path of the built file.

    Raises RuntimeError with the compiler's output when the build fails."""
    flags = f"{sysconfig.get_config_var('CFLAGS') or ''} -DFASTREC_HOOK_TIMING".strip()
    cmd = [
        sys.executable, "setup.py", "-q", "build_ext",
        "--build-lib", str(where / "lib"), "--build-temp", str(where / "tmp"),
    ]  # fmt: skip
    done = subprocess.run(
        cmd, cwd=ROOT, env={**os.environ, "CFLAGS": flags}, capture_output=True, text=True
    )
    built = sorted((where / "lib" / "graphlab" / "trace").glob("_fastrec*"))
    if done.returncode != 0 or not built:
        raise RuntimeError(
            f"building {MODULE} with hook timing failed ({' '.join(cmd)}, exit code "
            f"{done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return built[0]


def load_timed(path: Path):
    """Load the timed build as ``graphlab.trace._fastrec``; graphlab must not be imported yet."""
    if "graphlab" in sys.modules:
        raise RuntimeError(
            "bench/trace_hooks.py must load its build before graphlab is imported; run it as a "
            "script (python bench/trace_hooks.py)"
        )
    spec = importlib.util.spec_from_file_location(MODULE, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sys.modules[MODULE] = mod
    return mod


def time_hooks(step, fastrec, rounds: int, target_s: float) -> dict[str, list[float]]:
    """Per round: seconds per step off and at "meta" (``trace_overhead.time_settings``), and each
    hook's calls and seconds per step at "meta"."""
    from trace_overhead import time_settings

    inside: dict[str, list[float]] = {}
    for hook in HOOKS:
        inside[hook + " calls"], inside[hook] = [], []

    @contextlib.contextmanager
    def read_hook_timers(setting: str, number: int):
        fastrec.hook_times()  # NOTE: drops what the untimed steps added
        yield
        totals = fastrec.hook_times()
        if setting == "meta":
            for hook in HOOKS:
                calls, seconds = totals[hook]
                inside[hook + " calls"].append(calls / number)
                inside[hook].append(seconds / number)

    steps = time_settings(step, rounds, target_s, ("off", "meta"), read_hook_timers)
    return {**steps, **inside}


def report(name: str, t: dict[str, list[float]]) -> list[tuple[str, ...]]:
    """The table rows of one case."""
    med = statistics.median
    diffs = [m - o for m, o in zip(t["meta"], t["off"])]
    inside = [sum(t[h][i] for h in HOOKS) for i in range(len(diffs))]
    rows = [
        (name, "step, recorder off", "", f"{med(t['off']) * 1e6:,.1f}", ""),
        (name, 'step, "meta"', "", f"{med(t['meta']) * 1e6:,.1f}", ""),
        (
            name,
            '"meta" - off',
            "",
            f"{med(diffs) * 1e6:,.1f}",
            f"{med(m / o for m, o in zip(t['meta'], t['off'])):.3f}x",
        ),
    ]
    for hook in HOOKS:
        calls = med(t[hook + " calls"])
        per_step = med(t[hook])
        per_call = f"{per_step / calls * 1e6:.2f}" if calls else "-"
        rows.append((name, f"inside {hook}", f"{calls:.1f}", f"{per_step * 1e6:,.1f}", per_call))
    rows.append((name, "inside all hooks", "", f"{med(inside) * 1e6:,.1f}", ""))
    outside = [d - i for d, i in zip(diffs, inside)]
    rows.append((name, "outside the hooks", "", f"{med(outside) * 1e6:,.1f}", ""))
    return rows


def main(argv: list[str] | None = None) -> None:
    """Build, load, measure, print."""
    sys.path.insert(0, str(ROOT / "bench"))
    from _timing import case_parser, chosen_cases, format_table, machine, pin_malloc

    ap = case_parser(__doc__.splitlines()[0], "paired rounds per case")
    args = ap.parse_args(argv)
    names = chosen_cases(ap, args.cases, ("mlp", "cnn"))
    if os.environ.get("GRAPHLAB_TRACE_ACCEL") == "0":
        ap.error("GRAPHLAB_TRACE_ACCEL=0 records with the Python hooks; this times the C ones")
    rounds = args.rounds or (5 if args.quick else 100)
    target = 0.01 if args.quick else 0.02

    with tempfile.TemporaryDirectory(prefix="graphlab-hook-timing-") as scratch:
        fastrec = load_timed(build_timed(Path(scratch)))
    from trace_overhead import BENCH_CASES, hooks
    from train_step import make_steps

    from graphlab.trace import _accel

    if not _accel.enabled or not hasattr(fastrec, "hook_times"):
        sys.exit(f"the timed build was not taken up: recorder hooks {hooks()}")
    pinned = pin_malloc()
    print(
        f"bench/trace_hooks.py  {rounds} paired rounds of ~{target * 1e3:.0f} ms; python "
        f"{sys.version.split()[0]}; malloc thresholds {'pinned' if pinned else 'NOT pinned'}; "
        f"BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}; {machine()}"
    )
    rows = []
    for name in names:
        case = BENCH_CASES[name]
        step = make_steps(case, torch=None)["graphlab"]
        rows += report(f"{case.name} b{case.batch}", time_hooks(step, fastrec, rounds, target))
    print(format_table(("case", "", "calls/step", "us/step", "us/call"), rows, right={2, 3, 4}))


if __name__ == "__main__":
    main()
