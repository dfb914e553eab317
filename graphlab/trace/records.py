"""Traces as plain data and back, losslessly: what a file keeps of a recorded pass.

:func:`trace_to_record` turns a :class:`~graphlab.trace.Trace` into a JSON-able ``dict`` (dicts,
lists, strings, numbers, booleans and None; never a NaN token) plus the list of NumPy arrays its
events hold (``OpEvent.values``, ``ParamGrad.value``), which a file stores natively —
``exporters.hdf5`` writes them as datasets. :func:`trace_from_record` rebuilds the trace from
both; :func:`dumps`/:func:`loads` go through JSON text. :func:`same_events` and
:func:`same_traces` compare what round-trips (events holding arrays or NaN have no usable ``==``).

The record stores events as columns (one list per field, per kind), which keeps it compact and
fast to rebuild::

    {"format": "graphlab.trace", "version": 1,
     "meta":   {"index": 3, "roots": ["Sequential"], "level": "stats", "timing": true,
                "dropped": 0, "interrupted": false},
     "order":  "iooobbbs",                     # each event's kind, by its first letter
     "events": {"op": {"id": [1, 2, 3], "op": ["Linear", ...], ...}, "backward": {...}, ...},
     "refs":   {"vid": [0, 1, ...], "shape": [[5, 4], ...], ...},  # the distinct ValueRefs
     "fields": {"Stats": [...], "ParamGrad": [...]}}               # the order of their rows

Columns hold each field's values (generic encoding, below), except: ``inputs`` (per event a list
of an int, an index into ``refs``, or a constant wrapped in a one-item list: ``[0, [2.0]]``),
``outputs`` (lists of ``refs`` indices), ``stats`` (null, or per output null or a Stats row),
``values`` (null, or lists of indices into the arrays) and ``param_grads`` (lists of ParamGrad
rows, their ``value`` as ``{"$array": i}`` or null).

Generic encoding: JSON scalars stand for themselves, JSON arrays for tuples, and every other
value is a one-key object: ``{"$float": "nan" | "inf" | "-inf"}``, ``{"$complex": [re, im]}``,
``{"$list": [...]}``, ``{"$dict": [[k, v], ...]}``, ``{"$set": [...]}``, ``{"$frozenset": [...]}``,
``{"$slice": [start, stop, step]}``, ``{"$ellipsis": null}``, ``{"$bytes": base64}``,
``{"$np": [dtype, value]}`` (a NumPy scalar), ``{"$dtype": "<f4"}``, ``{"$gldtype": "float32"}``
(a graphlab dtype), ``{"$device": "cpu:1"}``, ``{"$ref": i}``, ``{"$array": i}``, ``{"$stats":
row}``, ``{"$pgrad": row}``. Events from the recorder only ever hold these (it makes op
attributes and constants plain when it records them).

Cannot be kept (encoding raises ``TypeError`` naming the event and field): any other object —
classes, functions, tensors, modules, instances of subclasses of built-in types (namedtuples,
enums), NumPy scalars and dtypes that are not bool/int/float/complex — and field values of the
wrong type (a list where a shape tuple belongs), which loading would refuse. Not kept: a NaN's
sign and payload, arrays' memory layout (they come back C-ordered), and object identity beyond
what the recorder shares (one ValueRef per value, one array per copy). A record with fields this
graphlab does not know (from a newer one) is refused; missing fields that have defaults get them.
Decoding never runs code from the data: tags map to a fixed set of constructors.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import gc
import json
import math
from collections import deque
from collections.abc import Mapping, Sequence
from itertools import chain, islice, repeat
from typing import Any

import numpy as np

from .._device import device as _Device
from .._dtype import _BY_NAME
from .._dtype import dtype as _GlDtype
from .events import (
    BackwardEvent,
    InitEvent,
    OpEvent,
    ParamGrad,
    Stats,
    SyncEvent,
    TransferEvent,
    ValueRef,
)
from .trace import Trace

__all__ = [
    "FORMAT",
    "VERSION",
    "RecordError",
    "dumps",
    "loads",
    "same_events",
    "same_traces",
    "trace_from_record",
    "trace_to_record",
]

FORMAT = "graphlab.trace"
VERSION = 1

_EVENTS = {
    "op": OpEvent,
    "transfer": TransferEvent,
    "sync": SyncEvent,
    "backward": BackwardEvent,
    "init": InitEvent,
}
_CODE = {kind: kind[0] for kind in _EVENTS}  # NOTE: the kinds' first letters are distinct
_KIND = {code: kind for kind, code in _CODE.items()}
_NUMERIC_KINDS = "biufc"
_NONE = type(None)


class RecordError(ValueError):
    """A trace record that cannot be decoded (the message says where and what was expected)."""


def _init_fields(cls) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


_FIELDS = {name: _init_fields(cls) for name, cls in {**_EVENTS, "ValueRef": ValueRef}.items()} | {
    "Stats": _init_fields(Stats),
    "ParamGrad": _init_fields(ParamGrad),
}

# The types each field may hold, by field name (a name means the same in every record class).
# Checked on both sides, so that what saves also loads.
_INT = (int, np.integer)
_NUM = (int, float, np.integer, np.floating)
_BOOL = (bool, np.bool_)
_TYPES: dict[str, tuple] = {
    "id": _INT, "op": (str,), "scope": (str,), "scope_class": (str,), "inputs": (tuple,),
    "outputs": (tuple,), "attrs": (tuple,), "seconds": (*_NUM, _NONE), "stats": (tuple, _NONE),
    "values": (tuple, _NONE), "thread": _INT, "src": (str,), "dst": (str,), "nbytes": _INT,
    "bandwidth": _NUM, "pinned": _BOOL, "non_blocking": _BOOL, "call_site": (str,),
    "reason": (str,), "device": (str,), "forward_id": (*_INT, _NONE),
    "grad_output_shape": (tuple,), "grad_input_shapes": (tuple,), "grad_input_norms": (tuple,),
    "param_grads": (tuple,), "module_class": (str,), "shapes": (tuple,),
    "input_shapes": (tuple,), "initializer": (str,), "vid": _INT, "shape": (tuple,),
    "dtype": (str,), "param": (str, _NONE), "aliases": (tuple,), "requires_grad": _BOOL,
    "const": _BOOL, "min": _NUM, "max": _NUM, "mean": _NUM, "std": _NUM, "nan": _INT,
    "inf": _INT, "count": _INT, "name": (str,), "norm": _NUM, "value": (np.ndarray, _NONE),
    "device_bytes": (*_INT, _NONE),
}  # fmt: skip
_META = {
    "index": (*_INT, _NONE), "roots": (tuple,), "level": (str,), "timing": _BOOL,
    "dropped": _INT, "interrupted": _BOOL,
}  # fmt: skip
_PLAIN = frozenset((str, int, bool, _NONE))
_SCALARS = _PLAIN | {float}


def _misfit(field: str, values: Sequence, types: set | None = None):
    """The first of ``values`` that field ``field`` may not hold, as ``(value,)``; else None.

    ``types``, if given, are the types of ``values``."""
    allowed = _TYPES.get(field)
    if allowed is None:
        return None
    for t in set(map(type, values)) if types is None else types:
        if not issubclass(t, allowed):
            return (next(v for v in values if type(v) is t),)
    return None


_ROW_TYPES_OK: set[tuple] = set()  # (record name, field names, value types) seen to fit


def _check_row(values: list, names: Sequence[str], owner: str, fail) -> None:
    """Call ``fail(name, value)`` for the first value its field may not hold."""
    key = (owner, tuple(names), tuple(map(type, values)))
    if key in _ROW_TYPES_OK:
        return  # NOTE: rows of one class nearly always repeat the same few type patterns
    for n, v in zip(names, values, strict=True):
        if _misfit(n, (v,)):
            fail(n, v)
    _ROW_TYPES_OK.add(key)


def _short(v) -> str:
    try:
        text = repr(v)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        text = "unprintable"
    return text if len(text) <= 60 else text[:57] + "..."


# ----- encoding -------------------------------------------------------------------------------


class _Encoder:
    """Encodes values into plain data, collecting distinct ValueRefs and arrays by identity."""

    def __init__(self):
        self.refs: list[ValueRef] = []
        self.arrays: list[np.ndarray] = []
        self._ref_at: dict[int, int] = {}
        self._array_at: dict[int, int] = {}
        self.where = ""

    def fail(self, v, what: str):
        raise TypeError(f"graphlab.trace.records: {self.where} holds {_short(v)}; {what}")

    def ref(self, r) -> int:
        if type(r) is not ValueRef:
            self.fail(r, "expected a graphlab.trace.ValueRef")
        i = self._ref_at.get(id(r))
        if i is None:
            # NOTE: the trace keeps every ref alive while it is encoded, so id() is unique here.
            i = self._ref_at[id(r)] = len(self.refs)
            self.refs.append(r)
        return i

    def array(self, a) -> int:
        if type(a) is not np.ndarray:
            self.fail(a, "expected a NumPy array")
        i = self._array_at.get(id(a))
        if i is None:
            i = self._array_at[id(a)] = len(self.arrays)
            self.arrays.append(a)
        return i

    def row(self, obj, cls) -> list:
        if type(obj) is not cls:
            self.fail(obj, f"expected a graphlab.trace.{cls.__name__}")
        names = _FIELDS[cls.__name__]
        values = [getattr(obj, n) for n in names]
        _check_row(values, names, cls.__name__, lambda n, v: self.fail(v, f"bad {n!r}"))
        fin = math.isfinite
        return [
            v if type(v) in _PLAIN or (type(v) is float and fin(v)) else self.enc(v) for v in values
        ]

    def enc(self, v) -> Any:
        t = type(v)
        if t is str or t is int or t is bool or v is None:
            return v
        if t is float:
            return v if math.isfinite(v) else {"$float": repr(v)}
        if t is tuple:
            return [self.enc(x) for x in v]
        handler = _ENCODERS.get(t)
        if handler is not None:
            return handler(self, v)
        if isinstance(v, np.generic) and v.dtype.kind in _NUMERIC_KINDS:
            return {"$np": [v.dtype.str, self.enc(v.item())]}
        if isinstance(v, np.dtype) and v.kind in _NUMERIC_KINDS and v.fields is None:
            return {"$dtype": v.str}
        self.fail(
            v,
            f"a {t.__module__}.{t.__qualname__} has no faithful plain-data form; keep op "
            "attributes and constants to None, bool, int, float, complex, str, bytes, "
            "tuples/lists/dicts/sets of those, slices, NumPy numbers, arrays and dtypes, "
            "graphlab dtypes and devices",
        )

    def column(self, owner: str, field: str, values: list, ids: Sequence) -> list:
        """``values`` of ``field`` (one per event or ref ``ids``), encoded."""
        bad = _misfit(field, values)
        if bad:
            self.where = f"{owner} {ids[values.index(bad[0])]} field {field!r}"
            self.fail(bad[0], f"expected one of {_TYPES[field]}")
        special = _COLUMN_ENCODERS.get(field)
        types = set(map(type, values))
        if special is None and types <= _PLAIN:
            return values
        if special is None and types <= _SCALARS:
            if all(math.isfinite(v) for v in values if type(v) is float):
                return values
        out = []
        for i, v in zip(ids, values, strict=True):
            self.where = f"{owner} {i} field {field!r}"
            out.append(special(self, v) if special is not None else self.enc(v))
        return out


_ENCODERS = {
    ValueRef: lambda e, v: {"$ref": e.ref(v)},
    np.ndarray: lambda e, v: {"$array": e.array(v)},
    Stats: lambda e, v: {"$stats": e.row(v, Stats)},
    ParamGrad: lambda e, v: {"$pgrad": e.row(v, ParamGrad)},
    complex: lambda e, v: {"$complex": [e.enc(v.real), e.enc(v.imag)]},
    list: lambda e, v: {"$list": [e.enc(x) for x in v]},
    dict: lambda e, v: {"$dict": [[e.enc(k), e.enc(x)] for k, x in v.items()]},
    set: lambda e, v: {"$set": [e.enc(x) for x in v]},
    frozenset: lambda e, v: {"$frozenset": [e.enc(x) for x in v]},
    slice: lambda e, v: {"$slice": [e.enc(v.start), e.enc(v.stop), e.enc(v.step)]},
    type(Ellipsis): lambda e, v: {"$ellipsis": None},
    bytes: lambda e, v: {"$bytes": base64.b64encode(v).decode("ascii")},
    _GlDtype: lambda e, v: {"$gldtype": v.name},
    _Device: lambda e, v: {"$device": str(v)},
}
_COLUMN_ENCODERS = {
    "inputs": lambda e, v: [e.ref(x) if type(x) is ValueRef else [e.enc(x)] for x in v],
    "outputs": lambda e, v: [e.ref(x) for x in v],
    "stats": lambda e, v: (
        None if v is None else [None if s is None else e.row(s, Stats) for s in v]
    ),
    "values": lambda e, v: None if v is None else [e.array(a) for a in v],
    "param_grads": lambda e, v: [e.row(p, ParamGrad) for p in v],
}


def _table(e: _Encoder, owner: str, name: str, objs: Sequence, ids: Sequence) -> dict:
    return {f: e.column(owner, f, [getattr(o, f) for o in objs], ids) for f in _FIELDS[name]}


def trace_to_record(trace: Trace) -> tuple[dict, list[np.ndarray]]:
    """``(record, arrays)``: ``trace`` as JSON-able data, and the arrays its events hold.

    ``arrays`` are the events' own array objects (not copies), each listed once; the record
    refers to them by position. Raises ``TypeError`` for a value with no faithful encoding.
    """
    if not isinstance(trace, Trace):
        raise TypeError(
            f"graphlab.trace.records.trace_to_record: expected a graphlab.trace.Trace, got "
            f"{type(trace).__name__}"
        )
    events = trace.events
    e = _Encoder()
    by_kind: dict[str, list] = {}
    for ev in events:
        by_kind.setdefault(ev.kind, []).append(ev)
    columns = {}
    for kind, evs in by_kind.items():
        columns[kind] = _table(e, f"{kind} event", kind, evs, [ev.id for ev in evs])
    e.where = "the trace's meta"
    meta = {}
    for key, types in _META.items():
        value = getattr(trace, key)
        if not isinstance(value, types):
            e.fail(value, f"the {key!r} of a trace must be one of {types}")
        meta[key] = e.enc(value)
    meta["module_classes"] = e.enc(tuple(trace.module_classes.items()))
    refs = _table(e, "ValueRef vid", "ValueRef", e.refs, [r.vid for r in e.refs])
    record = {
        "format": FORMAT,
        "version": VERSION,
        "meta": meta,
        "order": "".join([_CODE[ev.kind] for ev in events]),
        "events": columns,
        "refs": refs,
        "fields": {"Stats": list(_FIELDS["Stats"]), "ParamGrad": list(_FIELDS["ParamGrad"])},
    }
    return record, e.arrays


def dumps(trace: Trace) -> tuple[str, list[np.ndarray]]:
    """``(text, arrays)``: the record of ``trace`` as compact, strict JSON text."""
    record, arrays = trace_to_record(trace)
    return json.dumps(record, allow_nan=False, separators=(",", ":")), arrays


# ----- decoding -------------------------------------------------------------------------------


def _has_default(f) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _names(cls, name: str, stored, where: str) -> tuple[str, ...]:
    """The stored field names of a record class, checked against this graphlab's fields."""
    current = _FIELDS[name]
    if not isinstance(stored, (list, tuple)) or not all(isinstance(s, str) for s in stored):
        raise RecordError(f"{where}: expected field names, got {_short(stored)}")
    unknown = [s for s in stored if s not in current]
    if unknown:
        raise RecordError(
            f"{where}: fields {unknown} of {name} are unknown to this graphlab (written by a "
            "newer one?); upgrade graphlab to read them"
        )
    defaults = {f.name for f in dataclasses.fields(cls) if f.init and _has_default(f)}
    missing = [n for n in current if n not in stored and n not in defaults]
    if missing:
        raise RecordError(f"{where}: {name} records lack the fields {missing}")
    return tuple(stored)


