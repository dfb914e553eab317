"""``python -m graphlab`` / ``graphlab``: the command line (runs the demo until the workbench
exists)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run the built-in demo: the two-layer network of the course material, trained."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print("usage: graphlab            run the built-in demo (samples/two_layer_net.py)")
        return 0
    demo = Path(__file__).resolve().parent.parent / "samples" / "two_layer_net.py"
    if not demo.exists():
        print(f"graphlab: demo script not found at {demo}", file=sys.stderr)
        return 2
    runpy.run_path(str(demo), run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
