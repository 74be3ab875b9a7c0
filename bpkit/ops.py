"""Differentiable operations as forward/backward function pairs.

Every pair follows one contract, the one the chapters derive:

* ``*_forward(inputs...) -> (out, cache)``: compute the output and keep, in ``cache``,
  exactly what the backward pass needs.
* ``*_backward(dout, cache) -> d<input>...``: given the upstream gradient ``dout``
  (the gradient of the scalar loss with respect to ``out``, same shape as ``out``),
  return the gradient with respect to each input, each with the shape of that input.

Layouts are batch first: dense input ``x`` is ``(N, D)``, a dense weight ``W`` is
``(D, M)`` and the layer computes ``x @ W + b`` (row-vector convention); images are
``(N, C, H, W)`` and a convolution's weight ``W`` is ``(F, C, KH, KW)``; sequences are
``(N, T, D)``, and a recurrent layer's hidden states ``(N, T, H)``. Functions never
modify their inputs, and they keep the float dtype they are given: float32 in, float32 out.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._checks import as_float_array, check_ndim, check_same_dtype, check_shape, shape_str

__all__ = [
    "linear_forward", "linear_backward",
    "sigmoid", "sigmoid_forward", "sigmoid_backward",
    "tanh_forward", "tanh_backward",
    "relu_forward", "relu_backward",
    "leaky_relu_forward", "leaky_relu_backward",
    "softmax", "log_softmax", "softmax_forward", "softmax_backward",
    "logsumexp",
    "gelu_forward", "gelu_backward",
    "dropout_forward", "dropout_backward",
    "BatchNormCache", "batchnorm_forward", "batchnorm_backward",
    "conv2d_forward", "conv2d_backward",
    "maxpool2d_forward", "maxpool2d_backward",
    "avgpool2d_forward", "avgpool2d_backward",
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
]


# --------------------------------------------------------------------------- linear

def linear_forward(x, W, b):
    r"""Affine map $Z = XW + b$.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        A batch of N inputs with D features each.
    W : ndarray, shape (D, M)
        Weights; column ``m`` holds the D weights of output unit ``m``.
    b : ndarray, shape (M,)
        Bias, broadcast over the N rows.

    Returns
    -------
    out : ndarray, shape (N, M)
        The layer's output $Z$.
    cache : tuple
        ``(x, W)``, what :func:`linear_backward` needs.
    """
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
    out = x @ W
    out += b
    return out, (x, W)


def linear_backward(dout, cache):
    r"""Gradients of the affine map $Z = XW + b$ from ``dout`` $= \partial L / \partial Z$.

    $\texttt{dX} = \texttt{dout}\,W^\top$, $\texttt{dW} = X^\top \texttt{dout}$,
    $\texttt{db} = \sum_{n=1}^{N} \texttt{dout}_{n,:}$.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
        Upstream gradient, the gradient of the loss with respect to the output ``out`` ($Z$).
    cache : tuple
        ``(x, W)`` from :func:`linear_forward`.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dW : ndarray, shape (D, M)
    db : ndarray, shape (M,)
        Summed over the batch: every row used the same bias.
    """
    x, W = cache
    dout = as_float_array(dout, "linear_backward", "dout", dtype=W.dtype)
    check_shape(dout, "linear_backward", "dout", (x.shape[0], W.shape[1]),
                hint="Pass the gradient with respect to this layer's output, which has the forward "
                     "output's shape (N, M)" + ("; use dout.T" if np.shape(dout) == (W.shape[1], x.shape[0]) else "")
                     + ".")
    dx = dout @ W.T
    dW = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dW, db


# --------------------------------------------------------------------------- activations

def _elementwise_dout(dout, out, func):
    dout = as_float_array(dout, func, "dout", dtype=out.dtype)
    if dout.shape != out.shape:
        raise ValueError(f"{func}: 'dout' must have the shape of the forward output "
                         f"{shape_str(out.shape)}, got {shape_str(dout.shape)}. Pass the gradient of the "
                         "loss with respect to this function's output; check that the backward calls run in "
                         "the reverse order of the forward calls.")
    return dout


def sigmoid(z):
    r"""Logistic function $\sigma(z) = 1 / (1 + e^{-z})$, computed without overflow.

    For $z \ge 0$ it evaluates $1/(1+e^{-z})$, for $z < 0$ the equal $e^{z}/(1+e^{z})$,
    so ``exp`` only ever sees non-positive numbers and ``sigmoid(-1e4)`` is exactly 0
    with no warning.
    """
    z = as_float_array(z, "sigmoid", "z")
    e = np.exp(-np.abs(z))              # in (0, 1]: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def sigmoid_forward(z):
    r"""$\sigma(z)$ element-wise; any shape. Returns ``(out, cache)`` with ``cache = out``."""
    out = sigmoid(z)
    return out, out


def sigmoid_backward(dout, cache):
    r"""$dz = dout \odot \sigma(z)(1 - \sigma(z))$, written with the cached *output* $\sigma(z)$."""
    out = cache
    dout = _elementwise_dout(dout, out, "sigmoid_backward")
    return dout * out * (1 - out)


def tanh_forward(z):
    r"""$\tanh(z)$ element-wise; any shape. Returns ``(out, cache)`` with ``cache = out``."""
    out = np.tanh(as_float_array(z, "tanh_forward", "z"))
    return out, out


def tanh_backward(dout, cache):
    r"""$dz = dout \odot (1 - \tanh^2(z))$, written with the cached output."""
    out = cache
    dout = _elementwise_dout(dout, out, "tanh_backward")
    return dout * (1 - out * out)


def relu_forward(z):
    r"""$\max(z, 0)$ element-wise; any shape. Returns ``(out, cache)`` with ``cache = out``."""
    z = as_float_array(z, "relu_forward", "z")
    out = np.maximum(z, 0)
    return out, out


def relu_backward(dout, cache):
    r"""$dz = dout \odot [z > 0]$. At $z = 0$ we use the subgradient 0, as PyTorch does.

    The product with the 0/1 mask has no data-dependent branch, so it runs several times
    faster than ``np.where(out > 0, dout, 0)`` on the random masks of a real network, and
    gives the same array: adding ``0.0`` turns the ``-0.0`` of a negative ``dout`` times 0
    into ``0.0``, and a ``dout`` holding inf or NaN (where ``inf * 0`` would be NaN) takes
    the ``np.where`` path, so inactive units always get exactly 0.
    """
    out = cache
    dout = _elementwise_dout(dout, out, "relu_backward")
    if not np.isfinite(dout).all():
        return np.where(out > 0, dout, 0).astype(dout.dtype, copy=False)
    dz = np.multiply(dout, out > 0, out=np.empty_like(dout))
    dz += 0.0
    return dz


def leaky_relu_forward(z, alpha=0.01):
    r"""$z$ where $z > 0$, else $\alpha z$. Returns ``(out, cache)`` with ``cache = (z, alpha)``."""
    z = as_float_array(z, "leaky_relu_forward", "z")
    if not np.isscalar(alpha) or not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"leaky_relu_forward: 'alpha' must be a finite number >= 0, got {alpha!r}. "
                         "Use a small positive slope such as alpha=0.01.")
    out = np.where(z > 0, z, alpha * z).astype(z.dtype, copy=False)
    return out, (z, alpha)


def leaky_relu_backward(dout, cache):
    r"""$dz = dout$ where $z > 0$, else $\alpha\,dout$."""
    z, alpha = cache
    dout = _elementwise_dout(dout, z, "leaky_relu_backward")
    return np.where(z > 0, dout, alpha * dout).astype(dout.dtype, copy=False)


# --------------------------------------------------------------------------- softmax family

def _check_axis(x, axis, func):
    if not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < max(x.ndim, 1):
        raise ValueError(f"{func}: 'axis' must be an int in [{-x.ndim}, {x.ndim - 1}] for an input "
                         f"of shape {shape_str(x.shape)}, got {axis!r}. Use axis=-1 for the last axis "
                         "(the class axis of (N, C) scores).")


def logsumexp(x, axis=-1, keepdims=False):
    r"""$\log \sum_j e^{x_j}$ along ``axis``, stable for any finite input.

    Subtracting the maximum $m$ first, $m + \log\sum_j e^{x_j - m}$, keeps every
    exponent $\le 0$, so logits of $\pm 10^4$ give exact, finite results.
    """
    x = as_float_array(x, "logsumexp", "x")
    _check_axis(x, axis, "logsumexp")
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)            # rows of -inf stay -inf, not nan
    with np.errstate(divide="ignore"):          # log(0) = -inf is the right answer there
        out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax(x, axis=-1):
    r"""$\mathrm{softmax}(x)_j = e^{x_j} / \sum_k e^{x_k}$ along ``axis`` (default: the last).

    The maximum is subtracted first; it cancels in the ratio and keeps ``exp`` from overflowing.
    """
    return _softmax(x, axis, "softmax")


def _softmax(x, axis, func):
    x = as_float_array(x, func, "x")
    _check_axis(x, axis, func)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def log_softmax(x, axis=-1):
    r"""$\log \mathrm{softmax}(x) = x - \mathrm{logsumexp}(x)$, finite where the naive log would give ``-inf``."""
    x = as_float_array(x, "log_softmax", "x")
    _check_axis(x, axis, "log_softmax")
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax_forward(x, axis=-1):
    """Softmax as a forward/backward pair. Returns ``(out, cache)`` with ``cache = (out, axis)``."""
    out = _softmax(x, axis, "softmax_forward")
    return out, (out, axis)


def softmax_backward(dout, cache):
    r"""Vector-Jacobian product of softmax: $dx = s \odot (dout - \langle dout, s\rangle)$.

    The Jacobian is $\mathrm{diag}(s) - s s^\top$; applying it to ``dout`` without
    building it costs O(size) instead of O(size x classes).
    """
    s, axis = cache
    dout = _elementwise_dout(dout, s, "softmax_backward")
    return s * (dout - np.sum(dout * s, axis=axis, keepdims=True))


# --------------------------------------------------------------------------- GELU

#: ``math.erf`` applied element-wise. NumPy has no erf and scipy is not a dependency; the
#: standard library's is exact to double precision. Called once per element it is much slower
#: than ``np.tanh`` (Chapter 5 times both), but fast enough for the networks of the course,
#: and forward and backward then share one exact $\Phi$, so gradient checks agree to ~1e-10.
_erf = np.vectorize(math.erf, otypes=[np.float64])
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu_forward(z, approximate="none"):
    r"""GELU $z\,\Phi(z) = \tfrac12 z\,(1 + \mathrm{erf}(z/\sqrt2))$ element-wise; any shape.

    Parameters
    ----------
    z : ndarray, any shape
    approximate : ``"none"`` (default, the exact erf form, as PyTorch's default) or ``"tanh"``
        for $\tfrac12 z\,(1 + \tanh(\sqrt{2/\pi}\,(z + 0.044715 z^3)))$.

    Returns
    -------
    out : ndarray, the shape and dtype of ``z``
    cache : tuple
        ``(z, p, approximate)`` with ``p`` = $\Phi(z)$ (exact) or the tanh term (approximate).
    """
    z = as_float_array(z, "gelu_forward", "z")
    if approximate == "none":
        p = (0.5 * (1.0 + _erf(z / math.sqrt(2.0)))).astype(z.dtype, copy=False)    # Phi(z)
    elif approximate == "tanh":
        zc = np.clip(z, -100, 100)          # tanh is exactly +-1 there; avoids z**3 overflow in float32
        p = np.tanh(_SQRT_2_OVER_PI * (zc + 0.044715 * zc ** 3)).astype(z.dtype, copy=False)
    else:
        raise ValueError(f"gelu_forward: 'approximate' must be 'none' or 'tanh', got {approximate!r}.")
    out = z * p if approximate == "none" else 0.5 * z * (1 + p)
    return out.astype(z.dtype, copy=False), (z, p, approximate)


def gelu_backward(dout, cache):
    r"""$dz = dout \odot (\Phi(z) + z\,\varphi(z))$, with $\varphi(z) = e^{-z^2/2}/\sqrt{2\pi}$.

    For ``approximate="tanh"`` the derivative of the tanh form,
    $\tfrac12(1 + t) + \tfrac12 z (1 - t^2)\sqrt{2/\pi}\,(1 + 3 \cdot 0.044715 z^2)$.
    """
    z, p, approximate = cache
    dout = _elementwise_dout(dout, z, "gelu_backward")
    if approximate == "none":
        local = p + z * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    else:
        zc = np.clip(z, -100, 100)
        local = 0.5 * (1 + p) + 0.5 * zc * (1 - p * p) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * zc * zc)
    return (dout * local).astype(dout.dtype, copy=False)


# --------------------------------------------------------------------------- dropout

def dropout_forward(x, p, rng):
    r"""Inverted dropout (training mode): zero each entry with probability ``p``, scale the rest by $1/(1-p)$.

    $y = x \odot m$ with $m_i = [u_i \ge p] / (1 - p)$ and $u_i$ uniform on $[0, 1)$, so
    $\mathbb E[y_i] = x_i$ and evaluation needs no rescaling: in evaluation mode dropout is
    the identity (the module :class:`bpkit.nn.Dropout` skips this function there).

    Parameters
    ----------
    x : ndarray, any shape
    p : float in [0, 1]
        Probability of *dropping* an entry, as in PyTorch (``p=1`` gives zeros).
    rng : np.random.Generator
        Source of the mask; the same seed gives the same mask.

    Returns
    -------
    out : ndarray, the shape and dtype of ``x``
    cache : ndarray or None
        The scaled mask $m$ (``None`` when ``p == 0``), what :func:`dropout_backward` needs.
    """
    x = as_float_array(x, "dropout_forward", "x")
    _check_dropout_p(p, "dropout_forward")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"dropout_forward: 'rng' must be a np.random.Generator, got {type(rng).__name__}. "
                        "Pass rng=np.random.default_rng(0) so the dropped units are reproducible.")
    if p == 0:
        return x.copy(), None
    if p == 1:
        mask = np.zeros_like(x)
    else:
        u = rng.random(x.shape, dtype=np.float32 if x.dtype == np.float32 else np.float64)
        mask = (u >= p).astype(x.dtype)
        mask *= x.dtype.type(1.0 / (1.0 - p))
    return x * mask, mask


def dropout_backward(dout, cache):
    r"""$dx = dout \odot m$: a dropped unit passes no gradient, a kept one passes it scaled by $1/(1-p)$."""
    mask = cache
    if mask is None:                                       # p == 0: the identity
        return as_float_array(dout, "dropout_backward", "dout").copy()
    dout = _elementwise_dout(dout, mask, "dropout_backward")
    return dout * mask


def _check_dropout_p(p, func):
    if isinstance(p, bool) or not np.isscalar(p) or not isinstance(p, (int, float, np.number)) \
            or not 0 <= p <= 1:
        raise ValueError(f"{func}: 'p' is the probability of dropping a unit and must be a number in "
                         f"[0, 1], got {p!r}. Use e.g. p=0.5 (p is the drop rate, not the keep rate).")


# --------------------------------------------------------------------------- batch normalisation

class BatchNormCache(NamedTuple):
    """What :func:`batchnorm_backward` needs, and the statistics a module keeps running averages of."""

    xhat: np.ndarray           #: the normalised input, shape of x
    inv_std: np.ndarray        #: $1/\sqrt{\sigma^2 + \epsilon}$ per feature, shape (D,) or (C,)
    gamma: np.ndarray          #: the scale, shape (D,) or (C,)
    mean: np.ndarray           #: the mean used, shape (D,) or (C,)
    var: np.ndarray            #: the (biased) variance used, shape (D,) or (C,)
    batch_stats: bool          #: True if mean and var came from the batch (training mode)


def _bn_axes(x):
    return (0,) if x.ndim == 2 else (0, 2, 3)


def _bn_shape(v, x):
    """A per-feature vector shaped to broadcast against x: (D,) for (N, D), (1, C, 1, 1) for (N, C, H, W)."""
    return v if x.ndim == 2 else v.reshape(1, -1, 1, 1)


def batchnorm_forward(x, gamma, beta, eps=1e-5, mean=None, var=None):
    r"""Batch normalisation: $y = \gamma\,\hat x + \beta$ with $\hat x = (x - \mu) / \sqrt{\sigma^2 + \epsilon}$.

    Each feature is normalised over the batch (Ioffe and Szegedy, 2015): for dense input
    ``x`` of shape (N, D) over the N rows, for images of shape (N, C, H, W) over the N, H and W
    axes of each channel. $\sigma^2$ is the *biased* variance (divided by the count), as in
    the paper and in PyTorch.

    Parameters
    ----------
    x : ndarray, shape (N, D) or (N, C, H, W)
    gamma, beta : ndarray, shape (D,) or (C,)
        Learned scale and shift.
    eps : float, default 1e-5
        Added to the variance, so a constant feature does not divide by zero.
    mean, var : ndarray, shape (D,) or (C,), optional
        Statistics to use instead of the batch's (evaluation mode: the module passes its
        running averages). They are then constants, and the backward pass is the plain
        affine one.

    Returns
    -------
    out : ndarray, the shape and dtype of ``x``
    cache : BatchNormCache
        Holds the batch ``mean`` and ``var`` (for the running averages) and what the backward
        pass needs.
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
    axes = _bn_axes(x)
    if (mean is None) != (var is None):
        raise ValueError(f"{func}: pass both 'mean' and 'var' (evaluation mode) or neither (training mode, "
                         "batch statistics); got only " + ("'mean'." if var is None else "'var'."))
    if mean is None:
        count = x.size // F
        if count < 2:
            raise ValueError(f"{func}: batch statistics need more than one value per feature, got x of shape "
                             f"{shape_str(x.shape)}. Use a batch of at least 2 examples in training mode (with fit, choose a "
                             "batch_size that does not leave a last batch of 1), or call the module's eval() to "
                             "normalise with its running averages.")
        mean = x.mean(axis=axes)
        xc = x - _bn_shape(mean, x)
        var = np.mean(xc * xc, axis=axes)
        batch_stats = True
    else:
        mean = as_float_array(mean, func, "mean", dtype=x.dtype)
        var = as_float_array(var, func, "var", dtype=x.dtype)
        for name, v in (("mean", mean), ("var", var)):
            check_shape(v, func, name, (F,), hint=f"It holds one value per feature: {feat} = {F}.")
        mean, var = mean.astype(x.dtype, copy=False), var.astype(x.dtype, copy=False)
        if np.any(var < 0):
            raise ValueError(f"{func}: 'var' must be >= 0, got a minimum of {var.min()!r}. Pass the running "
                             "variance, not a standard deviation or a log-variance.")
        xc = x - _bn_shape(mean, x)
        batch_stats = False
    inv_std = (1.0 / np.sqrt(var + x.dtype.type(eps))).astype(x.dtype, copy=False)
    xhat = xc * _bn_shape(inv_std, x)
    out = xhat * _bn_shape(gamma, x) + _bn_shape(beta, x)
    return out, BatchNormCache(xhat, inv_std, gamma, mean, var, batch_stats)


