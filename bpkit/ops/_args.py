"""Argument checks of :mod:`bpkit.ops`: every check and error message of the ops, in one place.

Each public op hands its arguments to one helper from here on its first line, e.g.
``x, W, b = _linear_args(x, W, b)``, and gets them back as float arrays, or an error that names
the function and the argument, says what was expected and what was received, and suggests the
likely fix. What the chapters show of an op is then its docstring and its maths.
``tests/test_errors.py`` asserts the messages.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import as_float_array, check_ndim, check_rng, check_same_dtype, check_shape, shape_str

__all__ = [
    "_check_dout", "_dout_like",
    "_linear_args", "_linear_dout",
    "_leaky_relu_args", "_gelu_args", "_axis_args",
    "_check_dropout_p", "_dropout_args", "_dropout_dout", "_batchnorm_args",
    "_STRIDE_HINT", "_PADDING_HINT", "_check_int", "_check_pair", "_check_images", "_out_size",
    "_conv2d_args", "_conv2d_dout", "_pool_args", "_pool_dout",
    "_rnn_step_args", "_rnn_args", "_lstm_step_args", "_lstm_args", "_lstm_step_douts", "_sequence_dh",
]


# --------------------------------------------------------------------------- upstream gradients

def _check_dout(dout, shape, dtype, func, name="dout"):
    """``dout`` as an array of the forward output's ``shape``, or a clear error."""
    dout = as_float_array(dout, func, name, dtype=dtype)
    if dout.shape != shape:
        raise ValueError(f"{func}: '{name}' must have the shape of the forward output {shape_str(shape)}, got "
                         f"{shape_str(dout.shape)}. Pass the gradient of the loss with respect to this "
                         "function's output; check that the backward calls run in the reverse order of the "
                         "forward calls.")
    return dout


def _dout_like(dout, out, func, name="dout"):
    """``dout`` as an array of the shape and dtype of ``out`` (the forward output, or an input of that shape)."""
    return _check_dout(dout, out.shape, out.dtype, func, name)


# --------------------------------------------------------------------------- dense layer

def _linear_args(x, W, b):
    """``(x, W, b)`` of :func:`~bpkit.ops.linear_forward` as float arrays of one dtype, shapes checked."""
    W = as_float_array(W, "linear_forward", "W")
    x = as_float_array(x, "linear_forward", "x", dtype=W.dtype)
    b = as_float_array(b, "linear_forward", "b", dtype=W.dtype)
    check_ndim(W, "linear_forward", "W", 2, "(D, M)")
    check_ndim(x, "linear_forward", "x", 2, "(N, D)")
    D, M = W.shape
    if x.shape[1] != D:
        hint = ("W looks transposed: pass W.T." if x.shape[1] == M and D != M
                else f"x must have D = W.shape[0] = {D} columns.")
        raise ValueError(f"linear_forward: x has shape {shape_str(x.shape)} but W has shape "
                         f"{shape_str(W.shape)}; expected x of shape (N, {D}). {hint}")
    check_shape(b, "linear_forward", "b", (M,),
                hint="b holds one bias per output unit; a (1, M) or (M, 1) bias broadcasts wrongly, "
                     "use b.ravel() if it is (1, M).")
    check_same_dtype("linear_forward", x=x, W=W, b=b)
    return x, W, b


def _linear_dout(dout, cache):
    """``dout`` of :func:`~bpkit.ops.linear_backward`, of the output's shape (N, M)."""
    x, W = cache
    dout = as_float_array(dout, "linear_backward", "dout", dtype=W.dtype)
    check_shape(dout, "linear_backward", "dout", (x.shape[0], W.shape[1]),
                hint="Pass the gradient with respect to this layer's output, which has the forward "
                     "output's shape (N, M)" + ("; use dout.T" if np.shape(dout) == (W.shape[1], x.shape[0]) else "")
                     + ".")
    return dout


