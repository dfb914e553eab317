"""Device memory of a pass: the peak, and what each op and backward step allocated.

On a CUDA device the recorder reads, after every op and backward step, how many bytes CuPy's
default memory pool has in use there (``OpEvent.device_bytes`` / ``BackwardEvent.device_bytes``;
host-side bookkeeping, so reading it never waits for the GPU). From those readings:

- the pass's **peak** is the most bytes in use after any event. Temporaries an op allocates and
  frees inside itself are not seen (the reading is taken after the op), so this is the peak at
  event boundaries — what stays allocated from one op to the next: activations saved for
  backward, gradients, the optimizer's state;
- an event's **allocation** is the change since the previous reading on that device: the bytes
  its outputs (or gradients) took, minus what was freed in between (tensors the Python code let
  go since the previous op). The first reading of the pass has no previous one, so its
  allocation is None.

Arrays taken from the pool and given back to it count as given back: ``used_bytes`` is what is
handed out, not what the pool holds from the driver (``cupy.get_default_memory_pool().
total_bytes()``). A program that replaced CuPy's allocator is not seen. On the CPU nothing is
recorded (``device_bytes`` is None); :func:`graphlab.trace.analysis.peak_live_bytes` models the
forward working set from value lifetimes on any device instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .analysis import _fmt_bytes, events_of
from .events import BackwardEvent, OpEvent

__all__ = ["DeviceMemory", "device_memory", "format_device_memory"]


@dataclass(frozen=True, slots=True)
class DeviceMemory:
    """The memory one device's pool had in use during a pass (see the module docstring).

    ``allocations`` holds ``(event id, bytes)`` for every reading after the first, in order:
    what the event added since the previous reading (negative when more was freed).
    """

    device: str
    peak_bytes: int
    peak_event: int  # the id of the event after which the peak was read
    first_bytes: int  # in use after the first event read on the device
    last_bytes: int  # in use after the last one
    readings: int  # events with a reading
    allocations: tuple[tuple[int, int], ...]

    def largest(self, n: int = 5) -> tuple[tuple[int, int], ...]:
        """The ``n`` events that added the most bytes, largest first."""
        return tuple(sorted(self.allocations, key=lambda a: -a[1])[:n])


def device_memory(trace: Any) -> dict[str, DeviceMemory]:
    """Per device (``"cuda:0"``…), the pool memory of the pass; empty when nothing was read
    (a pass on the CPU, or a trace from before graphlab recorded memory)."""
    events = events_of(trace)
    op_device = {}
    readings: dict[str, list[tuple[int, int]]] = {}
    last_device = None
    for ev in events:
        if isinstance(ev, OpEvent):
            dev = ev.outputs[0].device if ev.outputs else last_device
            op_device[ev.id] = dev
        elif isinstance(ev, BackwardEvent):
            dev = op_device.get(ev.forward_id, last_device)
        else:
            continue
        last_device = dev
        if ev.device_bytes is not None and dev is not None:
            readings.setdefault(dev, []).append((ev.id, ev.device_bytes))
    out = {}
    for dev, seq in readings.items():
        peak_event, peak = max(seq, key=lambda r: r[1])
        out[dev] = DeviceMemory(
            device=dev,
            peak_bytes=peak,
            peak_event=peak_event,
            first_bytes=seq[0][1],
            last_bytes=seq[-1][1],
            readings=len(seq),
            allocations=tuple((eid, b - prev) for (_, prev), (eid, b) in zip(seq, seq[1:])),
        )
    return out


def format_device_memory(trace: Any, top: int = 5) -> str:
    """A few lines per device: the peak and where, and the events that allocated the most."""
    memory = device_memory(trace)
    if not memory:
        return "no device memory recorded (a pass on the CPU, or recorded without a GPU pool)"
    by_id = {ev.id: ev for ev in events_of(trace)}
    lines = []
    for m in memory.values():
        lines.append(
            f"{m.device}: peak {_fmt_bytes(m.peak_bytes)} in use (after event {m.peak_event}), "
            f"{_fmt_bytes(m.first_bytes)} after the first event, {_fmt_bytes(m.last_bytes)} "
            f"after the last ({m.readings} readings)"
        )
        for eid, nbytes in m.largest(top):
            if nbytes <= 0:
                break
            ev = by_id.get(eid)
            what = f"{ev.op} in {ev.scope or '(top level)'}" if ev is not None else "?"
            lines.append(f"  +{_fmt_bytes(nbytes):>10}  event {eid:>5}  {what}")
    return "\n".join(lines)
