"""Recurrent layers: ``RNNCell``, ``LSTMCell``, ``GRUCell`` and the ``RNN``, ``LSTM``, ``GRU``
layers (PyTorch's parameter names, shapes, defaults, input and output layouts).

Composed from tensor ops, so autograd handles backpropagation through time. The input
projection of a whole sequence is one matmul; only the recurrent part loops over time steps
(never over the batch or features).
"""

from __future__ import annotations

import math
import numbers
import warnings

from ...creation import empty, zeros
from ...functions.shaping import cat, stack
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "RNNBase", "RNN", "LSTM", "GRU"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, relu: bool) -> Tensor:
    """One Elman step from the precomputed input projection ``gi = x W_ih^T + b_ih``."""
    pre = gi + F.linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def _lstm_step(gi, h, c, w_hh, b_hh, w_hr):
    """One LSTM step: gates in PyTorch's order (input, forget, cell, output)."""
    i, f, g, o = (gi + F.linear(h, w_hh, b_hh)).chunk(4, dim=-1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    if w_hr is not None:
        h = F.linear(h, w_hr)
    return h, c


def _gru_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """One GRU step: gates in PyTorch's order (reset, update, new); the reset gate multiplies
    the hidden projection *including* its bias, as in PyTorch (and cuDNN)."""
    i_r, i_z, i_n = gi.chunk(3, dim=-1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, dim=-1)
    r = (i_r + h_r).sigmoid()
    z = (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return n + z * (h - n)  # = (1 - z) * n + z * h


def _check_dtype(module: Module, x: Tensor, what: str) -> None:
    dt = module.weight_ih_l0.dtype if hasattr(module, "weight_ih_l0") else module.weight_ih.dtype
    if x.dtype is not dt:
        raise RuntimeError(
            f"{module._get_name()}: {what} must have the parameters' dtype {dt.name}, got "
            f"{x.dtype.name}; convert the input (x.to(graphlab.{dt.name})) or the module "
            f"(.to(graphlab.{x.dtype.name}))"
        )


# -- cells ------------------------------------------------------------------------------------


class RNNCellBase(Module):
    """Parameters shared by the cells: ``weight_ih (G*H, in)``, ``weight_hh (G*H, H)``,
    ``bias_ih``, ``bias_hh`` (``G*H``), all uniform in ``±1/sqrt(hidden_size)``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        _check_sizes(self._get_name(), input_size, hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        kw = dict(device=device, dtype=dtype)
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, **kw))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, **kw))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter uniform in ``[-1/sqrt(hidden_size), 1/sqrt(hidden_size)]``."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(
        self,
        input: Tensor,  # noqa: A002
        hx: Tensor | None,
    ) -> tuple[Tensor, Tensor, bool]:
        """Check the input, add a batch dim to unbatched input, default the state to zeros."""
        name = self._get_name()
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ValueError(
                f"{name}: expected input to be 1-D (input_size,) or 2-D (batch, input_size), "
                f"got {input.ndim}-D with shape {tuple(input.shape)}"
            )
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"{name}: input has inconsistent input_size: got {input.shape[-1]}, expected "
                f"{self.input_size} (input shape {tuple(input.shape)})"
            )
        _check_dtype(self, input, "input")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            h = zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
        else:
            h = self._check_state(hx, x, batched, "hx")
        return x, h, batched

    def _check_state(self, hx, x: Tensor, batched: bool, what: str) -> Tensor:
        want = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        if not isinstance(hx, Tensor) or tuple(hx.shape) != want:
            got = tuple(hx.shape) if isinstance(hx, Tensor) else type(hx).__name__
            raise RuntimeError(f"{self._get_name()}: expected {what} of shape {want}, got {got}")
        _check_dtype(self, hx, what)
        return hx if batched else hx.unsqueeze(0)


class RNNCell(RNNCellBase):
    """An Elman cell: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ``relu``)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNNCell: unknown nonlinearity {nonlinearity!r}; select from 'tanh' or 'relu'"
            )
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002
        """The next hidden state ``(batch, hidden_size)`` (or ``(hidden_size,)`` unbatched)."""
        x, h, batched = self._prepare(input, hx)
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        h = _rnn_step(gi, h, self.weight_hh, self.bias_hh, self.nonlinearity == "relu")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """A long short-term memory cell; returns ``(h', c')``."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(
        self,
        input: Tensor,  # noqa: A002
        hx: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, Tensor]:
        """``(h', c')`` from ``input`` and the state ``hx = (h, c)`` (zeros when omitted)."""
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(
                f"LSTMCell: expected hx to be a tuple (h_0, c_0), got {type(hx).__name__}"
            )
        x, h, batched = self._prepare(input, None if hx is None else hx[0])
        c = h if hx is None else self._check_state(hx[1], x, batched, "cx")
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        h, c = _lstm_step(gi, h, c, self.weight_hh, self.bias_hh, None)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """A gated recurrent unit cell."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002
        """The next hidden state ``(batch, hidden_size)`` (or ``(hidden_size,)`` unbatched)."""
        x, h, batched = self._prepare(input, hx)
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        h = _gru_step(gi, h, self.weight_hh, self.bias_hh)
        return h if batched else h.squeeze(0)


