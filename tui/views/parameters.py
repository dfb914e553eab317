"""The Parameters view (work in progress: being written)."""

from __future__ import annotations

from .base import View


class ParametersView(View):
    """Parameters."""

    TITLE = "Parameters"
    KEY = "2"
