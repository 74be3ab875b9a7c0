r"""Recurrent layers, a vanilla RNN and the LSTM, one step and whole sequences: Chapter 8.

Sequences are (N, T, D) and hidden states (N, T, H). Over a sequence the forward pass loops
over time, and the backward pass (backpropagation through time) walks back from the last step;
the weights are shared by every step, so their gradients sum over time.

An LSTM stacks its four gates side by side, in the order i, f, o, g: Wx is (D, 4H), Wh is
(H, 4H) and b is (4H,), and columns [0, H) belong to the input gate i, [H, 2H) to the forget
gate f, [2H, 3H) to the output gate o and [3H, 4H) to the candidate g. The three sigmoid
gates are then one contiguous block. PyTorch's nn.LSTM uses the order i, f, g, o and stores
the transposes, weight_ih (4H, D) and weight_hh (4H, H), with two biases b_ih + b_hh.

The argument checks are in :mod:`bpkit.ops._args`.
"""

from __future__ import annotations

import numpy as np

from ._args import (_dout_like, _lstm_args, _lstm_step_args, _lstm_step_douts, _rnn_args, _rnn_step_args,
                    _sequence_dh)
from .activations import sigmoid

__all__ = ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
           "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward"]


def _recurrent_param_grads(x, h0, h, dz):
    """``(dWx, dWh, db)`` from the gradients ``dz`` (N, T, G H) of every step's pre-activation.

    The weights are shared by all steps, so their gradients sum over the batch *and* over time:
    with the steps stacked as rows, each is one matrix product.
    """
    N, T, D = x.shape
    h_prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)          # (N, T, H): the state each step read
    dz2 = dz.reshape(N * T, -1)
    dWx = x.reshape(N * T, D).T @ dz2
    dWh = h_prev.reshape(N * T, -1).T @ dz2
    return dWx, dWh, dz2.sum(axis=0)


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    r"""One step of a vanilla RNN: $h = \tanh(x W_x + h_{\text{prev}} W_h + b)$.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        The inputs of this time step, one row per sequence.
    h_prev : ndarray, shape (N, H)
        The hidden state after the previous step.
    Wx : ndarray, shape (D, H)
        Input-to-hidden weights.
    Wh : ndarray, shape (H, H)
        Hidden-to-hidden weights: the recurrence.
    b : ndarray, shape (H,)

    Returns
    -------
    h : ndarray, shape (N, H)
        The new hidden state.
    cache : tuple
        ``(x, h_prev, Wx, Wh, h)``, what :func:`rnn_step_backward` needs.
    """
    x, h_prev, Wx, Wh, b = _rnn_step_args(x, h_prev, Wx, Wh, b)
    h = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h, (x, h_prev, Wx, Wh, h)


