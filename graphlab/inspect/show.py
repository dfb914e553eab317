"""``graphlab.inspect.show``: open the workbench on live objects from Python."""

from __future__ import annotations

from .session import frozen, session
from .tree import _check_module

__all__ = ["show"]


def show(model, traces=None, optimizer=None, name: str | None = None) -> None:
    """Open the workbench (``tui``) on ``model`` and return when it is closed.

    ``model`` is an ``nn.Module`` or a list of them; ``traces`` a Trace or a list (default: the
    passes in the recorder's ring whose first root has the model's class name — the calls of
    this model, when no other model of that class ran since); ``optimizer`` one or a list. The
    workbench is given a Session of copies, so the model can change while it is open.
    """
    models = list(model) if isinstance(model, (list, tuple)) else [model]
    for m in models:
        _check_module(m, "show")
    if traces is None:
        from ..trace import traces as ring

        cls = models[0]._get_name()
        traces = [frozen(t) for t in ring() if t.roots[:1] == (cls,)]
    sess = session(models, traces=traces, optimizers=optimizer, name=name or "live")
    # NOTE: imported here: graphlab never imports the workbench at import time.
    from tui.app import Workbench

    Workbench(sess).run()
