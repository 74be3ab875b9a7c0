"""Recurrent layers: the RNN and LSTM ops (one step and whole sequences) and modules.

Two oracles, as for every op: central differences in float64 (rel. error < 1e-7) over
hypothesis-generated shapes, for every input including the initial states; and plain
references (a loop of one-step calls for BPTT, and an LSTM written with one matrix per gate).
Planted wrong gradients (BPTT truncated to one step, a forget gate that ignores the old cell)
are caught. float32 in, float32 out; no mutation of inputs; the modules in ``Sequential`` with
``LastTimeStep`` and ``TimeDistributed`` (and ``input_grad=False``); the adding problem learned
by an LSTM; and, when PyTorch is installed, parity with ``torch.nn.RNN`` and ``torch.nn.LSTM``.
"""

import time

import numpy as np
import pytest
from _helpers import random_array
from hypothesis import given
from hypothesis import strategies as st

from bpkit import data, losses, nn, ops, optim, train
from bpkit.gradcheck import GradientCheckError, check_gradients, check_module

TOL = 1e-7
seeds = st.integers(0, 2**32 - 1)
sizes = st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 3), st.integers(1, 4))   # N, T, D, H


#: Inputs and states are kept at least this far from 0. The weight gradients are products such as
#: x^T dz; with N = D = 1 and a tiny x every entry of dWx is tiny, below what a central difference
#: resolves to 7 relative digits (hypothesis found x near 0 with seed 6721), which is not a bug;
#: likewise dh0 = dz W_h^T with a tiny W_h when H = 1 (seed 1191). Weights keep half that distance.
AWAY = 0.1


def rnn_arrays(rng, N, T, D, H, gates=1):
    """x, h0, c0, Wx, Wh, b with weights of scale 0.5, so the tanh and sigmoids are not saturated."""
    return (random_array(rng, (N, T, D), away_from_zero=AWAY), random_array(rng, (N, H), away_from_zero=AWAY),
            random_array(rng, (N, H), away_from_zero=AWAY),
            random_array(rng, (D, gates * H), 0.5, away_from_zero=AWAY / 2),
            random_array(rng, (H, gates * H), 0.5, away_from_zero=AWAY / 2),
            random_array(rng, (gates * H,), 0.5))


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_reference(x, h0, c0, Wx, Wh, b):
    """The LSTM written plainly: one matrix per gate, one time step after the other.

    Columns of Wx, Wh and b are cut into the four gate blocks in bpkit's order i, f, o, g.
    """
    H = h0.shape[1]
    Wx_i, Wx_f, Wx_o, Wx_g = (Wx[:, k * H:(k + 1) * H] for k in range(4))
    Wh_i, Wh_f, Wh_o, Wh_g = (Wh[:, k * H:(k + 1) * H] for k in range(4))
    b_i, b_f, b_o, b_g = (b[k * H:(k + 1) * H] for k in range(4))
    h, c = h0, c0
    hs = []
    for t in range(x.shape[1]):
        x_t = x[:, t]
        i = sigmoid(x_t @ Wx_i + h @ Wh_i + b_i)           # input gate
        f = sigmoid(x_t @ Wx_f + h @ Wh_f + b_f)           # forget gate
        o = sigmoid(x_t @ Wx_o + h @ Wh_o + b_o)           # output gate
        g = np.tanh(x_t @ Wx_g + h @ Wh_g + b_g)           # candidate
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1)


# ----------------------------------------------------------------------------- RNN: ops

@given(size=sizes, seed=seeds)
def test_rnn_step_backward_gradcheck(size, seed):
    N, _, D, H = size
    rng = np.random.default_rng(seed)
    _, h_prev, _, Wx, Wh, b = rnn_arrays(rng, N, 1, D, H)
    x = random_array(rng, (N, D), away_from_zero=AWAY)
    h, cache = ops.rnn_step_forward(x, h_prev, Wx, Wh, b)
    assert h.shape == (N, H)
    dh = random_array(rng, h.shape)
    grads = ops.rnn_step_backward(dh, cache)
    inputs = {"x": x, "h_prev": h_prev, "Wx": Wx, "Wh": Wh, "b": b}
    assert [g.shape for g in grads] == [v.shape for v in inputs.values()]
    errs = check_gradients(lambda: ops.rnn_step_forward(x, h_prev, Wx, Wh, b)[0], inputs,
                           dict(zip(inputs, grads)), dout=dh)
    assert max(errs.values()) < TOL, errs