def rnn_step_backward(dh, cache):
    r"""Gradients of one RNN step: ``(dx, dh_prev, dWx, dWh, db)``.

    With $z = x W_x + h_{\text{prev}} W_h + b$ and $h = \tanh z$, first
    $dz = dh \odot (1 - h^2)$; then $z$ is two dense layers added, so
    $dx = dz\,W_x^\top$, $dh_{\text{prev}} = dz\,W_h^\top$, $dW_x = x^\top dz$,
    $dW_h = h_{\text{prev}}^\top dz$ and $db = \sum_n dz_{n,:}$.

    Parameters
    ----------
    dh : ndarray, shape (N, H)
        Gradient of the loss with respect to the step's output ``h``.
    cache : tuple
        From :func:`rnn_step_forward`.

    Returns
    -------
    dx : (N, D), dh_prev : (N, H), dWx : (D, H), dWh : (H, H), db : (H,)
    """
    dh = _dout_like(dh, cache[-1], "rnn_step_backward", "dh")      # cache[-1] is the output h
    x, h_prev, Wx, Wh, h = cache
    dz = dh * (1 - h * h)
    return dz @ Wx.T, dz @ Wh.T, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    r"""A vanilla RNN over whole sequences: $h_t = \tanh(x_t W_x + h_{t-1} W_h + b)$ for $t = 1, \dots, T$.

    The same weights serve every step. The input part $x_t W_x + b$ of all steps is one matrix
    product; only the recurrence $h_{t-1} W_h$ needs the loop over time.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
        N sequences of T steps with D features each.
    h0 : ndarray, shape (N, H)
        The state before the first step, $h_0$ (zeros for a fresh start).
    Wx : ndarray, shape (D, H)
    Wh : ndarray, shape (H, H)
    b : ndarray, shape (H,)

    Returns
    -------
    h : ndarray, shape (N, T, H)
        Every hidden state: ``h[:, t]`` is the state after reading ``x[:, t]``
        ($h_{t+1}$ in the 1-based formula).
    cache : tuple
        ``(x, h0, Wx, Wh, h)``, what :func:`rnn_backward` needs.
    """
    x, h0, Wx, Wh, b = _rnn_args(x, h0, Wx, Wh, b)
    xw = x @ Wx + b                                  # (N, T, H): the input part of every step at once
    h = np.empty(xw.shape, dtype=xw.dtype)
    h_t = h0
    for t in range(x.shape[1]):                      # the recurrence: one step after the other
        h_t = np.tanh(xw[:, t] + h_t @ Wh)
        h[:, t] = h_t
    return h, (x, h0, Wx, Wh, h)


def rnn_backward(dh, cache):
    r"""Backpropagation through time for :func:`rnn_forward`: ``(dx, dh0, dWx, dWh, db)``.

    ``dh[:, t]`` is the gradient of the loss with respect to ``h[:, t]`` from the layers that
    read it (zeros where nothing does). But $h_t$ also feeds step $t + 1$, so its full
    gradient adds what flows back from there. Walking from the last step to the first, with
    $dh_{\text{next}} = 0$ after the last step:

    $$dz_t = (dh_t + dh_{\text{next}}) \odot (1 - h_t^2), \qquad dh_{\text{next}} = dz_t\, W_h^\top,$$

    and after the first step $dh_{\text{next}}$ is the gradient for ``h0``. The weights are
    shared by every step, so their gradients sum over time (and the batch):
    $dW_x = \sum_t x_t^\top dz_t$, $dW_h = \sum_t h_{t-1}^\top dz_t$, $db = \sum_{t,n} dz_t$.

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        Upstream gradient for every hidden state.
    cache : tuple
        From :func:`rnn_forward`.

    Returns
    -------
    dx : (N, T, D), dh0 : (N, H), dWx : (D, H), dWh : (H, H), db : (H,)
    """
    dh = _sequence_dh(dh, cache, "rnn_backward")
    x, h0, Wx, Wh, h = cache
    dz, dh0 = _rnn_bptt(dh, cache)
    return (dz @ Wx.T, dh0) + _recurrent_param_grads(x, h0, h, dz)


def _rnn_bptt(dh, cache):
    """The loop of :func:`rnn_backward`: ``dz`` (N, T, H) for every step, and ``dh0``."""
    _, h0, _, Wh, h = cache
    dz = np.empty_like(h)
    dh_next = np.zeros_like(h0)                      # gradient reaching h_t from step t + 1
    for t in reversed(range(h.shape[1])):
        dz[:, t] = (dh[:, t] + dh_next) * (1 - h[:, t] * h[:, t])
        dh_next = dz[:, t] @ Wh.T
    return dz, dh_next


def _lstm_cell(xw, h_prev, c_prev, Wh):
    """One LSTM step from its input part ``xw = x Wx + b`` (N, 4H): ``(h, c, step cache)``."""
    H = h_prev.shape[1]
    a = xw + h_prev @ Wh                             # (N, 4H): pre-activations of the gates i, f, o, g
    ifo = sigmoid(a[:, :3 * H])                      # the three sigmoid gates sit side by side
    i, f, o = ifo[:, :H], ifo[:, H:2 * H], ifo[:, 2 * H:]
    g = np.tanh(a[:, 3 * H:])
    c = f * c_prev + i * g
    tc = np.tanh(c)
    return o * tc, c, (c_prev, i, f, o, g, tc)