# --------------------------------------------------------------------------- activations and softmax

def _leaky_relu_args(z, alpha):
    """``(z, alpha)`` of :func:`~bpkit.ops.leaky_relu_forward`: a float array and a slope >= 0."""
    z = as_float_array(z, "leaky_relu_forward", "z")
    if not np.isscalar(alpha) or not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"leaky_relu_forward: 'alpha' must be a finite number >= 0, got {alpha!r}. "
                         "Use a small positive slope such as alpha=0.01.")
    return z, alpha


def _gelu_args(z, approximate):
    """``z`` of :func:`~bpkit.ops.gelu_forward` as a float array, once ``approximate`` is known."""
    z = as_float_array(z, "gelu_forward", "z")
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu_forward: 'approximate' must be 'none' or 'tanh', got {approximate!r}.")
    return z


def _axis_args(x, axis, func):
    """``x`` as a float array, once ``axis`` is known to be one of its axes (the softmax family)."""
    x = as_float_array(x, func, "x")
    if not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < max(x.ndim, 1):
        raise ValueError(f"{func}: 'axis' must be an int in [{-x.ndim}, {x.ndim - 1}] for an input "
                         f"of shape {shape_str(x.shape)}, got {axis!r}. Use axis=-1 for the last axis "
                         "(the class axis of (N, C) scores).")
    return x


# --------------------------------------------------------------------------- dropout and batch norm

def _check_dropout_p(p, func):
    """Raise unless ``p``, the probability of dropping a unit, is a number in [0, 1]."""
    if isinstance(p, bool) or not np.isscalar(p) or not isinstance(p, (int, float, np.number)) \
            or not 0 <= p <= 1:
        raise ValueError(f"{func}: 'p' is the probability of dropping a unit and must be a number in "
                         f"[0, 1], got {p!r}. Use e.g. p=0.5 (p is the drop rate, not the keep rate).")


def _dropout_args(x, p, rng):
    """``x`` of :func:`~bpkit.ops.dropout_forward` as a float array, once ``p`` and ``rng`` are checked."""
    x = as_float_array(x, "dropout_forward", "x")
    _check_dropout_p(p, "dropout_forward")
    check_rng(rng, "dropout_forward", "the dropped units")
    return x


def _dropout_dout(dout, mask):
    """``dout`` of :func:`~bpkit.ops.dropout_backward`, of the mask's shape (any shape when ``p == 0``)."""
    if mask is None:
        return as_float_array(dout, "dropout_backward", "dout")
    return _dout_like(dout, mask, "dropout_backward")