def _fast_init(cls) -> bool:
    """Whether ``cls``'s objects may be built by setting their slots (what its __init__ does)."""
    return (
        dataclasses.is_dataclass(cls)
        and not hasattr(cls, "__post_init__")
        and all(
            type(cls.__dict__.get(f.name)).__name__ == "member_descriptor"
            for f in dataclasses.fields(cls)
        )
    )


def _default(f):
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()


def _build(cls, names: Sequence[str], columns: Sequence[list], n: int) -> list:
    """``n`` objects of dataclass ``cls``, field ``names[j]`` of the i-th from ``columns[j][i]``.

    Same as ``cls(**{name: column[i], ...})`` for each i; fields not named get their defaults.
    """
    if not _fast_init(cls):
        if tuple(names) == _FIELDS[cls.__name__]:
            return list(map(cls, *columns))
        return [cls(**dict(zip(names, vals, strict=True))) for vals in zip(*columns)]
    # NOTE: a frozen dataclass's __init__ sets each field with object.__setattr__, one Python
    # call per field per object; setting a whole column through the slot is one C loop.
    objs = list(map(object.__new__, repeat(cls, n)))
    given = dict(zip(names, columns, strict=True))
    for f in dataclasses.fields(cls):
        col = given.get(f.name)
        if col is None:
            if f.default is not dataclasses.MISSING:
                col = repeat(f.default, n)
            else:
                col = [_default(f) for _ in range(n)]
        deque(map(cls.__dict__[f.name].__set__, objs, col), maxlen=0)
    return objs


