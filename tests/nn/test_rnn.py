"""Recurrent cells and layers against PyTorch with copied weights: outputs, states, input,
state and parameter gradients, parameter names, shapes, defaults and repr."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn

torch = pytest.importorskip("torch")

TOL = {np.float64: dict(rtol=1e-6, atol=1e-10), np.float32: dict(rtol=1e-5, atol=1e-6)}


def _flat(o):
    if isinstance(o, (tuple, list)):
        return [z for e in o for z in _flat(e)]
    return [o]


def _twins(tcls, gcls, args, kw, dtype):
    torch.manual_seed(0)
    tm = tcls(*args, **kw).to(torch.float64 if dtype == np.float64 else torch.float32)
    gm = gcls(*args, **kw).to(gl.float64 if dtype == np.float64 else gl.float32)
    assert list(gm.state_dict()) == list(tm.state_dict())
    for (_, a), (_, b) in zip(tm.state_dict().items(), gm.state_dict().items()):
        assert tuple(b.shape) == tuple(a.shape)
    gm.load_state_dict({k: gl.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    assert repr(gm) == repr(tm)
    return tm, gm


def _check(tcls, gcls, args, kw, x_shape, state_shapes=(), tuple_state=False, dtype=np.float64):
    """Forward, backward of a fixed weighted sum of all outputs; compare everything."""
    tm, gm = _twins(tcls, gcls, args, kw, dtype)
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(dtype) for s in [x_shape, *state_shapes]]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    gs = [gl.tensor(a, requires_grad=True) for a in arrays]
    if tuple_state:
        t_args = [ts[0], tuple(ts[1:])] if state_shapes else [ts[0]]
        g_args = [gs[0], tuple(gs[1:])] if state_shapes else [gs[0]]
    else:
        t_args, g_args = ts, gs
    outs_t, outs_g = _flat(tm(*t_args)), _flat(gm(*g_args))
    tol = TOL[dtype]
    assert len(outs_t) == len(outs_g)
    for a, b in zip(outs_t, outs_g):
        assert tuple(b.shape) == tuple(a.shape)
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), **tol)
    weights = [np.cos(np.arange(o.numel())).reshape(tuple(o.shape)).astype(dtype) for o in outs_t]
    sum(((o * torch.tensor(w)).sum() for o, w in zip(outs_t, weights))).backward()
    sum(((o * gl.tensor(w)).sum() for o, w in zip(outs_g, weights))).backward()
    for a, b in zip(ts, gs):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), **tol)
    t_params = dict(tm.named_parameters())
    g_params = dict(gm.named_parameters())
    assert list(g_params) == list(t_params)
    for name, p in g_params.items():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "kw,x_shape,h",
    [
        ({}, (3, 5), True),
        ({"nonlinearity": "relu"}, (3, 5), True),
        ({"bias": False}, (5,), False),
        ({"bias": False, "nonlinearity": "relu"}, (5,), True),
    ],
)
def test_rnn_cell(dtype, kw, x_shape, h):
    states = [x_shape[:-1] + (4,)] if h else []
    _check(torch.nn.RNNCell, nn.RNNCell, (5, 4), kw, x_shape, states, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
def test_lstm_and_gru_cells(dtype, bias, batched):
    x_shape = (3, 5) if batched else (5,)
    s = x_shape[:-1] + (4,)
    kw = {"bias": bias}
    _check(torch.nn.LSTMCell, nn.LSTMCell, (5, 4), kw, x_shape, [s, s], True, dtype)
    _check(torch.nn.LSTMCell, nn.LSTMCell, (5, 4), kw, x_shape, [], True, dtype)
    _check(torch.nn.GRUCell, nn.GRUCell, (5, 4), kw, x_shape, [s], dtype=dtype)
    _check(torch.nn.GRUCell, nn.GRUCell, (5, 4), kw, x_shape, [], dtype=dtype)


LAYER_CASES = [
    ({}, False),
    ({"num_layers": 2}, True),
    ({"bidirectional": True}, True),
    ({"num_layers": 2, "bidirectional": True, "batch_first": True}, True),
    ({"num_layers": 3, "bias": False, "batch_first": True}, False),
]


def _layer_shapes(kw, batched, hidden):
    n, length, feat = 2, 4, 3
    dirs = 2 if kw.get("bidirectional") else 1
    layers = kw.get("num_layers", 1)
    if not batched:
        return (length, feat), (layers * dirs, hidden)
    x = (n, length, feat) if kw.get("batch_first") else (length, n, feat)
    return x, (layers * dirs, n, hidden)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw,with_state", LAYER_CASES)
@pytest.mark.parametrize("batched", [True, False])
def test_rnn_and_gru_layers(dtype, kw, with_state, batched):
    x_shape, h_shape = _layer_shapes(kw, batched, 5)
    states = [h_shape] if with_state else []
    _check(torch.nn.GRU, nn.GRU, (3, 5), kw, x_shape, states, dtype=dtype)
    for nonlin in ("tanh", "relu"):
        kw_rnn = dict(kw, nonlinearity=nonlin)
        _check(torch.nn.RNN, nn.RNN, (3, 5), kw_rnn, x_shape, states, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw,with_state", LAYER_CASES)
@pytest.mark.parametrize("batched", [True, False])
def test_lstm_layer(dtype, kw, with_state, batched):
    x_shape, h_shape = _layer_shapes(kw, batched, 5)
    states = [h_shape, h_shape] if with_state else []
    _check(torch.nn.LSTM, nn.LSTM, (3, 5), kw, x_shape, states, True, dtype)


def test_lstm_with_projection():
    kw = {"num_layers": 2, "proj_size": 2, "bidirectional": True}
    _check(torch.nn.LSTM, nn.LSTM, (3, 5), kw, (4, 2, 3), [(4, 2, 2), (4, 2, 5)], True)


def test_default_init_is_uniform_in_one_over_sqrt_hidden():
    gl.manual_seed(0)
    m = nn.LSTM(8, 16, num_layers=2, bidirectional=True)
    bound = 1 / math.sqrt(16)
    values = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    assert values.min() >= -bound and values.max() <= bound
    assert values.min() < -0.9 * bound and values.max() > 0.9 * bound  # spread over the range
    assert abs(values.mean()) < 0.01
    cell = nn.GRUCell(3, 25)
    assert np.abs(cell.weight_hh.detach().numpy()).max() <= 0.2


def test_all_weights_and_parameter_names():
    m = nn.GRU(3, 4, num_layers=2, bidirectional=True, bias=False)
    t = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True, bias=False)
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [[tuple(p.shape) for p in g] for g in m.all_weights] == [
        [tuple(p.shape) for p in g] for g in t.all_weights
    ]


def test_dropout_between_layers_only_in_training():
    if not callable(getattr(gl.nn.functional, "dropout", None)):
        pytest.skip("F.dropout is not written yet")
    gl.manual_seed(0)
    m = nn.LSTM(3, 6, num_layers=2, dropout=0.5).double()
    x = gl.randn(4, 2, 3, dtype=gl.float64)
    m.eval()
    a, b = m(x)[0], m(x)[0]
    assert gl.equal(a, b)
    m.train()
    outs = [m(x)[0] for _ in range(4)]
    assert any(not gl.equal(outs[0], o) for o in outs[1:])
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.2)


def test_bad_input_raises():
    m = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(
        RuntimeError,
        match=r"LSTM: input.size\(-1\) must be equal to input_size. "
        r"Expected 3, got 5",
    ):
        m(gl.randn(4, 2, 5))
    with pytest.raises(ValueError, match="LSTM: expected input to be 2-D .* got 4-D"):
        m(gl.randn(4, 2, 3, 1))
    with pytest.raises(
        RuntimeError, match=r"LSTM: expected h_0 of size \(2, 2, 4\).*got \(1, 2, 4\)"
    ):
        m(gl.randn(4, 2, 3), (gl.zeros(1, 2, 4), gl.zeros(2, 2, 4)))
    with pytest.raises(RuntimeError, match="for unbatched 2-D input, hx should also be 2-D"):
        nn.GRU(3, 4)(gl.randn(4, 3), gl.zeros(1, 2, 4))
    with pytest.raises(TypeError, match=r"LSTM: expected hx to be a tuple \(h_0, c_0\)"):
        m(gl.randn(4, 2, 3), gl.zeros(2, 2, 4))
    with pytest.raises(
        RuntimeError, match="GRU: input must have the parameters' dtype float32, got float64"
    ):
        nn.GRU(3, 4)(gl.randn(4, 2, 3, dtype=gl.float64))
    with pytest.raises(
        RuntimeError,
        match=r"GRUCell: input has inconsistent input_size: got 2, "
        r"expected 3",
    ):
        nn.GRUCell(3, 4)(gl.randn(2, 2))
    with pytest.raises(RuntimeError, match=r"RNNCell: expected hx of shape \(2, 4\), got \(3, 4\)"):
        nn.RNNCell(3, 4)(gl.randn(2, 3), gl.zeros(3, 4))
    with pytest.raises(ValueError, match="unknown nonlinearity 'gelu'"):
        nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.LSTM(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        nn.GRU(3, 0)