@given(size=sizes, seed=seeds)
def test_rnn_backward_gradcheck(size, seed):
    """Backpropagation through time, with an upstream gradient at every step, against finite differences."""
    N, T, D, H = size
    rng = np.random.default_rng(seed)
    x, h0, _, Wx, Wh, b = rnn_arrays(rng, N, T, D, H)
    h, cache = ops.rnn_forward(x, h0, Wx, Wh, b)
    assert h.shape == (N, T, H)
    dh = random_array(rng, h.shape)
    grads = ops.rnn_backward(dh, cache)
    inputs = {"x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "b": b}
    assert [g.shape for g in grads] == [v.shape for v in inputs.values()]
    errs = check_gradients(lambda: ops.rnn_forward(x, h0, Wx, Wh, b)[0], inputs, dict(zip(inputs, grads)), dout=dh)
    assert max(errs.values()) < TOL, errs


def test_rnn_is_a_loop_of_steps_and_bptt_carries_the_gradient_back(rng):
    """rnn_forward equals rnn_step_forward applied T times; rnn_backward equals rnn_step_backward
    applied backwards with dh_prev added to the upstream gradient of the step before."""
    x, h0, _, Wx, Wh, b = rnn_arrays(rng, 3, 6, 2, 4)
    h, cache = ops.rnn_forward(x, h0, Wx, Wh, b)
    dh = random_array(rng, h.shape)
    h_t, caches = h0, []
    for t in range(6):
        h_t, c = ops.rnn_step_forward(x[:, t], h_t, Wx, Wh, b)
        np.testing.assert_allclose(h[:, t], h_t, rtol=1e-14, atol=1e-15)
        caches.append(c)
    dx, dh0, dWx, dWh, db = ops.rnn_backward(dh, cache)
    total = [np.zeros_like(a) for a in (Wx, Wh, b)]
    dh_next = np.zeros_like(h0)
    for t in reversed(range(6)):
        dx_t, dh_next, *dparams = ops.rnn_step_backward(dh[:, t] + dh_next, caches[t])
        np.testing.assert_allclose(dx[:, t], dx_t, rtol=1e-12, atol=1e-14)
        total = [a + d for a, d in zip(total, dparams)]
    np.testing.assert_allclose(dh0, dh_next, rtol=1e-12, atol=1e-14)
    for ours, loop in zip((dWx, dWh, db), total):
        np.testing.assert_allclose(ours, loop, rtol=1e-12, atol=1e-14)


def test_rnn_gradcheck_catches_bptt_truncated_to_one_step(rng):
    """Dropping the gradient that flows back from step t + 1 (BPTT truncated to one step) is caught."""
    x, h0, _, Wx, Wh, b = rnn_arrays(rng, 2, 5, 3, 4)
    h, _ = ops.rnn_forward(x, h0, Wx, Wh, b)
    dh = random_array(rng, h.shape)
    h_t, grads = h0, {"x": np.zeros_like(x), "Wh": np.zeros_like(Wh)}
    for t in range(5):
        h_t, cache = ops.rnn_step_forward(x[:, t], h_t, Wx, Wh, b)
        dx_t, _, _, dWh_t, _ = ops.rnn_step_backward(dh[:, t], cache)     # dh_prev is thrown away
        grads["x"][:, t] = dx_t
        grads["Wh"] += dWh_t
    f = lambda: ops.rnn_forward(x, h0, Wx, Wh, b)[0]               # noqa: E731
    for name in ("x", "Wh"):
        with pytest.raises(GradientCheckError, match=f"'{name}'"):
            check_gradients(f, {"x": x, "Wh": Wh}, {name: grads[name]}, dout=dh)


# ----------------------------------------------------------------------------- LSTM: ops

@given(size=sizes, seed=seeds)
def test_lstm_step_backward_gradcheck(size, seed):
    """Both outputs, h and c, get an upstream gradient: f returns them side by side."""
    N, _, D, H = size
    rng = np.random.default_rng(seed)
    _, h_prev, c_prev, Wx, Wh, b = rnn_arrays(rng, N, 1, D, H, gates=4)
    x = random_array(rng, (N, D), away_from_zero=AWAY)
    h, c, cache = ops.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
    assert h.shape == c.shape == (N, H)
    dh, dc = random_array(rng, (N, H)), random_array(rng, (N, H))
    grads = ops.lstm_step_backward(dh, dc, cache)
    inputs = {"x": x, "h_prev": h_prev, "c_prev": c_prev, "Wx": Wx, "Wh": Wh, "b": b}
    assert [g.shape for g in grads] == [v.shape for v in inputs.values()]

    def f():
        h, c, _ = ops.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
        return np.concatenate([h, c], axis=1)

    errs = check_gradients(f, inputs, dict(zip(inputs, grads)), dout=np.concatenate([dh, dc], axis=1))
    assert max(errs.values()) < TOL, errs


@given(size=sizes, seed=seeds, with_c0=st.booleans())
def test_lstm_backward_gradcheck(size, seed, with_c0):
    """BPTT through the LSTM; ``dc0`` is returned (sixth) exactly when ``c0`` was given."""
    N, T, D, H = size
    rng = np.random.default_rng(seed)
    x, h0, c0, Wx, Wh, b = rnn_arrays(rng, N, T, D, H, gates=4)
    extra = (c0,) if with_c0 else ()
    h, cache = ops.lstm_forward(x, h0, Wx, Wh, b, *extra)
    assert h.shape == (N, T, H)
    dh = random_array(rng, h.shape)
    grads = ops.lstm_backward(dh, cache)
    inputs = {"x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "b": b} | ({"c0": c0} if with_c0 else {})
    assert [g.shape for g in grads] == [v.shape for v in inputs.values()]
    errs = check_gradients(lambda: ops.lstm_forward(x, h0, Wx, Wh, b, *extra)[0], inputs,
                           dict(zip(inputs, grads)), dout=dh)
    assert max(errs.values()) < TOL, errs


@pytest.mark.parametrize("with_c0", [False, True])
def test_lstm_forward_matches_the_per_gate_reference(rng, with_c0):
    x, h0, c0, Wx, Wh, b = rnn_arrays(rng, 3, 7, 2, 5, gates=4)
    h, _ = ops.lstm_forward(x, h0, Wx, Wh, b, c0 if with_c0 else None)
    ref = lstm_reference(x, h0, c0 if with_c0 else np.zeros_like(h0), Wx, Wh, b)
    np.testing.assert_allclose(h, ref, rtol=1e-12, atol=1e-14)


def test_lstm_is_a_loop_of_steps(rng):
    x, h0, c0, Wx, Wh, b = rnn_arrays(rng, 2, 4, 3, 3, gates=4)
    h, _ = ops.lstm_forward(x, h0, Wx, Wh, b, c0)
    h_t, c_t = h0, c0
    for t in range(4):
        h_t, c_t, _ = ops.lstm_step_forward(x[:, t], h_t, c_t, Wx, Wh, b)
        np.testing.assert_allclose(h[:, t], h_t, rtol=1e-14, atol=1e-15)


def test_lstm_fast_sequence_path_equals_the_clear_step_functions(rng):
    """``lstm_forward``/``lstm_backward`` fill preallocated buffers with a tanh-form sigmoid; the chapter
    shows ``_lstm_cell``/``lstm_step_*``. Outputs, caches and every gradient must be the same."""
    from bpkit.ops.recurrent import _lstm_cell, _lstm_cell_into
    for dtype, tol in ((np.float64, 1e-13), (np.float32, 2e-6)):
        x, h0, c0, Wx, Wh, b = (a.astype(dtype) for a in rnn_arrays(rng, 3, 6, 4, 5, gates=4))
        Wh = Wh * 3                                                 # saturate some gates too
        h, cache = ops.lstm_forward(x, h0, Wx, Wh, b, c0)
        dh = rng.normal(size=h.shape).astype(dtype)
        grads = ops.lstm_backward(dh, cache)
        h_t, c_t, caches = h0, c0, []
        for t in range(x.shape[1]):
            h_t, c_t, step_cache = ops.lstm_step_forward(x[:, t], h_t, c_t, Wx, Wh, b)
            np.testing.assert_allclose(h[:, t], h_t, rtol=tol, atol=tol)
            for fast, clear in zip(cache[5][t], step_cache[4]):     # c_prev, i, f, o, g, tanh(c)
                assert fast.dtype == dtype
                np.testing.assert_allclose(fast, clear, rtol=tol, atol=tol)
            caches.append(step_cache)
        dx, dWx, dWh, db = np.empty_like(x), 0, 0, 0
        dh_next, dc_next = np.zeros_like(h0), np.zeros_like(h0)
        for t in reversed(range(x.shape[1])):
            dx[:, t], dh_next, dc_next, gWx, gWh, gb = ops.lstm_step_backward(dh[:, t] + dh_next, dc_next, caches[t])
            dWx, dWh, db = dWx + gWx, dWh + gWh, db + gb
        for got, want in zip(grads, (dx, dh_next, dWx, dWh, db, dc_next)):
            assert got.dtype == dtype
            np.testing.assert_allclose(got, want, rtol=tol * 10, atol=tol * 10)
        a = rng.normal(size=(3, 20)).astype(dtype) * 30             # one cell, huge pre-activations included
        hp, cp = rng.normal(size=(3, 5)).astype(dtype), rng.normal(size=(3, 5)).astype(dtype)
        want_h, want_c, _ = _lstm_cell(a, hp, cp, Wh)
        buf, c, tc, hh = np.empty((3, 20), dtype), np.empty((3, 5), dtype), np.empty((3, 5), dtype), np.empty((3, 5), dtype)
        half = np.r_[np.full(15, 0.5), np.ones(5)].astype(dtype)    # i, f, o halved, as lstm_forward does
        got_h = _lstm_cell_into(a * half, hp, cp, Wh * half, buf, c, tc, hh, half, 1 - half)
        np.testing.assert_allclose(got_h, want_h, rtol=tol, atol=tol)
        np.testing.assert_allclose(c, want_c, rtol=tol, atol=tol)


def test_lstm_gradcheck_catches_a_forget_gate_gradient_without_c_prev(rng):
    """df = dc instead of dc * c_prev (forgetting that f multiplies the old cell) is caught in Wx and b."""
    _, h_prev, c_prev, Wx, Wh, b = rnn_arrays(rng, 3, 1, 2, 4, gates=4)
    c_prev = c_prev + 2.0                                 # far from 1, so dc and dc * c_prev differ
    x = random_array(rng, (3, 2))
    H = 4
    h, c, cache = ops.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
    dh, dc = random_array(rng, h.shape), random_array(rng, c.shape)
    # The step's backward written out, with the mistake in the forget gate.
    a = x @ Wx + h_prev @ Wh + b
    i, f, o, g = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H]), np.tanh(a[:, 3 * H:])
    dc_total = dc + dh * o * (1 - np.tanh(c) ** 2)
    da = np.concatenate([dc_total * g * i * (1 - i), dc_total * f * (1 - f),            # should be * c_prev
                         dh * np.tanh(c) * o * (1 - o), dc_total * i * (1 - g * g)], axis=1)
    _, _, _, dWx, _, db = ops.lstm_step_backward(dh, dc, cache)
    np.testing.assert_allclose(np.delete(db, np.s_[H:2 * H]), np.delete(da.sum(axis=0), np.s_[H:2 * H]), rtol=1e-12)

    def f_out():
        h, c, _ = ops.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
        return np.concatenate([h, c], axis=1)

    dout = np.concatenate([dh, dc], axis=1)
    check_gradients(f_out, {"Wx": Wx, "b": b}, {"Wx": dWx, "b": db}, dout=dout)      # the right one passes
    for name, wrong in (("Wx", x.T @ da), ("b", da.sum(axis=0))):
        with pytest.raises(GradientCheckError, match=f"'{name}'"):
            check_gradients(f_out, {name: {"Wx": Wx, "b": b}[name]}, {name: wrong}, dout=dout)