def _batchnorm_args(x, gamma, beta, eps, mean, var):
    """``(x, gamma, beta, mean, var)`` of :func:`~bpkit.ops.batchnorm_forward` as float arrays of one dtype.

    ``mean`` and ``var`` stay ``None`` in training mode, once the batch is known to be large enough.
    """
    func = "batchnorm_forward"
    x = as_float_array(x, func, "x")
    if x.ndim not in (2, 4):
        raise ValueError(f"{func}: 'x' must have shape (N, D) or (N, C, H, W), got {shape_str(x.shape)} "
                         f"({x.ndim}-D). " + ("For one feature vector use x.reshape(1, -1); note that "
                                              "batch statistics need N >= 2." if x.ndim == 1 else
                                              "Reshape it to one of the two layouts."))
    F = x.shape[1]
    gamma = as_float_array(gamma, func, "gamma", dtype=x.dtype)
    beta = as_float_array(beta, func, "beta", dtype=x.dtype)
    feat = "D" if x.ndim == 2 else "C"
    for name, v in (("gamma", gamma), ("beta", beta)):
        check_shape(v, func, name, (F,), hint=f"It holds one value per feature: {feat} = x.shape[1] = {F}.")
    check_same_dtype(func, x=x, gamma=gamma, beta=beta)
    if not (np.isscalar(eps) and np.isfinite(eps) and eps >= 0):
        raise ValueError(f"{func}: 'eps' must be a finite number >= 0, got {eps!r}. Use the default 1e-5.")
    if (mean is None) != (var is None):
        raise ValueError(f"{func}: pass both 'mean' and 'var' (evaluation mode) or neither (training mode, "
                         "batch statistics); got only " + ("'mean'." if var is None else "'var'."))
    if mean is None:
        if x.size // F < 2:
            raise ValueError(f"{func}: batch statistics need more than one value per feature, got x of shape "
                             f"{shape_str(x.shape)}. Use a batch of at least 2 examples in training mode (with fit, choose a "
                             "batch_size that does not leave a last batch of 1), or call the module's eval() to "
                             "normalise with its running averages.")
        return x, gamma, beta, None, None
    mean = as_float_array(mean, func, "mean", dtype=x.dtype)
    var = as_float_array(var, func, "var", dtype=x.dtype)
    for name, v in (("mean", mean), ("var", var)):
        check_shape(v, func, name, (F,), hint=f"It holds one value per feature: {feat} = {F}.")
    mean, var = mean.astype(x.dtype, copy=False), var.astype(x.dtype, copy=False)
    if np.any(var < 0):
        raise ValueError(f"{func}: 'var' must be >= 0, got a minimum of {var.min()!r}. Pass the running "
                         "variance, not a standard deviation or a log-variance.")
    return x, gamma, beta, mean, var


# --------------------------------------------------------------------------- convolution and pooling

_STRIDE_HINT = "Use stride=1 for every position or stride=2 for every other one."
_PADDING_HINT = ("It counts the rows and columns of zeros added on each side; use padding=0 for none, or "
                 "padding=(K - 1) // 2 to keep H and W with an odd K x K kernel.")


def _check_int(v, func, name, minimum, hint):
    """``v`` as an int >= ``minimum`` (a stride, a padding), or a clear error ending with ``hint``."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{func}: '{name}' must be an int >= {minimum}, got {v!r}. {hint}")
    return int(v)


def _check_pair(v, func, name):
    """``v`` as a pair of positive ints: an int ``k`` means ``(k, k)``."""
    pair = (v, v) if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) else v
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2
            and all(isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)) and k >= 1
                    for k in pair)):
        example = ("kernel_size=2 for a 2x2 window, or kernel_size=(2, 3) for 2 rows by 3 columns"
                   if name == "kernel_size" else f"{name}=2 to move the window by 2 pixels")
        raise ValueError(f"{func}: '{name}' must be a positive int or a pair of positive ints (height, width), "
                         f"got {v!r}. Use e.g. {example}.")
    return int(pair[0]), int(pair[1])


def _check_images(x, func, name="x"):
    """Raise unless ``x`` is a batch of images (N, C, H, W), with a hint for the usual wrong layouts."""
    if x.ndim == 4:
        return
    if x.ndim == 2:
        N, D = x.shape
        side = math.isqrt(D)
        hint = (f"Reshape each flat example into an image, e.g. {name}.reshape({N}, 1, {side}, {side}) for "
                f"{D} pixels of one channel (in general {name}.reshape(N, C, H, W) with C*H*W = {D})."
                if side * side == D else
                f"Reshape each flat example into an image with {name}.reshape(N, C, H, W), where C*H*W = {D}.")
    elif x.ndim == 3:
        hint = (f"For one image of shape (C, H, W) add the batch axis with {name}[None]; for a batch of "
                f"one-channel images (N, H, W) add the channel axis with {name}[:, None].")
    else:
        hint = "Pass a batch of images laid out as (N, C, H, W)."
    raise ValueError(f"{func}: argument '{name}' must have shape (N, C, H, W) (4-D), got shape "
                     f"{shape_str(x.shape)} ({x.ndim}-D). {hint}")


def _out_size(size, K, stride, padding):
    """Output positions of a window of ``K`` along an axis of ``size``: ``(size + 2 padding - K) // stride + 1``."""
    return (size + 2 * padding - K) // stride + 1


