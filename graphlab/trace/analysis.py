"""Queries over a recorded pass: per-module totals, transfers, live bytes, signatures, diffs.

Every function takes a ``Trace`` (anything with an ``.events`` sequence) or a plain sequence of
events (:mod:`graphlab.trace.events`), and reads only that data: no graphlab runtime state, no live
tensors. All run in linear time in the number of events, except :func:`diff` (quadratic at worst,
from :class:`difflib.SequenceMatcher`). Traces without backward, without timings (``seconds`` None)
or with every kind of event mixed are all fine.

``Trace`` binds these as methods (``trace.per_module()``, ``trace.diff(other)``, …).
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .events import (
    BackwardEvent,
    InitEvent,
    OpEvent,
    ParamGrad,
    SyncEvent,
    TransferEvent,
    ValueRef,
)

__all__ = [
    "Diff",
    "GradContributions",
    "ModuleTotals",
    "ModuleTable",
    "PairTotals",
    "SiteTotals",
    "TransferReport",
    "diff",
    "events_of",
    "format_per_module",
    "grad_contributions",
    "group_by_signature",
    "peak_live_bytes",
    "per_module",
    "require_name",
    "signature",
    "transfer_report",
    "transfers",
]

_EVENT_TYPES = (OpEvent, TransferEvent, SyncEvent, BackwardEvent, InitEvent)

# Advice thresholds of transfer_report (module constants so tests and users can see them).
SMALL_COPY_BYTES = 64 * 1024  # a copy this small is dominated by its fixed launch/latency cost
SMALL_COPIES_PER_SITE = 10  # more small copies than this from one call site: batch them
SYNCS_PER_SITE = 3  # more host syncs than this from one call site in one pass: a loop


# ---------------------------------------------------------------------------------------------
# Input handling and name errors


def events_of(trace: Any) -> tuple:
    """The events of ``trace``: a Trace (anything with ``.events``) or a sequence of events.

    Raises TypeError naming what was expected when ``trace`` is neither, or when an element is
    not one of the event records of :mod:`graphlab.trace.events`.
    """
    events = getattr(trace, "events", trace)
    if isinstance(events, (str, bytes)) or not isinstance(events, Iterable):
        raise TypeError(
            "expected a graphlab Trace (with .events) or a sequence of trace events, got "
            f"{type(trace).__name__}; pass graphlab.last_trace() or the Trace yielded by "
            "`with graphlab.record() as tr:`"
        )
    events = tuple(events)
    for i, ev in enumerate(events):
        if not isinstance(ev, _EVENT_TYPES):
            raise TypeError(
                f"trace event {i} is a {type(ev).__name__}; expected one of "
                "OpEvent, TransferEvent, SyncEvent, BackwardEvent, InitEvent "
                "(graphlab.trace.events)"
            )
    return events


def require_name(name: str, known: Iterable[str], what: str) -> None:
    """Raise KeyError if ``name`` is not in ``known``, listing close names (difflib).

    ``what`` names the kind of name for the message ("module scope", "parameter").
    """
    known = list(dict.fromkeys(known))
    if name in known:
        return
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
    if not close:
        # NOTE: short dotted scopes ("0.1") score low with difflib; fall back to prefixes.
        close = [k for k in known if k and (k.startswith(name) or name.startswith(k))][:5]
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    shown = ", ".join(repr(k) for k in known[:20]) + (", …" if len(known) > 20 else "")
    raise KeyError(f"unknown {what} {name!r}{hint} (the trace has: {shown or 'none'})")


def _ops(events: Sequence) -> list[OpEvent]:
    return [ev for ev in events if isinstance(ev, OpEvent)]


def _refs(values: Iterable) -> Iterator[ValueRef]:
    return (v for v in values if isinstance(v, ValueRef))


def _parents(scope: str) -> list[str]:
    """``"0.net.2"`` -> ``["", "0", "0.net", "0.net.2"]`` (the root scope is ``""``)."""
    if not scope:
        return [""]
    parts = scope.split(".")
    return [""] + [".".join(parts[: i + 1]) for i in range(len(parts))]


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3f} ms"
    return f"{s * 1e6:.1f} µs"


# ---------------------------------------------------------------------------------------------
# Per-module totals


@dataclass(frozen=True, slots=True)
class ModuleTotals:
    """Totals for one module scope, rolled up over its sub-modules (``self_*``: this scope only).

    ``seconds`` sums the known times of forward ops and backward nodes (``untimed`` counts the
    events whose time was not recorded). ``bytes`` is the sum of the ops' output sizes.
    ``params`` are the (first) names of the parameters the ops read, in order of first use.
    ``module_class`` comes from the trace's ``module_classes`` (every module on the recorder's
    stacks, containers included) or the events; "" where neither knows it.
    """

    scope: str
    module_class: str
    depth: int  # 0 for the root scope ""
    ops: int
    backward_ops: int
    seconds: float
    untimed: int
    bytes: int
    params: tuple[str, ...]
    self_ops: int
    self_seconds: float


class ModuleTable(Mapping):
    """Read-only mapping ``scope -> ModuleTotals``, parents before children; ``str()`` is a table.

    Looking up an unknown scope raises KeyError listing close scope names.
    """

    __slots__ = ("_rows",)

    def __init__(self, rows: dict[str, ModuleTotals]):
        self._rows = rows

    def __getitem__(self, scope: str) -> ModuleTotals:
        if scope not in self._rows:
            require_name(scope, self._rows, "module scope")
        return self._rows[scope]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"ModuleTable({len(self._rows)} scopes)"

    def __str__(self) -> str:
        header = ("scope", "class", "ops", "bwd", "time", "bytes out", "params")
        lines = [header]
        for t in self._rows.values():
            name = "  " * t.depth + (t.scope.rsplit(".", 1)[-1] if t.scope else "(root)")
            time = _fmt_seconds(t.seconds) if t.untimed < t.ops + t.backward_ops else "-"
            lines.append(
                (
                    name,
                    t.module_class,
                    str(t.ops),
                    str(t.backward_ops),
                    time,
                    _fmt_bytes(t.bytes),
                    str(len(t.params)),
                )
            )
        widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
        out = []
        for row in lines:
            cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
            cells += [c.rjust(w) for c, w in zip(row[2:], widths[2:])]
            out.append("  ".join(cells).rstrip())
        return "\n".join(out)


def per_module(trace: Any) -> ModuleTable:
    """Totals per module scope, each rolled up over its sub-modules, the root scope ``""`` first.

    For every scope that has events (and each of its parent scopes): forward ops, backward nodes,
    seconds (the sum of the known times; ``untimed`` counts events without one), bytes produced by
    the ops, and the parameters touched. Returns a :class:`ModuleTable` (a mapping keyed by the
    dotted scope, whose ``str()`` is the table :func:`format_per_module` prints). Transfers, syncs
    and init events are not counted.
    """
    events = events_of(trace)
    acc: dict[str, dict] = {}
    classes: dict[str, str] = dict(getattr(trace, "module_classes", {}))

    def row(scope: str) -> dict:
        r = acc.get(scope)
        if r is None:
            r = acc[scope] = {
                "ops": 0,
                "bwd": 0,
                "seconds": 0.0,
                "untimed": 0,
                "bytes": 0,
                "params": {},
                "self_ops": 0,
                "self_seconds": 0.0,
            }
        return r

    for ev in events:
        if isinstance(ev, InitEvent):
            classes.setdefault(ev.scope, ev.module_class)
            continue
        if not isinstance(ev, (OpEvent, BackwardEvent)):
            continue
        if isinstance(ev, OpEvent) and ev.scope_class:
            classes.setdefault(ev.scope, ev.scope_class)
        params = [r.param for r in _refs(ev.inputs) if r.param] if isinstance(ev, OpEvent) else []
        nbytes = sum(r.nbytes for r in ev.outputs) if isinstance(ev, OpEvent) else 0
        for scope in _parents(ev.scope):
            r = row(scope)
            if isinstance(ev, OpEvent):
                r["ops"] += 1
                r["bytes"] += nbytes
                for p in params:
                    r["params"].setdefault(p, None)
            else:
                r["bwd"] += 1
            if ev.seconds is None:
                r["untimed"] += 1
            else:
                r["seconds"] += ev.seconds
        own = acc[ev.scope]
        if isinstance(ev, OpEvent):
            own["self_ops"] += 1
            own["self_seconds"] += ev.seconds or 0.0

    # NOTE: order parents before children, siblings in order of first appearance (a pre-order
    # walk of the module tree as the pass saw it).
    children: dict[str, list[str]] = {}
    for scope in acc:
        if scope:
            parent = scope.rsplit(".", 1)[0] if "." in scope else ""
            children.setdefault(parent, []).append(scope)
    rows: dict[str, ModuleTotals] = {}
    stack = [""] if "" in acc else []
    while stack:
        scope = stack.pop()
        r = acc[scope]
        rows[scope] = ModuleTotals(
            scope=scope,
            module_class=classes.get(scope, ""),
            depth=0 if not scope else scope.count(".") + 1,
            ops=r["ops"],
            backward_ops=r["bwd"],
            seconds=r["seconds"],
            untimed=r["untimed"],
            bytes=r["bytes"],
            params=tuple(r["params"]),
            self_ops=r["self_ops"],
            self_seconds=r["self_seconds"],
        )
        stack.extend(reversed(children.get(scope, [])))
    return ModuleTable(rows)


def format_per_module(trace: Any) -> str:
    """The per-module totals as a printable table; ``trace`` may also be a :class:`ModuleTable`."""
    table = trace if isinstance(trace, ModuleTable) else per_module(trace)
    return str(table)


# ---------------------------------------------------------------------------------------------
# Transfers and syncs


def transfers(trace: Any) -> tuple[TransferEvent, ...]:
    """The :class:`TransferEvent` records of ``trace``, in execution order."""
    return tuple(ev for ev in events_of(trace) if isinstance(ev, TransferEvent))


@dataclass(frozen=True, slots=True)
class PairTotals:
    """Copies from ``src`` to ``dst``: count, bytes, seconds and achieved bandwidth (bytes/s).

    ``bandwidth`` is None when no time was recorded.
    """

    src: str
    dst: str
    count: int
    nbytes: int
    seconds: float
    bandwidth: float | None


@dataclass(frozen=True, slots=True)
class SiteTotals:
    """Copies and host syncs made from one call site ("file:line" of the user's code)."""

    call_site: str
    transfers: int
    nbytes: int
    seconds: float
    small: int  # copies under SMALL_COPY_BYTES
    pageable_h2d: int  # host-to-GPU copies from pageable (not pinned) memory
    syncs: int
    sync_reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TransferReport:
    """Totals by device pair and by call site, plus advice lines; ``str()`` prints all of it."""

    count: int
    nbytes: int
    seconds: float
    syncs: int
    by_pair: tuple[PairTotals, ...]
    by_site: tuple[SiteTotals, ...]
    advice: tuple[str, ...]

    def __str__(self) -> str:
        lines = [
            f"{self.count} transfers, {_fmt_bytes(self.nbytes)}, {_fmt_seconds(self.seconds)}; "
            f"{self.syncs} host syncs"
        ]
        if self.by_pair:
            lines.append("by device pair:")
            for p in self.by_pair:
                bw = f"{p.bandwidth / 1e9:.2f} GB/s" if p.bandwidth is not None else "-"
                lines.append(
                    f"  {p.src} -> {p.dst}: {p.count} copies, {_fmt_bytes(p.nbytes)}, "
                    f"{_fmt_seconds(p.seconds)}, {bw}"
                )
        if self.by_site:
            lines.append("by call site:")
            for s in self.by_site:
                what = []
                if s.transfers:
                    what.append(f"{s.transfers} copies, {_fmt_bytes(s.nbytes)}")
                if s.syncs:
                    what.append(f"{s.syncs} syncs ({', '.join(s.sync_reasons)})")
                lines.append(f"  {s.call_site or '?'}: {'; '.join(what)}")
        if self.advice:
            lines.append("advice:")
            lines.extend(f"  - {a}" for a in self.advice)
        return "\n".join(lines)


def _is_host(dev: str) -> bool:
    return dev.startswith("cpu")


def _is_gpu(dev: str) -> bool:
    return dev.startswith("cuda")


def transfer_report(trace: Any) -> TransferReport:
    """Totals of the copies and syncs in ``trace`` by device pair and call site, with advice.

    Advice is given for: more than ``SMALL_COPIES_PER_SITE`` copies under ``SMALL_COPY_BYTES``
    from one call site (batch them into one copy); host-to-GPU copies from pageable memory (use
    ``pin_memory()``); one call site syncing the host more than ``SYNCS_PER_SITE`` times in one pass
    (a sync inside a loop: accumulate on the device and read once). Syncs are reported on every
    device, the CPU included, where they cost nothing but show the pattern that stalls a GPU.
    """
    events = events_of(trace)
    pairs: dict[tuple[str, str], list] = {}
    sites: dict[str, dict] = {}
    total_n = total_b = total_syncs = 0
    total_s = 0.0

    def site(cs: str) -> dict:
        s = sites.get(cs)
        if s is None:
            s = sites[cs] = {"n": 0, "b": 0, "s": 0.0, "small": 0, "pageable": 0, "syncs": 0}
            s["reasons"] = {}
        return s

    for ev in events:
        if isinstance(ev, TransferEvent):
            secs = ev.seconds or 0.0
            total_n += 1
            total_b += ev.nbytes
            total_s += secs
            p = pairs.setdefault((ev.src, ev.dst), [0, 0, 0.0, False])
            p[0] += 1
            p[1] += ev.nbytes
            p[2] += secs
            p[3] = p[3] or ev.seconds is not None
            s = site(ev.call_site)
            s["n"] += 1
            s["b"] += ev.nbytes
            s["s"] += secs
            s["small"] += ev.nbytes < SMALL_COPY_BYTES
            s["pageable"] += _is_host(ev.src) and _is_gpu(ev.dst) and not ev.pinned
        elif isinstance(ev, SyncEvent):
            total_syncs += 1
            s = site(ev.call_site)
            s["syncs"] += 1
            s["reasons"].setdefault(ev.reason, None)

    by_pair = tuple(
        PairTotals(src, dst, n, b, secs, b / secs if timed and secs > 0 else None)
        for (src, dst), (n, b, secs, timed) in pairs.items()
    )
    by_site = tuple(
        SiteTotals(cs, s["n"], s["b"], s["s"], s["small"], s["pageable"], s["syncs"],
                   tuple(s["reasons"]))
        for cs, s in sites.items()
    )  # fmt: skip
    advice = []
    for s in by_site:
        where = s.call_site or "an unknown call site"
        if s.small > SMALL_COPIES_PER_SITE:
            advice.append(
                f"{where}: {s.small} copies under {_fmt_bytes(SMALL_COPY_BYTES)} each; batch them "
                "into one copy (stack or cat the tensors first, move once)"
            )
        if s.pageable_h2d:
            advice.append(
                f"{where}: {s.pageable_h2d} host-to-GPU copies from pageable memory; use "
                "pin_memory() on the host tensor (and non_blocking=True) for faster, async copies"
            )
        if s.syncs > SYNCS_PER_SITE:
            how = "/".join(s.sync_reasons)
            first = s.sync_reasons[0] if s.sync_reasons else ""
            # NOTE: bool() syncs come from a tensor in an `if`/`while`, not from a method call.
            what = f".{first}()" if first in ("item", "tolist", "numpy") else "a host sync"
            if first == "bool":
                what = "a tensor condition (`if`/`while` on a tensor)"
            advice.append(
                f"{where}: {s.syncs} host syncs ({how}) from one line in one pass; {what} "
                "inside a loop stalls the GPU; accumulate on the device and read once"
            )
    return TransferReport(total_n, total_b, total_s, total_syncs, by_pair, by_site, tuple(advice))


# ---------------------------------------------------------------------------------------------
# Live bytes


def peak_live_bytes(trace: Any, device: str | None = None) -> int:
    """The peak of live bytes over the forward ops of the pass, from value lifetimes.

    The model, over the sequence of op events (transfers, syncs, backward and init events are
    ignored):

    - a value (a :class:`ValueRef`, identified by its ``vid``) produced by an op is live from that
      op until the last op that uses it as an input; a value never used again is live only at the
      op that produced it (so the outputs of the last op are live at the end);
    - parameters and constants (``const``: inputs and tensors that need no gradient) are live for
      the whole pass;
    - any other value used without being produced by an op of the pass (a tensor made by a
      creation function, the snapshot an in-place op takes of its old values) is live from its
      first use to its last;
    - a value written in place keeps its ``vid``, so it is counted once, from its first to its last
      appearance;
    - every value counts its own ``nbytes``: views are not known to share memory, and memory that a
      backward pass would keep saved is not modelled, so this is the forward working set.

    ``device`` (e.g. ``"cuda:0"``) counts only values on that device. Returns 0 for a trace
    without op events.
    """
    ops = _ops(events_of(trace))
    n = len(ops)
    if n == 0:
        return 0
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    size: dict[int, int] = {}
    whole: set[int] = set()
    for i, ev in enumerate(ops):
        for r in _refs(ev.inputs):
            if device is not None and r.device != device:
                continue
            first.setdefault(r.vid, i)
            if r.param is not None or r.const:
                whole.add(r.vid)
            last[r.vid] = i
            size[r.vid] = r.nbytes
        for r in ev.outputs:
            if device is not None and r.device != device:
                continue
            first.setdefault(r.vid, i)
            last[r.vid] = i
            size[r.vid] = r.nbytes
    # NOTE: a sweep over a difference array keeps this linear in events + values.
    delta = [0] * (n + 1)
    for vid, start in first.items():
        if vid in whole:
            start, end = 0, n - 1
        else:
            end = last[vid]
        delta[start] += size[vid]
        delta[end + 1] -= size[vid]
    peak = live = 0
    for d in delta[:n]:
        live += d
        peak = max(peak, live)
    return peak


# ---------------------------------------------------------------------------------------------
# Signatures


def _canon(value: Any) -> str:
    """A structural, value-independent spelling of an attribute (arrays by shape and dtype)."""
    if isinstance(value, np.ndarray):
        return f"array{tuple(value.shape)}:{value.dtype}"
    if isinstance(value, (tuple, list)):
        inner = ",".join(_canon(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k!r}:{_canon(v)}" for k, v in sorted(value.items())) + "}"
    if value is None or isinstance(value, (bool, int, float, str, complex)):
        return repr(value)
    # NOTE: repr of arbitrary objects may embed id()s; the type name is stable.
    return type(value).__name__


def signature(trace: Any) -> str:
    """A stable hash (16 hex digits) of the structure of the forward graph of ``trace``.

    Hashed per op event, in order: the op name, scope and module class, the attributes (arrays by
    shape and dtype only), and each input and output as its shape, dtype, parameter name and the
    value id renumbered by first appearance (so the wiring counts, not the absolute ids). Timings,
    statistics, values, devices and the values of constant (non-tensor) inputs do not count, nor
    do transfer, sync, backward and init events: two passes of one model on same-shaped inputs
    share a signature unless data-dependent control flow ran different ops.
    """
    ops = _ops(events_of(trace))
    renum: dict[int, int] = {}
    h = hashlib.blake2b(digest_size=8)

    def ref(r: Any) -> str:
        if not isinstance(r, ValueRef):
            return f"c:{type(r).__name__}"
        k = renum.setdefault(r.vid, len(renum))
        return f"v{k}:{r.shape}:{r.dtype}:{r.param or ''}:{int(r.const)}:{int(r.requires_grad)}"

    for ev in ops:
        ins = ",".join(ref(r) for r in ev.inputs)
        outs = ",".join(ref(r) for r in ev.outputs)
        attrs = ",".join(f"{k}={_canon(v)}" for k, v in ev.attrs)
        h.update(f"{ev.op}|{ev.scope}|{ev.scope_class}|{attrs}|{ins}|{outs}\n".encode())
    return h.hexdigest()


def group_by_signature(traces: Iterable[Any]) -> dict[str, list[int]]:
    """Group passes by :func:`signature`: ``{signature: [indices into traces]}``.

    Signatures appear in order of first occurrence; ``len()`` of the result is the number of
    distinct graphs.
    """
    groups: dict[str, list[int]] = {}
    for i, tr in enumerate(traces):
        groups.setdefault(signature(tr), []).append(i)
    return groups


# ---------------------------------------------------------------------------------------------
# Diff


def _shapes(ev: OpEvent) -> tuple:
    ins = tuple((r.shape, r.dtype) if isinstance(r, ValueRef) else None for r in ev.inputs)
    return ins, tuple((r.shape, r.dtype) for r in ev.outputs)


def _describe(ev: OpEvent) -> str:
    ins = ", ".join(f"{list(r.shape)}" if isinstance(r, ValueRef) else repr(r) for r in ev.inputs)
    outs = ", ".join(f"{list(r.shape)} {r.dtype}" for r in ev.outputs)
    return f"#{ev.id} {ev.scope or '(root)'} {ev.op}({ins}) -> {outs}"


@dataclass(frozen=True, slots=True)
class Diff:
    """Two passes aligned by (scope, op) in order: what ``b`` added, removed, or changed in shape.

    ``added`` are op events of ``b`` absent from ``a``, ``removed`` op events of ``a`` absent
    from ``b``, ``changed`` pairs ``(a_event, b_event)`` aligned with each other whose input or
    output shapes or dtypes differ. ``str()`` is a unified-diff-like listing (``-`` removed,
    ``+`` added, ``~`` changed, two unchanged ops of context around each hunk).
    """

    added: tuple[OpEvent, ...]
    removed: tuple[OpEvent, ...]
    changed: tuple[tuple[OpEvent, OpEvent], ...]
    a_ops: tuple[OpEvent, ...]
    b_ops: tuple[OpEvent, ...]
    opcodes: tuple[tuple[str, int, int, int, int], ...]  # difflib-style, over a_ops and b_ops

    @property
    def identical(self) -> bool:
        """True when nothing was added, removed or changed."""
        return not (self.added or self.removed or self.changed)

    def __repr__(self) -> str:
        return (
            f"Diff(added={len(self.added)}, removed={len(self.removed)}, "
            f"changed={len(self.changed)})"
        )

    def __str__(self) -> str:
        a, b = self.a_ops, self.b_ops
        lines = [f"--- a ({len(a)} ops)", f"+++ b ({len(b)} ops)"]
        if self.identical:
            return "\n".join(lines + ["(no differences)"])
        changed = {id(x) for x, _ in self.changed}
        # NOTE: one row per aligned op (kind, a index, b index, lines); hunks keep the rows
        # within _CONTEXT of a difference, headed "@@ -a_start,a_count +b_start,b_count @@".
        rows: list[tuple[str, int, int, list[str]]] = []
        for tag, i1, i2, j1, j2 in self.opcodes:
            if tag == "equal":
                for k, (ea, eb) in enumerate(zip(a[i1:i2], b[j1:j2])):
                    if id(ea) in changed:
                        text = [f"~ {_describe(ea)}", f"~   now {_describe(eb)}"]
                        rows.append(("~", i1 + k, j1 + k, text))
                    else:
                        rows.append((" ", i1 + k, j1 + k, [f"  {_describe(eb)}"]))
                continue
            rows.extend(("-", i, j1, [f"- {_describe(a[i])}"]) for i in range(i1, i2))
            rows.extend(("+", i2, j, [f"+ {_describe(b[j])}"]) for j in range(j1, j2))
        keep = [False] * len(rows)
        for k, row in enumerate(rows):
            if row[0] != " ":
                for m in range(max(0, k - _CONTEXT), min(len(rows), k + _CONTEXT + 1)):
                    keep[m] = True
        k = 0
        while k < len(rows):
            if not keep[k]:
                k += 1
                continue
            end = k
            while end < len(rows) and keep[end]:
                end += 1
            hunk = rows[k:end]
            na = sum(r[0] != "+" for r in hunk)
            nb = sum(r[0] != "-" for r in hunk)
            lines.append(f"@@ -{hunk[0][1]},{na} +{hunk[0][2]},{nb} @@")
            for row in hunk:
                lines.extend(row[3])
            k = end
        lines.append(
            f"{len(self.added)} added, {len(self.removed)} removed, {len(self.changed)} changed"
        )
        return "\n".join(lines)


_CONTEXT = 2  # unchanged ops shown around each difference in Diff's listing


def _keys(ops: Sequence[OpEvent]) -> list[tuple[str, str]]:
    return [(e.scope, e.op) for e in ops]


def _align(ka: list, kb: list) -> list[tuple[str, int, int, int, int]]:
    """Opcodes aligning ``ka`` with ``kb``: common ends, then SequenceMatcher both ways.

    NOTE: the common prefix and suffix are matched first (as GNU diff does), so two passes that
    differ in a few places cost linear time, not SequenceMatcher's quadratic worst case on long
    runs of repeated ops. In the middle, with repeated blocks (loop iterations) the forward
    matcher ties towards the earliest match, which can split one extra iteration into pieces
    around a matched op; matching the reversed sequences keeps it whole in that case. The
    alignment with more matched ops, then fewer differing runs, wins (forward on a tie).
    """
    n, m = len(ka), len(kb)
    pre = 0
    while pre < n and pre < m and ka[pre] == kb[pre]:
        pre += 1
    suf = 0
    while suf < n - pre and suf < m - pre and ka[n - 1 - suf] == kb[m - 1 - suf]:
        suf += 1
    mid_a, mid_b = ka[pre : n - suf], kb[pre : m - suf]
    fwd = difflib.SequenceMatcher(None, mid_a, mid_b, autojunk=False).get_opcodes()
    rev = difflib.SequenceMatcher(None, mid_a[::-1], mid_b[::-1], autojunk=False).get_opcodes()
    na, nb = len(mid_a), len(mid_b)
    rev = [(tag, na - i2, na - i1, nb - j2, nb - j1) for tag, i1, i2, j1, j2 in reversed(rev)]

    def score(codes):
        matched = sum(i2 - i1 for tag, i1, i2, _, _ in codes if tag == "equal")
        return (matched, -sum(tag != "equal" for tag, *_ in codes))

    best = rev if score(rev) > score(fwd) else fwd
    codes = [("equal", 0, pre, 0, pre)] if pre else []
    for tag, i1, i2, j1, j2 in best:
        if i1 == i2 and j1 == j2:
            continue  # SequenceMatcher reports one empty "equal" for two empty sequences
        if tag == "equal" and codes and codes[-1][0] == "equal":
            codes[-1] = ("equal", codes[-1][1], pre + i2, codes[-1][3], pre + j2)
        else:
            codes.append((tag, pre + i1, pre + i2, pre + j1, pre + j2))
    if suf:
        if codes and codes[-1][0] == "equal":
            codes[-1] = ("equal", codes[-1][1], n, codes[-1][3], m)
        else:
            codes.append(("equal", n - suf, n, m - suf, m))
    return codes


def diff(a: Any, b: Any) -> Diff:
    """Align the op events of passes ``a`` and ``b`` by (scope, op) in order; list the changes.

    Uses :class:`difflib.SequenceMatcher` over the ``(scope, op)`` keys (without its junk
    heuristic; forwards and backwards, keeping the better alignment), so an extra loop iteration
    shows as its ops added (or removed) and an op that ran on other shapes as changed. Transfers,
    syncs, backward and init events are not compared.
    Returns a frozen :class:`Diff`; ``print(diff(a, b))`` gives a readable listing.
    """
    a_ops, b_ops = tuple(_ops(events_of(a))), tuple(_ops(events_of(b)))
    opcodes = _align(_keys(a_ops), _keys(b_ops))
    added, removed, changed = [], [], []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            for ea, eb in zip(a_ops[i1:i2], b_ops[j1:j2]):
                if _shapes(ea) != _shapes(eb):
                    changed.append((ea, eb))
        else:
            removed.extend(a_ops[i1:i2])
            added.extend(b_ops[j1:j2])
    return Diff(tuple(added), tuple(removed), tuple(changed), a_ops, b_ops, tuple(opcodes))


# ---------------------------------------------------------------------------------------------
# Gradient contributions


@dataclass(frozen=True, slots=True)
class GradContributions:
    """The gradient each use of one parameter contributed in backward, and their sum.

    ``contributions`` are in forward order (by the using op's event id). ``total`` is their sum,
    added in the order backward ran (the engine's order, so it equals ``.grad`` after one backward
    from zeroed grads, bit for bit); None when there were no contributions or the recorder kept no
    values.
    """

    name: str
    aliases: tuple[str, ...]
    contributions: tuple[ParamGrad, ...]
    total: np.ndarray | None

    def __repr__(self) -> str:
        norms = ", ".join(f"{c.norm:.4g}" for c in self.contributions)
        shape = None if self.total is None else tuple(self.total.shape)
        return (
            f"GradContributions({self.name!r}, uses={len(self.contributions)}, norms=[{norms}], "
            f"total shape={shape})"
        )


def grad_contributions(trace: Any, param_name: str) -> GradContributions:
    """The per-use gradients of parameter ``param_name`` (any of its aliases) and their sum.

    Raises KeyError listing close names when no parameter of the trace has that name, and
    ValueError when the trace has no backward pass (call ``.backward()`` inside the recording).
    """
    if not isinstance(param_name, str):
        raise TypeError(f"grad_contributions: expected a parameter name (str), got {param_name!r}")
    events = events_of(trace)
    known: dict[str, tuple[str, str, tuple[str, ...]]] = {}  # alias -> (first name, aliases)
    has_backward = False
    found: list[ParamGrad] = []
    for ev in events:
        if isinstance(ev, OpEvent):
            for r in _refs(ev.inputs):
                if r.param is not None:
                    for alias in (r.param, *r.aliases):
                        known.setdefault(alias, (r.param, r.aliases or (r.param,)))
        elif isinstance(ev, BackwardEvent):
            has_backward = True
            for pg in ev.param_grads:
                for alias in (pg.name, *pg.aliases):
                    known.setdefault(alias, (pg.name, pg.aliases or (pg.name,)))
                if param_name == pg.name or param_name in pg.aliases:
                    found.append(pg)
    if param_name not in known:
        require_name(param_name, known, "parameter")
    name, aliases = known[param_name]
    if not has_backward:
        raise ValueError(
            f"grad_contributions({param_name!r}): the trace has no backward pass; call "
            ".backward() inside the recording (or on the pass the flight recorder kept)"
        )
    total = None
    if found and all(pg.value is not None for pg in found):
        # NOTE: add in backward order, as the engine does, so the float sum matches .grad exactly.
        total = np.array(found[0].value, copy=True)
        for pg in found[1:]:
            total = total + pg.value
        total = total.astype(found[0].value.dtype, copy=False)
    ordered = tuple(sorted(found, key=lambda pg: pg.forward_id))
    return GradContributions(name, aliases, ordered, total)
