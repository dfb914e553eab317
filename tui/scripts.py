"""Running a user's script for the command line: checks, ``__main__`` semantics, recording.

A script is run with ``runpy`` as ``__main__`` with its folder on ``sys.path`` and its own
``sys.argv``, under :func:`graphlab.inspect.record_session`; the session names its models by the
script's global names where it can (``net``, ``head``) and keeps whatever was recorded when the
script raises, so the workbench can show it next to the traceback.
"""

from __future__ import annotations

import runpy
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ScriptError",
    "UsageError",
    "ScriptRun",
    "check_path",
    "record_script",
    "run_script",
    "top_models",
]


class UsageError(Exception):
    """A mistake on the command line: printed as ``graphlab ...: message`` with exit code 2."""


class ScriptError(Exception):
    """The user's script raised (its traceback already printed): exit code 1."""


def check_path(path: str, suffixes: tuple[str, ...], what: str) -> Path:
    """``path`` as a Path if it is a file with one of ``suffixes``, else a UsageError."""
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{what} {str(p)!r} not found (expected {' or '.join(suffixes)} file)")
    if p.suffix not in suffixes:
        kinds = " or ".join(suffixes)
        raise UsageError(f"{what} {str(p)!r} is not a {kinds} file")
    return p


def run_script(script: Path, argv: list[str] | None = None) -> dict:
    """Run ``script`` as ``__main__`` with its folder on sys.path; returns its globals.

    ``SystemExit(0)`` counts as success; any other exception propagates.
    """
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [str(script), *(argv or [])]
    sys.path.insert(0, str(script.resolve().parent))
    try:
        return runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise
        return {}
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path


def top_models(namespace: dict) -> list[tuple[str, object]]:
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


@dataclass
class ScriptRun:
    """What :func:`record_script` gives: the session, the script's globals, its traceback."""

    session: object  # graphlab.inspect.Session
    namespace: dict
    error: str | None  # the formatted traceback when the script raised


def record_script(
    script: Path, argv: list[str] | None = None, keep: int = 64, level: str | None = None
) -> ScriptRun:
    """Run ``script`` under :func:`graphlab.inspect.record_session` (see the module docstring)."""
    import graphlab as gl

    namespace: dict = {}
    error = None
    with gl.inspect.record_session(script.stem, keep=keep, level=level, source=str(script)) as rec:
        try:
            namespace = run_script(script, argv)
        except BaseException as exc:  # noqa: BLE001 - the user's script; reported, not ours
            if isinstance(exc, KeyboardInterrupt):
                raise
            error = "".join(traceback.format_exception(exc))
        rec.name_models(dict(top_models(namespace)))
    return ScriptRun(rec.session, namespace, error)