def _lookup(xs: list, table: Sequence) -> list | None:
    """``[table[x] for x in xs]`` if every x is an int index into ``table``; else None."""
    if xs and not (set(map(type, xs)) == {int} and min(xs) >= 0 and max(xs) < len(table)):
        return None
    return list(map(table.__getitem__, xs))


def _split(items, lists: list) -> list:
    """``items`` cut into tuples as long as each of ``lists`` (None stays None)."""
    it = iter(items)
    return [None if v is None else tuple(islice(it, len(v))) for v in lists]


class _Decoder:
    def __init__(self, record: dict, arrays: Sequence[np.ndarray]):
        self.arrays = arrays
        self.refs: list[ValueRef] = []
        self.where = ""
        self.scalar_types: set = set()
        fields = record.get("fields")
        if not isinstance(fields, dict):
            raise RecordError("trace record: 'fields' must be a dict")
        self.rows = {}
        for name, cls in (("Stats", Stats), ("ParamGrad", ParamGrad)):
            stored = _names(cls, name, fields.get(name), f"fields[{name!r}]")
            self.rows[name] = (cls, stored, stored == _FIELDS[name])

    def fail(self, what: str):
        raise RecordError(f"{self.where}: {what}")

    def dec(self, v):
        t = type(v)
        if t is list:
            for x in v:
                tx = type(x)
                if tx is list or tx is dict:
                    return tuple([self.dec(x) for x in v])
            return tuple(v)  # NOTE: the common case (shapes, names): scalars only
        if t is dict:
            if len(v) != 1:
                self.fail(f"a tagged value has {len(v)} keys: {_short(v)}")
            ((tag, x),) = v.items()
            handler = _DECODERS.get(tag)
            if handler is None:
                self.fail(f"unknown tag {tag!r}")
            return handler(self, x)
        return v

    def index(self, x, table: Sequence, what: str):
        if type(x) is not int or not 0 <= x < len(table):
            self.fail(f"{what} index {_short(x)} out of range 0..{len(table) - 1}")
        return table[x]

    def const(self, x):
        if type(x) is not list or len(x) != 1:
            self.fail(f"an input must be a refs index or a one-item list, got {_short(x)}")
        return self.dec(x[0])

    def row(self, name: str, row):
        cls, stored, same = self.rows[name]
        if type(row) is not list or len(row) != len(stored):
            self.fail(f"a {name} row must be a list of {len(stored)} values, got {_short(row)}")
        dec = self.dec
        values = [x if type(x) in _SCALARS else dec(x) for x in row]
        if (name, stored, tuple(map(type, values))) not in _ROW_TYPES_OK:
            _check_row(values, stored, name, lambda n, v: self.fail(f"the {n!r} is {_short(v)}"))
        return cls(*values) if same else cls(**dict(zip(stored, values, strict=True)))

    def many(self, vals: list) -> list:
        """``[self.dec(v) for v in vals]``, a column at a time where the values allow."""
        types = set(map(type, vals))
        if types <= _SCALARS:
            self.scalar_types = types  # NOTE: spares column() a second pass to check them
            return vals
        rest = types - _SCALARS
        if rest == {list}:
            lists = vals if types == {list} else [v for v in vals if type(v) is list]
            inner = list(chain.from_iterable(lists))
            got = self.many(inner)
            if got is inner:  # NOTE: the common case (shapes, names): scalars only
                return [tuple(v) if type(v) is list else v for v in vals]
            it = iter(got)
            return [tuple(islice(it, len(v))) if type(v) is list else v for v in vals]
        if types <= {dict, _NONE}:
            got = self._indexed(vals)
            if got is not None:
                return got
        dec = self.dec
        return [v if type(v) in _SCALARS else dec(v) for v in vals]

    def _indexed(self, vals: list) -> list | None:
        """``vals`` (None or ``{"$ref": i}``/``{"$array": i}``, one tag) decoded; else None."""
        tagged = [v for v in vals if v is not None]
        if set(map(len, tagged)) != {1}:
            return None
        tags = set(chain.from_iterable(tagged))
        table = self.refs if tags == {"$ref"} else self.arrays if tags == {"$array"} else None
        if table is None:
            return None
        got = _lookup(list(chain.from_iterable(map(dict.values, tagged))), table)
        if got is None:
            return None
        it = iter(got)
        return [None if v is None else next(it) for v in vals]

    def rows_of(self, name: str, rows: list) -> list:
        """``[self.row(name, r) for r in rows]``, a column at a time where the rows allow."""
        cls, stored, _ = self.rows[name]
        if not rows:
            return []
        if set(map(type, rows)) == {list} and set(map(len, rows)) == {len(stored)}:
            columns = [self.many(list(c)) for c in zip(*rows)]
            if not any(_misfit(n, c) for n, c in zip(stored, columns, strict=True)):
                return _build(cls, stored, columns, len(rows))
        return [self.row(name, r) for r in rows]  # NOTE: finds and names the bad row

    def column(self, field: str, col) -> list:
        if type(col) is not list:
            self.fail(f"column {field!r} must be a list, got {type(col).__name__}")
        special = _COLUMN_DECODERS.get(field)
        out = self.many(col) if special is None else special(self, col)
        # NOTE: many() hands back the column itself only when all scalars, types noted
        bad = _misfit(field, out, self.scalar_types if special is None and out is col else None)
        if bad:
            self.fail(f"column {field!r} holds {_short(bad[0])}")
        return out

    def table(self, name: str, cls, columns, count: int | None) -> list:
        """The records of class ``cls`` from a dict of columns (``count`` of them if given)."""
        if not isinstance(columns, dict):
            self.fail(f"expected a dict of columns, got {type(columns).__name__}")
        stored = _names(cls, name, list(columns), self.where)
        where = self.where
        decoded = []
        for f in stored:
            self.where = f"{where}.{f}"
            decoded.append(self.column(f, columns[f]))
        self.where = where
        lengths = {len(c) for c in decoded}
        if count is not None:
            lengths.add(count)
        if len(lengths) > 1:
            self.fail(f"columns of different lengths {sorted(lengths)} (or not matching 'order')")
        return _build(cls, stored, decoded, lengths.pop() if lengths else 0)


