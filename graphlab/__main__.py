"""``python -m graphlab`` / ``graphlab``: the command line, which lives with the workbench.

See :mod:`tui.cli` (``graphlab --help``). The import is deferred so that ``import graphlab`` never
imports the workbench (the dependency direction is tui → exporters → graphlab).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the ``graphlab`` command line; returns the exit code."""
    from tui.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
