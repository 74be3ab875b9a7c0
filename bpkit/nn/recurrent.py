"""Recurrent layers as modules (Chapter 8), over :mod:`bpkit.ops.recurrent`.

``RNN`` and ``LSTM`` map sequences (N, T, D) to every hidden state (N, T, H); ``LastTimeStep``
keeps the last one, for a model that reads a sequence and then predicts, and ``TimeDistributed``
applies a module at every step. The argument checks are in :mod:`bpkit.nn._args`.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_float_array
from ..init import get_initializer
from ..ops._args import _sequence_dh
from ..ops.recurrent import (_lstm_bptt, _lstm_grads, _recurrent_param_grads, _rnn_bptt, lstm_forward,
                              lstm_step_forward, rnn_forward)
from ._args import (_check_init_shape, _forget_bias, _init_name, _last_step_input, _layer_args, _forward_dout,
                    _sequence_dout, _sequence_input, _time_dout, _time_input, _wrapped_module)
from .module import Module, takes_input_grad

__all__ = ["RNN", "LSTM", "LastTimeStep", "TimeDistributed"]


class _Recurrent(Module):
    """Shared by :class:`RNN` and :class:`LSTM`: weights from ``init`` one gate block at a time, checks."""
    _gates = 1

    def __init__(self, D, H, *, rng, dtype, init):
        super().__init__()
        name = type(self).__name__
        dtype = _layer_args(name, (("D", D), ("H", H)), "Pass the number of input features per time step D and "
                            f"of hidden units H, e.g. {name}(2, 32, rng=rng).", rng, dtype)
        self.D, self.H, self.dtype = int(D), int(H), dtype
        self.init_name = _init_name(init)
        init_fn = get_initializer(init, name)
        blocks = {}
        for key, rows in (("Wx", self.D), ("Wh", self.H)):
            blocks[key] = [np.asarray(init_fn(rng, rows, self.H, dtype)) for _ in range(self._gates)]
            _check_init_shape(name, blocks[key][0], (rows, self.H), what=f" for {key}")
        self._params["Wx"] = np.hstack(blocks["Wx"]).astype(dtype, copy=False)
        self._params["Wh"] = np.hstack(blocks["Wh"]).astype(dtype, copy=False)
        self._params["b"] = np.zeros(self._gates * self.H, dtype=dtype)
        self.dh0 = None

    @property
    def Wx(self):
        return self._params["Wx"]

    @property
    def Wh(self):
        return self._params["Wh"]

    @property
    def b(self):
        return self._params["b"]

    def _state(self, s, x):
        return np.zeros((x.shape[0], self.H), dtype=self.dtype) if s is None else s

    def _set_grads(self, x, h0, h, dz, input_grad):
        self._grads["Wx"], self._grads["Wh"], self._grads["b"] = _recurrent_param_grads(x, h0, h, dz)
        return dz @ self.Wx.T if input_grad else None

    def extra_repr(self):
        return f"{self.D} -> {self.H}, init={self.init_name}" + (
            "" if self.dtype == np.float64 else f", dtype={self.dtype}")


class RNN(_Recurrent):
    r"""Vanilla recurrent layer (:func:`bpkit.ops.rnn_forward`): sequences (N, T, D) -> hidden states (N, T, H).

    $h_t = \tanh(x_t W_x + h_{t-1} W_h + b)$ for $t = 1, \dots, T$, from $h_0$ = zeros (or the
    ``h0`` given to ``forward``). The output holds every hidden state: follow the layer with
    :class:`LastTimeStep` for a model that reads a whole sequence and then predicts (a
    sequence classifier or regressor), or with :class:`TimeDistributed` to predict at every step.

    Parameters
    ----------
    D, H : int
        Features per time step, and hidden units.
    rng : np.random.Generator
        Source of the initial weights (required).
    dtype : float dtype, default float64
    init : str or callable, default ``"xavier"``
        A name from :data:`bpkit.init.INITIALIZERS` or ``init(rng, D, M, dtype)``; draws ``Wx``
        as ``init(rng, D, H)`` and ``Wh`` as ``init(rng, H, H)``. Glorot's rule suits tanh.
        The bias starts at zero.

    ``params``: ``Wx`` (D, H), ``Wh`` (H, H), ``b`` (H,). After ``backward``, ``dh0`` holds the
    gradient with respect to the initial state.
    """

    def __init__(self, D, H, *, rng=None, dtype=np.float64, init="xavier"):
        super().__init__(D, H, rng=rng, dtype=dtype, init=init)

    def forward(self, x, h0=None, return_state=False):
        """All hidden states (N, T, H) for ``x`` (N, T, D); ``h0`` (N, H) defaults to zeros.

        With ``return_state=True`` the result is ``(h, h_T)``, with the final state ``h_T`` (N, H)
        to pass as ``h0`` of the next call: a model then generates one step at a time.
        """
        x = _sequence_input(self, x)
        h, self._cache = rnn_forward(x, self._state(h0, x), self.Wx, self.Wh, self.b)
        return (h, h[:, -1].copy()) if return_state else h

    def backward(self, dout, input_grad=True):
        cache = _sequence_dout(self, dout)
        dz, self.dh0 = _rnn_bptt(_sequence_dh(dout, cache, f"{self!r}.backward"), cache)
        x, h0, _, _, h = cache
        return self._set_grads(x, h0, h, dz, input_grad)


class LSTM(_Recurrent):
    r"""Long short-term memory layer (:func:`bpkit.ops.lstm_forward`): (N, T, D) -> hidden states (N, T, H).

    Each step updates a cell state through three sigmoid gates and a tanh candidate,
    $c_t = f_t \odot c_{t-1} + i_t \odot g_t$ and $h_t = o_t \odot \tanh(c_t)$, starting from
    $h_0 = c_0$ = zeros (or the ``h0``, ``c0`` given to ``forward``). Use it as :class:`RNN`.

    Parameters
    ----------
    D, H : int
        Features per time step, and hidden units.
    rng : np.random.Generator
        Source of the initial weights (required).
    dtype : float dtype, default float64
    init : str or callable, default ``"xavier"``
        Draws each gate's block separately, as if it were its own layer: ``init(rng, D, H)``
        for each of the four blocks of ``Wx`` and ``init(rng, H, H)`` for those of ``Wh``.
    forget_bias : float, default 1.0
        The initial bias of the forget gate (the other biases start at zero). With a bias of 0
        the forget gate of a fresh layer is centred on $\sigma(0) = 1/2$, so the cell halves its
        content, and the gradient along the cell, at every step: after 20 steps about
        $2^{-20} \approx 10^{-6}$ is left. A bias of 1 centres it on $\sigma(1) \approx 0.73$, and
        $0.73^{20} \approx 2 \times 10^{-3}$ survives 20 steps: the memory the LSTM is built for is
        there from the start, before training has learned to keep the gate open. Jozefowicz,
        Zaremba and Sutskever (2015, "An Empirical Exploration of Recurrent Network
        Architectures") found that adding a bias of 1 to the forget gate closes the gap between
        the LSTM and the GRU; Keras does it by default, PyTorch does not.

    ``params``: ``Wx`` (D, 4H), ``Wh`` (H, 4H), ``b`` (4H,), gate blocks in the order i, f, o, g
    (PyTorch's ``nn.LSTM`` uses i, f, g, o and stores the transposes). After ``backward``,
    ``dh0`` and ``dc0`` hold the gradients with respect to the initial states.
    """
    _gates = 4

    def __init__(self, D, H, *, rng=None, dtype=np.float64, init="xavier", forget_bias=1.0):
        super().__init__(D, H, rng=rng, dtype=dtype, init=init)
        self.forget_bias = _forget_bias(forget_bias)
        self.b[self.H:2 * self.H] = forget_bias
        self.dc0 = None

    def forward(self, x, h0=None, c0=None, return_state=False):
        """All hidden states (N, T, H) for ``x`` (N, T, D); ``h0`` and ``c0`` (N, H) default to zeros.

        With ``return_state=True`` the result is ``(h, (h_T, c_T))``, the final hidden and cell
        states (N, H) to pass as ``h0`` and ``c0`` of the next call, to generate step by step.
        """
        x = _sequence_input(self, x)
        h, self._cache = lstm_forward(x, self._state(h0, x), self.Wx, self.Wh, self.b, self._state(c0, x))
        return (h, (h[:, -1].copy(), self._final_cell(x, h0, c0))) if return_state else h

    def _final_cell(self, x, h0, c0):
        """The cell state after the last step, from the last step's cache: $c_T = f_T c_{T-1} + i_T g_T$."""
        try:
            c_prev, i, f, _, g, _ = self._cache[5][-1]
            return f * c_prev + i * g
        except (TypeError, ValueError, IndexError):   # another cache layout: replay the steps with the public op
            h_t, c_t = self._state(h0, x), self._state(c0, x)
            for t in range(x.shape[1]):
                h_t, c_t, _ = lstm_step_forward(x[:, t], h_t, c_t, self.Wx, self.Wh, self.b)
            return c_t

    def backward(self, dout, input_grad=True):
        cache = _sequence_dout(self, dout)
        da, self.dh0, self.dc0 = _lstm_bptt(_sequence_dh(dout, cache, f"{self!r}.backward"), cache)
        x, h0, _, _, h = cache[:5]
        dx, *grads = _lstm_grads(x, h0, h, da, self.Wx, input_grad)   # da is time first
        self._grads["Wx"], self._grads["Wh"], self._grads["b"] = grads
        return dx

    def extra_repr(self):
        return super().extra_repr() + ("" if self.forget_bias == 1.0 else f", forget_bias={self.forget_bias}")


class LastTimeStep(Module):
    """Keeps the last time step of a sequence: (N, T, H) -> (N, H).

    Put it after a recurrent layer when only its final state should be used, e.g.
    ``Sequential(LSTM(2, 32, rng=rng), LastTimeStep(), Linear(32, 1, rng=rng))`` reads a whole
    sequence and then makes one prediction. ``backward`` returns the gradient for the
    input: ``dout`` at the last step and zeros at every other one. No parameters.
    """

    def forward(self, x):
        x = _last_step_input(x)
        self._cache = x.shape
        return x[:, -1].copy()

    def backward(self, dout, input_grad=True):
        shape = self._need_cache()
        if not input_grad:
            return None
        dout = as_float_array(dout, "LastTimeStep.backward", "dout")
        _forward_dout("LastTimeStep.backward", dout, (shape[0], shape[2]))
        dx = np.zeros(shape, dtype=dout.dtype)
        dx[:, -1] = dout
        return dx


class TimeDistributed(Module):
    """Applies ``module`` at every time step: (N, T, ...) -> (N, T, ...), with the same weights everywhere.

    The T steps are folded into the batch, ``x.reshape(N * T, ...)``, so ``module`` sees N T
    ordinary examples. ``TimeDistributed(Linear(H, 1, rng=rng))`` after a recurrent layer
    predicts one value per step (next-step prediction). ``params`` and ``grads`` are those
    of ``module``, with the same keys and the same arrays.
    """

    def __init__(self, module):
        super().__init__()
        self.module = _wrapped_module(module)

    @property
    def params(self):
        return self.module.params

    @property
    def grads(self):
        return self.module.grads

    @property
    def buffers(self):
        return self.module.buffers

    def train(self, mode=True):
        super().train(mode)
        self.module.train(mode)
        return self

    def forward(self, x):
        x = _time_input(x)
        N, T = x.shape[:2]
        self._cache = N, T
        out = self.module.forward(x.reshape((N * T,) + x.shape[2:]))
        return out.reshape((N, T) + out.shape[1:])

    def backward(self, dout, input_grad=True):
        N, T = self._need_cache()
        dout = _time_dout(dout, N, T)
        d = dout.reshape((N * T,) + dout.shape[2:])
        if not input_grad and takes_input_grad(self.module):
            return self.module.backward(d, input_grad=False)
        dx = self.module.backward(d)
        return dx.reshape((N, T) + dx.shape[1:]) if input_grad else None

    def extra_repr(self):
        return repr(self.module)