def _conv2d_args(x, W, b, stride, padding):
    """``(x, W, b, stride, padding)`` of :func:`~bpkit.ops.conv2d_forward`: arrays of one dtype, two ints."""
    func = "conv2d_forward"
    W = as_float_array(W, func, "W")
    x = as_float_array(x, func, "x", dtype=W.dtype)
    b = as_float_array(b, func, "b", dtype=W.dtype)
    _check_images(x, func)
    if W.ndim != 4:
        hint = ("For filters over one input channel add the channel axis with W[:, None]." if W.ndim == 3 else
                "A convolution needs one KH x KW kernel per filter and input channel, e.g. "
                "W = 0.1 * rng.standard_normal((F, C, 3, 3)); a dense layer's (D, M) weight does not fit.")
        raise ValueError(f"{func}: argument 'W' must have shape (F, C, KH, KW) (4-D), got shape "
                         f"{shape_str(W.shape)} ({W.ndim}-D). {hint}")
    N, C, H, Wd = x.shape
    F, C_w, KH, KW = W.shape
    if C_w != C:
        hint = ("W looks like the (KH, KW, C, F) layout of TensorFlow and Keras: pass W.transpose(3, 2, 0, 1)."
                if W.shape[2] == C and W.shape[0] == W.shape[1] else      # a square kernel in front
                f"Build W with C = x.shape[1] = {C} input channels (the channels of the previous layer's output).")
        raise ValueError(f"{func}: x has shape {shape_str(x.shape)} (C = {C} channels) but W has shape "
                         f"{shape_str(W.shape)}; expected W of shape (F, {C}, KH, KW). {hint}")
    check_shape(b, func, "b", (F,), hint=f"b holds one bias per filter: F = W.shape[0] = {F}.")
    check_same_dtype(func, x=x, W=W, b=b)
    s = _check_int(stride, func, "stride", 1, _STRIDE_HINT)
    p = _check_int(padding, func, "padding", 0, _PADDING_HINT)
    if KH > H + 2 * p or KW > Wd + 2 * p:
        raise ValueError(f"{func}: the kernel ({KH}, {KW}) = W.shape[2:] is larger than the padded input "
                         f"({H + 2 * p}, {Wd + 2 * p}) = (H + 2*padding, W + 2*padding) for x of shape "
                         f"{shape_str(x.shape)}. Use a smaller kernel or more padding (or pool fewer times "
                         "before this layer).")
    return x, W, b, s, p


def _conv2d_dout(dout, cache, func):
    """``dout`` of a convolution's backward pass, of the output's shape (N, F, H_out, W_out)."""
    (N, _, H, Wd), W, _, s, p = cache
    F, _, KH, KW = W.shape
    return _check_dout(dout, (N, F, _out_size(H, KH, s, p), _out_size(Wd, KW, s, p)), W.dtype, func)


def _pool_args(x, kernel_size, stride, func):
    """Validate a pooling call; return ``x`` as floats and the window and stride as pairs."""
    x = as_float_array(x, func, "x")
    _check_images(x, func)
    KH, KW = _check_pair(kernel_size, func, "kernel_size")
    SH, SW = (KH, KW) if stride is None else _check_pair(stride, func, "stride")
    if KH > x.shape[2] or KW > x.shape[3]:
        raise ValueError(f"{func}: the pooling window ({KH}, {KW}) does not fit in images of size "
                         f"({x.shape[2]}, {x.shape[3]}) (x has shape {shape_str(x.shape)}). Use a smaller "
                         "kernel_size, or pool fewer times (each 2x2 pooling halves H and W).")
    return x, (KH, KW), (SH, SW)


