"""The Transfers view (work in progress: being written)."""

from __future__ import annotations

from .base import View


class TransfersView(View):
    """Transfers."""

    TITLE = "Transfers"
    KEY = "6"
