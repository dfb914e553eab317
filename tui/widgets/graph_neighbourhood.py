"""The Graph view's data: who made an op's inputs, who read its outputs, and a text drawing.

:class:`OpIndex` indexes the op events of a pass by value id (:attr:`ValueRef.vid`) once;
:meth:`OpIndex.neighbourhood` then walks ``radius`` hops up (producers) and down (consumers) of one
op. :func:`draw` lays the result out as rows of boxes, one row per hop, producers above and
consumers below, with box-drawing connectors between adjacent rows; parameters and inputs
appear as leaves inside the box of the op that reads them.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from textual.content import Content

from graphlab.trace.events import OpEvent, ValueRef

from ..fmt import shape

__all__ = ["BOX_WIDTH", "MAX_PER_HOP", "Neighbourhood", "OpIndex", "draw"]

BOX_WIDTH = 32  # cells, borders included
MAX_PER_HOP = 8  # ops drawn per hop; the rest are counted
_GAP = 2
_MARGIN = 7  # the hop labels' column


class OpIndex:
    """The op events of one pass, with producers and readers of every value id.

    A value written in place keeps its id, so a value may have several writers: an op's input
    comes from the last writer *before* that op, and an op's output is read by the ops after it
    up to the next writer.
    """

    def __init__(self, events):
        self.ops: list[OpEvent] = [ev for ev in events if isinstance(ev, OpEvent)]
        self.position: dict[int, int] = {ev.id: k for k, ev in enumerate(self.ops)}
        self._writers: dict[int, list[int]] = {}
        self._readers: dict[int, list[int]] = {}
        for k, ev in enumerate(self.ops):
            for v in ev.inputs:
                if isinstance(v, ValueRef):
                    readers = self._readers.setdefault(v.vid, [])
                    if not readers or readers[-1] != k:
                        readers.append(k)
            for v in ev.outputs:
                self._writers.setdefault(v.vid, []).append(k)

    def __len__(self) -> int:
        return len(self.ops)

    def producer(self, k: int, v: ValueRef) -> int | None:
        """The op (position) that made input ``v`` of op ``k``; None for a leaf."""
        writers = self._writers.get(v.vid, ())
        i = bisect_left(writers, k) - 1
        return writers[i] if i >= 0 else None

    def producers(self, k: int) -> list[int]:
        """The ops that made op ``k``'s inputs, in order, each once."""
        out: dict[int, None] = {}
        for v in self.ops[k].inputs:
            if isinstance(v, ValueRef):
                p = self.producer(k, v)
                if p is not None:
                    out.setdefault(p, None)
        return list(out)

    def consumers(self, k: int) -> list[int]:
        """The ops that read op ``k``'s outputs (before anything overwrote them), in order."""
        out: set[int] = set()
        for v in self.ops[k].outputs:
            writers = self._writers.get(v.vid, ())
            nxt = bisect_right(writers, k)
            end = writers[nxt] if nxt < len(writers) else len(self.ops)
            readers = self._readers.get(v.vid, ())
            # NOTE: an in-place op reads the value it rewrites: the next writer reads ours too.
            lo, hi = bisect_right(readers, k), bisect_right(readers, end)
            out.update(readers[lo:hi])
        return sorted(out)

    def neighbourhood(self, k: int, radius: int) -> Neighbourhood:
        """Op ``k`` and the ops up to ``radius`` hops up and down from it."""
        if not 0 <= k < len(self.ops):
            raise IndexError(f"OpIndex: op position {k} out of range 0..{len(self.ops) - 1}")
        if isinstance(radius, bool) or not isinstance(radius, int) or radius < 1:
            raise ValueError(f"neighbourhood: radius must be an int >= 1, got {radius!r}")
        hops: dict[int, list[int]] = {0: [k]}
        seen = {k}
        more: dict[int, int] = {}
        for sign, step in ((-1, self.producers), (1, self.consumers)):
            frontier = [k]
            for hop in range(1, radius + 1):
                found: list[int] = []
                for op in frontier:
                    for nxt in step(op):
                        if nxt not in seen:
                            seen.add(nxt)
                            found.append(nxt)
                if not found:
                    break
                found.sort()
                hops[sign * hop] = found[:MAX_PER_HOP]
                if len(found) > MAX_PER_HOP:
                    more[sign * hop] = len(found) - MAX_PER_HOP
                frontier = found[:MAX_PER_HOP]
        return Neighbourhood(self, k, radius, dict(sorted(hops.items())), more)


@dataclass(frozen=True)
class Neighbourhood:
    """Op ``center`` (a position in ``index.ops``) and its ops by hop (negative: producers)."""

    index: OpIndex
    center: int
    radius: int
    hops: dict[int, list[int]]
    more: dict[int, int]  # hop -> ops found but not drawn (over MAX_PER_HOP)

    @property
    def events(self) -> list[OpEvent]:
        """The op events drawn, in execution order."""
        return [self.index.ops[k] for k in sorted(k for ks in self.hops.values() for k in ks)]

    @property
    def producers(self) -> int:
        """How many producer ops (all hops) are drawn."""
        return sum(len(ks) for h, ks in self.hops.items() if h < 0)

    @property
    def consumers(self) -> int:
        """How many consumer ops (all hops) are drawn."""
        return sum(len(ks) for h, ks in self.hops.items() if h > 0)