def batchnorm_backward(dout, cache):
    r"""Gradients of batch normalisation: ``(dx, dgamma, dbeta)``.

    $d\beta = \sum dY$ and $d\gamma = \sum dY \odot \hat X$ over the batch (and the image
    axes). With batch statistics, the mean and variance depend on every example, so
    each $dx_i$ gathers three paths; with $m$ values per feature they sum to

    $$dx = \frac{\gamma}{m\sqrt{\sigma^2+\epsilon}}\Big(m\,dY - d\beta - \hat X\, d\gamma\Big).$$

    With fixed statistics (evaluation mode) only the direct path is left:
    $dx = dY\,\gamma / \sqrt{\sigma^2+\epsilon}$.
    """
    xhat, inv_std, gamma, _, _, batch_stats = cache
    dout = _elementwise_dout(dout, xhat, "batchnorm_backward")
    axes = _bn_axes(xhat)
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * xhat).sum(axis=axes)
    scale = _bn_shape(gamma * inv_std, xhat)
    if not batch_stats:
        return dout * scale, dgamma, dbeta
    m = xhat.size // xhat.shape[1]
    dx = m * dout
    dx -= _bn_shape(dbeta, xhat)
    dx -= xhat * _bn_shape(dgamma, xhat)
    dx *= scale / xhat.dtype.type(m)
    return dx, dgamma, dbeta


