"""graphlab's exporters: files and pictures of models and recorded passes.

- :mod:`exporters.dot` — Graphviz DOT graphs of traces (forward and backward) and module trees;
- :mod:`exporters.hdf5` — HDF5 dumps of one model (parameters, gradients, buffers, module tree,
  optimizer state, traces), readable by plain h5py;
- :mod:`exporters.session` — session files: every model of a ``graphlab.inspect.Session`` in one
  HDF5 file, each a dump in the layout of :mod:`exporters.hdf5`;
- :mod:`exporters.render` — runs Graphviz's ``dot`` program on DOT source (kept apart, so
  building graphs needs no external program);
- :mod:`exporters.quoting` — DOT string quoting, the one place user text is escaped.

Submodules are imported on use (``from exporters import dot``), so importing the package pulls
in no optional dependency.
"""