def _lstm_cell_backward(dh, dc, step):
    """``(da, dc_prev)`` for one step: ``da`` (N, 4H) is the gradient of the gate pre-activations."""
    c_prev, i, f, o, g, tc = step
    dc = dc + dh * o * (1 - tc * tc)                 # c reaches the loss directly and through h = o tanh(c)
    di, df, do, dg = dc * g, dc * c_prev, dh * tc, dc * i
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f),
                         do * o * (1 - o), dg * (1 - g * g)], axis=1)
    return da, dc * f


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    r"""One step of an LSTM (Hochreiter and Schmidhuber, 1997, with the forget gate of Gers et al., 2000).

    With $a = x W_x + h_{\text{prev}} W_h + b$ split into four blocks of H columns,

    $$i = \sigma(a_i),\quad f = \sigma(a_f),\quad o = \sigma(a_o),\quad g = \tanh(a_g),$$
    $$c = f \odot c_{\text{prev}} + i \odot g, \qquad h = o \odot \tanh(c).$$

    The input gate $i$ decides how much of the candidate $g$ enters the cell, the forget gate
    $f$ how much of the old cell $c_{\text{prev}}$ stays, the output gate $o$ how much of the
    cell is shown as $h$.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev, c_prev : ndarray, shape (N, H)
        Hidden and cell state after the previous step.
    Wx : ndarray, shape (D, 4H)
        Input-to-gate weights, gate blocks in the order i, f, o, g. PyTorch's ``nn.LSTM``
        orders them i, f, g, o and stores the transpose, ``weight_ih`` (4H, D).
    Wh : ndarray, shape (H, 4H)
        Hidden-to-gate weights, the same order.
    b : ndarray, shape (4H,)
        PyTorch has two biases, ``bias_ih`` and ``bias_hh``; only their sum matters.

    Returns
    -------
    h, c : ndarray, shape (N, H)
        The new hidden and cell state (an LSTM step has two outputs).
    cache : tuple
        ``(x, h_prev, Wx, Wh, step)``, what :func:`lstm_step_backward` needs.
    """
    x, h_prev, c_prev, Wx, Wh, b = _lstm_step_args(x, h_prev, c_prev, Wx, Wh, b)
    h, c, step = _lstm_cell(x @ Wx + b, h_prev, c_prev, Wh)
    return h, c, (x, h_prev, Wx, Wh, step)