def _checked_dtype(text) -> np.dtype:
    if type(text) is not str:
        raise RecordError(f"a dtype must be a string, got {_short(text)}")
    try:
        dt = np.dtype(text)
    except TypeError:
        dt = None
    if dt is None or dt.kind not in _NUMERIC_KINDS or dt.fields is not None:
        raise RecordError(f"not a numeric NumPy dtype: {_short(text)}")
    return dt


def _seq(d: _Decoder, x) -> list:
    if type(x) is not list:
        d.fail(f"expected a list, got {_short(x)}")
    return [d.dec(v) for v in x]


def _float(d: _Decoder, x) -> float:
    if x not in ("nan", "inf", "-inf"):
        d.fail(f"$float must be 'nan', 'inf' or '-inf', got {_short(x)}")
    return float(x)


def _text(d: _Decoder, x) -> str:
    if type(x) is not str:
        d.fail(f"expected a string, got {_short(x)}")
    return x


def _checked(build):
    """``build(d, x)``, with Python's errors for bad data turned into RecordError."""

    def run(d: _Decoder, x):
        try:
            return build(d, x)
        except RecordError:
            raise
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            d.fail(f"bad value {_short(x)}: {exc}")

    return run


def _pairs(d: _Decoder, x) -> dict:
    out = {}
    for pair in _seq(d, x):
        if len(pair) != 2:
            d.fail(f"$dict items must be [key, value], got {_short(pair)}")
        out[pair[0]] = pair[1]
    return out