# --------------------------------------------------------------------------- convolution and pooling

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


_STRIDE_HINT = "Use stride=1 for every position or stride=2 for every other one."
_PADDING_HINT = ("It counts the rows and columns of zeros added on each side; use padding=0 for none, or "
                 "padding=(K - 1) // 2 to keep H and W with an odd K x K kernel.")


def _check_int(v, func, name, minimum, hint):
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


def _check_dout(dout, shape, dtype, func, name="dout"):
    """``dout`` as an array of the forward output's ``shape``, or a clear error."""
    dout = as_float_array(dout, func, name, dtype=dtype)
    if dout.shape != shape:
        raise ValueError(f"{func}: '{name}' must have the shape of the forward output {shape_str(shape)}, got "
                         f"{shape_str(dout.shape)}. Pass the gradient of the loss with respect to this "
                         "function's output; check that the backward calls run in the reverse order of the "
                         "forward calls.")
    return dout


def _windows(x, KH, KW, SH, SW):
    """Read-only view (N, C, H_out, W_out, KH, KW) of every KH x KW window of ``x``, ``SH``/``SW`` apart."""
    return np.lib.stride_tricks.sliding_window_view(x, (KH, KW), axis=(2, 3))[:, :, ::SH, ::SW]


def conv2d_forward(x, W, b, stride=1, padding=0):
    r"""2-D convolution (cross-correlation, as PyTorch's ``F.conv2d``) of a batch of images.

    $$\texttt{out}[n, f, i, j] = b_f + \sum_{c, k, l} W[f, c, k, l]\;
    x_{\text{pad}}[n, c,\; i s + k,\; j s + l],$$

    with $s$ the stride and $x_{\text{pad}}$ the input with ``padding`` zeros around each image.
    Every output sums the products of one filter with one window of the input, so the whole
    layer is one matrix product (im2col): the windows become the columns of a matrix ``cols``
    of shape (C KH KW, N H_out W_out), and ``W.reshape(F, -1) @ cols`` gives every output at once.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        A batch of N images with C channels of H x W pixels.
    W : ndarray, shape (F, C, KH, KW)
        F filters, each spanning all C channels of a KH x KW window.
    b : ndarray, shape (F,)
        One bias per filter.
    stride : int >= 1, default 1
        Step between windows, in both directions.
    padding : int >= 0, default 0
        Rows and columns of zeros added on each side of every image.

    Returns
    -------
    out : ndarray, shape (N, F, H_out, W_out)
        With ``H_out = (H + 2*padding - KH) // stride + 1`` and the same rule for ``W_out``.
    cache : tuple
        ``(x.shape, W, cols, stride, padding)``, what :func:`conv2d_backward` needs.
    """
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
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
    win = _windows(xp, KH, KW, s, s)                                  # (N, C, H_out, W_out, KH, KW), a view
    H_out, W_out = win.shape[2:4]
    cols = win.transpose(1, 4, 5, 0, 2, 3).reshape(C * KH * KW, N * H_out * W_out)   # im2col: a copy
    out = W.reshape(F, -1) @ cols                                    # (F, N H_out W_out)
    out += b[:, None]
    out = np.ascontiguousarray(out.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3))
    return out, (x.shape, W, cols, s, p)


