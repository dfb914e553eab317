"""The Trace view (work in progress: being written)."""

from __future__ import annotations

from .base import View


class TraceView(View):
    """Trace."""

    TITLE = "Trace"
    KEY = "5"