def test_lstm_gradient_along_the_cell_is_multiplied_by_the_forget_gate():
    """With zero weights every gate is a constant: i = o = 1/2, g = 0, f = sigmoid(b_f), so c_t = f^t c_0 and
    a gradient at the last h reaches c_0 multiplied by f once per step. With f near 1 it arrives almost
    whole; with f = 1/2 (a zero bias) it shrinks like 2**-T (the forget_bias argument of nn.LSTM)."""
    N, T, H = 1, 30, 2
    x, h0, c0 = np.zeros((N, T, 1)), np.zeros((N, H)), np.ones((N, H))
    Wx, Wh = np.zeros((1, 4 * H)), np.zeros((H, 4 * H))
    dh = np.zeros((N, T, H))
    dh[:, -1] = 1.0                                        # the loss reads only the last hidden state
    for bias_f in (0.0, 1.0, 10.0):
        b = np.zeros(4 * H)
        b[H:2 * H] = bias_f
        h, cache = ops.lstm_forward(x, h0, Wx, Wh, b, c0)
        f = sigmoid(bias_f)
        np.testing.assert_allclose(h[0, -1], 0.5 * np.tanh(f ** T), rtol=1e-12)
        dc0 = ops.lstm_backward(dh, cache)[5]
        expected = 0.5 * (1 - np.tanh(f ** T) ** 2) * f ** T   # dh -> dc_T through h = o tanh(c), then f^T
        np.testing.assert_allclose(dc0, expected, rtol=1e-12)