def conv2d_backward(dout, cache):
    r"""Gradients of :func:`conv2d_forward`: ``(dx, dW, db)``.

    With the windows as the columns of ``cols`` and ``dout`` as a matrix $G$ of shape
    (F, N H_out W_out), the layer is the affine map $W_{\text{mat}}\,\texttt{cols} + b$, so as
    for a dense layer $\texttt{dW} = G\,\texttt{cols}^\top$ and $\texttt{db}$ sums $G$ over
    its columns. The gradient for the windows, $W_{\text{mat}}^\top G$, goes back to the pixels
    the windows were cut from (col2im): a pixel sums the gradients of every window that
    contains it, which we add up one kernel offset $(k, l)$ at a time.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        From :func:`conv2d_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dW : ndarray, shape (F, C, KH, KW)
    db : ndarray, shape (F,)
    """
    (N, C, H, Wd), W, cols, s, p = cache
    G, dW, db = _conv2d_param_grads(dout, cache, "conv2d_backward")
    F, _, KH, KW = W.shape
    H_out, W_out = _out_size(H, KH, s, p), _out_size(Wd, KW, s, p)
    dcols = (W.reshape(F, -1).T @ G).reshape(C, KH, KW, N, H_out, W_out)
    dxp = np.zeros((N, C, H + 2 * p, Wd + 2 * p), dtype=dcols.dtype)
    for k in range(KH):                                  # col2im, one kernel offset at a time
        for l in range(KW):
            dxp[:, :, k:k + s * (H_out - 1) + 1:s, l:l + s * (W_out - 1) + 1:s] += \
                dcols[:, k, l].transpose(1, 0, 2, 3)
    dx = np.ascontiguousarray(dxp[:, :, p:p + H, p:p + Wd]) if p else dxp
    return dx, dW, db


