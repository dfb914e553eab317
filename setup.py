"""Build hook for the one C extension: the trace recorder's fast path (graphlab/trace/_fastrec.c).

Everything else is in pyproject.toml. ``optional=True``: where no C compiler is available the
install goes on without it, and the recorder uses its Python observers (same traces, slower).
The extension reads NumPy's array and dtype layouts from NumPy's headers (no call into NumPy's
C API, so it runs with any NumPy the project supports); without NumPy at build time it is
left out the same way.
"""

import sys

from setuptools import Extension, setup

try:
    import numpy
except ImportError:  # NOTE: pyproject.toml asks for it; a build without isolation may lack it
    numpy = None

# NOTE: -O3 lets GCC and Clang keep the statistics kernel's sixteen lanes in vector registers
flags = [] if sys.platform == "win32" else ["-O3", "-Wall"]

extensions = []
if numpy is not None:
    extensions.append(
        Extension(
            "graphlab.trace._fastrec",
            ["graphlab/trace/_fastrec.c"],
            include_dirs=[numpy.get_include()],
            extra_compile_args=flags,
            optional=True,
        )
    )
else:
    print("graphlab: NumPy is not importable at build time; building without the C recorder")

setup(ext_modules=extensions)