# ----- drawing --------------------------------------------------------------------------------
Piece = tuple[str, str]  # (text, style)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _input_line(index: OpIndex, k: int, v) -> Piece:
    if not isinstance(v, ValueRef):
        return (f"= {v!r}", "$text-muted")
    if v.param is not None:
        names = " = ".join(v.aliases or (v.param,))
        return (f"◇ {names} {shape(v.shape)}", "$warning")
    p = index.producer(k, v)
    if p is None:
        return (f"○ {'input' if v.const else 'tensor'} {shape(v.shape)}", "$text-muted")
    return (f"← #{index.ops[p].id} {shape(v.shape)}", "")


def _box(index: OpIndex, k: int, center: bool, down: bool) -> list[list[Piece]]:
    """One op as box lines (each a list of pieces, BOX_WIDTH cells wide)."""
    ev = index.ops[k]
    inner = BOX_WIDTH - 4
    h, v, tl, tr, bl, br = "═║╔╗╚╝" if center else "─│┌┐└┘"
    border = "bold $accent" if center else "$primary"
    title = _fit(f" #{ev.id} {ev.op} ", BOX_WIDTH - 4)
    lines: list[list[Piece]] = [
        [(tl + h, border), (title, "bold"), (h * (BOX_WIDTH - 3 - len(title)) + tr, border)]
    ]
    where = ev.scope or "(root)"
    body: list[Piece] = [
        (f"{where} · {ev.scope_class}" if ev.scope_class else where, "$text-muted")
    ]
    body += [_input_line(index, k, x) for x in ev.inputs]
    body += [(f"→ {shape(o.shape)} {o.dtype}", "$success") for o in ev.outputs]
    for text, style in body:
        cell = _fit(text, inner).ljust(inner)
        lines.append([(v + " ", border), (cell, style), (" " + v, border)])
    mid = (BOX_WIDTH - 2) // 2
    bottom = (
        h * mid + ("┬" if down and not center else ("╤" if down else h)) + h * (BOX_WIDTH - 3 - mid)
    )
    lines.append([(bl + bottom + br, border)])
    return lines


def _connector(ups: list[int], downs: list[int], width: int) -> list[str]:
    """Two lines joining the centres ``ups`` (the row above) to ``downs`` (the row below)."""
    points = sorted(set(ups) | set(downs))
    lo, hi = points[0], points[-1]
    bus = [" "] * width
    for x in range(lo, hi + 1):
        bus[x] = "─"
    for x in points:
        up, down = x in ups, x in downs
        if lo == hi:
            bus[x] = "│"
        elif x == lo:
            bus[x] = "├" if up and down else ("└" if up else "┌")
        elif x == hi:
            bus[x] = "┤" if up and down else ("┘" if up else "┐")
        else:
            bus[x] = "┼" if up and down else ("┴" if up else "┬")
    arrows = [" "] * width
    for x in downs:
        arrows[x] = "▼"
    return ["".join(bus).rstrip(), "".join(arrows).rstrip()]


def _hop_label(hop: int) -> str:
    if hop == 0:
        return "op"
    return f"up {-hop}" if hop < 0 else f"down {hop}"


def draw(hood: Neighbourhood) -> Content:
    """The neighbourhood as rows of boxes (producers above, consumers below), as styled text."""
    index = hood.index
    hops = list(hood.hops)
    out: list[Content] = []
    centres: dict[int, int] = {}  # op position -> x of its box's centre
    for hop in hops:
        for i, k in enumerate(hood.hops[hop]):
            centres[k] = _MARGIN + i * (BOX_WIDTH + _GAP) + (BOX_WIDTH - 2) // 2 + 1
    for r, hop in enumerate(hops):
        row = hood.hops[hop]
        below = hood.hops[hops[r + 1]] if r + 1 < len(hops) else []
        edges_down = {k for k in row if set(index.consumers(k)) & set(below)}
        boxes = [_box(index, k, k == hood.center, k in edges_down) for k in row]
        height = max(len(b) for b in boxes)
        for b in boxes:
            left, _, right = b[1]  # a body line: its side borders pad the shorter boxes
            while len(b) < height:
                b.insert(-1, [left, (" " * (BOX_WIDTH - 4), ""), right])
        for line in range(height):
            label = _hop_label(hop) if line == 0 else ""
            parts: list[Piece] = [(label.ljust(_MARGIN), "$text-muted")]
            for i, b in enumerate(boxes):
                if i:
                    parts.append((" " * _GAP, ""))
                parts.extend(b[line])
            if line == 0 and hop in hood.more:
                parts.append((f"  … +{hood.more[hop]} more", "$text-muted"))
            out.append(Content.assemble(*parts))
        if below:
            ups = [centres[k] for k in row if k in edges_down]
            downs = [centres[k] for k in below if set(index.producers(k)) & set(row)]
            if ups and downs:
                width = max(ups + downs) + 1
                out.extend(Content.styled(s, "$primary") for s in _connector(ups, downs, width))
            else:
                out.append(Content(""))
    return Content("\n").join(out)
