"""The Modules view (key 1): the model's module tree, and the selected module's parameters and
the ops it ran in the selected pass.

The tree is lazy: a node's children become tree nodes only when it is expanded, so a model of
1,000 modules opens as fast as one of ten. Runs of identical siblings (same class, structure,
parameter shapes, devices — a stack of 12 transformer blocks) are folded into one node marked
×N, which expands to its members. A module reached twice (one layer used at two positions) is
marked with the path of its first position; ``g`` goes there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from graphlab.inspect.tree import ModuleNode

from ..fmt import bytes_, count, seconds, shape
from ..widgets.virtual_table import Column, VirtualTable
from .base import View

__all__ = ["Entry", "ModulesView", "TreeSummary"]

#: below this many columns the details go below the tree instead of beside it
NARROW = 120

PARAM_COLUMNS = (
    Column("parameter", 22),
    Column("shape", 11),
    Column("dtype", 7),
    Column("device", 6),
    Column("count", 9, "right"),
    Column("tied with", 14),
)
OP_COLUMNS = (
    Column("#", 6, "right"),
    Column("kind", 4),
    Column("op", 15),
    Column("scope", 14),
    Column("shapes", 26),
    Column("time", 8, "right"),
)


def _under(name: str, path: str) -> bool:
    """Whether dotted ``name`` is ``path`` or inside it (``""`` holds everything)."""
    return not path or name == path or name.startswith(path + ".")


@dataclass(frozen=True, slots=True)
class Entry:
    """What one tree node stands for: a module, or a folded run of identical ``members``."""

    node: ModuleNode
    members: tuple[ModuleNode, ...] = ()

    @property
    def paths(self) -> tuple[str, ...]:
        """The module paths covered (a shared module's are those of its first position)."""
        nodes = self.members or (self.node,)
        return tuple(n.alias_of if n.alias_of is not None else n.path for n in nodes)


class TreeSummary:
    """Per-snapshot facts the tree needs, computed in one walk of the (plain-data) module tree:
    each module's structure id (equal ids: identical blocks), the devices and lazy state of its
    whole subtree, and nodes by path."""

    def __init__(self, snapshot):
        self.snapshot = snapshot
        self.by_path: dict[str, ModuleNode] = {}
        self.structure: dict[str, int | None] = {}
        self.devices: dict[str, tuple[str, ...]] = {}
        self.lazy_inside: dict[str, bool] = {}
        self._ids: dict[tuple, int] = {}
        self._visit(snapshot.module_tree)

    def _tensor(self, path: str, name: str) -> tuple:
        info = self.snapshot.tensor_info.get(f"{path}.{name}" if path else name)
        return (name, None, None) if info is None else (name, info.shape, info.dtype)

    def _visit(self, node: ModuleNode) -> None:
        self.by_path.setdefault(node.path, node)
        for child in node.children:
            self._visit(child)
        kids = node.children
        devices = set(node.devices).union(*(self.devices[c.path] for c in kids))
        self.devices[node.path] = tuple(sorted(devices))
        self.lazy_inside[node.path] = node.lazy or any(self.lazy_inside[c.path] for c in kids)
        if node.alias_of is not None or any(self.structure[c.path] is None for c in kids):
            self.structure[node.path] = None  # NOTE: shared modules are never folded
            return
        key = (
            node.type_name, node.class_name, node.extra_repr,
            tuple(self._tensor(node.path, p) for p in node.parameters),
            tuple(self._tensor(node.path, b) for b in node.buffers),
            tuple((c.name, self.structure[c.path]) for c in kids),
            self.devices[node.path], node.lazy,
        )  # fmt: skip
        self.structure[node.path] = self._ids.setdefault(key, len(self._ids))

    def runs(self, children: Sequence[ModuleNode]) -> list[tuple[ModuleNode, ...]]:
        """``children`` in order, consecutive identical ones grouped (a group of 1: no fold)."""
        out: list[list[ModuleNode]] = []
        for child in children:
            sid = self.structure[child.path]
            if out and sid is not None and sid == self.structure[out[-1][0].path]:
                out[-1].append(child)
            else:
                out.append([child])
        return [tuple(r) for r in out]


class _EventIndex:
    """Positions of a pass's events by scope (built once per pass, when first needed)."""

    def __init__(self, trace):
        self.trace = trace
        self.events = trace.events
        self.by_scope: dict[str, list[int]] = {}
        for i, ev in enumerate(self.events):
            self.by_scope.setdefault(getattr(ev, "scope", ""), []).append(i)

    def positions(self, paths: Sequence[str]) -> Sequence[int]:
        """Positions of the events in any of ``paths`` or inside them, in execution order."""
        if "" in paths:
            return range(len(self.events))
        wanted = set(paths)
        lists = [v for s, v in self.by_scope.items() if s and _within(s, wanted)]
        return lists[0] if len(lists) == 1 else sorted(chain.from_iterable(lists))


def _within(scope: str, paths: set[str]) -> bool:
    """Whether ``scope`` or one of its parents is in ``paths`` (a set: one lookup per level)."""
    parts = scope.split(".")
    return any(".".join(parts[:k]) in paths for k in range(1, len(parts) + 1))


def _left_cut(text: str, width: int) -> str:
    # NOTE: deep scopes differ at their end; keep the end
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def _arg(v) -> str:
    return shape(v.shape) if hasattr(v, "shape") else repr(v)[:8]


def event_cells(ev) -> list[str]:
    """A trace event as the ops table's cells: id, kind, op, scope, shapes, time."""
    scope = _left_cut(getattr(ev, "scope", "") or "(top)", OP_COLUMNS[3].width)
    if ev.kind == "op":
        ins = ", ".join(_arg(v) for v in ev.inputs)
        what = f"{ins} → {', '.join(_arg(v) for v in ev.outputs)}"
        return [str(ev.id), "fwd", ev.op, scope, what, seconds(ev.seconds)]
    if ev.kind == "backward":
        grads = ", ".join("-" if s is None else shape(s) for s in ev.grad_input_shapes)
        what = f"∂{shape(ev.grad_output_shape)} → {grads}"
        return [str(ev.id), "bwd", ev.op, scope, what, seconds(ev.seconds)]
    if ev.kind == "init":
        what = ", ".join(f"{n} {shape(s)}" for n, s in ev.shapes)
        return [str(ev.id), "init", ev.initializer, scope, what, "-"]
    if ev.kind == "transfer":
        op = f"{ev.src}→{ev.dst}"
        return [str(ev.id), "copy", op, scope, bytes_(ev.nbytes), seconds(ev.seconds)]
    return [str(ev.id), ev.kind, ev.reason, scope, bytes_(ev.nbytes), seconds(ev.seconds)]


class _EventSource:
    def __init__(self, events: Sequence, positions: Sequence[int]):
        self.events, self.positions = events, positions

    def __len__(self) -> int:
        return len(self.positions)

    def row(self, i: int) -> list[str]:
        return event_cells(self.events[self.positions[i]])


class _ParamSource:
    def __init__(self, snapshot, names: list[str], base: str):
        self.snapshot, self.names, self.base = snapshot, names, base

    def __len__(self) -> int:
        return len(self.names)

    def row(self, i: int) -> list:
        name = self.names[i]
        info = self.snapshot.tensor_info[name]
        shown = name[len(self.base) + 1 :] if self.base else name
        tied = ", ".join(a for a in self.snapshot.aliases(name) if a != name)
        size = Text("lazy", style="italic") if info.lazy else shape(info.shape)
        return [shown, size, info.dtype, info.device, count(info.count), tied]


class ModulesView(View):
    """The module tree; the selected module's parameters and the ops it ran in the pass."""

    TITLE = "Modules"
    KEY = "1"
    NEEDS_EVENTS = False  # NOTE: its ops panel waits for the pass on its own
    DEFAULT_CSS = """
    ModulesView #modules-body { height: 1fr; }
    ModulesView #module-tree { width: 1fr; border-right: vkey $panel; }
    ModulesView #module-detail { width: 1fr; }
    ModulesView.-narrow #modules-body { layout: vertical; }
    ModulesView.-narrow #module-tree { height: 1fr; border-right: none; }
    ModulesView.-narrow #module-detail { height: 1fr; }
    ModulesView #module-info { height: auto; padding: 0 1; }
    ModulesView #module-params { height: 6; }
    ModulesView #module-ops { height: 1fr; }
    """
    BINDINGS = [
        Binding("g", "go_original", "Go to a shared module's first position"),
        Binding("n", "next_match", "Next search match"),
        Binding("c", "collapse_all", "Collapse the tree"),
    ]

    def __init__(self, *, id: str | None = None):  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.summary: TreeSummary | None = None
        self.current: Entry | None = None
        self._loaded: set = set()  # ids of tree nodes whose children were added
        self._index: _EventIndex | None = None
        self._matches: tuple[str, list[str], int] | None = None  # text, paths, position

    def compose(self) -> ComposeResult:
        yield Static("", id="modules-note", classes="view-note")
        with Horizontal(id="modules-body"):
            yield Tree("modules", id="module-tree")
            with Vertical(id="module-detail"):
                yield Static("", id="module-info", markup=False)
                yield VirtualTable(PARAM_COLUMNS, id="module-params")
                yield Static("", id="module-ops-note", classes="view-note")
                yield VirtualTable(OP_COLUMNS, id="module-ops")

    def on_resize(self) -> None:
        # NOTE: side by side needs ~120 columns; narrower, the details go below the tree
        self.set_class(self.size.width < NARROW, "-narrow")

    @property
    def tree(self) -> Tree:
        """The module tree widget."""
        return self.query_one("#module-tree", Tree)

    # ----- data -------------------------------------------------------------------------------
    def refresh_data(self) -> None:
        snap = self.snapshot
        if snap is None:
            self.summary = self.current = None
            self.tree.reset("no model")
            self._note("no model: the session holds none (nothing was called)")
            self._show(None)
            return
        if self.summary is None or self.summary.snapshot is not snap:
            self._build(snap)
        elif self.current is not None:
            self._show(self.current)  # NOTE: same model, another pass: only the ops change

    def _build(self, snap) -> None:
        self.summary = TreeSummary(snap)
        self._loaded.clear()
        self._matches = None
        modules = len(self.summary.by_path)
        self._note(
            f"{snap.name}: {count(modules)} modules, {count(snap.num_parameters)} parameters "
            "(tied counted once)"
        )
        tree = self.tree
        tree.reset(self._label(snap.module_tree, snap.name), Entry(snap.module_tree))
        self._populate(tree.root)
        tree.root.expand()
        tree.cursor_line = 0  # the root
        self._show(tree.root.data)

    def _note(self, text: str) -> None:
        self.query_one("#modules-note", Static).update(text)

    def _label(self, node: ModuleNode, name: str | None = None) -> Text:
        s = self.summary
        text = Text(name if name is not None else node.name or "(root)", style="bold")
        text.append(f" {node.class_name}")  # NOTE: the full repr is in the detail pane
        if node.alias_of is not None:
            text.append(f"  ↪ same module as {node.alias_of or '(root)'}", style="italic")
            return text
        counts = f"  {count(node.num_parameters)} params"
        if node.own_num_parameters and node.children:
            counts += f" (own {count(node.own_num_parameters)})"
        text.append(counts, style="dim")
        if s.devices[node.path]:
            text.append(f"  {', '.join(s.devices[node.path])}", style="dim")
        if node.lazy:
            text.append("  lazy", style="bold italic")
        elif s.lazy_inside[node.path]:
            text.append("  lazy inside", style="italic")
        return text

    def _fold_label(self, members: tuple[ModuleNode, ...]) -> Text:
        first = members[0]
        text = Text(f"{first.name}…{members[-1].name}", style="bold")
        text.append(f" {first.class_name} ×{len(members)}", style="bold")
        text.append(f"  {count(first.num_parameters)} params each", style="dim")
        devices = self.summary.devices[first.path]
        if devices:
            text.append(f"  {', '.join(devices)}", style="dim")
        return text

    def _populate(self, tnode: TreeNode) -> None:
        """Add ``tnode``'s children (once): the lazy half of the tree."""
        if tnode.id in self._loaded or tnode.data is None:
            return
        self._loaded.add(tnode.id)
        entry: Entry = tnode.data
        if entry.members:
            for m in entry.members:
                tnode.add(self._label(m), Entry(m), allow_expand=bool(m.children))
            return
        for run in self.summary.runs(entry.node.children):
            if len(run) > 1:
                tnode.add(self._fold_label(run), Entry(run[0], run))
            else:
                tnode.add(self._label(run[0]), Entry(run[0]), allow_expand=bool(run[0].children))

    @on(Tree.NodeExpanded, "#module-tree")
    def _expanded(self, event: Tree.NodeExpanded) -> None:
        self._populate(event.node)

    @on(Tree.NodeHighlighted, "#module-tree")
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        if event.node.data is not None:
            self._show(event.node.data)

    # ----- the detail panes -------------------------------------------------------------------
    def _show(self, entry: Entry | None) -> None:
        self.current = entry
        info = self.query_one("#module-info", Static)
        params = self.query_one("#module-params", VirtualTable)
        if entry is None:
            info.update("")
            params.set_source(_ParamSource(None, [], ""))
            self._show_ops(None)
            return
        info.update(self._info(entry))
        snap = self.snapshot
        base = entry.node.path if not entry.members else ""
        nodes = entry.members or (entry.node,)
        names = [
            n
            for n, i in snap.tensor_info.items()
            if i.kind == "parameter" and any(_under(n, m.path) for m in nodes)
        ]
        params.set_source(_ParamSource(snap, names, base))
        params.styles.height = max(2, min(len(names) + 1, 10))
        self._show_ops(entry)

    def _info(self, entry: Entry) -> str:
        node = entry.node
        if entry.members:
            return (
                f"{entry.members[0].path} … {entry.members[-1].path}: {len(entry.members)} "
                f"identical {node.class_name} modules\n(same class, structure and parameter "
                f"shapes) · {count(node.num_parameters)} parameters each"
            )
        lines = [f"{node.path or '(root)'}  {node.label}"]
        facts = [node.type_name, f"{count(node.num_parameters)} parameters"]
        if node.children:
            facts.append(f"own {count(node.own_num_parameters)}")
        if node.devices:
            facts.append("on " + ", ".join(node.devices))
        facts.append("training" if node.training else "eval")
        lines.append(" · ".join(facts))
        if node.lazy:
            lines.append("lazy: uninitialized parameters (shapes come from the first call)")
        if node.alias_of is not None:
            lines.append(
                f"same module as {node.alias_of or '(root)'}: one module at two positions; its "
                "ops are recorded there (g goes there)"
            )
        return "\n".join(lines)

    def _show_ops(self, entry: Entry | None) -> None:
        note = self.query_one("#module-ops-note", Static)
        ops = self.query_one("#module-ops", VirtualTable)
        trace = self.trace
        if entry is None or trace is None:
            ops.set_source(_EventSource((), ()))
            note.update("" if entry is None else "no recorded pass for this model: no ops to show")
            return
        ops.loading = not trace.decoded
        if not trace.decoded:
            ops.set_source(_EventSource((), ()))
            note.update(
                f"pass {(self.pass_position or 0) + 1}: decoding its {count(len(trace))} events…"
            )
            return
        if self._index is None or self._index.trace is not trace:
            self._index = _EventIndex(trace)
        positions = self._index.positions(entry.paths)
        ops.set_source(_EventSource(self._index.events, positions))
        where = "its subtree" if entry.node.children or entry.members else "it"
        note.update(
            f"pass {(self.pass_position or 0) + 1}: {count(len(positions))} of "
            f"{count(len(self._index.events))} events ran in {where}"
        )

    # ----- selection, search, keys ------------------------------------------------------------
    def _reveal(self, scope: str) -> TreeNode | None:
        """Add and expand the tree nodes down to module ``scope``; its node, or None."""
        parts = scope.split(".") if scope else []
        current = self.tree.root
        for k in range(1, len(parts) + 1):
            want = ".".join(parts[:k])
            self._populate(current)
            current.expand()
            found = None
            for child in current.children:
                entry: Entry = child.data
                if any(m.path == want for m in entry.members):
                    self._populate(child)
                    child.expand()
                    found = next(c for c in child.children if c.data.node.path == want)
                elif not entry.members and entry.node.path == want:
                    found = child
                if found is not None:
                    break
            if found is None:
                return None
            alias = found.data.node.alias_of
            if alias is not None and k < len(parts):
                # NOTE: inside a shared module's second position: show its first position
                rest = ".".join(parts[k:])
                return self._reveal(f"{alias}.{rest}" if alias else rest)
            current = found
        return current

    def select_module(self, scope: str) -> None:
        """Expand the tree down to module ``scope`` (a dotted path) and select it."""
        if self._dirty:
            self._refresh_data()
        if self.summary is None:
            return
        tnode = self._reveal(scope)
        if tnode is None:
            self.notify(f"{self.snapshot.name} has no module at {scope!r}", severity="warning")
            return
        tree = self.tree
        # NOTE: the tree lays out new nodes on its next refresh; the cursor needs their lines
        tree.call_after_refresh(tree.move_cursor, tnode)
        tree.focus()
        self._show(tnode.data)

    def search(self, text: str) -> str:
        """Select the first module whose path or class contains ``text`` (``n``: the next)."""
        if self.summary is None:
            return "no model to search"
        needle = text.lower()
        paths = [
            n.path
            for n in self.snapshot.module_tree.walk()
            if needle in n.path.lower()
            or needle in n.class_name.lower()
            or needle in n.type_name.lower()
        ]
        if not paths:
            self._matches = None
            return f"no module path or class matches {text!r}"
        self._matches = (text, paths, 0)
        self.select_module(paths[0])
        return self._match_line()

    def _match_line(self) -> str:
        text, paths, i = self._matches
        node = self.summary.by_path[paths[i]]
        where = f"{paths[i] or '(root)'} ({node.class_name})"
        more = ", n for the next" if len(paths) > 1 else ""
        return f"{len(paths)} modules match {text!r}: {i + 1}/{len(paths)} {where}{more}"

    def action_next_match(self) -> None:
        if self._matches is None:
            self.app.bell()
            return
        text, paths, i = self._matches
        self._matches = (text, paths, (i + 1) % len(paths))
        self.select_module(paths[self._matches[2]])
        self.notify(self._match_line(), title="search Modules")

    def action_go_original(self) -> None:
        node = self.current.node if self.current is not None else None
        if node is None or node.alias_of is None:
            self.notify("the selected module is not shared (it has one position)")
            return
        self.select_module(node.alias_of)

    def action_collapse_all(self) -> None:
        root = self.tree.root
        root.collapse_all()
        root.expand()
        self.tree.move_cursor(root)

    def selection_dot(self):
        """The pass graph of the ops the selected module ran (None without a pass or ops)."""
        if self.current is None or self.trace is None or not self.trace.decoded:
            return None
        from exporters import dot
        from graphlab.trace import Trace

        if self._index is None or self._index.trace is not self.trace:
            self._index = _EventIndex(self.trace)
        positions = self._index.positions(self.current.paths)
        if not positions:
            return None
        events = [self._index.events[i] for i in positions]
        trace = Trace(events, index=self.trace.index, level=self.trace.level)
        name = self.current.node.path or self.snapshot.name
        return dot.trace_graph(trace, name=name)
