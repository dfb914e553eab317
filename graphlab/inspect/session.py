"""Sessions: every model a program ran, with its recorded passes, as pure data.

A :class:`Session` is what the workbench opens and what ``graphlab record`` saves: one
:class:`~graphlab.inspect.Snapshot` per top-level model the program called (parameters, gradients,
buffers, optimizer state, and the passes that model started), in the order they were first
called. Build one from live objects with :func:`session`, or record a block of code with
:func:`record_session`::

    with graphlab.inspect.record_session("training") as rec:
        for x, y in loader:
            loss = loss_fn(net(x), y)
            ...
    sess = rec.session          # Session('training': 1 model, 12 passes)
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from dataclasses import dataclass

from .snapshot import Snapshot, snapshot
from .tree import _check_module

__all__ = ["Session", "SessionRecorder", "record_session", "session"]


@dataclass(frozen=True, slots=True, eq=False)
class Session:
    """Models and their recorded passes, as host data (no live tensors or modules).

    ``models`` holds one :class:`Snapshot` per model, named uniquely (the class name, with
    ``#2``, ``#3`` … for a second model of the same class); each snapshot's ``traces`` are the
    passes that model started. ``source`` says where the session came from (a script's path,
    ``"demo"``, ``"live"``).
    """

    name: str
    models: tuple[Snapshot, ...]
    source: str = ""

    def __post_init__(self):
        models = tuple(self.models)
        bad = [type(m).__name__ for m in models if not isinstance(m, Snapshot)]
        if bad:
            raise TypeError(
                f"Session {self.name!r}: models must be graphlab.inspect.Snapshot objects, got "
                f"{bad}; build them with graphlab.inspect.snapshot(model)"
            )
        names = [m.name for m in models]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"Session {self.name!r}: model names must be unique, got {dupes}")
        object.__setattr__(self, "models", models)

    @property
    def traces(self) -> tuple:
        """Every model's passes, in recording order (by pass index, then model order)."""
        out = [t for m in self.models for t in m.traces]
        return tuple(sorted(out, key=lambda t: -1 if t.index is None else t.index))

    def model(self, name: str) -> Snapshot:
        """The snapshot of the model called ``name`` (a :class:`KeyError` lists the names)."""
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(
            f"Session {self.name!r} has no model {name!r}; its models are "
            f"{[m.name for m in self.models]}"
        )

    def model_of(self, trace) -> Snapshot | None:
        """The snapshot whose passes include ``trace`` (compared by identity), or None."""
        for m in self.models:
            if any(t is trace for t in m.traces):
                return m
        return None

    def __repr__(self) -> str:
        return (
            f"Session({self.name!r}: {len(self.models)} model(s) "
            f"[{', '.join(m.name for m in self.models)}], {len(self.traces)} passes)"
        )


def _unique_names(models: list) -> list[str]:
    counts: dict[str, int] = {}
    out = []
    for m in models:
        base = m._get_name()
        counts[base] = counts.get(base, 0) + 1
        out.append(base if counts[base] == 1 else f"{base}#{counts[base]}")
    return out


def _optimizer_of(model, optimizers: Iterable) -> object | None:
    """The first optimizer holding one of ``model``'s parameters."""
    ids = {id(p) for p in model.parameters()}
    for opt in optimizers:
        for group in opt.param_groups:
            if any(id(p) in ids for p in group["params"]):
                return opt
    return None


def frozen(trace):
    """``trace`` as it is now: a still-open pass keeps growing, its frozen copy does not."""
    from ..trace import Trace

    if not trace.recording:
        return trace
    return Trace(
        trace.events,
        index=trace.index,
        roots=trace.roots,
        level=trace.level,
        timing=trace.timing,
        dropped=trace.dropped,
        interrupted=trace.interrupted,
    )


def _live_optimizers() -> list:
    # NOTE: optimizers are found, not registered: the engine keeps no global list of them, and a
    # session is built once at the end of a program, where one gc walk costs little.
    from ..optim.optimizer import Optimizer

    return [o for o in gc.get_objects() if isinstance(o, Optimizer)]


def session(
    models,
    traces=None,
    optimizers=None,
    name: str = "session",
    source: str = "live",
) -> Session:
    """A :class:`Session` of live ``models`` (one ``nn.Module`` or a list of them).

    ``traces`` (a Trace or a list) are given to the first model; ``optimizers`` (one or a list)
    are matched to the models whose parameters they hold.
    """
    models = list(models) if isinstance(models, (list, tuple)) else [models]
    if not models:
        raise ValueError("graphlab.inspect.session: expected at least one model, got none")
    for m in models:
        _check_module(m, "session")
    if optimizers is None:
        optimizers = []
    elif not isinstance(optimizers, (list, tuple)):
        optimizers = [optimizers]
    snaps = []
    for i, (m, label) in enumerate(zip(models, _unique_names(models), strict=True)):
        snaps.append(
            snapshot(
                m,
                traces=traces if i == 0 else None,
                optimizer=_optimizer_of(m, optimizers),
                name=label,
            )
        )
    return Session(name=name, models=tuple(snaps), source=source)


class SessionRecorder:
    """Records which top-level models a block of code calls and the passes each one starts.

    Use :func:`record_session`. While active, the always-on recorder is enabled and keeps at
    least ``keep`` passes; on exit the previous options come back and :attr:`session` holds the
    :class:`Session` (the models' state at exit, each with its own passes).
    """

    def __init__(
        self,
        name: str = "session",
        keep: int = 64,
        level: str | None = None,
        timing: bool | None = None,
        source: str = "live",
    ):
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ValueError(f"record_session: keep must be an int >= 1 (passes), got {keep!r}")
        self.name, self.keep, self.level, self.source = name, keep, level, source
        self.timing = timing
        self.session: Session | None = None
        self._models: list = []  # strong references while recording: the session needs them
        self._passes: dict[int, list[int]] = {}  # id(model) -> indices of the passes it opened
        self._last_index: int | None = None
        self._optimizers: list = []  # every optimizer built while recording (kept alive)
        self._names: dict[int, str] = {}  # id(model) -> the name given by name_models
        self._old: dict | None = None

    def _on_top_level(self, module, args, kwargs) -> None:
        from ..trace import last_trace

        t = last_trace()
        index = None if t is None else t.index
        if index is None or index == self._last_index:
            return  # NOTE: this call continued an open pass (a loss after its model)
        self._last_index = index
        if not any(m is module for m in self._models):
            self._models.append(module)
        self._passes.setdefault(id(module), []).append(index)

    def name_models(self, models: dict) -> None:
        """Name the session's models: ``{"net": net, ...}`` (e.g. a script's global names).

        Models not named here keep their class name (``#2``… for a second one of a class)."""
        for name, model in models.items():
            self._names.setdefault(id(model), str(name))

    def __enter__(self) -> SessionRecorder:
        from ..nn.modules import module as module_mod
        from ..optim import optimizer as optimizer_mod
        from ..trace import last_trace, set_trace_options

        current = set_trace_options()
        opts = {"enabled": True, "keep": max(current["keep"], self.keep)}
        if self.level is not None:
            opts["level"] = self.level
        if self.timing is not None:
            opts["timing"] = self.timing
        self._old = set_trace_options(**opts)
        t = last_trace()
        self._last_index = None if t is None else t.index
        # NOTE: appended after the recorder's own observer, so last_trace() is the pass this very
        # call opened (or the open pass it continued).
        module_mod.top_level_observers.append(self._on_top_level)
        optimizer_mod.creation_observers.append(self._optimizers.append)
        return self

    def __exit__(self, *exc) -> None:
        from ..nn.modules import module as module_mod
        from ..optim import optimizer as optimizer_mod
        from ..trace import set_trace_options, traces

        for observers, fn in (
            (module_mod.top_level_observers, self._on_top_level),
            (optimizer_mod.creation_observers, self._optimizers.append),
        ):
            if fn in observers:
                observers.remove(fn)
        ring = {t.index: frozen(t) for t in traces()}
        set_trace_options(**self._old)
        if not self._models:
            self.session = Session(name=self.name, models=(), source=self.source)
            return
        # NOTE: optimizers built inside the block first (a training loop's optimizer may be gone
        # by now), then any still alive from before it.
        optimizers = self._optimizers + _live_optimizers()
        labels = _unique_names(self._models)
        labels = [
            self._names.get(id(m), label) for m, label in zip(self._models, labels, strict=True)
        ]
        snaps = []
        for m, label in zip(self._models, labels, strict=True):
            own = [ring[i] for i in self._passes.get(id(m), []) if i in ring]
            snaps.append(
                snapshot(m, traces=own, optimizer=_optimizer_of(m, optimizers), name=label)
            )
        self.session = Session(name=self.name, models=tuple(snaps), source=self.source)
        self._models.clear()
        self._optimizers.clear()


def record_session(
    name: str = "session",
    keep: int = 64,
    level: str | None = None,
    timing: bool | None = None,
    source: str = "live",
) -> SessionRecorder:
    """Record a block as a session: ``with record_session() as rec: ...``; then ``rec.session``.

    ``keep`` is the fewest passes the ring keeps while recording (older passes of a long run are
    dropped, so a session holds the last ones); ``level`` (``"meta"``, ``"stats"``, ``"values"``)
    and ``timing`` set the recorder for the block (None: leave as they are).
    """
    return SessionRecorder(name=name, keep=keep, level=level, timing=timing, source=source)
