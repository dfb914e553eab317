"""The readable listing of a trace (``str(trace)``): events in order, grouped by module scope.

One line per event, in the spirit of a printed jaxpr::

    Trace #3 Sequential: 8 events (4 op, 4 backward), level meta
    0 (Linear)
      #0  v3:f32[2,256] = Linear(v0:f32[2,20], 0.weight, 0.bias)        21.3 µs
    ...
    ── backward ──
    (top level)
      #4  ClassIndexLossBackward0 of #3  grad [] -> [2,10] |1.1|        8.0 µs

Values are ``v<vid>:<dtype>[<shape>]``; parameters show by name; constants as their value.
Printing only reads the plain event records.
"""

from __future__ import annotations

from .analysis import _fmt_bytes
from .events import BackwardEvent, InitEvent, OpEvent, Stats, SyncEvent, TransferEvent, ValueRef
from .memory import device_memory

_SHORT = {
    "float16": "f16",
    "float32": "f32",
    "float64": "f64",
    "int8": "i8",
    "int16": "i16",
    "int32": "i32",
    "int64": "i64",
    "uint8": "u8",
    "bool": "bool",
}


def format_trace(trace) -> str:
    """The listing of ``trace`` (a ``Trace``): a header, then events grouped by module scope."""
    events = trace.events
    counts: dict[str, int] = {}
    for ev in events:
        counts[ev.kind] = counts.get(ev.kind, 0) + 1
    index = trace.index
    head = f"Trace #{index}" if index is not None else "Trace"
    if trace.roots:
        head += " " + "+".join(trace.roots)
    parts = ", ".join(f"{n} {k}" for k, n in counts.items()) or "no events"
    head += f": {len(events)} events ({parts}), level {trace.level}"
    notes = []
    if trace.recording:
        notes.append("still recording")
    if trace.dropped:
        notes.append(f"{trace.dropped} events dropped past max_events")
    if trace.interrupted:
        notes.append("recording was switched off inside the pass")
    if notes:
        head += " [" + "; ".join(notes) + "]"
    lines = [head]
    for dev, m in device_memory(trace).items():
        lines.append(
            f"device memory {dev}: peak {_fmt_bytes(m.peak_bytes)} in use (after event "
            f"{m.peak_event})"
        )
    classes = {ev.scope: ev.scope_class for ev in events if isinstance(ev, OpEvent) and ev.scope}
    fwd = {ev.id: ev for ev in events if isinstance(ev, OpEvent)}
    current = None
    in_backward = False
    for ev in events:
        if isinstance(ev, BackwardEvent) and not in_backward:
            in_backward = True
            lines.append("── backward ──")
            current = None
        scope = ev.scope
        if scope:
            cls = classes.get(scope, "")
        elif isinstance(ev, OpEvent):
            cls = ev.scope_class  # NOTE: "" outside modules, the root's class inside its forward
        elif isinstance(ev, BackwardEvent) and ev.forward_id in fwd:
            cls = fwd[ev.forward_id].scope_class
        else:
            cls = ""
        if (scope, cls) != current:
            current = (scope, cls)
            lines.append(f"{scope} ({cls})" if scope and cls else scope or _top(cls))
        lines.extend("  " + ln for ln in format_event(ev, fwd))
    return "\n".join(lines)


def _top(cls: str) -> str:
    return f"(root: {cls})" if cls else "(outside modules)"


def format_event(ev, forward: dict | None = None) -> list[str]:
    """One event as one line (plus a statistics line at level "stats"); ``forward`` maps ids to
    OpEvents so a backward step can name its forward op."""
    if isinstance(ev, OpEvent):
        ins = ", ".join(_operand(v) for v in ev.inputs)
        outs = ", ".join(_value(v) for v in ev.outputs)
        attrs = ""
        if ev.attrs:
            attrs = " {" + ", ".join(f"{k}={_short(v)}" for k, v in ev.attrs) + "}"
        line = f"#{ev.id:<3} {outs} = {ev.op}({ins}){attrs}"
        out = [_with_time(line, ev.seconds)]
        if ev.stats:
            out.extend("      " + _stats(s) for s in ev.stats)
        return out
    if isinstance(ev, BackwardEvent):
        of = ""
        if ev.forward_id is not None:
            f = (forward or {}).get(ev.forward_id)
            of = f" of #{ev.forward_id}" + (f" {f.op}" if f is not None else "")
        grads = ", ".join(
            "-" if s is None else _shape(s) if n is None else f"{_shape(s)} |{n:.4g}|"
            for s, n in zip(ev.grad_input_shapes, ev.grad_input_norms)
        )
        line = f"#{ev.id:<3} {ev.op}{of}  grad {_shape(ev.grad_output_shape)} -> {grads}"
        out = [_with_time(line, ev.seconds)]
        for pg in ev.param_grads:
            alias = f" (= {', '.join(pg.aliases[1:])})" if len(pg.aliases) > 1 else ""
            out.append(f"      {pg.name}{alias} += |{pg.norm:.4g}| from #{pg.forward_id}")
        if ev.stats:
            out.extend("      " + _stats(s) for s in ev.stats if s is not None)
        return out
    if isinstance(ev, TransferEvent):
        mode = "pinned" if ev.pinned else "pageable"
        mode += ", non-blocking" if ev.non_blocking else ""
        bw = f" ({_fmt_bytes(ev.bandwidth)}/s)" if ev.bandwidth else ""
        line = (
            f"#{ev.id:<3} transfer {ev.src} -> {ev.dst} {_fmt_bytes(ev.nbytes)}{bw} {mode} "
            f"[{ev.reason}] at {ev.call_site}"
        )
        return [_with_time(line, ev.seconds)]
    if isinstance(ev, SyncEvent):
        nbytes = _fmt_bytes(ev.nbytes)
        line = f"#{ev.id:<3} sync {ev.reason} on {ev.device} {nbytes} at {ev.call_site}"
        return [_with_time(line, ev.seconds)]
    if isinstance(ev, InitEvent):
        shapes = ", ".join(f"{n} {_shape(s)}" for n, s in ev.shapes)
        ins = ", ".join(_shape(s) for s in ev.input_shapes)
        return [
            f"#{ev.id:<3} init {ev.module_class}: {shapes} from input {ins} by {ev.initializer}"
        ]
    return [f"#{getattr(ev, 'id', '?'):<3} {ev!r}"]


def _with_time(line: str, seconds: float | None) -> str:
    if seconds is None:
        return line
    return f"{line}  {_seconds(seconds)}"


def _shape(shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _value(v: ValueRef) -> str:
    return f"v{v.vid}:{_SHORT.get(v.dtype, v.dtype)}{_shape(v.shape)}"


def _operand(v) -> str:
    if isinstance(v, ValueRef):
        return v.param if v.param is not None else _value(v)
    return _short(v)


def _short(v, limit: int = 40) -> str:
    s = repr(v)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _stats(s: Stats) -> str:
    text = f"min {s.min:.4g}  max {s.max:.4g}  mean {s.mean:.4g}  std {s.std:.4g}"
    if s.nan or s.inf:
        text += f"  NaN {s.nan}  Inf {s.inf}  (of {s.count})"
    return text


def _seconds(s: float) -> str:
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} µs"