def _conv2d_param_grads(dout, cache, func):
    """``(G, dW, db)`` with ``G`` = ``dout`` as a matrix (F, N H_out W_out); shared with ``Conv2d.backward``."""
    (N, _, H, Wd), W, cols, s, p = cache
    F, _, KH, KW = W.shape
    dout = _check_dout(dout, (N, F, _out_size(H, KH, s, p), _out_size(Wd, KW, s, p)), W.dtype, func)
    G = np.ascontiguousarray(dout.transpose(1, 0, 2, 3)).reshape(F, cols.shape[1])   # columns as in cols
    return G, (G @ cols.T).reshape(W.shape), G.sum(axis=1)


def _out_size(size, K, stride, padding):
    return (size + 2 * padding - K) // stride + 1


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


def maxpool2d_forward(x, kernel_size=2, stride=None):
    r"""Max pooling: the largest value of every KH x KW window of each channel.

    $\texttt{out}[n, c, i, j] = \max_{k, l}\, x[n, c,\; i s_H + k,\; j s_W + l]$.
    Windows that would run past the bottom or right edge are dropped, as in PyTorch.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    kernel_size : int or (KH, KW), default 2
    stride : int or (SH, SW), optional
        Defaults to ``kernel_size``: windows side by side, not overlapping.

    Returns
    -------
    out : ndarray, shape (N, C, H_out, W_out)
        ``H_out = (H - KH) // SH + 1``, and the same rule for ``W_out``.
    cache : tuple
        ``(x.shape, argmax, kernel, stride)``: for every window the flat index, in
        ``range(KH * KW)``, of its maximum (the first one on ties, as PyTorch does on the CPU).
    """
    x, (KH, KW), (SH, SW) = _pool_args(x, kernel_size, stride, "maxpool2d_forward")
    win = _windows(x, KH, KW, SH, SW)
    win = win.reshape(win.shape[:4] + (KH * KW,))                     # (N, C, H_out, W_out, KH KW): a copy
    argmax = win.argmax(axis=-1)
    out = np.take_along_axis(win, argmax[..., None], axis=-1)[..., 0]
    return out, (x.shape, argmax, (KH, KW), (SH, SW))


