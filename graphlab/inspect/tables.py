"""Parameter inspection: tied groups, per-tensor metadata and statistics, and an aligned table.

Every function here takes either a live ``nn.Module`` or a :class:`~graphlab.inspect.Snapshot`
and gives the same answer for both, so the workbench and the exporters can work from a snapshot
alone. Statistics are computed on the host with NumPy: a tensor on another device (``cpu:N``,
``cuda:N``) is copied once through :func:`graphlab.transfer.move` (reason ``"inspect"``), so the
trace shows what inspecting cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .. import transfer
from .._device import CPU
from ..nn.parameter import is_lazy
from ..trace.events import Stats
from .tree import _check_module

__all__ = [
    "Stats",
    "TensorInfo",
    "ParameterRow",
    "array_stats",
    "tied_parameters",
    "parameter_table",
]


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """What is known about one parameter or buffer name without reading its values.

    Fields: ``kind`` (``"parameter"`` or ``"buffer"``); ``shape`` (``None`` while a lazy tensor is
    uninitialized: its shape is not known yet); ``dtype`` (``"float32"``…); ``device``
    (``"cpu"``, ``"cpu:1"``, ``"cuda:0"``: where it lived, even after copying to the host);
    ``requires_grad``; ``lazy`` (still an uninitialized lazy parameter/buffer); ``persistent``
    (part of ``state_dict``: always true for parameters); ``module_class`` (the owning module's
    class name as ``repr`` prints it).
    """

    kind: str
    shape: tuple[int, ...] | None
    dtype: str
    device: str
    requires_grad: bool
    lazy: bool
    persistent: bool
    module_class: str

    @property
    def count(self) -> int | None:
        """The number of elements (``None`` while the shape is unknown)."""
        return None if self.shape is None else int(np.prod(self.shape, dtype=np.int64))


@dataclass(frozen=True, slots=True)
class ParameterRow:
    """One row of :func:`parameter_table`: one parameter (or buffer) *name*.

    Fields: ``name`` (dotted, as in ``named_parameters``); ``kind``, ``shape``, ``dtype``,
    ``device``, ``requires_grad``, ``lazy`` as in :class:`TensorInfo`; ``count`` (elements, or
    ``None`` for an uninitialized lazy tensor); ``stats`` (:class:`Stats` of the value: min, max,
    mean and population std over the finite elements, counts of NaN and Inf, element count;
    ``None`` while lazy); ``grad_stats`` (the same for ``.grad``, ``None`` when there is no
    gradient); ``grad_norm`` (L2 norm of ``.grad`` over all elements, NaN if any is NaN;
    ``None`` without a gradient); ``tie_group`` (index into :func:`tied_parameters`, ``None``
    when the tensor has one name); ``aliases`` (every name of the same tensor, this one included,
    in order of appearance).
    """

    name: str
    kind: str
    shape: tuple[int, ...] | None
    dtype: str
    device: str
    count: int | None
    requires_grad: bool
    stats: Stats | None
    grad_stats: Stats | None
    grad_norm: float | None
    tie_group: int | None
    aliases: tuple[str, ...]
    lazy: bool


def array_stats(a) -> Stats:
    """Statistics of a host array: min/max/mean/std (population) over its finite elements,
    NaN and Inf counted rather than propagated; all-NaN results when nothing is finite."""
    a = np.asarray(a)
    count = int(a.size)
    if a.dtype.kind == "b":
        a = a.astype(np.int8)
    nan = inf = 0
    if a.dtype.kind in "fc":
        nan = int(np.count_nonzero(np.isnan(a)))
        inf = int(np.count_nonzero(np.isinf(a)))
        if nan or inf:
            a = a[np.isfinite(a)]
    if a.size == 0:
        return Stats(min=np.nan, max=np.nan, mean=np.nan, std=np.nan, nan=nan, inf=inf, count=count)
    return Stats(
        min=float(a.min()),
        max=float(a.max()),
        mean=float(a.mean(dtype=np.float64)),
        std=float(a.std(dtype=np.float64)),
        nan=nan,
        inf=inf,
        count=count,
    )


def _norm(a: np.ndarray) -> float:
    return float(np.sqrt(np.sum(np.square(a, dtype=np.float64))))


# ----- walking a model --------------------------------------------------------------------------


def _model_entries(model) -> Iterator[tuple[str, TensorInfo, object]]:
    """``(name, info, tensor)`` for every parameter name, then every buffer name.

    Shared modules and tied tensors appear under each of their names (the order of
    ``named_parameters(remove_duplicate=False)`` followed by ``named_buffers(...)``).
    """
    mods = list(model.named_modules(remove_duplicate=False))
    for kind, store in (("parameter", "_parameters"), ("buffer", "_buffers")):
        for prefix, m in mods:
            for key, t in getattr(m, store).items():
                if t is None:
                    continue
                persistent = kind == "parameter" or key not in m._non_persistent_buffers_set
                yield f"{prefix}.{key}" if prefix else key, _info(t, kind, persistent, m), t


def _info(t, kind: str, persistent: bool, module) -> TensorInfo:
    lazy = is_lazy(t)
    return TensorInfo(
        kind=kind,
        shape=None if lazy else tuple(int(s) for s in t.shape),
        dtype=t.dtype.name,
        device=str(t.device),
        requires_grad=bool(t.requires_grad),
        lazy=lazy,
        persistent=persistent,
        module_class=module._get_name(),
    )


def _groups(keyed: Iterable[tuple[str, int]]) -> list[list[str]]:
    """Names grouped by key, groups in order of first appearance, only groups of two or more."""
    by_key: dict[int, list[str]] = {}
    for name, key in keyed:
        by_key.setdefault(key, []).append(name)
    return [names for names in by_key.values() if len(names) > 1]


def tied_parameters(model) -> list[list[str]]:
    """Groups of names that reach one parameter (or one buffer), in order of first appearance.

    For example 10's net, where one ``Linear`` sits at positions 2 and 4:
    ``[["2.weight", "4.weight"], ["2.bias", "4.bias"]]``. Aliasing is identity: two names are
    tied when they hold the same tensor object (what ``named_parameters`` de-duplicates), not
    when their values happen to be equal. Accepts a model or a Snapshot.
    """
    from .snapshot import Snapshot

    if isinstance(model, Snapshot):
        return [list(g) for g in model.tied]
    _check_module(model, "tied_parameters")
    return _groups((name, id(t)) for name, _, t in _model_entries(model))


# ----- the table ------------------------------------------------------------------------------


def _host_view(t) -> np.ndarray:
    """The tensor's values on the host: no copy on ``cpu``, one recorded copy elsewhere."""
    if t._device is CPU:
        return np.asarray(t._data)
    return np.asarray(transfer.move(t._data, t._device, CPU, reason="inspect"))


