"""Where in the model an event happened: module scopes, and the names of the parameters.

A scope is ``(path, class name, chain)``: the dotted path of the innermost module being called,
as in ``named_modules`` (``""`` outside any module), that module's class, and ``(path, class
name)`` of every module on the stack from the outermost in (so a trace knows the class of a
container that ran no op of its own). Parameters are named
after the top-level modules of the pass (its *roots*): the first name and every alias, in
``named_parameters(remove_duplicate=False)`` order.
"""

from __future__ import annotations

import weakref

__all__ = ["TOP", "scope_of", "param_table"]

TOP = ("", "", ())  # the scope of code outside any module: (path, class name, chain)
_wref = weakref.ref

# ids of the module stack -> (weakrefs of the stack, (path, class)); see scope_of
_scope_cache: dict = {}
_SCOPE_CACHE_MAX = 4096


def scope_of(stack: list) -> tuple:
    """``(path, class name, chain)`` of the innermost module on the (non-empty) module stack.

    The path resolves each step as ``nn.modules.module._module_path`` does: the callee's first
    name in the caller's ``named_modules()``, ``<Class>`` when the caller does not own it.
    Cached per stack of modules; a hit is checked against the live stack (ids are reused).
    """
    # NOTE: this runs once per recorded op; the one- and two-module stacks of most models take
    # the unrolled checks.
    n = len(stack)
    if n == 1:
        m = stack[0]
        key = id(m)
        e = _scope_cache.get(key)
        if e is not None and e[0][0]() is m:
            return e[1]
    elif n == 2:
        a, b = stack
        key = (id(a), id(b))
        e = _scope_cache.get(key)
        if e is not None and e[0][0]() is a and e[0][1]() is b:
            return e[1]
    else:
        key = tuple(map(id, stack))
        e = _scope_cache.get(key)
        if e is not None:
            for r, m in zip(e[0], stack):
                if r() is not m:
                    break
            else:
                return e[1]
    return _new_scope(stack, key)


def _new_scope(stack: list, key) -> tuple:
    """Resolve and cache the scope of ``stack`` (see :func:`scope_of`)."""
    parts: list[str] = []
    chain = [("", type(stack[0]).__name__)]
    for parent, child in zip(stack, stack[1:]):
        if child is parent:
            continue
        name = f"<{type(child).__name__}>"
        for k, m in parent.named_modules():
            if m is child and k:
                name = k
                break
        parts.append(name)
        chain.append((".".join(parts), type(child).__name__))
    entry = (".".join(parts), type(stack[-1]).__name__, tuple(chain))
    if len(_scope_cache) > _SCOPE_CACHE_MAX:
        _scope_cache.clear()  # NOTE: entries of dead modules pile up; rebuilt on demand
    _scope_cache[key] = (tuple(_wref(m) for m in stack), entry)
    return entry


def param_table(module) -> tuple[dict, bool]:
    """``{id(parameter): (weakref, first name, every name)}`` for the parameters of ``module``
    (read-only: it is shared by the passes of ``module`` while the module tree is unchanged),
    and whether a module of the tree is reachable by two paths (see :mod:`._calls`). A root that
    is no module (a ``graphlab.jit`` static graph traced from a function) names no parameters."""
    if not hasattr(module, "_modules"):
        return {}, False
    e = _tables.get(id(module))
    if e is None or not e.valid(module):
        e = _Table(module)
        if len(_tables) > _TABLES_MAX:
            _tables.clear()  # NOTE: entries of dead modules pile up; rebuilt on demand
        _tables[id(module)] = e
    return e.table, e.shared


_tables: dict = {}  # id(root module) -> _Table
_TABLES_MAX = 256


class _Table:
    """The parameter names of one root module, and a snapshot that tells whether they are
    still right: per module of the tree, a weak reference, and the keys and the ids of the
    values of its ``_parameters`` and ``_modules`` dicts.

    NOTE: the check runs once per pass. A module or parameter that died makes the check fail
    (its weakref gives None, or an id differs), so equal ids always mean the same live objects.
    """

    __slots__ = ("checks", "table", "shared", "stamp", "registries")

    def __init__(self, module):
        self.stamp = None
        self.registries = True  # every dict of the tree counts its writes (see _registry)
        checks: list = []
        groups: dict = {}
        todo = [("", module)]
        pop, push = todo.pop, todo.append
        while todo:
            prefix, m = pop()
            ps, ms = m._parameters, m._modules
            if type(ps) is not _registry().Registry or type(ms) is not _registry().Registry:
                self.registries = False  # NOTE: a module built without Module.__init__
            checks.append((_wref(m), tuple(ps), tuple(map(id, ps.values())), tuple(ms),
                           tuple(map(id, ms.values()))))  # fmt: skip
            for k, v in ps.items():
                if v is not None:
                    name = prefix + k
                    g = groups.get(id(v))
                    if g is None:
                        groups[id(v)] = [v, name, [name]]
                    else:
                        g[2].append(name)
            # NOTE: pushed in reverse so that children pop in registration order (pre-order)
            for k, c in reversed(ms.items()):
                if c is not None:
                    push((prefix + k + ".", c))
        self.checks = tuple(checks)
        # NOTE: the walk visits a module once per path, so a shared one is visited twice
        self.shared = len({id(c[0]()) for c in checks}) < len(checks)
        self.table = {
            key: (_wref(v), first, tuple(names)) for key, (v, first, names) in groups.items()
        }

    def valid(self, module) -> bool:
        """Whether the tree of ``module`` is still the one the names were made from.

        NOTE: no module's parameters or children changed anywhere since the last full check
        (``_registry.changes()`` did not move) says so at once, as a training loop's passes do.
        """
        changes = _registry().changes()
        if self.stamp == changes:
            return self.checks[0][0]() is module
        if not self._unchanged(module):
            return False
        if self.registries:
            self.stamp = changes
        return True

    def _unchanged(self, module) -> bool:
        for ref, pkeys, pids, mkeys, mids in self.checks:
            m = ref()
            if m is None:
                return False
            d = m._parameters
            if d or pkeys:
                if tuple(d) != pkeys or tuple(map(id, d.values())) != pids:
                    return False
            d = m._modules
            if d or mkeys:
                if tuple(d) != mkeys or tuple(map(id, d.values())) != mids:
                    return False
        return self.checks[0][0]() is module


_registry_module = None


def _registry():
    """``graphlab.nn.modules._registry``, imported on first use (nn imports the recorder)."""
    global _registry_module
    if _registry_module is None:
        from ..nn.modules import _registry as mod

        _registry_module = mod
    return _registry_module