def lstm_step_backward(dh, dc, cache):
    r"""Gradients of one LSTM step: ``(dx, dh_prev, dc_prev, dWx, dWh, db)``.

    The cell state reaches the loss twice, directly (``dc``, from the next step) and through
    $h = o \odot \tanh(c)$, so its full gradient is $dc + dh \odot o \odot (1 - \tanh^2 c)$. From it,
    $do = dh \odot \tanh c$, $di = dc \odot g$, $dg = dc \odot i$, $df = dc \odot c_{\text{prev}}$
    and $dc_{\text{prev}} = dc \odot f$; through the sigmoids and the tanh to the pre-activations
    $da$ (N, 4H), and from there as for :func:`rnn_step_backward`:
    $dx = da\,W_x^\top$, $dh_{\text{prev}} = da\,W_h^\top$, $dW_x = x^\top da$, $dW_h = h_{\text{prev}}^\top da$,
    $db = \sum_n da_{n,:}$.

    Parameters
    ----------
    dh, dc : ndarray, shape (N, H)
        Gradients of the loss with respect to the step's outputs ``h`` and ``c``
        (``dc`` is zeros if nothing but ``h`` is used).
    cache : tuple
        From :func:`lstm_step_forward`.

    Returns
    -------
    dx : (N, D), dh_prev : (N, H), dc_prev : (N, H), dWx : (D, 4H), dWh : (H, 4H), db : (4H,)
    """
    dh, dc = _lstm_step_douts(dh, dc, cache)
    x, h_prev, Wx, Wh, step = cache
    da, dc_prev = _lstm_cell_backward(dh, dc, step)
    dx, dh_prev = da @ Wx.T, da @ Wh.T
    return dx, dh_prev, dc_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def lstm_forward(x, h0, Wx, Wh, b, c0=None):
    r"""An LSTM over whole sequences: :func:`lstm_step_forward` for $t = 1, \dots, T$.

    The input part $x_t W_x + b$ of all steps is one matrix product; the loop over time
    computes the rest of each step from the previous hidden and cell state.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    h0 : ndarray, shape (N, H)
        The hidden state before the first step.
    Wx : ndarray, shape (D, 4H)
    Wh : ndarray, shape (H, 4H)
    b : ndarray, shape (4H,)
        Gate blocks in the order i, f, o, g, as in :func:`lstm_step_forward`.
    c0 : ndarray, shape (N, H), optional
        The cell state before the first step; ``None`` (the default) means zeros, a constant.

    Returns
    -------
    h : ndarray, shape (N, T, H)
        Every hidden state: ``h[:, t]`` is the state after reading ``x[:, t]``. (The cell
        states are internal to the layer and stay in the cache.)
    cache : tuple
        What :func:`lstm_backward` needs: ``(x, h0, Wx, Wh, h, steps, c0_given)``, with one
        step cache per time step.
    """
    x, h0, Wx, Wh, b, c0_arr = _lstm_args(x, h0, Wx, Wh, b, c0)
    N, T, D = x.shape
    H = h0.shape[1]
    steps = _Steps(T, N, H, np.result_type(x, Wx))   # every step's i, f, o, g, c and tanh(c), filled in place
    half = np.ones(4 * H, dtype=steps.gates.dtype)   # z / 2 for the sigmoid gates (see _lstm_cell_into)
    half[:3 * H] = 0.5
    x_tm = np.ascontiguousarray(x.transpose(1, 0, 2)).reshape(T * N, D)
    np.matmul(x_tm, Wx * half, out=steps.gates.reshape(T * N, 4 * H))   # the input part of every step: one product
    steps.gates += b * half
    steps.cs[0] = 0 if c0_arr is None else c0_arr
    h = np.empty((N, T, H), dtype=steps.gates.dtype)
    hWh = np.empty((N, 4 * H), dtype=steps.gates.dtype)
    Wh_half, shift, h_t = Wh * half, 1 - half, h0
    for t in range(T):                               # the recurrence: one step after the other
        h_t = _lstm_cell_into(steps.gates[t], h_t, steps.cs[t], Wh_half, hWh, steps.cs[t + 1], steps.tcs[t],
                              h[:, t], half, shift)
    return h, (x, h0, Wx, Wh, h, steps.fill(), c0_arr is not None)