def _rows(entries, tied: list[list[str]]) -> list[ParameterRow]:
    """Rows from ``(name, info, value, grad)``; value/grad are host arrays, or None.

    Statistics are computed once per distinct array (tied names share them).
    """
    group_of = {name: i for i, g in enumerate(tied) for name in g}
    cache: dict[int, tuple[Stats, float]] = {}

    def stats(a):
        if a is None:
            return None, None
        if id(a) not in cache:
            cache[id(a)] = (array_stats(a), _norm(a))
        return cache[id(a)]

    rows = []
    for name, info, value, grad in entries:
        value_stats, _ = stats(value)
        grad_stats, grad_norm = stats(grad)
        group = group_of.get(name)
        rows.append(
            ParameterRow(
                name=name,
                kind=info.kind,
                shape=info.shape,
                dtype=info.dtype,
                device=info.device,
                count=info.count,
                requires_grad=info.requires_grad,
                stats=value_stats,
                grad_stats=grad_stats,
                grad_norm=grad_norm,
                tie_group=group,
                aliases=tuple(tied[group]) if group is not None else (name,),
                lazy=info.lazy,
            )
        )
    return rows


def parameter_table(model, buffers: bool = False) -> list[ParameterRow]:
    """One :class:`ParameterRow` per parameter name of ``model`` (a module or a Snapshot).

    Tied parameters give one row per name, all with the same ``tie_group`` (statistics are
    computed once). ``buffers=True`` appends the buffers' rows. Uninitialized lazy parameters
    are listed with an unknown shape and no statistics; their data is never touched.
    """
    from .snapshot import Snapshot

    if isinstance(model, Snapshot):
        return model.parameter_table(buffers=buffers)
    _check_module(model, "parameter_table")
    entries = [e for e in _model_entries(model) if buffers or e[1].kind == "parameter"]
    tied = tied_parameters(model)
    views: dict[int, np.ndarray] = {}

    def host(t):
        if t is None or is_lazy(t):
            return None
        if id(t) not in views:
            views[id(t)] = _host_view(t)
        return views[id(t)]

    return _rows(((n, info, host(t), host(t.grad)) for n, info, t in entries), tied)
