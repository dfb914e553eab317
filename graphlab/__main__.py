"""``python -m graphlab`` / ``graphlab``: the command line.

- no arguments: run the built-in demo (the two-layer network of the course material, trained);
- ``export dot SCRIPT.py -o out.dot`` (``--format svg|png|pdf``, ``--depth N``, ``--backward``,
  ``--all``, ``--no-fold``): run a script and draw the pass it recorded;
- ``export hdf5 SCRIPT.py -o out.h5``: run a script and dump the model it built.

Exit codes: 0 done, 2 a usage error (missing or unreadable script, a missing exporter or
Graphviz program, nothing recorded), 1 the script itself raised.
"""

from __future__ import annotations

import argparse
import runpy
import sys
import traceback
from pathlib import Path


class _UsageError(Exception):
    """A mistake on the command line: printed as ``graphlab: ...`` with exit code 2."""


def _demo() -> int:
    demo = Path(__file__).resolve().parent.parent / "samples" / "two_layer_net.py"
    if not demo.exists():
        print(f"graphlab: demo script not found at {demo}", file=sys.stderr)
        return 2
    runpy.run_path(str(demo), run_name="__main__")
    return 0


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="graphlab",
        description="graphlab's command line. With no arguments: run the built-in demo "
        "(samples/two_layer_net.py).",
    )
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    exp = sub.add_parser(
        "export",
        help="run a script and export what it recorded (dot) or the model it built (hdf5)",
        description="Run a Python script and export its recorded pass or its model.",
    )
    kinds = exp.add_subparsers(dest="kind", metavar="KIND", required=True)
    d = kinds.add_parser(
        "dot",
        help="Graphviz graph of the script's last recorded pass",
        description="Run SCRIPT (as __main__) and write the Graphviz graph of the last pass it "
        "recorded (a top-level module call and the backward that followed), or with --all of "
        "everything it ran (recorded with graphlab.record()).",
    )
    d.add_argument("script", help="the Python script to run")
    d.add_argument("-o", "--output", required=True, help="the file to write")
    d.add_argument(
        "--format",
        choices=("dot", "svg", "png", "pdf"),
        default=None,
        help="output format (default: from the output's suffix, else dot); svg/png/pdf need "
        "Graphviz's dot program",
    )
    d.add_argument("--depth", type=int, default=None, help="collapse modules below depth N")
    d.add_argument("--backward", action="store_true", help="draw the gradient flow instead")
    d.add_argument(
        "--all", action="store_true", help="everything the script ran, not the last pass"
    )
    d.add_argument("--no-fold", action="store_true", help="do not fold repeated blocks into ×N")
    h = kinds.add_parser(
        "hdf5",
        help="HDF5 dump of the model(s) the script built",
        description="Run SCRIPT (as __main__) and save its model with exporters.hdf5.save. The "
        "models are the nn.Module instances bound to the script's global names that are not "
        "part of another such module; with several, each goes to OUTPUT with the global name "
        "inserted before the suffix (out.net.h5).",
    )
    h.add_argument("script", help="the Python script to run")
    h.add_argument("-o", "--output", required=True, help="the .h5 file to write")
    h.add_argument("--no-grads", action="store_true", help="leave gradients out")
    return ap


def _check_script(path: str) -> Path:
    script = Path(path)
    if not script.is_file():
        raise _UsageError(f"script {str(script)!r} not found (expected a Python file to run)")
    if script.suffix != ".py":
        raise _UsageError(f"script {str(script)!r} is not a .py file")
    return script


def _run_script(script: Path) -> dict:
    """Run ``script`` as ``__main__`` with its folder on sys.path; returns its globals."""
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [str(script)]
    sys.path.insert(0, str(script.resolve().parent))
    try:
        return runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise
        return {}
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path


def _export_dot(args) -> int:
    import graphlab as gl

    script = _check_script(args.script)
    out = Path(args.output)
    fmt = args.format or (out.suffix[1:] if out.suffix[1:] in ("svg", "png", "pdf") else "dot")
    if args.depth is not None and args.depth < 0:
        raise _UsageError(f"--depth must be >= 0, got {args.depth}")
    if fmt != "dot":
        from exporters.render import DotNotFoundError, find_dot

        try:
            find_dot()
        except DotNotFoundError as exc:
            raise _UsageError(str(exc)) from None
    if args.all:
        with gl.record() as trace:
            _run_script(script)
    else:
        # NOTE: the always-on recorder keeps one pass per top-level module call; raising `keep`
        # makes sure the script's last pass is still in the ring when it ends.
        old = gl.set_trace_options(keep=max(gl.set_trace_options()["keep"], 64), enabled=True)
        before = gl.last_trace()
        try:
            _run_script(script)
        finally:
            gl.set_trace_options(**old)
        trace = gl.last_trace()
        if trace is None or trace is before:
            raise _UsageError(
                f"{script} recorded no pass (it called no module); use --all to record every op"
            )
    from exporters import dot

    graph = dot.trace_graph(
        trace, depth=args.depth, backward=args.backward, fold=not args.no_fold, name=script.stem
    )
    if fmt == "dot":
        graph.save(out)
    else:
        graph.render(out, format=fmt)
    print(f"graphlab: wrote {out} ({len(trace.events)} events)")
    return 0


def _top_models(namespace: dict) -> list[tuple[str, object]]:
    """The nn.Module values of ``namespace`` that are not inside another one, by name."""
    from graphlab import nn

    mods = [(k, v) for k, v in namespace.items() if isinstance(v, nn.Module) and k[:1] != "_"]
    inner = set()
    for _, m in mods:
        for sub in m.modules():
            if sub is not m:
                inner.add(id(sub))
    out, seen = [], set()
    for k, m in mods:
        if id(m) not in inner and id(m) not in seen:
            seen.add(id(m))
            out.append((k, m))
    return out


def _export_hdf5(args) -> int:
    script = _check_script(args.script)
    try:
        from exporters import hdf5
    except ImportError as exc:
        raise _UsageError(
            f"exporters.hdf5 is not available ({exc}); HDF5 export needs it"
        ) from None
    namespace = _run_script(script)
    models = _top_models(namespace)
    if not models:
        raise _UsageError(
            f"{script} left no nn.Module in its global names; bind the model to a global "
            "variable (e.g. `net = ...` at module level) so the exporter can find it"
        )
    out = Path(args.output)
    for name, model in models:
        path = out if len(models) == 1 else out.with_name(f"{out.stem}.{name}{out.suffix}")
        hdf5.save(model, path, grads=not args.no_grads)
        print(f"graphlab: wrote {path} ({type(model).__name__} {name!r})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line (``argv`` defaults to ``sys.argv[1:]``); returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        return _demo()
    args = _parser().parse_args(argv)
    if args.command is None:
        return _demo()
    try:
        if args.kind == "dot":
            return _export_dot(args)
        return _export_hdf5(args)
    except _UsageError as exc:
        print(f"graphlab export {args.kind}: {exc}", file=sys.stderr)
        return 2
    except Exception:
        # NOTE: the user's script failed: show its traceback, not ours, and exit 1.
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