def _check_sizes(name: str, input_size, hidden_size) -> None:
    for what, v in (("input_size", input_size), ("hidden_size", hidden_size)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
            raise ValueError(f"{name}: {what} must be a positive int, got {v!r}")


# -- layers -----------------------------------------------------------------------------------


class RNNBase(Module):
    """Stacked, optionally bidirectional recurrent layers.

    Parameters per layer ``k`` and direction (suffix ``_reverse`` for the backward one):
    ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` (and
    ``weight_hr_l{k}`` for an LSTM with ``proj_size``), registered in PyTorch's order.
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        _check_sizes(name, input_size, hidden_size)
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be a positive int, got {num_layers!r}")
        if isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(
                f"{name}: dropout should be a number in range [0, 1] representing the "
                f"probability of an element being zeroed, got {dropout!r}"
            )
        if proj_size < 0 or (proj_size and mode != "LSTM"):
            raise ValueError(
                f"{name}: proj_size must be a non-negative int (and is only supported by LSTM), "
                f"got {proj_size!r}"
            )
        if proj_size and proj_size >= hidden_size:
            raise ValueError(
                f"{name}: proj_size ({proj_size}) has to be smaller than "
                f"hidden_size ({hidden_size})"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"{name}: dropout option adds dropout after all but last recurrent layer, so "
                f"non-zero dropout expects num_layers greater than 1, but got dropout={dropout} "
                f"and num_layers={num_layers}",
                stacklevel=3,
            )
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        dirs = 2 if bidirectional else 1
        kw = dict(device=device, dtype=dtype)
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else real_hidden * dirs
            for direction in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                params = [
                    ("weight_ih" + sfx, (gate_size, layer_in)),
                    ("weight_hh" + sfx, (gate_size, real_hidden)),
                ]
                if bias:
                    params += [("bias_ih" + sfx, (gate_size,)), ("bias_hh" + sfx, (gate_size,))]
                if proj_size > 0:
                    params.append(("weight_hr" + sfx, (proj_size, hidden_size)))
                for pname, shape in params:
                    setattr(self, pname, Parameter(empty(*shape, **kw)))
                    self._flat_weights_names.append(pname)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter uniform in ``[-1/sqrt(hidden_size), 1/sqrt(hidden_size)]``."""
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters grouped per layer and direction, in registration order."""
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i : i + per]] for i in range(0, len(names), per)]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # NOTE: the three layer types differ only in their state (h, or (h, c)) and step function.

    def _check_input(self, input) -> tuple[Tensor, bool]:  # noqa: A002
        name = self._get_name()
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(
                f"{name}: expected input to be 2-D (seq_len, input_size) or 3-D "
                f"({'batch, seq_len' if self.batch_first else 'seq_len, batch'}, input_size), "
                f"got {input.ndim}-D with shape {tuple(input.shape)}"
            )
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"{name}: input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {input.shape[-1]} (input shape {tuple(input.shape)})"
            )
        _check_dtype(self, input, "input")
        batched = input.ndim == 3
        steps = input.shape[1] if batched and self.batch_first else input.shape[0]
        if steps == 0:
            raise ValueError(
                f"{name}: expected a sequence of at least one step, got input of shape "
                f"{tuple(input.shape)}"
            )
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        return x, batched  # x is (L, N, input_size)

    def _state(self, hx, x: Tensor, batched: bool, size: int, what: str) -> Tensor:
        dirs = 2 if self.bidirectional else 1
        n = x.shape[1]
        if hx is None:
            return zeros(self.num_layers * dirs, n, size, dtype=x.dtype, device=x.device)
        name = self._get_name()
        if not isinstance(hx, Tensor):
            raise TypeError(f"{name}: expected {what} to be a Tensor, got {type(hx).__name__}")
        if hx.ndim != (3 if batched else 2):
            raise RuntimeError(
                f"{name}: for {'batched 3' if batched else 'unbatched 2'}-D input, {what} should "
                f"also be {3 if batched else 2}-D but got {hx.ndim}-D tensor"
            )
        want = (self.num_layers * dirs, n, size) if batched else (self.num_layers * dirs, size)
        if tuple(hx.shape) != want:
            raise RuntimeError(
                f"{name}: expected {what} of size {want} (num_layers * num_directions, "
                f"{'batch, ' if batched else ''}hidden), got {tuple(hx.shape)}"
            )
        _check_dtype(self, hx, what)
        return hx if batched else hx.unsqueeze(1)

    def _run(self, x: Tensor, states: list[Tensor]) -> tuple[Tensor, list[list[Tensor]]]:
        """Run every layer and direction over ``x (L, N, in)``; ``states`` holds one tensor per
        state kind, each ``(layers * dirs, N, size)``. Returns the last layer's output and the
        final states per kind, one entry per layer and direction."""
        dirs = 2 if self.bidirectional else 1
        finals: list[list[Tensor]] = [[] for _ in states]
        steps = x.shape[0]
        for layer in range(self.num_layers):
            outs = []
            for direction in range(dirs):
                idx = layer * dirs + direction
                sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                w_ih = getattr(self, "weight_ih" + sfx)
                w_hh = getattr(self, "weight_hh" + sfx)
                b_ih = getattr(self, "bias_ih" + sfx) if self.bias else None
                b_hh = getattr(self, "bias_hh" + sfx) if self.bias else None
                w_hr = getattr(self, "weight_hr" + sfx) if self.proj_size else None
                gi = F.linear(x, w_ih, b_ih)  # the whole sequence's input projection at once
                st = [s[idx] for s in states]
                order = range(steps - 1, -1, -1) if direction == 1 else range(steps)
                ys = [None] * steps
                for t in order:
                    st = self._step(gi[t], st, w_hh, b_hh, w_hr)
                    ys[t] = st[0]
                outs.append(stack(ys))
                for k, s in enumerate(st):
                    finals[k].append(s)
            x = outs[0] if dirs == 1 else cat(outs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                from ..functional.dropout import dropout

                x = dropout(x, p=self.dropout, training=True)
        return x, finals

    def _forward(self, input, hx_list, sizes):  # noqa: A002
        x, batched = self._check_input(input)
        states = [self._state(h, x, batched, size, what) for h, (size, what) in zip(hx_list, sizes)]
        out, finals = self._run(x, states)
        finals = [stack(f) for f in finals]
        if batched and self.batch_first:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(1)
            finals = [f.squeeze(1) for f in finals]
        return out, finals


class RNN(RNNBase):
    """Elman RNN layers: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu).

    ``forward(input, hx=None)`` returns ``(output, h_n)``: ``output`` is
    ``(L, N, D * hidden_size)`` (``(N, L, ...)`` with ``batch_first``), ``h_n`` is
    ``(D * num_layers, N, hidden_size)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNN: unknown nonlinearity {nonlinearity!r}; select from 'tanh' or 'relu'"
            )
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            mode,
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )
        self.nonlinearity = nonlinearity

    def _step(self, gi, st, w_hh, b_hh, w_hr):
        return [_rnn_step(gi, st[0], w_hh, b_hh, self.mode == "RNN_RELU")]

    def forward(
        self,
        input: Tensor,  # noqa: A002
        hx: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """``(output, h_n)`` for ``input`` and the initial state ``hx`` (zeros by default)."""
        out, (h_n,) = self._forward(input, [hx], [(self.hidden_size, "hx")])
        return out, h_n


class LSTM(RNNBase):
    """Long short-term memory layers (gates in PyTorch's order: input, forget, cell, output).

    ``forward(input, (h_0, c_0)=None)`` returns ``(output, (h_n, c_n))``; with ``proj_size`` the
    hidden state (and output) is projected to ``proj_size`` by ``weight_hr_l{k}``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )

    def _step(self, gi, st, w_hh, b_hh, w_hr):
        return list(_lstm_step(gi, st[0], st[1], w_hh, b_hh, w_hr))

    def forward(
        self,
        input: Tensor,  # noqa: A002
        hx: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """``(output, (h_n, c_n))`` for ``input`` and the initial state ``hx = (h_0, c_0)``."""
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTM: expected hx to be a tuple (h_0, c_0), got {type(hx).__name__}")
        h0, c0 = (None, None) if hx is None else hx
        real_hidden = self.proj_size or self.hidden_size
        out, (h_n, c_n) = self._forward(
            input, [h0, c0], [(real_hidden, "h_0"), (self.hidden_size, "c_0")]
        )
        return out, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit layers (gates in PyTorch's order: reset, update, new).

    ``forward(input, hx=None)`` returns ``(output, h_n)``, shaped as for :class:`RNN`.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )

    def _step(self, gi, st, w_hh, b_hh, w_hr):
        return [_gru_step(gi, st[0], w_hh, b_hh)]

    def forward(
        self,
        input: Tensor,  # noqa: A002
        hx: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """``(output, h_n)`` for ``input`` and the initial state ``hx`` (zeros by default)."""
        out, (h_n,) = self._forward(input, [hx], [(self.hidden_size, "hx")])
        return out, h_n