# ----------------------------------------------------------------------------- both: dtype and mutation

def _run_all(rng, dtype):
    """(name, forward outputs, backward grads) for the four pairs on one set of arrays."""
    x, h0, c0, Wx, Wh, b = (a.astype(dtype) for a in rnn_arrays(rng, 2, 3, 3, 4, gates=4))
    Wx1, Wh1, b1 = Wx[:, :4].copy(), Wh[:, :4].copy(), b[:4].copy()
    arrays = [x, h0, c0, Wx, Wh, b, Wx1, Wh1, b1]
    copies = [a.copy() for a in arrays]
    runs = []
    h, cache = ops.rnn_step_forward(x[:, 0], h0, Wx1, Wh1, b1)
    runs.append(("rnn_step", (h,), ops.rnn_step_backward(np.ones_like(h), cache)))
    h, cache = ops.rnn_forward(x, h0, Wx1, Wh1, b1)
    runs.append(("rnn", (h,), ops.rnn_backward(np.ones_like(h), cache)))
    h, c, cache = ops.lstm_step_forward(x[:, 0], h0, c0, Wx, Wh, b)
    runs.append(("lstm_step", (h, c), ops.lstm_step_backward(np.ones_like(h), np.ones_like(c), cache)))
    h, cache = ops.lstm_forward(x, h0, Wx, Wh, b, c0)
    runs.append(("lstm", (h,), ops.lstm_backward(np.ones_like(h), cache)))
    return runs, arrays, copies


