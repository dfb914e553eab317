"""Transfers and host syncs: every device move and implicit sync reaches the observers, with
bytes, seconds, devices, pinned memory and the user's call site."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import graphlab as gl
from graphlab.transfer import Sync, Transfer


@pytest.fixture
def records():
    """The records observed while the test runs (the observer is removed afterwards)."""
    seen: list = []
    handle = gl.transfer.add_observer(seen.append)
    yield seen
    handle.remove()


def _here(offset: int = 0) -> str:
    """``file:line`` of the caller's line plus ``offset``."""
    f = inspect.currentframe().f_back
    return f"{f.f_code.co_filename}:{f.f_lineno + offset}"


def test_move_to_a_logical_device_is_one_transfer_record(records):
    x = gl.ones(4, 8)
    site = _here(1)
    x.to("cpu:1")
    assert len(records) == 1
    (r,) = records
    assert isinstance(r, Transfer)
    assert (r.src, r.dst, r.nbytes, r.pinned, r.non_blocking) == ("cpu", "cpu:1", 128, False, False)
    assert r.seconds >= 0 and r.bandwidth >= 0
    assert r.call_site == site  # the test's line, not a frame inside graphlab
    assert r.reason == "to"


def test_every_kind_of_move_is_recorded_with_its_call_site(records):
    x = gl.zeros(3, dtype=gl.float64, device="cpu:1")
    sites = [_here(1), _here(2), _here(3)]
    y = x.cpu()
    y.to("cpu:2", gl.float32)
    gl.zeros(3).copy_(x)
    moves = [r for r in records if isinstance(r, Transfer)]
    assert [(m.src, m.dst, m.nbytes) for m in moves] == [
        ("cpu:1", "cpu", 24),
        ("cpu", "cpu:2", 24),
        ("cpu:1", "cpu", 24),
    ]
    assert [m.call_site for m in moves] == sites


def test_no_transfer_when_the_tensor_is_already_there(records):
    x = gl.ones(2, device="cpu:1")
    x.to("cpu:1")
    x.to(gl.float64)
    assert not [r for r in records if isinstance(r, Transfer)]


def test_backward_through_a_move_records_the_gradient_copy(records):
    x = gl.ones(5, requires_grad=True)
    y = x.to("cpu:1")
    site = _here(1)
    (y * 2).sum().backward()
    moves = [r for r in records if isinstance(r, Transfer)]
    assert [(m.src, m.dst, m.reason) for m in moves] == [
        ("cpu", "cpu:1", "to"),
        ("cpu:1", "cpu", "backward"),
    ]
    assert moves[1].call_site == site


@pytest.mark.parametrize(
    "read, reason",
    [
        (lambda t: t[0].item(), "item"),
        (lambda t: t.tolist(), "tolist"),
        (lambda t: t.numpy(), "numpy"),
        (lambda t: repr(t), "print"),
        (lambda t: str(t), "print"),
        (lambda t: bool(t[0]), "bool"),
        (lambda t: np.asarray(t), "__array__"),
    ],
)
def test_host_reads_are_sync_records(records, read, reason):
    t = gl.ones(4, device="cpu:1")
    records.clear()
    read(t)
    syncs = [r for r in records if isinstance(r, Sync)]
    assert len(syncs) == 1
    (s,) = syncs
    assert s.reason == reason and s.device == "cpu:1" and s.seconds >= 0
    assert s.nbytes in (4, 16)  # the element or the whole tensor
    assert s.call_site.startswith(__file__ + ":")


def test_sync_call_site_is_the_user_line(records):
    t = gl.tensor([1.5])
    site = _here(1)
    t.item()
    (s,) = [r for r in records if isinstance(r, Sync)]
    assert s.call_site == site


def test_handle_remove_stops_the_observer():
    seen: list = []
    handle = gl.transfer.add_observer(seen.append)
    gl.ones(2).to("cpu:1")
    handle.remove()
    gl.ones(2).to("cpu:1")
    gl.ones(2).tolist()
    assert len(seen) == 1


def test_several_observers_each_see_every_record():
    a: list = []
    b: list = []
    ha, hb = gl.transfer.add_observer(a.append), gl.transfer.add_observer(b.append)
    try:
        gl.ones(2).to("cpu:1")
    finally:
        ha.remove()
        hb.remove()
    assert len(a) == len(b) == 1 and a[0] is b[0]


def test_records_are_frozen():
    seen: list = []
    with gl.transfer.add_observer(seen.append):
        gl.ones(2).to("cpu:1")
    with pytest.raises(AttributeError):
        seen[0].nbytes = 0


# ----- on a GPU -------------------------------------------------------------------------------


@pytest.mark.gpu
def test_gpu_transfers_are_recorded_with_pinned_flags(records):
    x = gl.ones(256)
    p = x.pin_memory()
    records.clear()
    site = _here(1)
    a = x.cuda()
    b = p.to("cuda", non_blocking=True)
    a.cpu()
    moves = [r for r in records if isinstance(r, Transfer)]
    assert [(m.src, m.dst, m.pinned) for m in moves] == [
        ("cpu", "cuda:0", False),
        ("cpu", "cuda:0", True),
        ("cuda:0", "cpu", False),
    ]
    assert moves[1].non_blocking and moves[0].call_site == site
    assert all(m.nbytes == 1024 for m in moves)
    assert b.tolist() == [1.0] * 256


@pytest.mark.gpu
def test_gpu_host_reads_are_syncs(records):
    t = gl.ones(3, device="cuda")
    records.clear()
    t.tolist()
    t.sum().item()
    repr(t)
    bool(t[0])
    syncs = [r for r in records if isinstance(r, Sync)]
    assert [s.reason for s in syncs] == ["tolist", "item", "print", "bool"]
    assert all(s.device == "cuda:0" and s.call_site.startswith(__file__) for s in syncs)


@pytest.mark.gpu
def test_gpu_factories_record_the_host_to_device_copy(records):
    site = _here(1)
    gl.tensor([1.0, 2.0], device="cuda")
    (m,) = [r for r in records if isinstance(r, Transfer)]
    assert (m.src, m.dst, m.nbytes, m.call_site) == ("cpu", "cuda:0", 8, site)