def maxpool2d_backward(dout, cache):
    r"""Gradient of max pooling: each window sends its ``dout`` to the input that was its maximum.

    Every other input of the window gets nothing from it. Where windows overlap (stride smaller
    than the window), an input that is the maximum of several windows sums their gradients.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    x_shape, argmax, (KH, KW), (SH, SW) = cache
    dout = _check_dout(dout, argmax.shape, None, "maxpool2d_backward")
    N, C, H, Wd = x_shape
    H_out, W_out = argmax.shape[2:]
    row = np.arange(H_out)[:, None] * SH + argmax // KW             # (N, C, H_out, W_out): the row of each max
    col = np.arange(W_out) * SW + argmax % KW                       # and its column
    flat = (np.arange(N * C).reshape(N, C, 1, 1) * H + row) * Wd + col   # its index in x.ravel()
    dx = np.bincount(flat.ravel(), weights=dout.ravel(), minlength=N * C * H * Wd)
    return dx.reshape(x_shape).astype(dout.dtype, copy=False)


def avgpool2d_forward(x, kernel_size=2, stride=None):
    r"""Average pooling: the mean of every KH x KW window of each channel.

    $\texttt{out}[n, c, i, j] = \frac{1}{KH\,KW} \sum_{k, l} x[n, c,\; i s_H + k,\; j s_W + l]$.
    Parameters and output shape as in :func:`maxpool2d_forward`; ``cache`` is
    ``(x.shape, kernel, stride)``.
    """
    x, (KH, KW), (SH, SW) = _pool_args(x, kernel_size, stride, "avgpool2d_forward")
    out = _windows(x, KH, KW, SH, SW).mean(axis=(-2, -1))
    return out.astype(x.dtype, copy=False), (x.shape, (KH, KW), (SH, SW))


def avgpool2d_backward(dout, cache):
    r"""Gradient of average pooling: each window spreads ``dout / (KH KW)`` evenly over its inputs.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    x_shape, (KH, KW), (SH, SW) = cache
    N, C, H, Wd = x_shape
    H_out, W_out = _out_size(H, KH, SH, 0), _out_size(Wd, KW, SW, 0)
    dout = _check_dout(dout, (N, C, H_out, W_out), None, "avgpool2d_backward")
    share = dout / (KH * KW)
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for k in range(KH):                                   # one kernel offset at a time
        for l in range(KW):
            dx[:, :, k:k + SH * (H_out - 1) + 1:SH, l:l + SW * (W_out - 1) + 1:SW] += share
    return dx