class _Steps(list):
    """:func:`lstm_forward`'s per-step caches ``(c_prev, i, f, o, g, tanh(c))``, a list with one tuple per step.

    The tuples are views of three buffers kept as attributes, which :func:`_lstm_bptt` reads whole:
    ``gates`` (T, N, 4H), the gates i, f, o, g of every step; ``cs`` (T + 1, N, H), the cell state
    each step reads (``cs[0]`` is ``c0``) and the last one; ``tcs`` (T, N, H), ``tanh(c)``.
    """

    def __init__(self, T, N, H, dtype):
        super().__init__()
        self.gates = np.empty((T, N, 4 * H), dtype=dtype)
        self.cs = np.empty((T + 1, N, H), dtype=dtype)
        self.tcs = np.empty((T, N, H), dtype=dtype)

    def fill(self):
        """Make the step tuples, views of the buffers, once the buffers hold every step."""
        T, N, H4 = self.gates.shape
        self.extend((self.cs[t],) + tuple(self.gates[t].reshape(N, 4, H4 // 4).transpose(1, 0, 2))
                    + (self.tcs[t],) for t in range(T))
        return self


def _lstm_cell_into(a, h_prev, c_prev, Wh_half, hWh, c, tc, h, half, shift):
    r""":func:`_lstm_cell` for :func:`lstm_forward`, writing into the arrays it is given.

    The sigmoid is written $\sigma(z) = (1 + \tanh(z / 2)) / 2$, the same function, finite
    everywhere and cheaper than the two-branch form; the halving is done once for all steps, in
    the weights: ``a`` (N, 4H) holds the input part $x_t W_x + b$ of the pre-activations, its
    i, f, o blocks halved, on entry, ``Wh_half`` is $W_h$ with the same blocks halved (halving
    is exact in floating point; ``half`` (4H,) is 0.5 on those blocks and 1 on g, ``shift`` is
    ``1 - half``), and ``a`` receives the gates i, f, o, g. ``hWh`` (N, 4H) is room
    for $h_{t-1} W_h$; ``c``, ``tc`` and ``h`` (N, H) receive the cell, ``tanh(c)`` and the hidden
    state, which it returns. ``tests/test_rnn.py`` keeps this equal to :func:`_lstm_cell`.
    """
    H = h_prev.shape[1]
    a += np.matmul(h_prev, Wh_half, out=hWh)         # (N, 4H): z/2 for i, f, o and z for g
    np.tanh(a, out=a)
    a *= half
    a += shift                                       # (1 + tanh(z / 2)) / 2 for i, f, o; g = tanh(z) stays
    i, f, o, g = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
    np.multiply(f, c_prev, out=c)
    c += i * g
    np.tanh(c, out=tc)
    return np.multiply(o, tc, out=h)


def lstm_backward(dh, cache):
    r"""Backpropagation through time for :func:`lstm_forward`: ``(dx, dh0, dWx, dWh, db)``, and ``dc0``.

    As in :func:`rnn_backward`, walk from the last step to the first, adding to each
    ``dh[:, t]`` the gradient that flows back from step $t + 1$; an LSTM passes back two
    gradients, for $h_{t-1}$ and for the cell $c_{t-1}$, and :func:`lstm_step_backward` is
    each step's rule. Along the cell the gradient is only multiplied by the forget gate,
    $dc_{t-1} = dc_t \odot f_t$ (plus new contributions), which is what lets it reach far back.
    The weight gradients sum over time and the batch.

    The result has one gradient per array given to the forward pass, in the same order: a
    sixth entry, ``dc0`` (N, H), is returned if and only if ``c0`` was passed to
    :func:`lstm_forward` (otherwise the initial cell state was the constant zero).

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        Upstream gradient for every hidden state.
    cache : tuple
        From :func:`lstm_forward`.

    Returns
    -------
    dx : (N, T, D), dh0 : (N, H), dWx : (D, 4H), dWh : (H, 4H), db : (4H,), and dc0 : (N, H)
    if ``c0`` was given.
    """
    dh = _sequence_dh(dh, cache, "lstm_backward")
    x, h0, Wx, Wh, h, _, c0_given = cache
    da, dh0, dc0 = _lstm_bptt(dh, cache)
    dx, dWx, dWh, db = _lstm_grads(x, h0, h, da, Wx)
    grads = (dx, dh0, dWx, dWh, db)
    return grads + (dc0,) if c0_given else grads


def _lstm_grads(x, h0, h, da, Wx, input_grad=True):
    """``(dx, dWx, dWh, db)`` from ``da`` (T, N, 4H), time first as :func:`_lstm_bptt` leaves it.

    :func:`_recurrent_param_grads` with the steps stacked time first: ``x`` and the states each
    step read are put in that order (small copies), rather than ``da``, the largest array.
    ``dx`` is None without ``input_grad``.
    """
    N, T, D = x.shape
    H = h0.shape[1]
    da2 = da.reshape(T * N, -1)
    h_prev = np.empty((T, N, H), dtype=h.dtype)      # the state each step read, time first
    h_prev[0] = h0
    h_prev[1:] = h[:, :-1].transpose(1, 0, 2)
    dWh = h_prev.reshape(T * N, H).T @ da2
    x_tm = np.ascontiguousarray(x.transpose(1, 0, 2)).reshape(T * N, D)
    dWx = x_tm.T @ da2
    dx = None
    if input_grad:                                   # one product for all steps, back to (N, T, D)
        dx = np.ascontiguousarray((da2 @ np.ascontiguousarray(Wx.T)).reshape(T, N, D).transpose(1, 0, 2))
    return dx, dWx, dWh, da2.sum(axis=0)


def _lstm_bptt(dh, cache):
    """The loop of :func:`lstm_backward`: ``da`` (T, N, 4H), time first, for every step, ``dh0`` and ``dc0``.

    The maths of :func:`_lstm_cell_backward` (``tests/test_rnn.py`` keeps the two equal), arranged
    for speed: what does not depend on the gradients flowing back, the gate derivatives times
    their partners (``g i (1 - i)``, ``c_prev f (1 - f)``, ``tanh(c) o (1 - o)``, ``i (1 - g^2)``)
    and ``o (1 - tanh^2 c)``, is computed for all steps at once before the loop, in place in the
    one array that becomes ``da`` (large temporaries cost fresh memory on every call). Each step
    then multiplies its block by ``dc`` or ``dh`` in place, and passes back one matrix product with
    a contiguous ``Wh.T``.
    """
    _, h0, _, Wh, h, steps, _ = cache
    N, T, H = h.shape
    if not isinstance(steps, _Steps):                # a cache built by hand: stack its steps
        steps = _steps_from_list(steps, N, H)
    gates, tcs, c_prev = steps.gates, steps.tcs, steps.cs[:-1]
    i, f, o, g = (gates[..., k * H:(k + 1) * H] for k in range(4))
    da = np.subtract(1, gates)                                     # (T, N, 4H), time first
    da[..., :3 * H] *= gates[..., :3 * H]                          # sigmoid' of i, f, o
    np.multiply(g, g, out=da[..., 3 * H:])
    np.subtract(1, da[..., 3 * H:], out=da[..., 3 * H:])           # and tanh' of the candidate
    da[..., :H] *= g
    da[..., H:2 * H] *= c_prev
    da[..., 2 * H:3 * H] *= tcs
    da[..., 3 * H:] *= i
    o_dtc = np.multiply(tcs, tcs)                                  # dh -> dc through h = o tanh(c)
    np.subtract(1, o_dtc, out=o_dtc)
    o_dtc *= o
    WhT = np.ascontiguousarray(Wh.T)
    dh_next, dc_next = np.zeros_like(h0), np.zeros_like(h0)        # gradients reaching step t from t + 1
    for t in reversed(range(T)):
        dh_t = dh[:, t] + dh_next
        dc = dh_t * o_dtc[t]
        dc += dc_next                                # c reaches the loss directly and through h
        d = da[t].reshape(N, 4, H)
        d[:, :2] *= dc[:, None]                      # i, f
        d[:, 2] *= dh_t                              # o
        d[:, 3] *= dc                                # g
        dc_next = dc * f[t]
        dh_next = da[t] @ WhT
    return da, dh_next, dc_next


def _steps_from_list(steps, N, H):
    """A :class:`_Steps` with the buffers stacked from a plain list of step caches."""
    out = _Steps(len(steps), N, H, steps[0][1].dtype)
    for t, (c_prev, i, f, o, g, tc) in enumerate(steps):
        out.gates[t] = np.concatenate([i, f, o, g], axis=1)
        out.cs[t], out.tcs[t] = c_prev, tc
    return out