def test_recurrent_ops_keep_float32_and_agree_with_float64():
    runs32, _, _ = _run_all(np.random.default_rng(3), np.float32)
    runs64, _, _ = _run_all(np.random.default_rng(3), np.float64)
    for (name, outs32, grads32), (_, outs64, grads64) in zip(runs32, runs64):
        assert all(a.dtype == np.float32 for a in (*outs32, *grads32)), name
        for a32, a64 in zip((*outs32, *grads32), (*outs64, *grads64)):
            np.testing.assert_allclose(a32, a64, rtol=1e-4, atol=1e-5, err_msg=name)


def test_recurrent_ops_do_not_mutate_inputs(rng):
    _, arrays, copies = _run_all(rng, np.float64)
    for a, c in zip(arrays, copies):
        np.testing.assert_array_equal(a, c)
    x, h0, c0, Wx, Wh, b = rnn_arrays(rng, 2, 3, 3, 4, gates=4)
    h, cache = ops.lstm_forward(x, h0, Wx, Wh, b, c0)
    dh = random_array(rng, h.shape)
    dh_copy, h_copy = dh.copy(), h.copy()
    ops.lstm_backward(dh, cache)
    np.testing.assert_array_equal(dh, dh_copy)
    np.testing.assert_array_equal(h, h_copy)


def test_lstm_sigmoid_is_stable_for_huge_preactivations():
    """bpkit's stable sigmoid: no overflow warning (warnings are errors in bpkit) and exact 0/1 gates."""
    x = np.full((1, 2, 1), 1e4)
    h, cache = ops.lstm_forward(x, np.zeros((1, 1)), np.array([[1.0, -1.0, 1.0, 1.0]]), np.zeros((1, 4)), np.zeros(4))
    np.testing.assert_allclose(h, np.tanh(1.0))               # i = 1, f = 0, o = 1, g = 1 -> c = 1
    assert all(np.isfinite(g).all() for g in ops.lstm_backward(np.ones_like(h), cache))


# ----------------------------------------------------------------------------- modules

@pytest.mark.parametrize("make", [
    lambda rng: nn.RNN(3, 4, rng=rng),
    lambda rng: nn.LSTM(3, 4, rng=rng),
    lambda rng: nn.LSTM(3, 2, rng=rng, forget_bias=0.0, init="he"),
    lambda rng: nn.Sequential(nn.LSTM(3, 4, rng=rng), nn.LastTimeStep(), nn.Linear(4, 2, rng=rng)),
    lambda rng: nn.Sequential(nn.RNN(3, 5, rng=rng), nn.RNN(5, 3, rng=rng), nn.LastTimeStep(),
                              nn.Linear(3, 1, rng=rng)),
    lambda rng: nn.Sequential(nn.LSTM(3, 4, rng=rng), nn.TimeDistributed(nn.Linear(4, 2, rng=rng))),
    lambda rng: nn.LastTimeStep(), lambda rng: nn.TimeDistributed(nn.Tanh()),
], ids=["rnn", "lstm", "lstm-no-forget-bias", "lstm-last-linear", "rnn-rnn-last-linear", "lstm-timedistributed",
        "last", "timedistributed-tanh"])
def test_module_gradients(make, rng):
    module = make(rng)
    x = random_array(rng, (2, 5, 3))
    errs = check_module(module, x, rng=rng)
    assert set(errs) == {"x", *module.params}
    assert max(errs.values()) < TOL, errs


def test_recurrent_module_parameters_and_forget_bias(rng):
    rnn = nn.RNN(3, 5, rng=rng)
    assert {k: v.shape for k, v in rnn.params.items()} == {"Wx": (3, 5), "Wh": (5, 5), "b": (5,)}
    np.testing.assert_array_equal(rnn.b, 0.0)
    lstm = nn.LSTM(3, 5, rng=rng)
    assert {k: v.shape for k, v in lstm.params.items()} == {"Wx": (3, 20), "Wh": (5, 20), "b": (20,)}
    assert lstm.num_params() == 4 * (3 * 5 + 5 * 5 + 5)
    np.testing.assert_array_equal(lstm.b, [0] * 5 + [1] * 5 + [0] * 10)          # i, f, o, g: only f is 1
    np.testing.assert_array_equal(nn.LSTM(3, 5, rng=rng, forget_bias=2.5).b[5:10], 2.5)
    assert nn.LSTM(2, 3, rng=rng, dtype=np.float32).Wh.dtype == np.float32