# --------------------------------------------------------------------------- recurrent layers
#
# An LSTM stacks its four gates side by side, in the order i, f, o, g: Wx is (D, 4H), Wh is
# (H, 4H) and b is (4H,), and columns [0, H) belong to the input gate i, [H, 2H) to the forget
# gate f, [2H, 3H) to the output gate o and [3H, 4H) to the candidate g. The three sigmoid
# gates are then one contiguous block. PyTorch's nn.LSTM uses the order i, f, g, o and stores
# the transposes, weight_ih (4H, D) and weight_hh (4H, H), with two biases b_ih + b_hh.

_TORCH_LSTM = ("From PyTorch's nn.LSTM, pass weight_ih.T with its gate blocks reordered from PyTorch's "
               "(i, f, g, o) to (i, f, o, g).")


def _recurrent_args(func, x, h, Wx, Wh, b, c=None, *, lstm, step, h_name, c_name=None):
    """Validate the arrays of an RNN (``lstm=False``) or LSTM call; return them as float arrays.

    ``step`` is True for the one-step functions, whose ``x`` is (N, D), and False for whole
    sequences (N, T, D). ``h`` (and ``c``) is the state the call starts from, (N, H).
    """
    Wh = as_float_array(Wh, func, "Wh")
    Wx, x, b, h = (as_float_array(a, func, n, dtype=Wh.dtype) for a, n in ((Wx, "Wx"), (x, "x"), (b, "b"), (h, h_name)))
    c = None if c is None else as_float_array(c, func, c_name, dtype=Wh.dtype)
    G, gates = (4, "4H") if lstm else (1, "H")
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
    check_shape(b, func, "b", (G * H,),
                hint=(f"It holds one bias per gate unit, 4H = {4 * H} values in the order i, f, o, g; from "
                      "PyTorch pass bias_ih + bias_hh, reordered." if lstm else
                      f"It holds one bias per hidden unit, H = {H}; from PyTorch's nn.RNN pass bias_ih + bias_hh.")
                + (" Use b.ravel() for a (1, n) row." if b.ndim == 2 and b.shape[0] == 1 else ""))
    # x: (N, D) for one step, (N, T, D) for a sequence.
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


