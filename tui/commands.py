"""What each ``graphlab`` subcommand does (the parser lives in :mod:`tui.cli`).

Every command takes its parsed ``args`` and returns an exit code: 0 done, 1 the user's script
raised (its traceback is printed), 2 a usage error (raised as :class:`tui.scripts.UsageError`).
Inputs are a script (``.py``, run and recorded) or a saved session (``.h5``, from
``graphlab record`` or ``exporters.session.save_session``; a plain ``exporters.hdf5`` dump opens
as a session of one model).
"""

from __future__ import annotations

import sys
from pathlib import Path

from .scripts import ScriptError, UsageError, check_path, record_script

__all__ = ["demo", "export", "record", "summary", "tui"]


def _demo_builder():
    samples = Path(__file__).resolve().parent.parent / "samples"
    if not (samples / "demo_session.py").is_file():
        raise UsageError(f"the demo script samples/demo_session.py is not in {samples.parent}")
    sys.path.insert(0, str(samples))
    import demo_session

    return demo_session


def _load_session(path: Path):
    from exporters.session import load_session

    try:
        return load_session(path)
    except (OSError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def _session_from(path: str, args, *, allow_error: bool = False):
    """The session of ``path`` (``.h5`` loaded, ``.py`` run); with the script's traceback."""
    p = check_path(path, (".py", ".h5", ".hdf5"), "input")
    if p.suffix == ".py":
        run = record_script(p, getattr(args, "script_args", None), keep=args.keep)
        if run.error is not None and not allow_error:
            print(run.error, file=sys.stderr, end="")
            raise ScriptError(p)
        return run.session, run.error
    return _load_session(p), None


def _pick_model(session, name: str | None):
    if not session.models:
        raise UsageError(f"{session.source or session.name}: the session holds no model")
    if name is None:
        return session.models[0]
    try:
        return session.model(name)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None


# ----- commands -------------------------------------------------------------------------------


def demo(args) -> int:
    """No arguments: the workbench on the built-in demo session (built in a worker)."""
    builder = _demo_builder()
    if args.no_tui:
        session = builder.build(steps=args.steps)
        print(session)
        return 0
    from .app import Workbench

    Workbench(
        loader=lambda: builder.build(steps=args.steps, log=lambda *a: None),
        title="graphlab workbench: demo",
    ).run()
    return 0


def tui(args) -> int:
    """``graphlab tui PATH``: open a session file, or run a script and open what it recorded."""
    from .app import Workbench

    p = check_path(args.path, (".py", ".h5", ".hdf5"), "input")
    if p.suffix == ".py":
        session, error = _session_from(args.path, args, allow_error=True)
        err = None if error is None else (f"{p.name} raised (showing what it recorded)", error)
        Workbench(session, error=err, title=f"graphlab workbench: {p.name}").run()
        return 1 if error else 0
    # NOTE: a file is loaded in the app's worker, so a bad file shows as an error screen.
    from exporters.session import load_session

    Workbench(
        loader=lambda: load_session(p, defer_traces=True), title=f"graphlab workbench: {p.name}"
    ).run()
    return 0


def record(args) -> int:
    """``graphlab record SCRIPT.py -o session.h5``: run, record, save the session."""
    from exporters.session import save_session

    script = check_path(args.script, (".py",), "script")
    run = record_script(script, args.script_args, keep=args.keep, level=args.level)
    out = Path(args.output) if args.output else script.with_suffix(".h5")
    if not run.session.models:
        if run.error:
            print(run.error, file=sys.stderr, end="")
        raise UsageError(f"{script} called no nn.Module: nothing to record (no file written)")
    save_session(run.session, out)
    passes = len(run.session.traces)
    names = ", ".join(m.name for m in run.session.models)
    print(f"graphlab: wrote {out} ({len(run.session.models)} model(s): {names}; {passes} passes)")
    if run.error:
        print(run.error, file=sys.stderr, end="")
        print(f"graphlab record: {script} raised; the session holds what it recorded before")
        return 1
    return 0


def summary(args) -> int:
    """``graphlab summary PATH``: the model summary table of each model, no UI."""
    from graphlab.inspect.summary import format_summary

    session, _ = _session_from(args.path, args)
    models = session.models if args.model is None else [_pick_model(session, args.model)]
    if not models:
        raise UsageError(f"{args.path}: the session holds no model")
    for i, snap in enumerate(models):
        if i:
            print()
        print(format_summary(snap))
    return 0


def export(args) -> int:
    """``graphlab export dot|svg|png|pdf|hdf5 PATH -o OUT``."""
    import graphlab as gl

    fmt = args.kind if args.kind != "dot" else (args.format or _suffix_format(args.output))
    if fmt in ("svg", "png", "pdf"):
        from exporters.render import DotNotFoundError, find_dot

        try:
            find_dot()
        except DotNotFoundError as exc:
            raise UsageError(str(exc)) from None
    if args.kind == "hdf5":
        return _export_hdf5(args)
    if args.depth is not None and args.depth < 0:
        raise UsageError(f"--depth must be >= 0, got {args.depth}")
    p = check_path(args.path, (".py", ".h5", ".hdf5"), "input")
    if p.suffix == ".py" and args.all:
        from .scripts import run_script

        with gl.record() as trace:
            run_script(p, args.script_args)
        name = p.stem
    else:
        session, _ = _session_from(args.path, args)
        if p.suffix == ".py" and not session.traces:
            raise UsageError(f"{p} recorded no pass (it called no module); use --all")
        snap = _pick_model(session, args.model) if args.model else None
        trace = _pick_pass(session, snap, args.pass_index, p)
        name = p.stem
    from exporters import dot

    graph = dot.trace_graph(
        trace, depth=args.depth, backward=args.backward, fold=not args.no_fold, name=name
    )
    out = Path(args.output)
    if fmt == "dot":
        graph.save(out)
    else:
        graph.render(out, format=fmt)
    print(f"graphlab: wrote {out} ({len(trace.events)} events)")
    return 0


def _suffix_format(output: str) -> str:
    suffix = Path(output).suffix[1:]
    return suffix if suffix in ("svg", "png", "pdf") else "dot"


def _pick_pass(session, snap, index: int | None, path: Path):
    traces = snap.traces if snap is not None else session.traces
    if not traces:
        raise UsageError(f"{path} holds no recorded pass to draw")
    if index is None:
        return traces[-1]
    if not -len(traces) <= index < len(traces):
        raise UsageError(f"--pass {index} is out of range: {path} holds {len(traces)} passes")
    return traces[index]


def _export_hdf5(args) -> int:
    from exporters import hdf5

    session, _ = _session_from(args.path, args)
    if not session.models:
        raise UsageError(
            f"{args.path} called no nn.Module; bind the model to a global variable and call it"
        )
    models = [_pick_model(session, args.model)] if args.model else list(session.models)
    out = Path(args.output)
    for snap in models:
        path = out if len(models) == 1 else out.with_name(f"{out.stem}.{snap.name}{out.suffix}")
        hdf5.save(snap, path, grads=not args.no_grads)
        print(f"graphlab: wrote {path} (model {snap.name!r})")
    return 0