def test_lstm_draws_each_gate_block_from_init(rng):
    """Each gate's block is drawn as its own (D, H) layer: Xavier's variance 2 / (D + H), not 2 / (D + 4H)."""
    calls = []

    def init(rng, D, M, dtype):
        calls.append((D, M))
        return np.full((D, M), float(len(calls)), dtype=dtype)

    lstm = nn.LSTM(3, 2, rng=rng, init=init)
    assert calls == [(3, 2)] * 4 + [(2, 2)] * 4
    np.testing.assert_array_equal(lstm.Wx, np.repeat([[1.0, 2.0, 3.0, 4.0]], 2, axis=1).repeat(3, axis=0))
    np.testing.assert_array_equal(lstm.Wh[0], np.repeat([5.0, 6.0, 7.0, 8.0], 2))
    big = nn.LSTM(200, 100, rng=rng)
    assert big.Wx.std() == pytest.approx(np.sqrt(2 / 300), rel=0.05)


def test_recurrent_modules_same_rng_same_weights():
    a, b = nn.LSTM(2, 3, rng=np.random.default_rng(4)), nn.LSTM(2, 3, rng=np.random.default_rng(4))
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_initial_states_and_their_gradients(rng, kind):
    """forward(x, h0[, c0]) starts from the given state; after backward, dh0 (and dc0) are its gradients."""
    layer = nn.RNN(2, 3, rng=rng) if kind == "rnn" else nn.LSTM(2, 3, rng=rng)
    x, h0, c0 = random_array(rng, (4, 5, 2)), random_array(rng, (4, 3)), random_array(rng, (4, 3))
    states = {"h0": h0} | ({"c0": c0} if kind == "lstm" else {})
    np.testing.assert_array_equal(layer(x), layer.forward(x, **{k: np.zeros_like(v) for k, v in states.items()}))
    out = layer.forward(x, **states)
    dout = random_array(rng, out.shape)
    layer.backward(dout)
    errs = check_gradients(lambda: layer.forward(x, **states), states,
                           {k: getattr(layer, "d" + k) for k in states}, dout=dout)
    assert max(errs.values()) < TOL, errs


def test_last_time_step_round_trip(rng):
    x = random_array(rng, (3, 4, 2))
    layer = nn.LastTimeStep()
    out = layer(x)
    np.testing.assert_array_equal(out, x[:, -1])
    out[...] = 0.0                                           # a copy: the input stays as it was
    assert np.all(x[:, -1] != 0)
    dx = layer.backward(np.ones((3, 2)))
    np.testing.assert_array_equal(dx[:, -1], 1.0)
    np.testing.assert_array_equal(dx[:, :-1], 0.0)
    assert layer.backward(np.ones((3, 2)), input_grad=False) is None


def test_time_distributed_shares_the_module_and_its_arrays(rng):
    inner = nn.Linear(3, 2, rng=rng)
    td = nn.TimeDistributed(inner)
    assert td.params is inner.params and td.grads is inner.grads
    x = random_array(rng, (4, 5, 3))
    out = td(x)
    assert out.shape == (4, 5, 2)
    np.testing.assert_allclose(out, x @ inner.W + inner.b, rtol=1e-14)
    model = nn.Sequential(nn.RNN(2, 3, rng=rng), td)
    assert list(model.params) == ["0.Wx", "0.Wh", "0.b", "1.W", "1.b"]
    model.eval()
    assert not inner.training
    assert repr(model) == ("Sequential(\n  (0): RNN(2 -> 3, init=xavier)\n"
                           "  (1): TimeDistributed(Linear(3 -> 2, init=he))\n)")


@pytest.mark.parametrize("make", [
    lambda rng: nn.Sequential(nn.LSTM(2, 4, rng=rng), nn.LastTimeStep(), nn.Linear(4, 1, rng=rng)),
    lambda rng: nn.Sequential(nn.RNN(2, 4, rng=rng), nn.TimeDistributed(nn.Linear(4, 1, rng=rng))),
    lambda rng: nn.Sequential(nn.TimeDistributed(nn.Linear(2, 3, rng=rng)), nn.LSTM(3, 4, rng=rng)),
], ids=["lstm-last-linear", "rnn-timedistributed", "timedistributed-first"])
def test_backward_without_input_grad_gives_the_same_parameter_gradients(rng, make):
    model = make(rng)
    x = random_array(rng, (3, 6, 2))
    out = model.forward(x)
    dout = random_array(rng, out.shape)
    assert model.backward(dout).shape == x.shape
    full = {k: v.copy() for k, v in model.grads.items()}
    model.forward(x)
    assert model.backward(dout, input_grad=False) is None
    assert list(model.grads) == list(full)
    for k in full:
        np.testing.assert_array_equal(model.grads[k], full[k], err_msg=k)


def test_float32_recurrent_model_stays_float32(rng):
    model = nn.Sequential(nn.LSTM(2, 4, rng=rng, dtype=np.float32), nn.RNN(4, 3, rng=rng, dtype=np.float32),
                          nn.LastTimeStep(), nn.Linear(3, 1, rng=rng, dtype=np.float32))
    x = random_array(rng, (5, 6, 2), dtype=np.float32)
    out = model.forward(x)
    dx = model.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == np.float32
    assert all(v.dtype == np.float32 for v in (*model.params.values(), *model.grads.values()))


