"""The workbench's eight views, one screen each, in tab order (number keys 1–8)."""

from __future__ import annotations

from .anomalies import AnomaliesView
from .base import View
from .gradients import GradientsView
from .graph import GraphView
from .modules import ModulesView
from .parameters import ParametersView
from .tied import TiedView
from .trace import TraceView
from .transfers import TransfersView

#: (tab id, view class) in tab order; the number key of each is its position + 1
VIEWS: tuple[tuple[str, type[View]], ...] = (
    ("modules", ModulesView),
    ("parameters", ParametersView),
    ("gradients", GradientsView),
    ("tied", TiedView),
    ("trace", TraceView),
    ("transfers", TransfersView),
    ("graph", GraphView),
    ("anomalies", AnomaliesView),
)

#: short tab labels where the title is long, so that the eight tabs fit in 80 columns
TAB_LABELS = {"parameters": "Params", "gradients": "Grads", "tied": "Tied", "anomalies": "NaN/Inf"}

__all__ = [
    "TAB_LABELS",
    "VIEWS",
    "AnomaliesView",
    "GradientsView",
    "GraphView",
    "ModulesView",
    "ParametersView",
    "TiedView",
    "TraceView",
    "TransfersView",
    "View",
]
