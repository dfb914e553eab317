"""The Tied view (work in progress: being written)."""

from __future__ import annotations

from .base import View


class TiedView(View):
    """Tied."""

    TITLE = "Tied"
    KEY = "4"