def test_repr_is_readable(rng):
    assert repr(nn.LSTM(2, 8, rng=rng)) == "LSTM(2 -> 8, init=xavier)"
    assert repr(nn.LSTM(2, 8, rng=rng, forget_bias=0.0, init="he", dtype=np.float32)) == \
        "LSTM(2 -> 8, init=he, dtype=float32, forget_bias=0.0)"
    assert repr(nn.RNN(1, 3, rng=rng)) == "RNN(1 -> 3, init=xavier)"
    assert repr(nn.LastTimeStep()) == "LastTimeStep()"


# ----------------------------------------------------------------------------- learning

def _adding(kind, seed, T=20, H=32, epochs=8):
    rng = np.random.default_rng(seed)
    X, y = data.adding_problem(4000, T, rng)
    Xv, yv = data.adding_problem(1000, T, rng)
    layer = nn.LSTM(2, H, rng=rng) if kind == "lstm" else nn.RNN(2, H, rng=rng)
    model = nn.Sequential(layer, nn.LastTimeStep(), nn.Linear(H, 1, rng=rng, init="xavier"))
    start = time.perf_counter()
    hist = train.fit(model, losses.mse_loss, optim.Adam(lr=1e-2), X, y, epochs=epochs, batch_size=32, rng=rng,
                     validation=(Xv, yv), progress=False)
    return hist["val_loss"][-1], time.perf_counter() - start


@pytest.mark.slow
def test_lstm_solves_the_adding_problem_and_beats_a_plain_rnn():
    """T = 20, 4,000 sequences, 8 epochs of Adam: the LSTM ends far below the 1/6 of predicting 1, and
    below the 1/12 of remembering only the second value; a plain RNN with the same budget does worse.

    Measured with this budget (seeds 0-5): the LSTM ends at 2e-4 to 1.2e-3 in about 2 s, the RNN at
    0.02 to 0.27 (some seeds stay near the baseline); over 15 epochs at T = 50 the RNN stays at the
    baseline while the LSTM reaches about 3e-4. Only the robust part is asserted.
    """
    lstm_mse, lstm_time = _adding("lstm", 0)
    rnn_mse, _ = _adding("rnn", 0)
    assert lstm_mse < 0.01, lstm_mse
    assert lstm_mse < rnn_mse, (lstm_mse, rnn_mse)
    assert lstm_time < 60, lstm_time


def test_fit_trains_a_next_step_predictor_on_sine_waves(rng):
    """TimeDistributed(Linear) after an LSTM: one prediction per step, trained by fit with the plain MSE."""
    X, y = data.sine_sequences(200, 20, rng, periods=(8, 16))
    model = nn.Sequential(nn.LSTM(1, 16, rng=rng), nn.TimeDistributed(nn.Linear(16, 1, rng=rng)))
    before = losses.mse_loss(model.forward(X), y)[0]
    hist = train.fit(model, losses.mse_loss, optim.Adam(lr=1e-2), X, y, epochs=10, batch_size=20, rng=rng,
                     progress=False)
    repeat_last = losses.mse_loss(X, y)[0]                  # the baseline: predict the value just seen
    assert hist["loss"][-1] < min(before, repeat_last) / 2, (before, repeat_last, hist["loss"])


# ----------------------------------------------------------------------------- PyTorch parity (optional)

#: bpkit's gate order is i, f, o, g; PyTorch's is i, f, g, o. Block k of ours is block TORCH[k] of theirs.
TORCH = [0, 1, 3, 2]


def _to_torch_gates(W, H):
    """bpkit (rows, 4H) with gates i, f, o, g -> PyTorch's (4H, rows) with gates i, f, g, o (the order
    swap is its own inverse)."""
    return np.concatenate([W[..., k * H:(k + 1) * H] for k in TORCH], axis=-1).T


def _from_torch_gates(W, H):
    """PyTorch's (4H, rows) or (4H,) with gates i, f, g, o -> bpkit's (rows, 4H) or (4H,) with i, f, o, g."""
    return np.concatenate([W[k * H:(k + 1) * H] for k in TORCH], axis=0).T


