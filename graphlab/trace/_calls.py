"""Scopes of shared modules: which of its paths each call of a module used at several places
took.

The module stack alone cannot tell the two uses of ``shared`` in ``Sequential(a, shared, b,
shared)`` apart: both calls see ``[Sequential, shared]``, and :func:`._scopes.scope_of` names
the module by its first path (``1``). A pass whose roots hold such a module (one reachable by
two paths, see :func:`._scopes.param_table`) follows module calls instead, through
``nn.modules.module.module_observers``: within one call of a parent, the k-th call of a child
takes the child's k-th path in the parent (``named_modules(remove_duplicate=False)`` order),
the last one for further calls (a layer a loop calls again keeps its one name). Models without
shared modules never pay for this: the observer is installed only while such a pass is open.

Each frame of ``Pass.calls`` is ``[module, scope, {id(child): calls so far}]``, the scope as in
:mod:`._scopes`: ``(path, class name, chain)``.
"""

from __future__ import annotations

from ._store import tls

__all__ = ["start", "stop", "scope"]

_tracking = 0  # open passes that follow module calls
_installed = False


def start(p) -> None:
    """Make pass ``p`` follow module calls (from the next module call on)."""
    global _tracking
    if p.calls is not None:
        return
    p.calls = []
    _tracking += 1
    _install(True)


def stop(p) -> None:
    """Pass ``p`` closed: it follows module calls no more."""
    global _tracking
    if p.calls is None:
        return
    p.calls = None
    _tracking -= 1
    if _tracking <= 0:
        _tracking = 0
        _install(False)


def scope(p, stack: list):
    """The scope of the innermost call on ``stack`` as followed by ``p``, or None when the
    frames do not match the stack (the pass began inside a module call)."""
    frames = p.calls
    if len(frames) == len(stack) and frames and frames[-1][0] is stack[-1]:
        return frames[-1][1]
    return None


def _install(on: bool) -> None:
    global _installed
    from ..nn.modules import module as module_mod

    if on and not _installed:
        module_mod.module_observers.append(_on_module)
        _installed = True
    elif not on and _installed:
        try:
            module_mod.module_observers.remove(_on_module)
        except ValueError:  # NOTE: someone cleared the list; nothing left to undo
            pass
        _installed = False


def _on_module(event: str, module) -> None:
    p = tls.current
    if p is None or p.calls is None:
        return
    frames = p.calls
    if event == "exit":
        if frames and frames[-1][0] is module:
            frames.pop()
        return
    stack = p.stack
    if len(stack) == 1:
        cls = type(module).__name__
        frames[:] = [[module, ("", cls, (("", cls),)), {}]]
        return
    if len(frames) != len(stack) - 1 or frames[-1][0] is not stack[-2]:
        return  # NOTE: out of step (the pass began inside a call): scopes come from the stack
    parent, (path, _, chain), counts = frames[-1]
    k = counts.get(id(module), 0)
    counts[id(module)] = k + 1
    if module is parent:
        name = None
    else:
        names = [n for n, m in parent.named_modules(remove_duplicate=False) if m is module and n]
        name = names[min(k, len(names) - 1)] if names else f"<{type(module).__name__}>"
    full = path if name is None else (f"{path}.{name}" if path else name)
    cls = type(module).__name__
    frames.append([module, (full, cls, chain if name is None else (*chain, (full, cls))), {}])
