"""Build hook for the one C extension: the trace recorder's fast path (graphlab/trace/_fastrec.c).

Everything else is in pyproject.toml. ``optional=True``: where no C compiler is available the
install goes on without it, and the recorder uses its Python observers (same traces, slower).
"""

import sys

from setuptools import Extension, setup

# NOTE: -O3 lets GCC and Clang keep the statistics kernel's sixteen lanes in vector registers
flags = [] if sys.platform == "win32" else ["-O3", "-Wall"]

setup(
    ext_modules=[
        Extension(
            "graphlab.trace._fastrec",
            ["graphlab/trace/_fastrec.c"],
            extra_compile_args=flags,
            optional=True,
        )
    ]
)