@pytest.mark.parametrize("N,T,D,H", [(3, 7, 4, 5), (1, 1, 2, 3), (4, 12, 1, 8)])
def test_rnn_parity_with_torch(rng, N, T, D, H):
    torch = pytest.importorskip("torch")
    x, h0, _, Wx, Wh, b = rnn_arrays(rng, N, T, D, H)
    b_ih = random_array(rng, (H,))
    h, cache = ops.rnn_forward(x, h0, Wx, Wh, b)
    dh = random_array(rng, h.shape)
    dx, dh0, dWx, dWh, db = ops.rnn_backward(dh, cache)
    layer = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True).double()
    with torch.no_grad():                                   # PyTorch stores the transposes and two biases
        layer.weight_ih_l0.copy_(torch.tensor(Wx.T))
        layer.weight_hh_l0.copy_(torch.tensor(Wh.T))
        layer.bias_ih_l0.copy_(torch.tensor(b_ih))
        layer.bias_hh_l0.copy_(torch.tensor(b - b_ih))
    xt, h0t = torch.tensor(x, requires_grad=True), torch.tensor(h0[None], requires_grad=True)
    out, _ = layer(xt, h0t)
    out.backward(torch.tensor(dh))
    pairs = [(h, out.detach()), (dx, xt.grad), (dh0, h0t.grad[0]), (dWx, layer.weight_ih_l0.grad.T),
             (dWh, layer.weight_hh_l0.grad.T), (db, layer.bias_ih_l0.grad), (db, layer.bias_hh_l0.grad)]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("N,T,D,H", [(3, 7, 4, 5), (1, 1, 2, 3), (4, 12, 1, 8)])
def test_lstm_parity_with_torch(rng, N, T, D, H):
    torch = pytest.importorskip("torch")
    x, h0, c0, Wx, Wh, b = rnn_arrays(rng, N, T, D, H, gates=4)
    b_ih = random_array(rng, (4 * H,))
    h, cache = ops.lstm_forward(x, h0, Wx, Wh, b, c0)
    dh = random_array(rng, h.shape)
    dx, dh0, dWx, dWh, db, dc0 = ops.lstm_backward(dh, cache)
    layer = torch.nn.LSTM(D, H, batch_first=True).double()
    with torch.no_grad():
        layer.weight_ih_l0.copy_(torch.tensor(_to_torch_gates(Wx, H)))
        layer.weight_hh_l0.copy_(torch.tensor(_to_torch_gates(Wh, H)))
        layer.bias_ih_l0.copy_(torch.tensor(_to_torch_gates(b_ih, H)))
        layer.bias_hh_l0.copy_(torch.tensor(_to_torch_gates(b - b_ih, H)))
    xt = torch.tensor(x, requires_grad=True)
    h0t, c0t = (torch.tensor(a[None], requires_grad=True) for a in (h0, c0))
    out, _ = layer(xt, (h0t, c0t))
    out.backward(torch.tensor(dh))
    pairs = [(h, out.detach()), (dx, xt.grad), (dh0, h0t.grad[0]), (dc0, c0t.grad[0]),
             (dWx, _from_torch_gates(layer.weight_ih_l0.grad.numpy(), H)),
             (dWh, _from_torch_gates(layer.weight_hh_l0.grad.numpy(), H)),
             (db, _from_torch_gates(layer.bias_ih_l0.grad.numpy(), H)),
             (db, _from_torch_gates(layer.bias_hh_l0.grad.numpy(), H))]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-10, atol=1e-12)


def test_torch_orders_the_lstm_gates_differently(rng):
    """PyTorch stacks i, f, g, o: copying bpkit's i, f, o, g blocks without reordering gives other outputs."""
    torch = pytest.importorskip("torch")
    x, h0, c0, Wx, Wh, b = rnn_arrays(rng, 2, 5, 3, 4, gates=4)
    h, _ = ops.lstm_forward(x, h0, Wx, Wh, b, c0)
    layer = torch.nn.LSTM(3, 4, batch_first=True).double()
    with torch.no_grad():
        layer.weight_ih_l0.copy_(torch.tensor(Wx.T))
        layer.weight_hh_l0.copy_(torch.tensor(Wh.T))
        layer.bias_ih_l0.copy_(torch.tensor(b))
        layer.bias_hh_l0.zero_()
    out, _ = layer(torch.tensor(x), (torch.tensor(h0[None]), torch.tensor(c0[None])))
    assert np.abs(out.detach().numpy() - h).max() > 1e-2


def test_lstm_backward_reads_a_cache_whose_steps_are_a_plain_list(rng):
    """``_lstm_bptt`` reads the (T, N, 4H) gate buffers that ``lstm_forward`` keeps beside its per-step
    tuples; a cache whose steps are a plain list of those tuples (built by hand, or by an older
    version) must give the same gradients, the buffers stacked from the tuples."""
    x, h0, c0, Wx, Wh, b = rnn_arrays(rng, 3, 5, 4, 6, gates=4)
    h, cache = ops.lstm_forward(x, h0, Wx, Wh, b, c0)
    assert [tuple(map(id, s)) for s in cache[5]] and all(len(s) == 6 for s in cache[5])
    dh = random_array(rng, h.shape)
    want = ops.lstm_backward(dh, cache)
    plain = cache[:5] + ([tuple(a.copy() for a in s) for s in cache[5]],) + cache[6:]
    assert type(plain[5]) is list
    for got, w in zip(ops.lstm_backward(dh, plain), want):
        np.testing.assert_allclose(got, w, rtol=1e-13, atol=1e-14)
