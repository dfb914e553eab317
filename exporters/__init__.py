"""graphlab's exporters: files and pictures of models and recorded passes.

- :mod:`exporters.dot` — Graphviz DOT graphs of traces (forward and backward) and module trees;
- :mod:`exporters.render` — runs Graphviz's ``dot`` program on DOT source (kept apart, so
  building graphs needs no external program);
- :mod:`exporters.quoting` — DOT string quoting, the one place user text is escaped.

Submodules are imported on use (``from exporters import dot``), so importing the package pulls
in no optional dependency.
"""