def _pool_dout(dout, cache, func):
    """``dout`` of a pooling backward pass, of the output's shape (N, C, H_out, W_out).

    Both pooling caches start with ``x.shape`` and end with the window and the stride.
    """
    (N, C, H, Wd), (KH, KW), (SH, SW) = cache[0], cache[-2], cache[-1]
    return _check_dout(dout, (N, C, _out_size(H, KH, SH, 0), _out_size(Wd, KW, SW, 0)), None, func)


# --------------------------------------------------------------------------- recurrent layers

_TORCH_LSTM = ("From PyTorch's nn.LSTM, pass weight_ih.T with its gate blocks reordered from PyTorch's "
               "(i, f, g, o) to (i, f, o, g).")


def _rnn_step_args(x, h_prev, Wx, Wh, b):
    """``(x, h_prev, Wx, Wh, b)`` of :func:`~bpkit.ops.rnn_step_forward` as float arrays, shapes checked."""
    return _recurrent_args("rnn_step_forward", x, h_prev, Wx, Wh, b, lstm=False, step=True, h_name="h_prev")[:5]


def _rnn_args(x, h0, Wx, Wh, b):
    """``(x, h0, Wx, Wh, b)`` of :func:`~bpkit.ops.rnn_forward` as float arrays, shapes checked."""
    return _recurrent_args("rnn_forward", x, h0, Wx, Wh, b, lstm=False, step=False, h_name="h0")[:5]


def _lstm_step_args(x, h_prev, c_prev, Wx, Wh, b):
    """``(x, h_prev, c_prev, Wx, Wh, b)`` of :func:`~bpkit.ops.lstm_step_forward` as float arrays."""
    x, h_prev, Wx, Wh, b, c_prev = _recurrent_args("lstm_step_forward", x, h_prev, Wx, Wh, b, c_prev, lstm=True,
                                                   step=True, h_name="h_prev", c_name="c_prev")
    return x, h_prev, c_prev, Wx, Wh, b


def _lstm_args(x, h0, Wx, Wh, b, c0):
    """``(x, h0, Wx, Wh, b, c0)`` of :func:`~bpkit.ops.lstm_forward` as float arrays (``c0`` may stay None)."""
    return _recurrent_args("lstm_forward", x, h0, Wx, Wh, b, c0, lstm=True, step=False, h_name="h0", c_name="c0")


def _recurrent_args(func, x, h, Wx, Wh, b, c=None, *, lstm, step, h_name, c_name=None):
    """Validate the arrays of an RNN (``lstm=False``) or LSTM call; return them as float arrays.

    ``step`` is True for the one-step functions, whose ``x`` is (N, D), and False for whole
    sequences (N, T, D). ``h`` (and ``c``) is the state the call starts from, (N, H).
    """
    Wh = as_float_array(Wh, func, "Wh")
    Wx, x, b, h = (as_float_array(a, func, n, dtype=Wh.dtype) for a, n in ((Wx, "Wx"), (x, "x"), (b, "b"), (h, h_name)))
    c = None if c is None else as_float_array(c, func, c_name, dtype=Wh.dtype)
    G, gates = (4, "4H") if lstm else (1, "H")
    H = _check_recurrent_weights(func, Wx, Wh, lstm, G, gates)
    check_shape(b, func, "b", (G * H,),
                hint=(f"It holds one bias per gate unit, 4H = {4 * H} values in the order i, f, o, g; from "
                      "PyTorch pass bias_ih + bias_hh, reordered." if lstm else
                      f"It holds one bias per hidden unit, H = {H}; from PyTorch's nn.RNN pass bias_ih + bias_hh.")
                + (" Use b.ravel() for a (1, n) row." if b.ndim == 2 and b.shape[0] == 1 else ""))
    _check_sequence_input(func, x, Wx, lstm, step)
    # The starting state(s): (N, H).
    N = x.shape[0]
    for name, s in ((h_name, h), (c_name, c)):
        if s is None or s.shape == (N, H):
            continue
        if s.shape == (H,):
            hint = f"Give every sequence its own state: np.tile({name}, ({N}, 1)), or np.zeros(({N}, {H}))."
        elif s.shape == (1, N, H):
            hint = f"This is PyTorch's (num_layers, N, H) layout: pass {name}[0]."
        elif s.ndim == 2 and s.shape[1] == H:
            hint = f"Pass one state per sequence of x: N = x.shape[0] = {N} rows."
        else:
            hint = (f"It holds H = {H} units (H = Wh.shape[0]) for each of the N = {N} sequences; "
                    f"e.g. np.zeros(({N}, {H})) for a fresh start.")
        raise ValueError(f"{func}: argument '{name}' must have shape (N, H) = ({N}, {H}), got {shape_str(s.shape)}. "
                         f"{hint}")
    arrays = {"x": x, h_name: h, "Wx": Wx, "Wh": Wh, "b": b} | ({} if c is None else {c_name: c})
    check_same_dtype(func, **arrays)
    return x, h, Wx, Wh, b, c


