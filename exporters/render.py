"""Rendering DOT source with Graphviz's ``dot`` program, kept apart from building the source.

Building DOT text (:mod:`exporters.dot`) needs nothing but Python; only :func:`render` runs the
``dot`` subprocess, and it says which Debian package to install when the program is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["FORMATS", "DotNotFoundError", "find_dot", "render"]

FORMATS = ("svg", "png", "pdf")
"""The output formats :func:`render` accepts."""


class DotNotFoundError(RuntimeError):
    """The Graphviz ``dot`` program is not on ``PATH``."""


def find_dot() -> str:
    """The path of the ``dot`` program; raises :class:`DotNotFoundError` naming the package."""
    exe = shutil.which("dot")
    if exe is None:
        raise DotNotFoundError(
            "render: the Graphviz 'dot' program was not found on PATH; install it "
            "(Debian/Ubuntu: `sudo apt-get install graphviz`, the Debian package 'graphviz'), "
            "or write the DOT source with format='dot' and render it elsewhere"
        )
    return exe


def render(
    dot_source: str,
    path: str | os.PathLike,
    format: str = "svg",  # noqa: A002
    timeout: float = 120.0,
) -> Path:
    """Render ``dot_source`` to ``path`` as ``format`` (``"svg"``, ``"png"`` or ``"pdf"``).

    Returns the written path. Raises :class:`DotNotFoundError` when ``dot`` is missing and
    RuntimeError with Graphviz's message when it rejects the source.
    """
    if not isinstance(dot_source, str):
        dot_source = getattr(dot_source, "source", None)
        if not isinstance(dot_source, str):
            raise TypeError(
                "render: dot_source must be DOT text (a str) or an object with a .source string"
            )
    if format not in FORMATS:
        raise ValueError(
            f"render: format must be one of {', '.join(map(repr, FORMATS))}, got {format!r}"
        )
    exe = find_dot()
    out = Path(path)
    # NOTE: dot writes the file itself (-o), so a failed run never leaves half a file from us.
    proc = subprocess.run(
        [exe, f"-T{format}", "-o", str(out)],
        input=dot_source.encode("utf-8"),
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"render: dot -T{format} failed (exit {proc.returncode}): {msg}")
    return out