def _check_dh(dh, shape, dtype, func):
    """``dh`` as an array of the hidden states' shape (N, T, H), or a clear error."""
    dh = as_float_array(dh, func, "dh", dtype=dtype)
    if dh.shape != shape:
        N, T, H = shape
        hint = (f"If the loss reads only the last hidden state, pass its gradient at the last step and zeros "
                f"elsewhere: dh = np.zeros({shape_str(shape)}); dh[:, -1] = dh_last (nn.LastTimeStep does this)."
                if dh.shape == (N, H) else
                "Pass the gradient of the loss with respect to every hidden state h[:, t], as returned by the "
                "layer after this one.")
        raise ValueError(f"{func}: 'dh' must have the shape of the hidden states h {shape_str(shape)}, got "
                         f"{shape_str(dh.shape)}. {hint}")
    return dh


def _recurrent_param_grads(x, h0, h, dz):
    """``(dWx, dWh, db)`` from the gradients ``dz`` (N, T, G H) of every step's pre-activation.

    The weights are shared by all steps, so their gradients sum over the batch *and* over time:
    with the steps stacked as rows, each is one matrix product.
    """
    N, T, D = x.shape
    h_prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)          # (N, T, H): the state each step read
    dz2 = dz.reshape(N * T, -1)
    return x.reshape(N * T, D).T @ dz2, h_prev.reshape(N * T, -1).T @ dz2, dz2.sum(axis=0)


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
    x, h_prev, Wx, Wh, b, _ = _recurrent_args("rnn_step_forward", x, h_prev, Wx, Wh, b, lstm=False, step=True,
                                              h_name="h_prev")
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
    x, h_prev, Wx, Wh, h = cache
    dh = _check_dout(dh, h.shape, h.dtype, "rnn_step_backward", "dh")
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
    x, h0, Wx, Wh, b, _ = _recurrent_args("rnn_forward", x, h0, Wx, Wh, b, lstm=False, step=False, h_name="h0")
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
    x, h0, Wx, Wh, h = cache
    dz, dh0 = _rnn_bptt(dh, cache, "rnn_backward")
    return (dz @ Wx.T, dh0) + _recurrent_param_grads(x, h0, h, dz)


def _rnn_bptt(dh, cache, func):
    """The loop of :func:`rnn_backward`: ``dz`` (N, T, H) for every step, and ``dh0``."""
    _, h0, _, Wh, h = cache
    dh = _check_dh(dh, h.shape, h.dtype, func)
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
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g * g)], axis=1)
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
    x, h_prev, Wx, Wh, b, c_prev = _recurrent_args("lstm_step_forward", x, h_prev, Wx, Wh, b, c_prev, lstm=True,
                                                   step=True, h_name="h_prev", c_name="c_prev")
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
    x, h_prev, Wx, Wh, step = cache
    dh = _check_dout(dh, h_prev.shape, h_prev.dtype, "lstm_step_backward", "dh")
    dc = _check_dout(dc, h_prev.shape, h_prev.dtype, "lstm_step_backward", "dc")
    da, dc_prev = _lstm_cell_backward(dh, dc, step)
    return da @ Wx.T, da @ Wh.T, dc_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0)


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
    x, h0, Wx, Wh, b, c0_arr = _recurrent_args("lstm_forward", x, h0, Wx, Wh, b, c0, lstm=True, step=False,
                                               h_name="h0", c_name="c0")
    xw = x @ Wx + b                                  # (N, T, 4H): the input part of every step at once
    h = np.empty(x.shape[:2] + h0.shape[1:], dtype=xw.dtype)
    h_t, c_t = h0, (np.zeros_like(h0) if c0_arr is None else c0_arr)
    steps = []
    for t in range(x.shape[1]):                      # the recurrence: one step after the other
        h_t, c_t, step = _lstm_cell(xw[:, t], h_t, c_t, Wh)
        h[:, t] = h_t
        steps.append(step)
    return h, (x, h0, Wx, Wh, h, steps, c0_arr is not None)


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
    x, h0, Wx, Wh, h, _, c0_given = cache
    da, dh0, dc0 = _lstm_bptt(dh, cache, "lstm_backward")
    grads = (da @ Wx.T, dh0) + _recurrent_param_grads(x, h0, h, da)
    return grads + (dc0,) if c0_given else grads


def _lstm_bptt(dh, cache, func):
    """The loop of :func:`lstm_backward`: ``da`` (N, T, 4H) for every step, ``dh0`` and ``dc0``."""
    _, h0, _, Wh, h, steps, _ = cache
    dh = _check_dh(dh, h.shape, h.dtype, func)
    N, T, H = h.shape
    da = np.empty((N, T, 4 * H), dtype=h.dtype)
    dh_next, dc_next = np.zeros_like(h0), np.zeros_like(h0)     # gradients reaching step t from step t + 1
    for t in reversed(range(T)):
        da[:, t], dc_next = _lstm_cell_backward(dh[:, t] + dh_next, dc_next, steps[t])
        dh_next = da[:, t] @ Wh.T
    return da, dh_next, dc_next