def _check_recurrent_weights(func, Wx, Wh, lstm, G, gates):
    """Raise unless ``Wh`` is (H, G H) and ``Wx`` (D, G H); return H."""
    # Wh (H, G H) fixes H.
    if Wh.ndim != 2:
        raise ValueError(f"{func}: argument 'Wh' must have shape (H, {gates}) (2-D), got shape "
                         f"{shape_str(Wh.shape)} ({Wh.ndim}-D). Pass the hidden-to-hidden weights as one matrix.")
    H = Wh.shape[0]
    if lstm and Wh.shape[0] == 4 * Wh.shape[1]:
        raise ValueError(f"{func}: argument 'Wh' must have shape (H, 4H), got {shape_str(Wh.shape)}, which looks like "
                         f"PyTorch's weight_hh layout (4H, H) with H = {Wh.shape[1]}. Pass weight_hh.T with its gate "
                         "blocks reordered from PyTorch's (i, f, g, o) to (i, f, o, g).")
    if Wh.shape[1] != G * H:
        if lstm and Wh.shape[1] == H:
            hint = (f"An LSTM needs 4H = {4 * H} columns, one block of H = {H} per gate, in the order i, f, o, g: "
                    "stack them with np.hstack([Wh_i, Wh_f, Wh_o, Wh_g]).")
        elif lstm:
            hint = ("The hidden-to-hidden weights map the H units of one step to the 4H gate inputs of the next: "
                    "use one block of H columns per gate, in the order i, f, o, g.")
        else:
            hint = ("The hidden-to-hidden weights map the H units of one step to the H units of the next: "
                    "use a square matrix.")
        raise ValueError(f"{func}: argument 'Wh' must have shape (H, {gates}) = ({H}, {G * H}) with "
                         f"H = Wh.shape[0] = {H}, got {shape_str(Wh.shape)}. {hint}")
    # Wx (D, G H): the same H.
    if Wx.ndim != 2:
        raise ValueError(f"{func}: argument 'Wx' must have shape (D, {gates}) (2-D), got shape "
                         f"{shape_str(Wx.shape)} ({Wx.ndim}-D). Pass the input-to-hidden weights as one matrix.")
    if Wx.shape[1] != G * H:
        if lstm and Wx.shape[1] == H:
            hint = (f"Wx has H = {H} columns, but an LSTM needs 4H = {4 * H} for the four gates, one block of H "
                    "per gate in the order i, f, o, g: stack them with np.hstack([Wx_i, Wx_f, Wx_o, Wx_g]).")
        elif Wx.shape[0] == G * H:
            hint = "Wx looks transposed: pass Wx.T." + (" " + _TORCH_LSTM if lstm else "")
        else:
            hint = f"Build Wx and Wh with the same number of hidden units H = {H}."
        raise ValueError(f"{func}: Wx has shape {shape_str(Wx.shape)} but Wh has shape {shape_str(Wh.shape)} "
                         f"(H = {H}); expected Wx of shape (D, {G * H}). {hint}")
    return H