_DECODERS = {
    "$ref": lambda d, x: d.index(x, d.refs, "refs"),
    "$array": lambda d, x: d.index(x, d.arrays, "arrays"),
    "$stats": lambda d, x: d.row("Stats", x),
    "$pgrad": lambda d, x: d.row("ParamGrad", x),
    "$float": _float,
    "$complex": _checked(lambda d, x: complex(*_seq(d, x))),
    "$list": _seq,
    "$dict": _checked(_pairs),
    "$set": _checked(lambda d, x: set(_seq(d, x))),
    "$frozenset": _checked(lambda d, x: frozenset(_seq(d, x))),
    "$slice": _checked(lambda d, x: slice(*_seq(d, x))),
    "$ellipsis": lambda d, x: Ellipsis,
    "$bytes": _checked(lambda d, x: base64.b64decode(_text(d, x), validate=True)),
    "$np": _checked(lambda d, x: _checked_dtype(x[0]).type(d.dec(x[1]))),
    "$dtype": lambda d, x: _checked_dtype(x),
    "$gldtype": _checked(lambda d, x: _BY_NAME[_text(d, x)]),
    "$device": _checked(lambda d, x: _Device(_text(d, x))),
}


def _list(d: _Decoder, v) -> list:
    if type(v) is not list:
        d.fail(f"expected a list, got {_short(v)}")
    return v


