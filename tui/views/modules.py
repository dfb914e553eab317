"""The Modules view (work in progress: being written)."""

from __future__ import annotations

from .base import View


class ModulesView(View):
    """Modules."""

    TITLE = "Modules"
    KEY = "1"
