"""``graphlab`` / ``python -m graphlab``: the command line.

- no arguments: the workbench on the built-in demo session (``samples/demo_session.py``);
- ``record SCRIPT.py [-o session.h5] [-- args]``: run a script, save its session;
- ``tui PATH``: open a saved session (``.h5``) or run a script (``.py``) and open what it recorded;
- ``summary PATH``: print each model's summary table (no UI);
- ``export dot|svg|png|pdf|hdf5 PATH -o OUT``: draw a recorded pass, or dump the models.

Exit codes: 0 done; 1 the user's script raised (its traceback is printed); 2 a usage error
(missing or wrong file, bad option, nothing recorded, a missing Graphviz program).
"""

from __future__ import annotations

import argparse
import sys
import traceback

from . import commands
from .scripts import ScriptError, UsageError

__all__ = ["main", "parser"]

_INPUT_HELP = "a script to run (.py) or a saved session (.h5)"


def _script_args(p: argparse.ArgumentParser) -> None:
    # NOTE: the arguments after ``--`` are cut off in main() before parsing; this only documents
    # them in --help.
    p.epilog = "Arguments after -- go to the script: graphlab ... SCRIPT.py -- --epochs 2"


def _keep(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--keep", type=int, default=64, help="passes kept while a script runs (default 64)"
    )


def parser() -> argparse.ArgumentParser:
    """The argument parser of the whole command line."""
    ap = argparse.ArgumentParser(
        prog="graphlab",
        description="graphlab's workbench and tools. With no command: open the workbench on the "
        "built-in demo session (a few training steps of four models of the course).",
    )
    ap.add_argument("--no-tui", action="store_true", help="demo: build and print, no workbench")
    ap.add_argument("--steps", type=int, default=3, help="demo: training steps per model")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser(
        "record",
        help="run a script and save its session (models, gradients, optimizer state, passes)",
        description="Run SCRIPT as __main__ and save every top-level model it called — "
        "parameters, gradients, buffers, optimizer state — and the passes they recorded, to an "
        "HDF5 session file (open it with `graphlab tui`). A script that raises still saves what "
        "it recorded and exits 1.",
    )
    r.add_argument("script", help="the Python script to run")
    r.add_argument("-o", "--output", help="the session file (default: SCRIPT with .h5)")
    r.add_argument(
        "--level",
        choices=("meta", "stats", "values"),
        default=None,
        help="recorder level while the script runs (default: unchanged, meta)",
    )
    _keep(r)
    _script_args(r)

    t = sub.add_parser(
        "tui",
        help="open the workbench on a session file or a script",
        description="Open the workbench on a saved session (.h5), or run a script (.py) and "
        "open what it recorded (a script that raises opens with its traceback).",
    )
    t.add_argument("path", help=_INPUT_HELP)
    _keep(t)
    _script_args(t)

    s = sub.add_parser(
        "summary",
        help="print a model summary table (layers, output shapes, parameters, memory)",
        description="Print each model's summary: layers, output shapes (from its last recorded "
        "pass), parameter counts with tied parameters counted once, memory.",
    )
    s.add_argument("path", help=_INPUT_HELP)
    s.add_argument("--model", help="only this model (a name from the session)")
    _keep(s)
    _script_args(s)

    e = sub.add_parser(
        "export",
        help="export a recorded pass (dot/svg/png/pdf) or the models (hdf5)",
        description="Export from a script (run and recorded) or a saved session.",
    )
    kinds = e.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind in ("dot", "svg", "png", "pdf"):
        d = kinds.add_parser(
            kind,
            help=f"Graphviz graph of a recorded pass as {kind.upper()}",
            description="Draw the last recorded pass (or --pass N of --model NAME) of PATH; "
            "with --all and a script, everything the script ran. svg/png/pdf need Graphviz's "
            "dot program (Debian package graphviz).",
        )
        d.add_argument("path", help=_INPUT_HELP)
        d.add_argument("-o", "--output", required=True, help="the file to write")
        if kind == "dot":
            d.add_argument(
                "--format",
                choices=("dot", "svg", "png", "pdf"),
                default=None,
                help="output format (default: from the output's suffix, else dot)",
            )
        d.add_argument("--model", help="the model whose pass to draw (default: any)")
        d.add_argument(
            "--pass",
            dest="pass_index",
            type=int,
            default=None,
            help="which pass (0 = first, -1 = last; default last)",
        )
        d.add_argument("--depth", type=int, default=None, help="collapse modules below depth N")
        d.add_argument("--backward", action="store_true", help="draw the gradient flow instead")
        d.add_argument(
            "--all", action="store_true", help="a script: everything it ran, not one pass"
        )
        d.add_argument("--no-fold", action="store_true", help="do not fold repeated blocks (×N)")
        _keep(d)
        _script_args(d)
    h = kinds.add_parser(
        "hdf5",
        help="HDF5 dump of each model",
        description="Dump each model of PATH with exporters.hdf5 (one file; with several "
        "models, the model's name goes before the suffix: out.net.h5).",
    )
    h.add_argument("path", help=_INPUT_HELP)
    h.add_argument("-o", "--output", required=True, help="the .h5 file to write")
    h.add_argument("--model", help="only this model")
    h.add_argument("--no-grads", action="store_true", help="leave gradients out")
    _keep(h)
    _script_args(h)
    return ap


_COMMANDS = {
    "record": commands.record,
    "tui": commands.tui,
    "summary": commands.summary,
    "export": commands.export,
}


def main(argv: list[str] | None = None) -> int:
    """Run the command line (``argv`` defaults to ``sys.argv[1:]``); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    script_args: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, script_args = argv[:cut], argv[cut + 1 :]
    args = parser().parse_args(argv)
    args.script_args = script_args
    name = args.command or "demo"
    label = "graphlab" if name == "demo" else f"graphlab {name}"
    if name == "export":
        label += f" {args.kind}"
    try:
        if getattr(args, "keep", 1) < 1:
            raise UsageError(f"--keep must be >= 1, got {args.keep}")
        return _COMMANDS.get(name, commands.demo)(args)
    except UsageError as exc:
        print(f"{label}: {exc}", file=sys.stderr)
        return 2
    except ScriptError:
        return 1
    except Exception:
        # NOTE: the user's script failed inside an export (``--all``): its traceback, exit 1.
        traceback.print_exc()
        return 1