def _inputs(d: _Decoder, v) -> tuple:
    refs = d.refs
    n = len(refs)
    return tuple([
        refs[x] if type(x) is int and 0 <= x < n else d.const(x) for x in _list(d, v)
    ])  # fmt: skip


def _indices(d: _Decoder, col: list, what: str, nullable: bool, one=None) -> list:
    """Per value a list of indices into ``d.refs`` or ``d.arrays`` (``what``), or None if
    ``nullable``: the tuples of what they index.

    ``one(d, v)`` decodes a single value; it runs where the column is not all well-formed
    (constants among inputs, bad data), and raises the error that names the bad value.
    """
    table = d.refs if what == "refs" else d.arrays
    types = set(map(type, col))
    if types <= ({list, _NONE} if nullable else {list}):
        lists = col if types == {list} else [v for v in col if v is not None]
        got = _lookup(list(chain.from_iterable(lists)), table)
        if got is not None:
            return _split(got, col)
    if one is None:

        def one(d: _Decoder, v):
            if nullable and v is None:
                return None
            return tuple([d.index(x, table, what) for x in _list(d, v)])

    return [one(d, v) for v in col]


def _rows_in_lists(d: _Decoder, col: list, name: str, nullable: bool) -> list:
    """Per value a list of ``name`` rows (with ``nullable``: None, or a list of rows and
    Nones): the tuples of their records."""
    types = set(map(type, col))
    if nullable and types <= {_NONE}:
        return col
    if not types <= ({list, _NONE} if nullable else {list}):
        _list(d, next(v for v in col if type(v) is not list and not (nullable and v is None)))
    flat = list(chain.from_iterable(v for v in col if v is not None))
    if not nullable:
        return _split(d.rows_of(name, flat), col)
    built = iter(d.rows_of(name, [r for r in flat if r is not None]))
    return _split([None if r is None else next(built) for r in flat], col)


