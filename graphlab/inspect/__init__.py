"""``graphlab.inspect``: what a model holds — module tree, parameters, tied names, snapshots.

- :func:`tied_parameters` — groups of names that reach one parameter (or buffer);
- :func:`module_tree` — a frozen :class:`ModuleNode` tree, printable as indented text;
- :func:`parameter_table` / :func:`format_parameter_table` — one :class:`ParameterRow` per
  parameter name (shape, dtype, device, statistics, gradient statistics, tie group, lazy state);
- :func:`session` / :func:`record_session` — a :class:`Session`: every model a program ran,
  each as a Snapshot with the passes it started (what the workbench opens);
- :func:`summary` / :func:`format_summary` — the model summary table (``graphlab summary``);
- :func:`show` — open the workbench on live objects (returns when it is closed);
- :func:`snapshot` — a :class:`Snapshot`: the model's state as pure host data (NumPy arrays,
  frozen records, no live tensors), which the exporters write and the workbench shows.

Each function accepts a live ``nn.Module`` or a :class:`Snapshot` and answers the same way.
"""

from __future__ import annotations

from .format import format_parameter_table
from .hostdata import OptimizerState
from .session import Session, SessionRecorder, record_session, session
from .show import show
from .snapshot import Snapshot, snapshot
from .summary import SummaryRow, format_summary, summary
from .tables import (
    ParameterRow,
    Stats,
    TensorInfo,
    array_stats,
    parameter_table,
    tied_parameters,
)
from .tree import ModuleNode, module_tree

__all__ = [
    "ModuleNode",
    "OptimizerState",
    "ParameterRow",
    "Session",
    "SessionRecorder",
    "Snapshot",
    "SummaryRow",
    "Stats",
    "TensorInfo",
    "array_stats",
    "format_parameter_table",
    "format_summary",
    "module_tree",
    "parameter_table",
    "record_session",
    "session",
    "show",
    "snapshot",
    "summary",
    "tied_parameters",
]
