"""The Graph view (work in progress: being written)."""

from __future__ import annotations

from .base import View


class GraphView(View):
    """Graph."""

    TITLE = "Graph"
    KEY = "7"