_COLUMN_DECODERS = {
    "inputs": lambda d, col: _indices(d, col, "refs", False, _inputs),
    "outputs": lambda d, col: _indices(d, col, "refs", False),
    "stats": lambda d, col: _rows_in_lists(d, col, "Stats", True),
    "values": lambda d, col: _indices(d, col, "arrays", True),
    "param_grads": lambda d, col: _rows_in_lists(d, col, "ParamGrad", False),
}


def trace_from_record(record: dict, arrays: Sequence[np.ndarray] = ()) -> Trace:
    """The :class:`Trace` that :func:`trace_to_record` gave ``record`` and ``arrays`` for.

    ``arrays`` are used as they are (not copied). Raises :class:`RecordError` for a record that
    is malformed, from a newer format version, or refers to arrays that are not given.
    """
    with _no_gc():
        return _from_record(record, arrays)


def _from_record(record: dict, arrays: Sequence[np.ndarray]) -> Trace:
    if not isinstance(record, dict):
        raise RecordError(f"a trace record must be a dict, got {type(record).__name__}")
    if record.get("format") != FORMAT:
        raise RecordError(
            f"not a trace record (format={_short(record.get('format'))}, expected {FORMAT!r})"
        )
    version = record.get("version")
    if type(version) is not int or not 1 <= version <= VERSION:
        raise RecordError(
            f"trace record version {_short(version)}; this graphlab reads versions 1..{VERSION} "
            "(upgrade graphlab to read newer records)"
        )
    for key, want in (("meta", dict), ("order", str), ("events", dict), ("refs", dict)):
        if not isinstance(record.get(key), want):
            raise RecordError(f"trace record: {key!r} must be a {want.__name__}")
    bad = [i for i, a in enumerate(arrays) if not isinstance(a, np.ndarray)]
    if bad:
        raise TypeError(f"trace_from_record: arrays {bad} are not NumPy arrays")
    d = _Decoder(record, arrays)
    d.where = "refs"
    d.refs = d.table("ValueRef", ValueRef, record["refs"], None)
    order = record["order"]
    unknown = set(order) - set(_KIND)
    if unknown:
        raise RecordError(f"trace record: 'order' holds unknown kinds {sorted(unknown)}")
    columns = record["events"]
    extra = set(columns) - set(_EVENTS)
    if extra:
        raise RecordError(f"trace record: unknown event kinds {sorted(extra)}")
    built = {}
    for kind, cls in _EVENTS.items():
        count = order.count(_CODE[kind])
        if kind not in columns:
            if count:
                raise RecordError(f"trace record: 'order' has {count} {kind} events, no columns")
            continue
        d.where = f"events.{kind}"
        built[_CODE[kind]] = iter(d.table(kind, cls, columns[kind], count))
    events = [next(built[c]) for c in order]
    d.where = "meta"
    meta = {}
    for key, types in _META.items():
        if key not in record["meta"]:
            d.fail(f"lacks {key!r}")
        value = d.dec(record["meta"][key])
        if not isinstance(value, types):
            d.fail(f"{key!r} is {_short(value)}")
        meta[key] = value
    # NOTE: records from before module_classes was kept lack it: derived from the events then.
    if "module_classes" in record["meta"]:
        classes = d.dec(record["meta"]["module_classes"])
        if not (
            isinstance(classes, tuple)
            and all(
                isinstance(c, tuple) and len(c) == 2 and all(type(x) is str for x in c)
                for c in classes
            )
        ):
            d.fail(f"'module_classes' is {_short(classes)}; expected (path, class) pairs")
        meta["module_classes"] = classes
    return Trace(events, **meta)


