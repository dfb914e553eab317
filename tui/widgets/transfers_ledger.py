"""The Transfers view's data: a ledger of copies and host syncs, and their totals as text.

Rows come from :class:`~graphlab.trace.events.TransferEvent` and
:class:`~graphlab.trace.events.SyncEvent` records; totals and advice from
:func:`graphlab.trace.analysis.transfer_report`. Call sites under the current directory are
shown relative to it, so the same session reads the same on every machine (and in snapshot tests).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rich.text import Text
from textual.content import Content

from graphlab.trace.analysis import TransferReport
from graphlab.trace.events import SyncEvent, TransferEvent

from ..fmt import bytes_, count, seconds
from .virtual_table import Column

__all__ = [
    "LEDGER_COLUMNS",
    "LedgerRow",
    "ledger_cells",
    "rate",
    "relative_site",
    "report_lines",
]

#: the ledger's columns (the pass column only when every pass of the model is shown)
LEDGER_COLUMNS = (
    Column("pass", 5, "right"),
    Column("id", 6, "right"),
    Column("kind", 5),
    Column("direction", 16),
    Column("bytes", 11, "right"),
    Column("time", 9, "right"),
    Column("bandwidth", 11, "right"),
    Column("memory", 8),
    Column("blocking", 8),
    Column("reason", 9),
    Column("module", 12),
    Column("call site", 44),
)

LedgerRow = tuple[int, TransferEvent | SyncEvent]
"""One ledger entry: (pass position, event)."""


def relative_site(call_site: str, cwd: str | os.PathLike | None = None) -> str:
    """``"/work/x/train.py:12"`` → ``"train.py:12"`` when the file is under ``cwd`` (default:
    the current directory); other call sites are left as they are."""
    if not call_site:
        return "?"
    path, sep, line = call_site.rpartition(":")
    if not sep or not line.isdigit():
        path, line = call_site, ""
    base = Path(cwd) if cwd is not None else Path.cwd()
    try:
        rel = Path(path).relative_to(base)
    except ValueError:
        return call_site
    return f"{rel.as_posix()}:{line}" if line else rel.as_posix()


def rate(bytes_per_second: float | None) -> str:
    """A bandwidth: ``"41.2 MB/s"``, ``"5.40 GB/s"``; ``"-"`` when unknown."""
    if not bytes_per_second:
        return "-"
    for unit, scale in (("GB/s", 1e9), ("MB/s", 1e6), ("KB/s", 1e3)):
        if bytes_per_second >= scale:
            return f"{bytes_per_second / scale:.2f} {unit}"
    return f"{bytes_per_second:.0f} B/s"


def ledger_cells(position: int, ev: TransferEvent | SyncEvent, with_pass: bool) -> list:
    """The cells of one ledger row (a copy or a host sync)."""
    if isinstance(ev, TransferEvent):
        cells = [
            str(ev.id),
            "copy",
            f"{ev.src} → {ev.dst}",
            count(ev.nbytes),
            seconds(ev.seconds),
            rate(ev.bandwidth),
            "pinned" if ev.pinned else "pageable",
            "async" if ev.non_blocking else "blocking",
            ev.reason,
        ]
    else:
        # NOTE: a sync always blocks: the host waits for the device to hand over the value.
        cells = [
            str(ev.id),
            Text("sync", style="bold"),
            f"{ev.device} → host",
            count(ev.nbytes),
            seconds(ev.seconds),
            "-",
            "-",
            "blocking",
            ev.reason,
        ]
    cells += [ev.scope or "(root)", relative_site(ev.call_site)]
    return ([str(position + 1)] if with_pass else []) + cells


def _relative_advice(line: str, sites: Sequence[str]) -> str:
    for site in sites:
        if site and site in line:
            line = line.replace(site, relative_site(site))
    return line


def report_lines(
    report: TransferReport, what: str, advice: Sequence[tuple[str, Sequence[int]]] | None = None
) -> Content:
    """The totals of ``report`` (by device pair, by call site) and its advice, as styled text.

    ``what`` names the scope ("pass 2", "all 4 passes"); ``advice`` replaces the report's own
    advice with ``(line, pass positions)`` pairs (advice is per pass, so over several passes
    each line says which passes it is about).
    """
    size = bytes_(report.nbytes)
    if report.nbytes >= 1024:
        size += f" ({count(report.nbytes)} B)"  # the exact figure beside the rounded one
    timing = seconds(report.seconds)
    head = f"{what}: {report.count} copies, {size}, {timing} · {report.syncs} host syncs"
    lines = [Content.styled(head, "bold")]
    if report.by_pair:
        lines.append(Content.styled("by device pair", "$primary"))
        for p in report.by_pair:
            bw = rate(p.bandwidth)
            lines.append(
                Content(
                    f"  {p.src} → {p.dst}: {p.count} copies, {count(p.nbytes)} B, "
                    f"{seconds(p.seconds)}, {bw}"
                )
            )
    if report.by_site:
        lines.append(Content.styled("by call site", "$primary"))
        for s in report.by_site:
            parts = []
            if s.transfers:
                parts.append(f"{s.transfers} copies, {count(s.nbytes)} B")
            if s.syncs:
                parts.append(f"{s.syncs} syncs ({', '.join(s.sync_reasons)})")
            lines.append(Content(f"  {relative_site(s.call_site)}: {'; '.join(parts)}"))
    sites = [s.call_site for s in report.by_site]
    if advice is None:
        advice = [(line, ()) for line in report.advice]
    if advice:
        lines.append(Content.styled("advice", "$warning bold"))
        for line, passes in advice:
            where = ""
            if passes:
                label = "pass" if len(passes) == 1 else "passes"
                where = f"{label} {', '.join(str(p + 1) for p in passes)}: "
            text = f"  ! {where}{_relative_advice(line, sites)}"
            lines.append(Content.styled(text, "$warning"))
    else:
        lines.append(Content.styled("no advice: nothing here looks wasteful", "$text-muted"))
    return Content("\n").join(lines)
