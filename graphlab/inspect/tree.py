"""The module tree: one frozen record per module position, printable as an indented tree.

:func:`module_tree` walks a model once and returns a :class:`ModuleNode` holding only strings,
names and counts (no reference to the modules), so it can live in a Snapshot, be written to a file
and be shown by the workbench without the model.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass

from ..nn.parameter import is_lazy

__all__ = ["ModuleNode", "module_tree"]


@dataclass(frozen=True, slots=True)
class ModuleNode:
    """One module at one position of a model (frozen, plain data).

    Fields:

    - ``path``: the dotted path as in ``named_modules`` (``""`` for the root, ``"0.net.2"``).
    - ``name``: the last component of ``path`` (``""`` for the root).
    - ``class_name``: the name ``repr`` prints (a lazy module shows the class it stands for once
      initialized, e.g. ``Linear`` for an initialized ``LazyLinear``).
    - ``type_name``: the Python class's name (``LazyLinear`` stays ``LazyLinear``).
    - ``extra_repr``: the module's ``extra_repr()`` (the text inside its parentheses).
    - ``parameters`` / ``buffers``: the module's *own* parameter and buffer names (``"weight"``,
      ``"bias"``, ``"running_mean"``), not those of its children; prefix them with ``path``.
    - ``children``: the child nodes, in registration order. A module reached a second time (one
      layer used at two positions, as in example 10) appears there with ``alias_of`` set and no
      children of its own: its subtree is the one at ``alias_of``.
    - ``num_parameters``: elements of every parameter in the subtree, each distinct parameter
      counted once (tied parameters are one parameter); uninitialized lazy ones count 0.
    - ``own_num_parameters``: the same for the module's own parameters only.
    - ``lazy``: whether the module still holds uninitialized (lazy) parameters or buffers.
    - ``devices``: the devices of the module's own parameters and buffers, sorted (``()`` when it
      has none).
    - ``training``: the module's training flag.
    - ``alias_of``: for a module already seen at an earlier position, that position's path.
    """

    path: str
    name: str
    class_name: str
    type_name: str
    extra_repr: str
    parameters: tuple[str, ...]
    buffers: tuple[str, ...]
    children: tuple[ModuleNode, ...]
    num_parameters: int
    own_num_parameters: int
    lazy: bool
    devices: tuple[str, ...]
    training: bool
    alias_of: str | None = None

    def walk(self) -> Iterator[ModuleNode]:
        """This node and every node below it, depth first, in registration order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, path: str) -> ModuleNode:
        """The node at dotted ``path`` (``""`` is this node); KeyError listing close paths."""
        for node in self.walk():
            if node.path == path:
                return node
        paths = [n.path for n in self.walk()]
        close = difflib.get_close_matches(path, paths, n=5)
        hint = f"; close paths: {close}" if close else f"; paths: {paths[:20]}"
        raise KeyError(f"module_tree: no module at path {path!r}{hint}")

    @property
    def label(self) -> str:
        """``Class(extra_repr)``, as the first line of the module's ``repr``."""
        extra = self.extra_repr if "\n" not in self.extra_repr else "…"
        return f"{self.class_name}({extra})" if extra else self.class_name

    def format(self, max_depth: int | None = None) -> str:
        """The tree as indented text, one line per node (``max_depth`` limits the depth)."""
        lines: list[str] = []
        self._format_into(lines, 0, max_depth)
        return "\n".join(lines)

    def _format_into(self, lines: list[str], depth: int, max_depth: int | None) -> None:
        head = f"({self.name}): " if depth else ""
        if self.alias_of is not None:
            lines.append(f"{'  ' * depth}{head}{self.label}  [same module as {self.alias_of!r}]")
            return
        notes = [f"{self.num_parameters:,} params"]
        if self.children and self.own_num_parameters:
            notes.append(f"{self.own_num_parameters:,} own")
        if self.lazy:
            notes.append("lazy: uninitialized")
        lines.append(f"{'  ' * depth}{head}{self.label}  [{', '.join(notes)}]")
        if max_depth is not None and depth >= max_depth:
            if self.children:
                lines.append(f"{'  ' * (depth + 1)}… {len(self.children)} children")
            return
        for child in self.children:
            child._format_into(lines, depth + 1, max_depth)

    def __str__(self) -> str:
        return self.format()


def module_tree(model) -> ModuleNode:
    """The module tree of ``model`` (an ``nn.Module``) or of a :class:`Snapshot`.

    >>> print(graphlab.inspect.module_tree(nn.Sequential(nn.Linear(2, 3), nn.ReLU())))
    Sequential  [9 params]
      (0): Linear(in_features=2, out_features=3, bias=True)  [9 params]
      (1): ReLU  [0 params]
    """
    from .snapshot import Snapshot

    if isinstance(model, Snapshot):
        return model.module_tree
    _check_module(model, "module_tree")
    return _node(model, "", "", {})


def _check_module(model, fn: str) -> None:
    from ..nn.modules.module import Module

    if not isinstance(model, Module):
        raise TypeError(
            f"graphlab.inspect.{fn}: expected an nn.Module or a Snapshot, got "
            f"{type(model).__name__}; pass the model itself (e.g. {fn}(net))"
        )


def _count(tensors) -> int:
    """Elements of the distinct, initialized tensors in ``tensors``."""
    seen: set[int] = set()
    total = 0
    for t in tensors:
        if t is None or id(t) in seen:
            continue
        seen.add(id(t))
        if not is_lazy(t):
            total += t.numel()
    return total


def _node(module, path: str, name: str, seen: dict[int, str]) -> ModuleNode:
    own_params = [(k, p) for k, p in module._parameters.items() if p is not None]
    own_bufs = [(k, b) for k, b in module._buffers.items() if b is not None]
    common = dict(
        path=path,
        name=name,
        class_name=module._get_name(),
        type_name=type(module).__name__,
        extra_repr=_extra_repr(module),
        parameters=tuple(k for k, _ in own_params),
        buffers=tuple(k for k, _ in own_bufs),
        own_num_parameters=_count(p for _, p in own_params),
        lazy=any(is_lazy(t) for _, t in own_params + own_bufs),
        devices=tuple(sorted({str(t.device) for _, t in own_params + own_bufs})),
        training=bool(module.training),
    )
    if id(module) in seen:
        return ModuleNode(
            children=(),
            num_parameters=_count(module.parameters()),
            alias_of=seen[id(module)],
            **common,
        )
    seen[id(module)] = path
    children = tuple(
        _node(child, f"{path}.{key}" if path else key, key, seen)
        for key, child in module._modules.items()
        if child is not None
    )
    return ModuleNode(children=children, num_parameters=_count(module.parameters()), **common)


def _extra_repr(module) -> str:
    try:
        return str(module.extra_repr())
    except Exception as exc:  # noqa: BLE001 - a broken extra_repr must not break inspection
        return f"<extra_repr raised {type(exc).__name__}: {exc}>"