def loads(text: str | bytes, arrays: Sequence[np.ndarray] = ()) -> Trace:
    """The trace of JSON ``text`` from :func:`dumps` and its ``arrays``."""

    def refuse(token: str):
        raise RecordError(f"trace record JSON holds {token}; non-finite floats must be tagged")

    with _no_gc():
        try:
            record = json.loads(text, parse_constant=refuse)
        except RecordError:
            raise
        except ValueError as exc:
            raise RecordError(f"trace record is not JSON: {exc}") from None
        return trace_from_record(record, arrays)


@contextlib.contextmanager
def _no_gc():
    """The cyclic garbage collector paused (and restored after) while a record is decoded.

    NOTE: parsing and decoding allocate millions of container objects and no cycles; each
    allocation burst set off full collections that walked the whole growing heap (about 40%
    of a 100k-event load). Reference counting still frees everything as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ----- comparing what round-trips -------------------------------------------------------------


def _same(a, b) -> bool:
    t = type(a)
    if t is not type(b):
        return False
    if t is float:
        return (a == b and math.copysign(1, a) == math.copysign(1, b)) or (a != a and b != b)
    if t is complex:
        return _same(a.real, b.real) and _same(a.imag, b.imag)
    if t is np.ndarray:
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if t is tuple or t is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a):
        return all(_same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and _same(a.item(), b.item())
    return a == b


def same_events(a: Sequence, b: Sequence) -> bool:
    """Whether two event sequences are equal field by field: arrays by dtype, shape and
    values, NaN equal to NaN, and types exact (``1`` is not ``1.0``, a tuple not a list)."""
    return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))


def same_traces(a: Trace, b: Trace) -> bool:
    """Whether two traces have the same meta (index, roots, level, timing, dropped,
    interrupted, module classes in order) and :func:`same_events`."""
    meta = ("index", "roots", "level", "timing", "dropped", "interrupted")
    return (
        all(_same(getattr(a, m), getattr(b, m)) for m in meta)
        and list(a.module_classes.items()) == list(b.module_classes.items())
        and same_events(a.events, b.events)
    )