def _check_sequence_input(func, x, Wx, lstm, step):
    """Raise unless ``x`` is (N, D) for one step, or (N, T, D) with T >= 1 for a sequence, with D = Wx.shape[0]."""
    D = Wx.shape[0]
    want = "(N, D)" if step else "(N, T, D)"
    if x.ndim != (2 if step else 3):
        seq = "lstm_forward" if lstm else "rnn_forward"
        if step and x.ndim == 3:
            hint = f"For a whole sequence (N, T, D) use {seq}; for time step t pass x[:, t]."
        elif step and x.ndim == 1:
            hint = "For one example use x.reshape(1, -1)."
        elif x.ndim == 2 and x.shape[1] == D:
            hint = (f"For sequences of one time step add the time axis with x[:, None] (shape ({x.shape[0]}, 1, "
                    f"{D})); otherwise reshape it to (N, T, D).")
        elif x.ndim == 2 and D == 1:
            hint = (f"For N sequences of T numbers add the feature axis with x[:, :, None] (shape "
                    f"({x.shape[0]}, {x.shape[1]}, 1)).")
        elif x.ndim == 2:
            hint = f"Reshape it to (N, T, D) with D = Wx.shape[0] = {D} features per step, e.g. x.reshape(N, T, {D})."
        elif x.ndim == 1:
            hint = f"For one sequence use x.reshape(1, -1, {D})."
        else:
            hint = "Pass a batch of sequences laid out as (N, T, D)."
        raise ValueError(f"{func}: argument 'x' must have shape {want} ({2 if step else 3}-D), got shape "
                         f"{shape_str(x.shape)} ({x.ndim}-D). {hint}")
    if x.shape[-1] != D:
        raise ValueError(f"{func}: x has shape {shape_str(x.shape)} but Wx has shape {shape_str(Wx.shape)}; "
                         f"expected x of shape {want.replace('D', str(D))}. Build Wx with D = x.shape[-1] = "
                         f"{x.shape[-1]} rows, the number of features per time step.")
    if not step and x.shape[1] == 0:
        raise ValueError(f"{func}: x has shape {shape_str(x.shape)}, with T = 0 time steps. Pass at least one "
                         "step per sequence.")


def _lstm_step_douts(dh, dc, cache):
    """``(dh, dc)`` of :func:`~bpkit.ops.lstm_step_backward`, each of the states' shape (N, H)."""
    h_prev = cache[1]
    return (_dout_like(dh, h_prev, "lstm_step_backward", "dh"),
            _dout_like(dc, h_prev, "lstm_step_backward", "dc"))


def _sequence_dh(dh, cache, func):
    """``dh`` as an array of the hidden states' shape (N, T, H), or a clear error.

    ``cache`` is that of :func:`~bpkit.ops.rnn_forward` or :func:`~bpkit.ops.lstm_forward`; its
    fifth entry is the hidden states ``h``.
    """
    h = cache[4]
    dh = as_float_array(dh, func, "dh", dtype=h.dtype)
    if dh.shape != h.shape:
        N, T, H = h.shape
        hint = (f"If the loss reads only the last hidden state, pass its gradient at the last step and zeros "
                f"elsewhere: dh = np.zeros({shape_str(h.shape)}); dh[:, -1] = dh_last (nn.LastTimeStep does this)."
                if dh.shape == (N, H) else
                "Pass the gradient of the loss with respect to every hidden state h[:, t], as returned by the "
                "layer after this one.")
        raise ValueError(f"{func}: 'dh' must have the shape of the hidden states h {shape_str(h.shape)}, got "
                         f"{shape_str(dh.shape)}. {hint}")
    return dh
