"""The Anomalies view (work in progress: being written)."""

from __future__ import annotations

from .base import View


class AnomaliesView(View):
    """Anomalies."""

    TITLE = "Anomalies"
    KEY = "8"
