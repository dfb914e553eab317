"""The Gradients view (work in progress: being written)."""

from __future__ import annotations

from .base import View


class GradientsView(View):
    """Gradients."""

    TITLE = "Gradients"
    KEY = "3"
